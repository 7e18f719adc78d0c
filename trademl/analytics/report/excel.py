"""The Excel workbook: sheets summary, trades, monthly returns, drawdowns, Monte Carlo."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from trademl.analytics.report._content import Report, is_percent


def _excel_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Excel has no time zones or timedeltas: write UTC wall time and durations in hours."""
    frame = frame.copy()
    for column in frame.columns:
        values = frame[column]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            frame[column] = values.dt.tz_convert("UTC").dt.tz_localize(None)
        elif pd.api.types.is_timedelta64_dtype(values.dtype):
            frame[column] = values.dt.total_seconds() / 3600
            frame = frame.rename(columns={column: f"{column}_hours"})
    if isinstance(frame.index, pd.DatetimeIndex) and frame.index.tz is not None:
        frame.index = frame.index.tz_convert("UTC").tz_localize(None)
    return frame


def write_excel(report: Report, path: str | Path) -> Path:
    path = Path(path)
    summary = pd.DataFrame(
        {"metric": list(report.summary), "value": [float(v) for v in report.summary.values()]}
    )
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        summary.to_excel(writer, sheet_name="summary", index=False)
        trades = report.trades if report.trades is not None else pd.DataFrame()
        _excel_ready(trades).to_excel(writer, sheet_name="trades", index=False)
        monthly = report.monthly if report.monthly is not None else pd.DataFrame()
        monthly.to_excel(writer, sheet_name="monthly returns")
        _excel_ready(report.drawdowns).to_excel(writer, sheet_name="drawdowns")
        mc = report.monte_carlo
        if mc is not None:
            table = mc.percentiles()
            table.to_excel(writer, sheet_name="monte carlo", startrow=0)
            notes = pd.DataFrame(
                {
                    "setting": ["method", "paths", "ruin level", "probability of ruin"],
                    "value": [mc.method, mc.n_paths, mc.ruin_level, mc.probability_of_ruin],
                }
            )
            notes.to_excel(writer, sheet_name="monte carlo", startrow=len(table) + 2, index=False)
            mc.bands.to_excel(writer, sheet_name="monte carlo bands")
        else:
            pd.DataFrame().to_excel(writer, sheet_name="monte carlo")
        summary_sheet = writer.sheets["summary"]
        for row in summary_sheet.iter_rows(min_row=2, max_col=2):
            if is_percent(str(row[0].value)):
                row[1].number_format = "0.00%"
        for row in writer.sheets["monthly returns"].iter_rows(min_row=2, min_col=2):
            for cell in row:
                cell.number_format = "0.0%"
        for sheet in writer.sheets.values():
            for column in sheet.columns:
                width = max(len(str(c.value or "")) for c in column[:50])
                sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 9), 40)
    return path

"""A self-contained HTML tearsheet: one file, charts embedded as base64 PNG."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from trademl.analytics.report import _tables
from trademl.analytics.report._content import Report
from trademl.analytics.report.charts import CHARTS, figure

STYLE = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1100px;color:#222}
h1{font-size:1.6em;margin-bottom:0}.sub{color:#666;margin-top:.2em}
h2{font-size:1.15em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.82em;margin:.5em 0}
td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}
th{background:#f4f6f8}td:first-child,th:first-child{text-align:left}
.grid{display:grid;grid-template-columns:repeat(3,1fr);gap:0 2em}
img{width:100%;height:auto}
.warning{border:2px solid #c0392b;background:#fdecea;color:#7b1d14;padding:.6em 1em;
margin:1em 0;font-weight:600}
"""


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _table(frame, index: bool = True) -> str:
    if frame is None or len(frame) == 0:
        return "<p>none</p>"
    return frame.to_html(index=index, border=0, na_rep="", escape=True)


def render_html(report: Report) -> str:
    """The whole tearsheet as one HTML string."""
    summary = _tables.summary_table(report)
    thirds = [summary.iloc[i::3] for i in range(3)]
    images = {name: _png(figure(name, report)) for name in CHARTS}

    def img(name: str) -> str:
        return f'<img alt="{name}" src="data:image/png;base64,{images[name]}">'

    index = report.returns.index
    span = f"{index[0]} → {index[-1]}" if len(index) else ""
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(report.title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(report.title)}</h1>",
        f"<p class='sub'>{html.escape(span)} · {len(index):,} periods · "
        f"{report.periods_per_year:,.0f} periods per year</p>",
        *[f"<div class='warning'>{html.escape(text)}</div>" for text in report.warnings],
        "<h2>Summary</h2><div class='grid'>",
        *[_table(part, index=False) for part in thirds],
        "</div>",
        "<h2>Equity</h2>", img("equity"),
        "<h2>Drawdowns</h2>", img("underwater"), _table(_tables.drawdown_display(report)),
        "<h2>Monthly returns</h2>", img("monthly"),
        _table(_tables.monthly_display(report)),
        "<h2>Return distribution</h2>", img("distribution"),
        "<h2>Rolling Sharpe</h2>", img("rolling_sharpe"),
        "<h2>Monte Carlo</h2>", img("montecarlo"),
        _table(_tables.montecarlo_table(report)),
        "<h2>Performance by regime</h2>", img("regimes"),
        _table(_tables.regime_display(report)),
    ]  # fmt: skip
    trades = _tables.trades_display(report, limit=200)
    if trades is not None:
        parts += ["<h2>Trades (last 200)</h2>", _table(trades, index=False)]
    if report.explanation is not None:
        from trademl.explain.report_page import render_section

        parts.append(render_section(report.explanation))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(report: Report, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(render_html(report), encoding="utf-8")
    return path

"""Reports from a real backtest: HTML self-contained, PDF pages, Excel sheets."""

from __future__ import annotations

import re

import numpy as np
import pytest

from trademl.analytics.report import build_report, write_report
from trademl.backtest import run_backtest


@pytest.fixture(scope="module")
def report(btc_close):
    close = btc_close.loc["2022-06-01":"2023-12-31"]
    signal = np.sign(close.rolling(24).mean() - close.rolling(96).mean()).fillna(0)
    result = run_backtest(close, signal, fee_bp=5)
    return build_report(
        result.returns,
        trades=result.trades,
        benchmark=result.benchmark_returns,
        positions=result.positions,
        title="BTC SMA 24/96",
        mc_paths=300,
        log_scale=True,
    )


def test_report_content(report):
    assert report.summary["trades"] == len(report.trades)
    assert report.monte_carlo.n_paths == 300
    assert list(report.regimes.index) == ["calm", "normal", "turbulent"]
    assert report.monthly.shape[1] == 13


def test_html_is_one_self_contained_file(report, tmp_path):
    path = write_report(report, tmp_path / "tearsheet.html")
    text = path.read_text()
    assert text.count("data:image/png;base64,") == 7
    assert not re.search(r"(src|href)=['\"]https?://", text)
    assert "BTC SMA 24/96" in text and "Monte Carlo" in text and "Top" not in text[:10]


def test_pdf_has_the_same_content(report, tmp_path):
    path = write_report(report, tmp_path / "tearsheet.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", data)) == 7  # six chart pages + trades


def test_excel_sheets(report, tmp_path):
    import openpyxl

    path = write_report(report, tmp_path / "tearsheet.xlsx")
    book = openpyxl.load_workbook(path, read_only=True)
    for sheet in ("summary", "trades", "monthly returns", "drawdowns", "monte carlo"):
        assert sheet in book.sheetnames
    rows = list(book["summary"].iter_rows(values_only=True))
    assert ("sharpe", pytest.approx(report.summary["sharpe"])) in [(a, b) for a, b in rows]
    assert book["trades"].max_row == len(report.trades) + 1


def test_report_from_trades_only(report, tmp_path):
    built = build_report(trades=report.trades, mc_paths=200, title="trades only")
    assert built.monte_carlo.method == "trade_bootstrap"
    assert built.summary["periods"] == len(report.trades)
    write_report(built, tmp_path / "trades.html")


def test_unknown_format(report, tmp_path):
    with pytest.raises(ValueError, match="html, pdf or xlsx"):
        write_report(report, tmp_path / "x.docx")

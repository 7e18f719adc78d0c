"""Tearsheets: HTML (self-contained), PDF (matplotlib) and Excel (openpyxl).

matplotlib and openpyxl are imported only when a report is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from trademl._io import atomic_path
from trademl.analytics.report._content import Report, build_report

__all__ = ["Report", "build_report", "write_report"]

ReportFormat = Literal["html", "pdf", "xlsx"]


def write_report(report: Report, path: str | Path, format: ReportFormat | None = None) -> Path:
    """Write ``report`` to ``path`` as html, pdf or xlsx (default: from the file suffix)."""
    path = Path(path)
    chosen = format or path.suffix.lower().lstrip(".")
    if chosen not in ("html", "pdf", "xlsx"):
        raise ValueError(f"report format must be html, pdf or xlsx, got {chosen!r}")
    if path.parent and not path.parent.exists():
        raise FileNotFoundError(f"{path.parent}: output folder does not exist")
    if chosen == "html":
        from trademl.analytics.report.html import write_html as writer
    elif chosen == "pdf":
        from trademl.analytics.report.pdf import write_pdf as writer
    else:
        from trademl.analytics.report.excel import write_excel as writer
    # a half-written tearsheet (a kill, a full disk) never replaces a whole one
    with atomic_path(path) as temporary:
        writer(report, temporary)
    return path

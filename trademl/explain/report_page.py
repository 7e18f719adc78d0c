"""The explanation page of ``trademl report``: read what ``trademl explain`` wrote (a folder
from ``-o DIR`` or a run's ``explain/`` artifacts) and render it as one HTML section.

Nothing is recomputed here: the page shows the same tables and plots the command wrote,
so the report and the files never disagree.
"""

from __future__ import annotations

import base64
import html
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from trademl.errors import DataError

__all__ = ["ExplanationPage", "load_page", "page_from_run", "render_section"]

_PLOTS = ("beeswarm.png", "waterfall.png", "impact_over_time.png")


@dataclass
class ExplanationPage:
    summary: dict
    importance: pd.DataFrame
    interactions: pd.DataFrame | None
    lime: pd.DataFrame | None
    impact: pd.DataFrame | None
    rules: str
    plots: dict[str, bytes]  # file name -> PNG


def _table(folder: Path, name: str) -> pd.DataFrame | None:
    for suffix in ("csv", "parquet"):
        path = folder / f"{name}.{suffix}"
        if path.is_file():
            return pd.read_csv(path) if suffix == "csv" else pd.read_parquet(path)
    return None


def load_page(folder: str | Path) -> ExplanationPage:
    """The page from a folder written by ``trademl explain -o DIR`` (or its artifacts)."""
    folder = Path(folder)
    summary_file = folder / "summary.json"
    if not summary_file.is_file():
        raise DataError(f"--explain {folder}: no summary.json (write it with trademl explain -o)")
    importance = _table(folder, "importance")
    if importance is None:
        raise DataError(f"--explain {folder}: no importance table")
    rules = folder / "surrogate_rules.txt"
    return ExplanationPage(
        summary=json.loads(summary_file.read_text(encoding="utf-8")),
        importance=importance, interactions=_table(folder, "interactions"),
        lime=_table(folder, "lime"), impact=_table(folder, "impact"),
        rules=rules.read_text(encoding="utf-8") if rules.is_file() else "",
        plots={n: (folder / n).read_bytes() for n in _PLOTS if (folder / n).is_file()},
    )  # fmt: skip


def page_from_run(run_id: str) -> ExplanationPage | None:
    """The page from run ``run_id``'s ``explain/`` artifacts, or None when it has none."""
    from trademl.explain.output import EXPLAIN_ARTIFACT
    from trademl.tracking.artifacts import download

    with tempfile.TemporaryDirectory(prefix="trademl-explain-page-") as folder:
        try:
            local = download(run_id, EXPLAIN_ARTIFACT, folder)
        except DataError:
            return None
        return load_page(local)


def _html_table(frame: pd.DataFrame | None, limit: int = 15) -> str:
    if frame is None or frame.empty:
        return "<p>none</p>"
    return frame.head(limit).to_html(index=False, border=0, float_format=lambda v: f"{v:.4g}")


def render_section(page: ExplanationPage) -> str:
    """The explanation as HTML: summary line, tables, surrogate rules and the plots."""
    s = page.summary
    surrogate = s.get("surrogate", {})
    majority = surrogate.get("majority_agreement")
    versus = f" (majority class alone: {majority:.1%})" if majority is not None else ""
    flagged = 0 if page.impact is None else int(page.impact["drifted"].astype(bool).sum())

    def img(name: str) -> str:
        if name not in page.plots:
            return ""
        data = base64.b64encode(page.plots[name]).decode("ascii")
        return f'<img alt="{name[:-4]}" src="data:image/png;base64,{data}">'

    importance = page.importance.copy()
    for column in ("share", "reference_share"):
        if column in importance:
            importance[column] = importance[column].map(lambda v: f"{v:.1%}")
    impact = None
    if page.impact is not None:
        impact = page.impact.loc[page.impact["drifted"].astype(bool)]
    parts = [
        "<h2 id='explanation'>Explanation</h2>",
        f"<p class='sub'>{html.escape(str(s.get('model', '')))}: {s.get('rows', 0):,} holdout "
        f"rows by {html.escape(str(s.get('method', '')))} ({html.escape(str(s.get('output', '')))})"
        f" · surrogate tree {html.escape(str(surrogate.get('fidelity_metric', '')))} "
        f"{surrogate.get('fidelity', float('nan')):.1%}{versus} · {flagged} feature-month(s) "
        "with a moved impact share</p>",
        "<h3>Features by mean |SHAP|</h3>", _table_or(importance),
        img("beeswarm.png"),
        f"<h3>One prediction: {html.escape(str(s.get('symbol', '')))} at "
        f"{html.escape(str(s.get('at', '')))}</h3>", img("waterfall.png"),
        "<h3>LIME (same bar)</h3>", _html_table(page.lime, 10),
        "<h3>Strongest interactions</h3>", _html_table(page.interactions, 10),
        "<h3>Surrogate tree rules</h3>", f"<pre>{html.escape(page.rules)}</pre>",
        "<h3>Feature impact over time</h3>", img("impact_over_time.png"),
        "<p>Moved beyond the threshold:</p>", _html_table(impact, 20),
    ]  # fmt: skip
    return "\n".join(parts)


def _table_or(frame: pd.DataFrame) -> str:
    return _html_table(frame, 15)

"""The run summary a user reads first: where the run is tracked and its honest figures.

Next to the holdout Sharpe stand the same rows' buy-and-hold Sharpe, the excess over it,
the time in market and the number of trades, so a model that is simply long the whole
holdout reads as what it is.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from trademl.pipeline import RunResult

__all__ = ["summary_notes", "summary_rows", "summary_table"]

# (metric, how to show it, unit); units follow docs/metrics.md
SHOWN = (
    ("oos_accuracy", "{:.4f}", "fraction of rows"),
    ("oos_roc_auc", "{:.4f}", "AUC (0.5 = chance)"),
    ("oos_rmse", "{:.4f}", "label units"),
    ("oos_ic", "{:.4f}", "rank correlation"),
    ("oos_sharpe", "{:.4f}", "annualised"),
    ("oos_buy_hold_sharpe", "{:.4f}", "annualised"),
    ("oos_excess_sharpe", "{:.4f}", "annualised"),
    ("oos_time_in_market", "{:.1%}", "of bars"),
    ("oos_n_trades", "{:.0f}", "position changes"),
    ("deflated_sharpe", "{:.4f}", "probability"),
    ("probabilistic_sharpe", "{:.4f}", "probability"),
    ("cv_sharpe", "{:.4f}", "annualised"),
    ("oos_max_drawdown", "{:.2%}", "of equity, peak to trough"),
    ("oos_total_return", "{:.2%}", "of equity"),
    ("oos_turnover", "{:.4%}", "of equity per bar"),
)


def _rounded(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in params.items()}


def summary_rows(result: RunResult) -> list[tuple[str, str, str]]:
    """(item, value, unit) rows of the run summary."""
    from trademl.pipeline.dataset import describe_warmup

    rows = [
        (
            "run id",
            f"{result.run_id} (tracking: {result.tracking_uri})"
            if result.run_id
            else "(tracking disabled)",
            "",
        ),
        (
            "model",
            f"{result.model_name} v{result.model_version}" if result.model_version else "-",
            "",
        ),
        ("promotion", result.promotion or "-", ""),
    ]
    if result.degenerate:
        rows.append(("DEGENERATE MODEL", "; ".join(result.degenerate), ""))
    rows += [
        ("features", str(result.n_features), "columns"),
        ("holdout rows", str(len(result.predictions)), "rows"),
    ]
    for symbol, lost in result.warmup.items():
        rows.append((f"warm-up ({symbol})", describe_warmup(lost), ""))
    if result.tuning is not None:
        rows.append(
            (
                "trials (complete / pruned)",
                f"{result.tuning.n_complete} / {result.tuning.n_pruned}",
                "",
            )
        )
        rows.append(("best params", json.dumps(_rounded(result.best_params)), ""))
    for key, form, unit in SHOWN:
        if key in result.metrics:
            rows.append((key, form.format(result.metrics[key]), unit))
    rows.append(("elapsed", f"{result.elapsed:.1f}", "s"))
    return rows


def _is_note(item: str) -> bool:
    return item in _NOTES or item.startswith("warm-up")


_NOTES = ("run id", "promotion", "DEGENERATE MODEL", "best params")


def summary_notes(result: RunResult) -> list[tuple[str, str]]:
    """The rows of long text (promotion, degeneracy, warm-up, best params): printed as
    lines under the table, which then fits 80 columns."""
    return [(item, value) for item, value, _ in summary_rows(result) if _is_note(item)]


def summary_table(result: RunResult):
    """A rich table of the short :func:`summary_rows` (figures with their units)."""
    from rich.table import Table

    table = Table(title=f"trademl run: {result.experiment}", show_header=True)
    table.add_column("item")
    table.add_column("value", justify="right")
    table.add_column("unit")
    for item, value, unit in summary_rows(result):
        if not _is_note(item):
            table.add_row(item, value, unit)
    return table

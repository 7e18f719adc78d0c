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

__all__ = ["summary_rows", "summary_table"]

# (metric, how to show it); units follow docs/metrics.md
SHOWN = (
    ("oos_accuracy", "{:.4f}"),
    ("oos_roc_auc", "{:.4f}"),
    ("oos_rmse", "{:.4f}"),
    ("oos_ic", "{:.4f}"),
    ("oos_sharpe", "{:.4f}"),
    ("oos_buy_hold_sharpe", "{:.4f}"),
    ("oos_excess_sharpe", "{:.4f}"),
    ("oos_time_in_market", "{:.1%}"),
    ("oos_n_trades", "{:.0f}"),
    ("deflated_sharpe", "{:.4f}"),
    ("probabilistic_sharpe", "{:.4f}"),
    ("cv_sharpe", "{:.4f}"),
    ("oos_max_drawdown", "{:.2%}"),
    ("oos_total_return", "{:.2%}"),
    ("oos_turnover", "{:.4f} per bar"),
)


def _rounded(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in params.items()}


def summary_rows(result: RunResult) -> list[tuple[str, str]]:
    rows = [
        ("run id", result.run_id or "(tracking disabled)"),
        ("model", f"{result.model_name} v{result.model_version}" if result.model_version else "-"),
        ("promotion", result.promotion or "-"),
        ("features", str(result.n_features)),
        ("holdout rows", str(len(result.predictions))),
    ]
    if result.tuning is not None:
        rows.append(
            ("trials (complete / pruned)", f"{result.tuning.n_complete} / {result.tuning.n_pruned}")
        )
        rows.append(("best params", json.dumps(_rounded(result.best_params))))
    for key, form in SHOWN:
        if key in result.metrics:
            rows.append((key, form.format(result.metrics[key])))
    rows.append(("elapsed", f"{result.elapsed:.1f} s"))
    return rows


def summary_table(result: RunResult):
    """A rich table of :func:`summary_rows`."""
    from rich.table import Table

    table = Table(title=f"trademl run: {result.experiment}", show_header=True)
    table.add_column("item")
    table.add_column("value", justify="right")
    for item, value in summary_rows(result):
        table.add_row(item, value)
    return table

"""An explanation's files: tables (CSV or Parquet), the surrogate's rules, a summary and PNG
plots, written under a folder or logged to the model's MLflow run under ``explain/``.

Every file is first written to a temporary folder; the destination is checked for
existing files before anything is moved, so a refused write leaves it as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Literal

import pandas as pd

from trademl.errors import DataError
from trademl.explain.package import Explanation

__all__ = ["EXPLAIN_ARTIFACT", "file_names", "log_explanation", "write_explanation"]

EXPLAIN_ARTIFACT = "explain"
TableFormat = Literal["csv", "parquet"]
_TABLES = ("importance", "shap_values", "interactions", "local", "lime", "impact")
_OTHER = ("surrogate_rules.txt", "summary.json", "beeswarm.png", "waterfall.png",
          "impact_over_time.png")  # fmt: skip


def file_names(fmt: TableFormat = "csv") -> list[str]:
    return [f"{name}.{fmt}" for name in _TABLES] + list(_OTHER)


def _tables(explanation: Explanation) -> dict[str, pd.DataFrame]:
    values = explanation.shap.to_frame()
    values.index.name = "timestamp"
    return {
        "importance": explanation.importance,
        "shap_values": values,
        "interactions": explanation.interactions
        if explanation.interactions is not None
        else pd.DataFrame(columns=["feature_a", "feature_b", "mean_abs_interaction"]),
        "local": explanation.local,
        "lime": explanation.lime.weights,
        "impact": explanation.impact,
    }


def _render(explanation: Explanation, folder: Path, fmt: TableFormat) -> list[Path]:
    from trademl.explain.plots import beeswarm_png, impact_png, waterfall_png

    paths = []
    for name, frame in _tables(explanation).items():
        path = folder / f"{name}.{fmt}"
        keep_index = name == "shap_values"
        if fmt == "parquet":
            frame.to_parquet(path, index=keep_index)
        else:
            frame.to_csv(path, index=keep_index)
        paths.append(path)
    surrogate = explanation.surrogate
    rules = folder / "surrogate_rules.txt"
    rules.write_text(
        f"# surrogate decision tree, depth {surrogate.max_depth}: {surrogate.fidelity_metric} "
        f"{surrogate.fidelity:.4f} with the model on {surrogate.n_holdout} held-out rows\n"
        + surrogate.rules,
        encoding="utf-8",
    )
    summary = folder / "summary.json"
    summary.write_text(json.dumps(explanation.summary(), indent=2, default=str), encoding="utf-8")
    beeswarm_png(explanation.shap, explanation.data, folder / "beeswarm.png")
    waterfall_png(explanation.local_values, explanation.local_data, 0, folder / "waterfall.png")
    impact_png(explanation.impact, folder / "impact_over_time.png")
    return [*paths, rules, summary, *(folder / n for n in _OTHER[2:])]


def write_explanation(
    explanation: Explanation, folder: str | Path, *, fmt: TableFormat = "csv", force: bool = False
) -> list[Path]:
    """Write every file under ``folder``; refuses (DataError) if one exists unless ``force``."""
    if fmt not in ("csv", "parquet"):
        raise DataError(f"table format must be csv or parquet, got {fmt!r}")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise DataError(f"-o {folder}: exists and is not a folder")
    existing = [n for n in file_names(fmt) if (folder / n).exists()]
    if existing and not force:
        raise DataError(
            f"-o {folder}: {', '.join(existing[:3])} already exist(s); pass --force to overwrite"
        )
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".trademl-explain-", dir=folder))
    try:
        written = _render(explanation, staging, fmt)
        final = []
        for path in written:
            os.replace(path, folder / path.name)
            final.append(folder / path.name)
        return final
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def log_explanation(explanation: Explanation, run_id: str, *, fmt: TableFormat = "parquet"):
    """Log the files to run ``run_id`` under ``explain/`` (tables, rules, summary, plots)."""
    from trademl.tracking import _store

    client = _store.client()
    with tempfile.TemporaryDirectory(prefix="trademl-explain-") as folder:
        _render(explanation, Path(folder), fmt)
        client.log_artifacts(run_id, folder, EXPLAIN_ARTIFACT)
        client.log_metric(run_id, "explain_surrogate_fidelity", explanation.surrogate.fidelity)
    return f"runs:/{run_id}/{EXPLAIN_ARTIFACT}"

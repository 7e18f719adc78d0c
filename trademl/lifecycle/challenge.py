"""The offline verdict: champion and challengers predict the same bars, paired tests decide.

Why the same bars: each version's run scored its own holdout, and a newer challenger's
holdout is a later period than the champion's, so "beats the champion" on run metrics
compares two different markets. Here every model predicts the *common* out-of-sample
window — bars at or after the latest of their training cut-offs (``trained_until`` is the
first bar none of them trained on) — from the same candles, each through its own feature
recipe, and the per-bar strategy returns (the backtest engine with the spec's lag, fees
and sizing) and per-bar losses are compared pair by pair.

Tests, per challenger: Diebold-Mariano on strategy returns and on losses (log loss for
classifiers, squared error for regressors), a stationary block-bootstrap interval of the
mean return difference, the effect size; with several challengers the return p-values are
Holm-adjusted. Verdict: ``challenger`` when its returns are significantly higher and its
loss is not significantly worse, ``champion`` when they are significantly lower, else
``no difference`` (the champion stays).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from trademl.errors import DataError
from trademl.lifecycle.stats import block_bootstrap_ci, diebold_mariano, effect_size, holm

if TYPE_CHECKING:  # pragma: no cover
    from trademl.config import ExperimentSpec
    from trademl.package.model import ModelPackage

__all__ = ["ChallengeResult", "MIN_COMMON_BARS", "compare_packages", "paired_predictions"]

logger = logging.getLogger(__name__)

# fewer paired bars than this cannot tell two strategies apart; refuse rather than guess
MIN_COMMON_BARS = 200
_EPS = 1e-12


@dataclass
class Comparison:
    challenger: str
    n_bars: int
    mean_return_difference: float
    effect_size: float
    returns_test: dict[str, float]
    loss_test: dict[str, float]
    bootstrap: dict[str, float]
    p_value_adjusted: float
    verdict: str
    reason: str


@dataclass
class ChallengeResult:
    champion: str
    window_start: str
    window_end: str
    n_bars: int
    alpha: float
    metrics: dict[str, dict[str, float]]  # model -> oos figures on the common window
    comparisons: list[Comparison] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """``challenger NAME`` for the best significant winner, else the champion stays."""
        winners = [c for c in self.comparisons if c.verdict == "challenger"]
        if not winners:
            return "champion"
        return max(winners, key=lambda c: c.mean_return_difference).challenger

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["verdict"] = self.verdict
        return out


def _timestamps_at_or_after(package: ModelPackage) -> pd.Timestamp | None:
    if not package.trained_until:
        return None
    stamp = pd.Timestamp(package.trained_until)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def paired_predictions(
    packages: dict[str, ModelPackage],
    frames: dict[str, pd.DataFrame],
    outcomes: pd.DataFrame,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Every model's predictions on the rows all of them score out of sample.

    ``outcomes``: index timestamp, columns ``symbol, y_true, forward_return`` (the
    dataset's labels). Returns (the common rows' outcomes, {model: OOS-style frame}).
    """
    scored = {}
    starts = []
    for label, package in packages.items():
        usable = {s: f for s, f in frames.items() if s in package.symbols}
        missing = [s for s in frames if s not in package.symbols]
        if missing:
            logger.info("%s does not know %s: those symbols are left out", label, missing)
        if not usable:
            raise DataError(f"{label}: knows none of the data's symbols {list(frames)}")
        scored[label] = package.predict_frame(usable)
        starts.append(_timestamps_at_or_after(package))
    start = max((s for s in starts if s is not None), default=None)

    def keyed(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.reset_index()
        out["symbol"] = out["symbol"].astype(str)
        return out.set_index(["timestamp", "symbol"])

    common = keyed(outcomes)
    common = common[np.isfinite(common["y_true"].to_numpy(dtype=float))]
    for frame in scored.values():
        common = common.loc[common.index.intersection(keyed(frame).index)]
    if start is not None:
        common = common[common.index.get_level_values("timestamp") >= start]
    common = common.sort_index(level=["timestamp", "symbol"])
    if len(common) < MIN_COMMON_BARS:
        raise DataError(
            f"the models share {len(common)} out-of-sample bars (after "
            f"{start.isoformat() if start is not None else 'the start'}), need at least "
            f"{MIN_COMMON_BARS}: give newer data (spec data.path) or compare other versions"
        )
    out = {}
    for label, frame in scored.items():
        rows = keyed(frame).loc[common.index]
        oos = pd.DataFrame(
            {
                "symbol": pd.array(common.index.get_level_values("symbol"), dtype="string"),
                "close": rows["close"].to_numpy(dtype=float),
                "y_true": common["y_true"].to_numpy(dtype=float),
                "y_pred": rows["y_pred"].to_numpy(dtype=float),
                "proba": rows["proba"].to_numpy(dtype=float),
                "signal": rows["signal"].to_numpy().astype(np.int8),
                "forward_return": common["forward_return"].to_numpy(dtype=float),
            },
            index=pd.DatetimeIndex(common.index.get_level_values("timestamp"), name="timestamp"),
        )
        out[label] = oos
    return common, out


def per_bar_loss(oos: pd.DataFrame, task: str) -> np.ndarray:
    """Log loss of the positive-class probability (classifiers) or squared error."""
    y = oos["y_true"].to_numpy(dtype=float)
    if task == "classification":
        p = np.clip(oos["proba"].to_numpy(dtype=float), _EPS, 1 - _EPS)
        positive = y > 0
        return -np.where(positive, np.log(p), np.log1p(-p))
    return (oos["y_pred"].to_numpy(dtype=float) - y) ** 2


def compare_packages(
    spec: ExperimentSpec,
    champion: tuple[str, ModelPackage],
    challengers: dict[str, ModelPackage],
    frames: dict[str, pd.DataFrame],
    outcomes: pd.DataFrame,
    *,
    alpha: float = 0.05,
    seed: int = 0,
) -> ChallengeResult:
    """The verdict of ``challengers`` against ``champion`` on their common window."""
    from trademl.analytics.periods import periods_per_year_for
    from trademl.data.timeframe import infer_timeframe
    from trademl.evaluation import score_predictions

    if not 0 < alpha < 0.5:
        raise DataError(f"alpha must be in (0, 0.5), got {alpha}")
    if not challengers:
        raise DataError("no challenger to compare with the champion")
    champion_label, champion_package = champion
    packages = {champion_label: champion_package, **challengers}
    tasks = {label: p.task for label, p in packages.items()}
    if len(set(tasks.values())) > 1:
        raise DataError(f"the models do not share one task: {tasks}")
    task = spec.model.task
    common, oos = paired_predictions(packages, frames, outcomes)
    first = next(iter(frames.values()))
    ppy = periods_per_year_for(infer_timeframe(first.index), spec.backtest.calendar)
    scores = {
        label: score_predictions(frame, task=task, backtest=spec.backtest, periods_per_year=ppy)
        for label, frame in oos.items()
    }
    returns = {label: s.returns.fillna(0.0) for label, s in scores.items()}
    losses = {label: per_bar_loss(frame, task) for label, frame in oos.items()}
    base_returns = returns[champion_label]
    raw = []
    for label in challengers:
        aligned = returns[label].reindex(base_returns.index).fillna(0.0)
        d_returns = aligned.to_numpy() - base_returns.to_numpy()
        d_loss = losses[champion_label] - losses[label]  # > 0: the challenger's loss is lower
        raw.append(
            (
                label,
                d_returns,
                diebold_mariano(d_returns),
                diebold_mariano(d_loss),
                block_bootstrap_ci(d_returns, seed=seed),
            )
        )
    adjusted = holm([r[2].p_value for r in raw])
    comparisons = []
    for (label, d_returns, dm_r, dm_l, boot), p_adj in zip(raw, adjusted, strict=True):
        loss_worse = dm_l.p_value < alpha and dm_l.mean < 0
        if p_adj < alpha and dm_r.mean > 0 and not loss_worse:
            verdict = "challenger"
            reason = (
                f"higher net returns by {dm_r.mean:.3g} per bar (DM p={dm_r.p_value:.3g}, "
                f"Holm p={p_adj:.3g} < {alpha})"
            )
        elif p_adj < alpha and dm_r.mean < 0:
            verdict = "champion"
            reason = f"lower net returns by {-dm_r.mean:.3g} per bar (Holm p={p_adj:.3g})"
        elif p_adj < alpha:
            verdict = "no difference"
            reason = f"higher returns but a significantly worse loss (p={dm_l.p_value:.3g})"
        else:
            verdict = "no difference"
            reason = f"returns not significantly different (Holm p={p_adj:.3g} >= {alpha})"
        comparisons.append(
            Comparison(
                challenger=label,
                n_bars=len(d_returns),
                mean_return_difference=dm_r.mean,
                effect_size=effect_size(d_returns),
                returns_test={
                    "statistic": dm_r.statistic,
                    "p_value": dm_r.p_value,
                    "lags": dm_r.lags,
                },  # fmt: skip
                loss_test={
                    "statistic": dm_l.statistic,
                    "p_value": dm_l.p_value,
                    "mean_loss_difference": dm_l.mean,
                },  # fmt: skip
                bootstrap={
                    "low": boot.low,
                    "high": boot.high,
                    "level": boot.level,
                    "block_length": boot.block_length,
                    "p_value": boot.p_value,
                },  # fmt: skip
                p_value_adjusted=float(p_adj),
                verdict=verdict,
                reason=reason,
            )
        )
    stamps = common.index.get_level_values("timestamp")
    return ChallengeResult(
        champion=champion_label,
        window_start=stamps.min().isoformat(),
        window_end=stamps.max().isoformat(),
        n_bars=len(base_returns),
        alpha=alpha,
        metrics={label: s.metrics for label, s in scores.items()},
        comparisons=comparisons,
    )


def stored_spec(run_id: str) -> ExperimentSpec:
    """The spec a run was made with (its ``spec/experiment.yaml`` artifact)."""
    import tempfile
    from pathlib import Path

    import yaml
    from mlflow.exceptions import MlflowException

    from trademl.config import load_spec
    from trademl.tracking import _store
    from trademl.tracking.runs import SPEC_ARTIFACT

    with tempfile.TemporaryDirectory() as folder:
        try:
            local = _store.download_artifacts(
                run_id=run_id, artifact_path=SPEC_ARTIFACT, dst_path=folder
            )
        except (MlflowException, OSError) as exc:
            raise DataError(f"run {run_id} has no stored spec ({SPEC_ARTIFACT}): {exc}") from None
        return load_spec(yaml.safe_load(Path(local).read_text(encoding="utf-8")))


def default_challengers(name: str) -> list[int]:
    """The ``challenger`` alias if set, else the newest version after the champion."""
    from trademl.tracking import registry

    champion = registry.champion_version(name)
    alias = registry._alias_version(name, registry.CHALLENGER)
    if alias is not None and alias != champion:
        return [alias]
    versions = sorted(int(v["version"]) for v in registry.model_versions(name))
    newer = [v for v in versions if champion is None or v > champion]
    if not newer:
        raise DataError(
            f"model {name!r}: no challenger (no 'challenger' alias and no version after "
            f"the champion v{champion})"
        )
    return [newer[-1]]


def challenge(
    name: str,
    challengers: list[int] | None = None,
    *,
    spec: ExperimentSpec | None = None,
    base_dir=None,
    alpha: float = 0.05,
    seed: int = 0,
) -> ChallengeResult:
    """The offline verdict of ``name``'s challenger version(s) against its champion.

    The candles and labels come from ``spec`` (default: the spec stored with the newest
    challenger's run), so point its ``data`` at fresh data to judge on new bars.
    """
    from trademl.package.load import load_model
    from trademl.pipeline.dataset import build_dataset
    from trademl.tracking import registry

    champion = registry.champion_version(name)
    if champion is None:
        raise DataError(f"model {name!r} has no champion to challenge")
    versions = [int(v) for v in (challengers or default_challengers(name))]
    if champion in versions:
        raise DataError(f"{name} v{champion} is the champion: it cannot challenge itself")
    champion_package = load_model(f"{name}/{champion}")
    packages = {f"v{v}": load_model(f"{name}/{v}") for v in versions}
    for label, package in packages.items():
        if package.timeframe != champion_package.timeframe:
            raise DataError(
                f"{name} {label} is a {package.timeframe} model, the champion "
                f"{champion_package.timeframe}: they cannot be compared bar by bar"
            )
        if package.task != champion_package.task:
            raise DataError(
                f"{name} {label} is a {package.task} model, the champion a "
                f"{champion_package.task} one"
            )
    if spec is None:
        newest = max(versions)
        spec = stored_spec(registry._get_version(name, newest).run_id)
    dataset = build_dataset(spec, base_dir=base_dir)
    outcomes = pd.DataFrame(
        {
            "symbol": dataset.symbol.astype(str),
            "y_true": dataset.y.astype(float),
            "forward_return": dataset.forward_return,
        },
        index=dataset.X.index,
    )
    outcomes.index.name = "timestamp"
    return compare_packages(
        spec,
        (f"v{champion}", champion_package),
        packages,
        dataset.frames,
        outcomes,
        alpha=alpha,
        seed=seed,
    )

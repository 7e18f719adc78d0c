"""Live champion vs challenger from the serving logs, and automatic rollback.

Both versions must have predicted the same bars: a challenger in shadow (or canary with
both logged) and, after a promotion, the previous champion kept in shadow. Each version's
logged signals become per-bar net returns through the backtest engine (the spec's lag,
fees and sizing, the same numbers as the holdout), and the paired differences feed the
mixture SPRT in time order, so the test can be read after every batch of bars and stops
as soon as the difference is significant, at the stated level.

Rollback: when the live champion, over at least ``min_samples`` bars it shares with its
predecessor since its promotion, trails it by more than ``margin`` in cumulative net
return, the registry rolls back (recorded in the champion history and the journal, and
sent to the alert channels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trademl.errors import DataError
from trademl.lifecycle.stats import MixtureSPRT, SequentialDecision

__all__ = ["RollbackDecision", "check_rollback", "live_returns", "online_test", "paired_live"]


def live_returns(store, model: str, version: str, backtest, *, since=None) -> pd.Series:
    """Per-bar net returns of ``model`` v``version``'s logged predictions."""
    from trademl.backtest._strategy import strategy_returns

    frame = store.predictions(model, version=str(version), since=since)
    if frame.empty:
        return pd.Series(dtype=float, name="returns")
    if frame["close"].isna().any():
        raise DataError(
            f"{model} v{version}: logged predictions without the bar's close cannot be "
            "turned into returns (log predictions with their close)"
        )
    frame = frame.sort_index(kind="stable")
    # a bar logged twice (a retried batch) counts once
    key = pd.MultiIndex.from_arrays([frame.index, frame["symbol"].astype(str)])
    frame = frame[~key.duplicated(keep="last")]
    signal = frame["signal"] if frame["signal"].notna().all() else np.sign(frame["prediction"])
    return strategy_returns(
        frame["close"], signal.to_numpy(dtype=float), backtest=backtest,
        proba=frame["proba"].to_numpy(dtype=float), symbols=frame["symbol"].to_numpy(),
    )  # fmt: skip


def paired_live(store, model: str, a: str, b: str, backtest, *, since=None) -> pd.DataFrame:
    """Columns ``a`` and ``b``: the two versions' net returns on the bars both predicted."""
    left = live_returns(store, model, a, backtest, since=since)
    right = live_returns(store, model, b, backtest, since=since)
    common = left.index.intersection(right.index)
    return pd.DataFrame({"a": left.loc[common], "b": right.loc[common]}).sort_index()


def online_test(store, model: str, champion: str, challenger: str, backtest, *,
                alpha: float = 0.05, batch_size: int = 24, min_samples: int = 500,
                max_samples: int = 20_000, since=None) -> SequentialDecision:  # fmt: skip
    """The sequential verdict of the challenger's live returns against the champion's."""
    pairs = paired_live(store, model, challenger, champion, backtest, since=since)
    test = MixtureSPRT(alpha=alpha, batch_size=batch_size, min_samples=min_samples,
                       max_samples=max_samples)  # fmt: skip
    differences = (pairs["a"] - pairs["b"]).to_numpy()
    decision = test.decision()
    for start in range(0, len(differences), batch_size):
        decision = test.update(differences[start : start + batch_size])
        if decision.decision != "continue":
            break
    return decision


@dataclass(frozen=True)
class RollbackDecision:
    rolled_back: bool
    reason: str
    champion: int | None = None
    restored: int | None = None
    n_bars: int = 0
    shortfall: float = 0.0  # predecessor's cumulative net return minus the champion's


def _promotion(name: str, version: int) -> tuple[pd.Timestamp | None, int | None]:
    """When ``version`` last became champion, and the champion it replaced."""
    from trademl.tracking import registry

    for event in reversed(registry.champion_history(name)):
        if event["event"] in ("promote", "rollback") and int(event["version"]) == version:
            previous = event.get("previous")
            return pd.Timestamp(event["at"]), None if previous is None else int(previous)
    return None, None


def check_rollback(store, name: str, backtest, *, margin: float = 0.02, min_samples: int = 500,
                   apply: bool = True, since=None) -> RollbackDecision:  # fmt: skip
    """Roll back ``name`` when its live champion trails its predecessor (see the module doc).

    ``since``: count bars from this time (default: the champion's promotion time, read
    from the registry history; a replay with its own clock passes its own).
    """
    from trademl.tracking import registry

    if margin < 0 or min_samples < 1:
        raise DataError(
            f"rollback: margin must be >= 0 and min_samples >= 1, got {margin}, {min_samples}"
        )
    champion = registry.champion_version(name)
    if champion is None:
        return RollbackDecision(False, f"{name} has no champion")
    promoted_at, predecessor = _promotion(name, champion)
    if predecessor is None:
        return RollbackDecision(False, f"{name} v{champion} has no predecessor", champion)
    start = since if since is not None else promoted_at
    pairs = paired_live(store, name, str(champion), str(predecessor), backtest, since=start)
    n = len(pairs)
    if n < min_samples:
        return RollbackDecision(
            False, f"{n} of {min_samples} shared live bars with v{predecessor}", champion, n_bars=n
        )
    growth = (1 + pairs).prod() - 1
    shortfall = float(growth["b"] - growth["a"])
    if shortfall <= margin:
        return RollbackDecision(
            False,
            f"v{champion} trails v{predecessor} by {shortfall:+.2%} over {n} bars (margin {margin:.2%})",
            champion, n_bars=n, shortfall=shortfall,
        )  # fmt: skip
    reason = (
        f"live v{champion} trails its predecessor v{predecessor} by {shortfall:.2%} net over "
        f"{n} shared bars (> margin {margin:.2%})"
    )
    restored = registry.rollback(name, reason) if apply else predecessor
    return RollbackDecision(True, reason, champion, restored, n, shortfall)

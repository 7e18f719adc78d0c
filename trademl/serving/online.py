"""Online features: one symbol's feature state, carried forward one closed bar at a time.

``OnlineFeatures(recipe, symbol)`` turns a model package's feature recipe into a state
machine: ``warm_up(history)`` once, then ``update(bar, timestamp)`` per new closed bar
returns the estimator's input row, the same numbers ``recipe.transform(history)`` gives
for that bar in the batch path. How each feature gets there is declared in the feature
registry (``Feature.online``, see :class:`trademl.features._registry.Online`):

- TA-Lib wrappers and features with a carried state (Keltner, VPT, swing levels, volume
  SMA) are bit-identical (``talib.stream`` handles, O(1) per bar);
- features whose value depends only on a trailing window are carried as running states
  (monotonic deques for max/min, the volume profile in Python floats: bit-identical;
  rolling sums re-added exactly every window: within ``SUM_TOLERANCE``, see
  ``trademl.features._running``) or recomputed on that window, exactly (max/min/shift
  arithmetic) or within a stated tolerance (cumulative sums);
- features that cannot be served (a refitted GARCH, order-book events, a reference
  symbol, higher timeframes and rolling z-scores, which are not streamed yet) make the
  recipe refused unless ``allow_unservable=True``; then they are recomputed on the whole
  history kept since the warm-up (equal to batch, but slower with every bar).

A rejected bar (out of order, duplicate, a gap, not closed yet, NaN, a missing or
non-numeric field) raises :class:`BarRejected` and leaves the state exactly as it was:
every check runs before anything is changed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trademl.errors import DataError, TradeMLError
from trademl.features._bars import Bars, bars_from_frame, infer_bar_delta
from trademl.features._generate import FeaturePlan, Planned, compute_plan, load_feature_spec
from trademl.features._online_state import BarScalars, TalibStream
from trademl.features._registry import INPUTS
from trademl.features._rolling import TailLogs
from trademl.features._running import ReplayedState
from trademl.package.recipe import FeatureRecipe

__all__ = [
    "BAR_FIELDS",
    "BarRejected",
    "OnlineFeatures",
    "UnservableFeatures",
    "unservable_features",
]

BAR_FIELDS = ("open", "high", "low", "close", "volume")
PRICES = ("open", "high", "low", "close")
NAN = float("nan")


class BarRejected(DataError):
    """A bar the online state refuses; nothing was changed. ``field`` names what is wrong
    (``timestamp``, ``close``...), ``reason`` is a short code (``out_of_order``,
    ``duplicate``, ``gap``, ``not_closed``, ``missing``, ``not_numeric``, ``not_finite``,
    ``inconsistent``)."""

    def __init__(self, message: str, *, field: str, reason: str):
        super().__init__(message)
        self.field = field
        self.reason = reason


class UnservableFeatures(TradeMLError, ValueError):
    """The model uses features that cannot be served bar by bar; ``features`` maps each
    column to the reason."""

    def __init__(self, features: Mapping[str, str]):
        self.features = dict(features)
        first = next(iter(self.features.items()))
        listed = ", ".join(list(self.features)[:6])
        more = f" and {len(self.features) - 6} more" if len(self.features) > 6 else ""
        super().__init__(
            f"the model uses {len(self.features)} feature column(s) that cannot be served "
            f"online: {listed}{more} ({first[0]}: {first[1]}); retrain without them, or "
            "allow them (allow_unservable=True, `--allow-unservable`) to recompute them on "
            "the whole history at every bar"
        )


# ---- what the recipe needs, and what can be served -------------------------------------
@dataclass(frozen=True)
class _RecipePlan:
    spec: Any
    plan: FeaturePlan  # only what the recipe's columns need
    unservable: dict[str, str]  # recipe column -> reason


def _recipe_plan(recipe: FeatureRecipe, columns: list[str] | None = None) -> _RecipePlan:
    """The plan of the recipe's ``columns`` (default: all of them)."""
    from trademl.features._generate import make_plan

    spec = load_feature_spec(recipe.feature_spec)
    recipe.load_modules()
    # every input counts as available: the recipe says which columns the model was fitted
    # on, and a feature reading order-book data must be named, not silently planned away
    plan, _ = make_plan(spec, set(INPUTS))
    columns = recipe.columns if columns is None else columns
    wanted = set(columns)
    sources = {source for name, source, _ in plan.lag_columns if name in wanted}
    z_suffix = f"_z{spec.normalise.window}" if spec.normalise is not None else None
    z_sources: set[str] = set()
    if spec.normalise is not None:
        for source in plan.norm_source:
            target = source + z_suffix if spec.normalise.mode == "append" else source
            if target in wanted:
                z_sources.add(source)
    needed = wanted | sources | z_sources
    plan = plan.restrict(lambda p: bool(needed.intersection(p.columns)), spec)
    known = set(plan.names)
    missing = [c for c in columns if c not in known]
    if missing:
        raise DataError(
            f"the recipe's feature spec does not produce column(s) {missing[:5]} the model needs"
        )
    owner_item = {c: p for p in plan.items() for c in p.columns}
    lag_source = {name: source for name, source, _ in plan.lag_columns}
    unservable: dict[str, str] = {}
    for column in columns:
        if column in lag_source:
            source = lag_source[column]
        elif z_suffix and (column.endswith(z_suffix) or column in z_sources):
            source = column.removesuffix(z_suffix) if column.endswith(z_suffix) else column
            if source in z_sources:
                unservable[column] = "rolling z-score normalisation is not streamed yet"
                continue
        else:
            source = column
        item = owner_item[source]
        reason = _item_reason(item)
        if reason:
            unservable[column] = reason
    return _RecipePlan(spec, plan, unservable)


def _warm_bars(plan: FeaturePlan, columns: list[str]) -> int:
    """Bars until every one of ``columns`` has a value: its feature's warm-up, plus a lag."""
    warm = {c: p.feature.warmup_bars(p.params) + 1 for p in plan.items() for c in p.columns}
    warm.update({name: warm[source] + lag for name, source, lag in plan.lag_columns})
    return max([warm[c] for c in columns] + [1])


def _item_reason(item: Planned) -> str:
    online = item.feature.online
    if item.prefix:
        return "higher-timeframe features are not streamed yet"
    if online.mode == "none":
        return f"feature {item.feature.name!r}: {online.reason}"
    if online.state is None and online.tail is None:
        return f"feature {item.feature.name!r} declares neither a state nor a tail to serve it"
    return ""


def unservable_features(recipe: FeatureRecipe) -> dict[str, str]:
    """Feature columns of the recipe that cannot be served bar by bar -> the reason."""
    return _recipe_plan(recipe).unservable


# ---- the bar history --------------------------------------------------------------------
class _History:
    """The bars seen so far (all of them until ``trim`` bounds it), as growable arrays."""

    def __init__(self, names: tuple[str, ...], capacity: int = 1024):
        self.names = names
        self.stamps = np.empty(capacity, dtype=np.int64)
        self.values = {n: np.empty(capacity) for n in names}
        self.size = 0
        self.seen = 0  # every bar ever appended (trimming keeps counting)

    def extend(self, stamps: np.ndarray, columns: Mapping[str, np.ndarray]) -> None:
        n = len(stamps)
        self._reserve(n)
        self.stamps[self.size : self.size + n] = stamps
        for name in self.names:
            self.values[name][self.size : self.size + n] = columns[name]
        self.size += n
        self.seen += n

    def append(self, stamp: int, row: Mapping[str, float]) -> None:
        self._reserve(1)
        self.stamps[self.size] = stamp
        for name in self.names:
            self.values[name][self.size] = row[name]
        self.size += 1
        self.seen += 1

    def drop_last(self) -> None:
        self.size -= 1
        self.seen -= 1

    def _reserve(self, n: int) -> None:
        if self.size + n <= len(self.stamps):
            return
        capacity = max(2 * len(self.stamps), self.size + n)
        self.stamps = np.resize(self.stamps, capacity)
        self.values = {k: np.resize(v, capacity) for k, v in self.values.items()}

    def trim(self, keep: int) -> None:
        """Keep only the last ``keep`` bars once the buffer is full (amortised O(1))."""
        if self.size < len(self.stamps) or self.size <= keep:
            return
        start = self.size - keep
        self.stamps[:keep] = self.stamps[start : self.size]
        for values in self.values.values():
            values[:keep] = values[start : self.size]
        self.size = keep

    def window(self, n: int | None = None) -> Bars:
        start = 0 if n is None else max(self.size - n, 0)
        return Bars(
            self.stamps[start : self.size],
            {k: v[start : self.size] for k, v in self.values.items()},
        )


# ---- how one planned feature is served --------------------------------------------------
class _TailServer:
    """Recompute the feature on its trailing window and keep the last value."""

    opened = True

    def __init__(self, item: Planned):
        self.item = item
        self.need = item.feature.online.tail_bars(item.params)
        self.warm = item.feature.warmup_bars(item.params) + 1
        self.n_out = len(item.feature.outputs)
        self.last = item.feature.online.last

    def open(self, history: Bars) -> tuple[float, ...]:
        return self.update(history)

    def update(self, window: Bars, bar: Mapping[str, float] | None = None) -> tuple[float, ...]:
        if len(window) < self.warm:
            return (NAN,) * self.n_out  # still in the warm-up: the batch value is NaN too
        if self.last is not None:
            return self.last(window, **self.item.params)
        arrays = self.item.feature.run(window, self.item.params)
        return tuple(float(a[-1]) for a in arrays)


def _tail_last(server: _TailServer):
    """A tail server's ``last`` formula bound to its parameters, NaN while warming."""
    last, params, warm = server.last, server.item.params, server.warm
    nans = (NAN,) * server.n_out

    def update(window: Bars, bar: Any = None) -> tuple[float, ...]:
        return nans if len(window) < warm else last(window, **params)

    return update


def _talib_derived(server: TalibStream):
    """An open TA-Lib stream with derived outputs, as ``TalibStream.update`` computes
    them (the batch formula on numpy scalars) without its per-call dispatch."""
    from trademl.features.trend import _distance
    from trademl.features.volatility import _bbands_derived

    call, inputs = server.handle.handle.update, server.handle.inputs
    picks = [i for i in server.picks if i is not None]
    derived, params = server.derived, server.params
    if derived is _distance:
        # close / average - 1 in Python floats: the same IEEE-754 double operations as the
        # batch formula on arrays, without building numpy scalars (38 of them per bar)
        def distance(window: Bars, bar: Mapping[str, float]) -> list[float]:
            value = call(*[bar[i] for i in inputs])
            raw = value if isinstance(value, tuple) else (value,)
            average = float(raw[0])
            if average == 0.0:  # numpy's inf/NaN for a zero average, not ZeroDivisionError
                return generic(window, bar, raw)
            return [*(raw[i] for i in picks), float(bar["close"]) / average - 1.0]

    def generic(window: Bars, bar: Mapping[str, float], raw: tuple) -> list[float]:
        values = [raw[i] for i in picks]
        if derived is not None:
            scalars = tuple([np.float64(v) for v in raw])
            values += [float(v) for v in derived(BarScalars(bar), params, scalars)]
        return values

    if derived is _distance:
        return distance

    if derived is _bbands_derived and picks == [0, 1, 2]:
        # %b and width in Python floats, the batch formula's IEEE operations
        def bbands(window: Bars, bar: Mapping[str, float]) -> list[float]:
            raw = call(*[bar[i] for i in inputs])
            upper, middle, lower = float(raw[0]), float(raw[1]), float(raw[2])
            width = upper - lower
            if width != width or middle == 0.0:  # NaN and numpy's inf: the generic path
                return generic(window, bar, raw)
            pctb = (float(bar["close"]) - lower) / width if width > 0 else 0.5
            return [upper, middle, lower, pctb, width / middle]

        return bbands

    def update(window: Bars, bar: Mapping[str, float]) -> list[float]:
        value = call(*[bar[i] for i in inputs])
        return generic(window, bar, value if isinstance(value, tuple) else (value,))

    return update


@dataclass
class _Steady:
    combos: tuple[tuple[str, ...], ...]  # the input tuples the direct handles read
    single: list  # (handle.update, inputs, position): one output
    multi: list  # (handle.update, inputs, positions): several outputs
    # (handle.update, inputs, position of the average, of the close's distance to it)
    distances: list
    other: list  # (update(window, bar), bars it reads or None, positions)
    needs: list[int]  # the window lengths `other` reads


def _shared_windows(history: _History, needs: list[int]) -> dict[int, Bars]:
    """The trailing windows the servers read this bar, as views of one longest window
    sharing its logs: ``log_tail`` takes the log of a column once per bar, not once per
    feature (the same elementwise values)."""
    size = history.size
    longest = max(needs)
    start = max(size - longest, 0)
    stamps = history.stamps[start:size]
    columns = {k: v[start:size] for k, v in history.values.items()}
    shared = TailLogs(columns)
    out = {}
    for n in needs:
        if n >= longest or n >= len(stamps):
            window = Bars(stamps, columns)
        else:
            window = Bars(stamps[-n:], {k: v[-n:] for k, v in columns.items()})
        window.tail_logs = shared
        out[n] = window
    return out


def _server(item: Planned) -> Any:
    online = item.feature.online
    if online.state is not None:
        return online.state(**item.params)
    return _TailServer(item)


class OnlineFeatures:
    """One symbol's online feature state for a fitted :class:`FeatureRecipe`.

    ``warm_up(candles)`` with the history (an OHLCV frame, UTC index), then
    ``update(bar, timestamp)`` per new closed bar -> the estimator's input row
    (``recipe.input_columns`` order, ``recipe.dtype``). ``ready`` is True once every
    feature is past its warm-up; ``last_timestamp`` is the newest bar taken.

    ``compute``: only these of the recipe's columns are computed (what the model reads,
    see ``ModelPackage.columns_read``); the others stay NaN in the row, and
    ``scorable`` tells whether the newest row can be scored as the batch path would.
    """

    def __init__(
        self,
        recipe: FeatureRecipe,
        symbol: str,
        *,
        allow_unservable: bool = False,
        bar_delta: pd.Timedelta | str | None = None,
        compute: list[str] | None = None,
    ):
        self.recipe = recipe
        self.symbol = symbol
        self.allow_unservable = allow_unservable
        self.bar_delta = bar_delta
        if recipe.one_hot_symbols and symbol not in recipe.symbols:
            raise DataError(
                f"symbol {symbol!r} is unknown to this model (trained on {recipe.symbols})"
            )
        planned = _recipe_plan(recipe)
        if planned.unservable and not allow_unservable:
            raise UnservableFeatures(planned.unservable)
        self.unservable_ = planned.unservable
        # bars until every column of the recipe has a value, computed or not: the batch
        # path scores no bar before, so neither does a row that computes a few columns
        self._warm = _warm_bars(planned.plan, recipe.columns)
        self._computed = list(recipe.columns)
        if compute is not None:
            unknown = sorted(set(compute) - set(recipe.columns))
            if unknown:
                raise DataError(f"compute: column(s) {unknown[:5]} are not in the recipe")
            self._computed = [c for c in recipe.columns if c in set(compute)]
            planned = _recipe_plan(recipe, self._computed)
        self._spec = planned.spec
        self._plan = planned.plan
        self._dtype = np.float32 if self._spec.float32 else np.float64
        # a recompute on a short history gives all-NaN columns (as warming), not an error
        self._nan_spec = self._spec.model_copy(update={"on_short": "nan"})
        self._bar_delta = _as_delta(bar_delta)
        self._build()

    # ---- set-up ---------------------------------------------------------------------
    def _build(self) -> None:
        plan = self._plan
        items = plan.items()
        reads = {i for item in items for i in item.feature.inputs}
        self.fields_ = tuple(f for f in BAR_FIELDS if f in reads or f in PRICES)
        self._history = _History(self.fields_)
        # columns computed per bar (in plan.base_names order) -> position in that vector
        base_index = {c: i for i, c in enumerate(plan.base_names)}
        streamed = [p for p in items if not _item_reason(p)]
        recomputed = [p for p in items if _item_reason(p)]
        self._servers = []
        for item in streamed:
            # an output the recipe does not use goes to a spare slot past the end
            spare = len(plan.base_names)
            positions = tuple(base_index.get(c, spare) for c in item.columns)
            self._servers.append((_server(item), positions))
        # once every handle is open: (update, bars it reads, positions), no checks per bar
        self._steady: _Steady | None = None
        self._full = None
        if recomputed:
            sub = plan.restrict(lambda p: p in recomputed, self._spec)
            self._full = (sub, [base_index[c] for c in sub.base_names], list(sub.base_names))

        self._keep = max([getattr(s, "need", 1) for s, _ in self._servers] + [2])
        lags = plan.lag_columns
        self._max_lag = max([lag for _, _, lag in lags], default=0)
        self._lags = [(base_index[source], lag) for _, source, lag in lags]
        # the base vectors of the last max_lag bars, newest last (a lag reads them back)
        self._recent: list[np.ndarray] = []
        # the row is one gather from [base vector, lag values, NaN]: a column not computed
        # reads the NaN (in the base vector, the spare slot, set to NaN once servers ran)
        columns = [*plan.base_names, *(name for name, _, _ in lags)]
        position = {c: i for i, c in enumerate(columns)}
        computed = set(self._computed)
        self._gather = np.array(
            [position[c] if c in computed else len(columns) for c in self.recipe.columns],
            dtype=np.intp,
        )
        self._subset = len(computed) < len(self.recipe.columns)
        self._one_hot = (
            np.array([self.symbol == s for s in self.recipe.symbols], dtype=np.float64)
            if self.recipe.one_hot_symbols
            else None
        )
        self._row: np.ndarray | None = None
        self._complete = False  # every computed column of the newest row is finite
        self._broken: BaseException | None = None
        self.last_timestamp: pd.Timestamp | None = None

    @property
    def ready(self) -> bool:
        """Every feature is past its warm-up (and every TA-Lib handle is open)."""
        if self._history.seen < self._warm:
            return False
        # once the steady loop is compiled every handle is open (no scan of 180 servers)
        return self._steady is not None or all(s.opened for s, _ in self._servers)

    @property
    def computes_all(self) -> bool:
        """Every column of the recipe is computed (no ``compute`` subset)."""
        return not self._subset

    @property
    def computed_columns(self) -> list[str]:
        """The recipe columns computed bar by bar (the others are NaN in the row)."""
        return list(self._computed)

    @property
    def scorable(self) -> bool:
        """The newest row can be scored: every computed column has a value, and, for a
        subset, every column of the recipe is past its warm-up (the batch path scores a bar
        only once all of them have values)."""
        return self._complete and (not self._subset or self._history.seen >= self._warm)

    @property
    def bars_seen(self) -> int:
        return self._history.seen

    @property
    def last_row(self) -> np.ndarray | None:
        """The input row of the newest bar (a copy), or None before any bar."""
        return None if self._row is None else self._row.copy()

    # ---- feeding --------------------------------------------------------------------
    def warm_up(self, candles: pd.DataFrame) -> None:
        """Start from this history (every earlier state is dropped)."""
        bars = bars_from_frame(candles)
        missing = [f for f in self.fields_ if f not in bars.columns]
        if missing:
            raise DataError(f"warm-up candles: missing column(s) {', '.join(missing)}")
        for i in range(len(bars)):
            _check_values(bars.index[i], {f: bars.columns[f][i] for f in self.fields_})
        self._build()
        if self._bar_delta is None and len(bars) > 1:
            self._bar_delta = infer_bar_delta(bars.index)
        self._history.extend(bars.index.asi8, bars.columns)
        history = self._history.window()
        base = np.empty(len(self._plan.base_names) + 1)
        for server, positions in self._servers:
            _scatter(base, positions, server.open(history))
        # the lag columns read the base vectors of earlier bars: take them from the batch
        # path on the history's last bars (prefix-stable, so exactly what it would give)
        self._recent = self._recent_from_batch(candles)
        self._finish(base, bars.index[-1])

    def _recent_from_batch(self, candles: pd.DataFrame) -> list[np.ndarray]:
        if not self._max_lag:
            return []
        bars = bars_from_frame(candles)
        columns, _ = compute_plan(bars, self._plan, self._nan_spec, self._dtype)
        names = self._plan.base_names
        block = np.column_stack([columns[c] for c in names])
        return [row.copy() for row in block[-self._max_lag - 1 : -1]]

    def update(
        self,
        bar: Mapping[str, Any],
        timestamp: pd.Timestamp | str | None = None,
        *,
        now: pd.Timestamp | None = None,
    ) -> np.ndarray:
        """The next closed bar -> the estimator's input row (NaN where a feature is warming).

        ``timestamp`` is the bar's open time (or ``bar["timestamp"]``); ``now``, when
        given, rejects a bar that has not closed yet (open time + bar length > now).
        Raises :class:`BarRejected` with the state unchanged."""
        if self._broken is not None:
            raise RuntimeError(
                f"the online state of {self.symbol} is broken by an earlier error "
                f"({self._broken!r}); warm it up again"
            )
        stamp, row = self._validate(bar, timestamp, now)
        if self._history.seen == 0:
            frame = pd.DataFrame({f: [row[f]] for f in self.fields_}, index=[stamp])
            self.warm_up(frame)
            return self._row.copy()
        try:
            self._history.append(stamp.value, row)
            base = np.empty(len(self._plan.base_names) + 1)
            bar_values = {k: np.float64(v) for k, v in row.items()}
            if self._steady is None and all(s.opened for s, _ in self._servers):
                self._steady = self._compile_steady()
            if self._steady is not None:
                self._steady_update(base, bar_values)
            else:
                windows: dict[int | None, Bars] = {}
                for server, positions in self._servers:
                    # the bars this server reads; a TA-Lib handle still to open needs them all
                    need = server.need if server.opened else None
                    window = windows.get(need)
                    if window is None:
                        window = windows[need] = self._history.window(need)
                    _scatter(base, positions, server.update(window, bar_values))
            if self._row is not None and self._max_lag:
                self._recent.append(self._base_)
                del self._recent[: -self._max_lag]
            self._finish(base, stamp)
            if self._full is None and self.ready:
                self._history.trim(max(self._keep, 2))
        except BaseException as exc:  # a bug, not bad input: refuse to go on half-updated
            self._broken = exc
            raise
        return self._row.copy()

    def _compile_steady(self) -> _Steady:
        """Once every TA-Lib handle is open, the per-bar work as flat lists: the handles
        that answer their outputs as they are are called directly with the bar's floats
        (no wrapper per handle), every other server through its ``update``."""
        from trademl.features.trend import _distance

        single, multi, distances, other = [], [], [], []
        combos: set[tuple[str, ...]] = set()
        for server, positions in self._servers:
            if (
                isinstance(server, TalibStream)
                and server.derived is _distance
                and tuple(server.picks) == (0, None)
            ):
                combos.add(server.handle.inputs)
                distances.append((server.handle.handle.update, server.handle.inputs, *positions))
            elif isinstance(server, TalibStream) and server.derived is None and server.direct:
                handle = server.handle
                combos.add(handle.inputs)
                call = handle.handle.update
                if len(positions) == 1:
                    single.append((call, handle.inputs, positions[0]))
                else:
                    multi.append((call, handle.inputs, positions))
            elif isinstance(server, TalibStream):
                other.append((_talib_derived(server), None, positions))
            elif isinstance(server, _TailServer) and server.last is not None:
                other.append((_tail_last(server), server.need, positions))
            elif isinstance(server, ReplayedState) or getattr(server, "window_free", False):
                other.append((server.update, None, positions))  # carries what it reads
            else:
                other.append((server.update, server.need, positions))
        needs = sorted({need for _, need, _ in other if need is not None})
        return _Steady(tuple(combos), single, multi, distances, other, needs)

    def _steady_update(self, base: np.ndarray, bar: dict[str, np.float64]) -> None:
        steady = self._steady
        args = {combo: tuple([bar[f] for f in combo]) for combo in steady.combos}
        for call, combo, position in steady.single:
            base[position] = call(*args[combo])
        for call, combo, positions in steady.multi:
            for position, value in zip(positions, call(*args[combo]), strict=True):
                base[position] = value
        # close / average - 1 in Python floats: the batch formula's IEEE operations; a zero
        # average gives numpy's inf there, which the row turns into NaN as here
        close = float(bar["close"])
        for call, combo, at_average, at_distance in steady.distances:
            average = float(call(*args[combo]))
            base[at_average] = average
            base[at_distance] = close / average - 1.0 if average != 0.0 else NAN
        windows = _shared_windows(self._history, steady.needs) if steady.needs else {}
        for update, need, positions in steady.other:
            values = update(windows.get(need), bar)
            if len(positions) == 1:
                base[positions[0]] = values[0]
            else:
                for position, value in zip(positions, values, strict=True):
                    base[position] = value

    def _finish(self, base: np.ndarray, stamp: pd.Timestamp) -> None:
        if self._full is not None:
            sub, positions, names = self._full
            history = self._history.window()
            columns, _ = compute_plan(_with_index(history), sub, self._nan_spec, np.float64)
            base[positions] = [columns[c][-1] for c in names]
        if self._lags:
            self._base_ = base[:-1].astype(self._dtype)  # the lags of later bars read it
            lagged = [
                self._recent[-lag][source] if lag <= len(self._recent) else NAN
                for source, lag in self._lags
            ]
            base = np.concatenate([self._base_, np.asarray(lagged, dtype=self._dtype), [NAN]])
        else:
            base[-1] = NAN
        # the spec's dtype, then the recipe's: the rounding the batch path does
        values = base[self._gather].astype(self._dtype, copy=False)
        values = values.astype(self.recipe.dtype, copy=False)
        finite = np.isfinite(values)  # in the row's dtype: a float32 row may overflow
        count = np.count_nonzero(finite)
        self._complete = count == len(self._computed)  # the others are NaN, never finite
        if not self._complete:
            values[~finite] = NAN
        if self._one_hot is not None:
            values = np.concatenate([values, self._one_hot]).astype(values.dtype, copy=False)
        self._row = values
        self.last_timestamp = stamp

    # ---- checks (before anything changes) -------------------------------------------
    def _validate(
        self, bar: Mapping[str, Any], timestamp: Any, now: pd.Timestamp | None
    ) -> tuple[pd.Timestamp, dict[str, float]]:
        if not isinstance(bar, Mapping):
            raise BarRejected(
                f"bar: expected a mapping of {', '.join(self.fields_)}, got {type(bar).__name__}",
                field="bar",
                reason="not_numeric",
            )
        if timestamp is None:
            timestamp = bar.get("timestamp")
        stamp = _as_timestamp(timestamp)
        last = self.last_timestamp
        # nanosecond integers: a Timestamp/Timedelta comparison costs microseconds per bar
        if last is not None and (
            self._bar_delta is None or stamp.value - last.value != self._bar_delta.value
        ):
            if stamp == last:
                raise BarRejected(
                    f"timestamp {stamp}: duplicate of the last bar taken", field="timestamp",
                    reason="duplicate",
                )  # fmt: skip
            if stamp < last:
                raise BarRejected(
                    f"timestamp {stamp}: out of order (the last bar taken is {last})",
                    field="timestamp",
                    reason="out_of_order",
                )
            if self._bar_delta is not None and stamp - last != self._bar_delta:
                missing = (stamp - last) / self._bar_delta - 1
                raise BarRejected(
                    f"timestamp {stamp}: a gap in the stream (expected {last + self._bar_delta}"
                    f", {missing:g} bar(s) missing); warm up again from a history without it",
                    field="timestamp",
                    reason="gap",
                )
        if now is not None and self._bar_delta is not None:
            closes = stamp + self._bar_delta
            if closes > _as_timestamp(now):
                raise BarRejected(
                    f"timestamp {stamp}: the bar closes at {closes}, it is not closed yet",
                    field="timestamp",
                    reason="not_closed",
                )
        row = {}
        for name in self.fields_:
            if name not in bar:
                raise BarRejected(f"bar {stamp}: missing field {name!r}", field=name,
                                  reason="missing")  # fmt: skip
            value = bar[name]
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise BarRejected(
                    f"bar {stamp}: field {name!r} must be a number, got {value!r}",
                    field=name,
                    reason="not_numeric",
                )
            row[name] = float(value)
        _check_values(stamp, row)
        return stamp, row


def _check_values(stamp: Any, row: Mapping[str, float]) -> None:
    for name, value in row.items():
        if not math.isfinite(value):
            raise BarRejected(f"bar {stamp}: field {name!r} is {value}", field=name,
                              reason="not_finite")  # fmt: skip
        if name in PRICES and value <= 0:
            raise BarRejected(f"bar {stamp}: field {name!r} must be > 0, got {value}",
                              field=name, reason="inconsistent")  # fmt: skip
    if row.get("volume", 0.0) < 0:
        raise BarRejected(f"bar {stamp}: field 'volume' must be >= 0, got {row['volume']}",
                          field="volume", reason="inconsistent")  # fmt: skip
    high, low = row["high"], row["low"]
    if high < low or high < max(row["open"], row["close"]) or low > min(row["open"], row["close"]):
        raise BarRejected(
            f"bar {stamp}: high {high} / low {low} do not contain open {row['open']} and "
            f"close {row['close']}",
            field="high" if high < max(row["open"], row["close"], low) else "low",
            reason="inconsistent",
        )


def _scatter(base: np.ndarray, positions: tuple[int, ...], values: tuple[float, ...]) -> None:
    for position, value in zip(positions, values, strict=True):
        base[position] = value


_UTC = pd.Timestamp(0, tz="UTC").tzinfo


def _as_timestamp(value: Any) -> pd.Timestamp:
    if type(value) is pd.Timestamp and value.tzinfo is _UTC:
        # already what the conversion gives: on a bar's path, pandas' constructor and
        # tz_convert cost ~70 us with cold caches, more than most features
        return value
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise BarRejected(f"timestamp: not a time ({value!r}: {exc})", field="timestamp",
                          reason="not_numeric") from None  # fmt: skip
    if stamp is pd.NaT or value is None:
        raise BarRejected("timestamp: missing", field="timestamp", reason="missing")
    return stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")


def _as_delta(value: pd.Timedelta | str | None) -> pd.Timedelta | None:
    if value is None:
        return None
    if isinstance(value, str):
        from trademl.data.timeframe import timeframe_to_timedelta

        return timeframe_to_timedelta(value)
    return pd.Timedelta(value)


def _with_index(bars: Bars) -> Bars:
    """The history with a real DatetimeIndex (the full recompute may resample)."""
    index = pd.DatetimeIndex(bars.index, tz="UTC")
    return Bars(
        index, dict(bars.columns), bar_delta=infer_bar_delta(index) if len(index) > 1 else None
    )

"""The feature registry: one record type, one decorator, one table of every feature.

A feature is a pure function of past bars. Its record declares everything the rest of the
library needs to use it without running it: the category, the inputs it reads, its
parameters (every one of them appears in the column name), the default parameter grid
used by the full set, the warm-up (bars before the first valid value) and its outputs.

Our own features and a user's are registered the same way and get the same checks
(output shape, warm-up, and the causality test that the suite runs over the whole
registry; users can run it too with :func:`trademl.features.check_causality`).

Each record says where it came from (``origin``: the module that defined it) and whether
its causality is ``proven``: only trademl's own feature modules are, because the test
suite checks every one of them. A user's feature (a file in ``features.modules``, a
notebook cell) is not, so ``trademl run`` checks it on the run's own data.
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from trademl.config.features import CATEGORIES
from trademl.errors import TradeMLError

__all__ = [
    "INPUTS",
    "Feature",
    "Online",
    "FeatureError",
    "feature",
    "get_feature",
    "registry",
    "unregister",
]

# what a feature may read: candle columns, or data passed to generate_features(**data)
INPUTS = ("open", "high", "low", "close", "volume", "trades", "book", "l2", "reference")

_REGISTRY: dict[str, Feature] = {}
_BUILTINS_LOADED = False
# trademl's own feature modules: what they register is proven causal by the test suite
BUILTIN_MODULES = tuple(
    f"trademl.features.{name}"
    for name in (
        "garch",
        "microstructure",
        "momentum",
        "orderbook",
        "patterns",
        "statistical",
        "trend",
        "volatility",
        "volume",
    )
)


class FeatureError(TradeMLError, ValueError):
    """A feature cannot be computed on this input (too short, missing input, bad output)."""


def format_param(value: Any) -> str:
    """Column-name form of a parameter: ``2.0`` -> ``2``, ``0.02`` -> ``0.02``, ``"Mean"`` -> ``mean``."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).lower()


OnlineMode = Literal["exact", "tail", "none"]


@dataclass(frozen=True)
class Online:
    """How a feature is served bar by bar (``trademl.serving.online``), and how close the
    served value comes to the batch path on the same history.

    ``exact``: bit-identical to the batch value; by a TA-Lib stream handle (every TA-Lib
    wrapper), by a carried ``state`` (``state(**params)`` returns an object with
    ``open(history_bars)`` and ``update(window_bars) -> tuple of floats``), or by
    recomputing the last ``tail`` bars where the value depends on them alone through
    order-exact arithmetic (max, min, shifts, a sum in window order).
    ``tail``: recomputed on the last ``tail`` bars; equal to the batch value within the
    relative ``tolerance`` (cumulative sums started at a different bar round differently),
    ``reason`` says why.
    ``none``: not servable; ``reason`` says why (a model using it is refused by serving).
    """

    mode: OnlineMode = "none"
    # bars of history the last value needs: an int, or a function of the parameters
    tail: int | Callable[..., int] | None = None
    tolerance: float = 0.0
    reason: str = ""
    state: Callable[..., Any] | None = None
    # the value at the last bar of a ``tail``-bar window, computed directly:
    # ``last(window_bars, **params) -> tuple of floats`` (else: the batch function on the
    # window, keeping its last row); what the parity test holds to the tolerance
    last: Callable[..., tuple[float, ...]] | None = None

    def tail_bars(self, params: Mapping[str, Any]) -> int:
        if self.tail is None:
            raise FeatureError("this feature is not served by a tail recompute")
        return int(self.tail(**params) if callable(self.tail) else self.tail)


# a feature registered without saying how it is served is not servable: serving a
# feature with unknown memory on a short tail could silently differ from training
UNDECLARED = Online(
    "none", reason="does not declare how it is served online (@feature(online=Online(...)))"
)


def tail_exact(tail: int | Callable[..., int]) -> Online:
    """Served exactly by recomputing the last ``tail`` bars."""
    return Online("exact", tail=tail)


def tail_within(
    tail: int | Callable[..., int],
    tolerance: float,
    reason: str,
    last: Callable[..., tuple[float, ...]] | None = None,
) -> Online:
    """Served by recomputing the last ``tail`` bars, within ``tolerance`` (relative)."""
    return Online("tail", tail=tail, tolerance=tolerance, reason=reason, last=last)


# the cumulative-sum rolling sums of trademl.features._rolling, and pandas' rolling
# moments, carry rounding from the first bar of the series: a recompute on the tail
# rounds differently, by about 1e-13 of the column's typical size
SUM_TOLERANCE = 1e-9
SUM_REASON = "rolling sums start at a different bar on the tail, so they round differently"


def rolling_tail(
    tail: int | Callable[..., int], last: Callable[..., tuple[float, ...]] | None = None
) -> Online:
    """Served by recomputing the trailing window (see ``SUM_TOLERANCE``)."""
    return tail_within(tail, SUM_TOLERANCE, SUM_REASON, last)


def rolling_state(
    state: Callable[..., Any],
    tail: int | Callable[..., int],
    last: Callable[..., tuple[float, ...]] | None = None,
) -> Online:
    """Served by a running state (``state(**params)``, see ``trademl.features._running``):
    O(1) per bar, within ``SUM_TOLERANCE`` like the tail recompute ``tail``/``last``
    (kept to describe the value on a window)."""
    return Online(
        "tail", tail=tail, tolerance=SUM_TOLERANCE, state=state, last=last,
        reason="running sums round differently from the batch path's cumulative sums",
    )  # fmt: skip


@dataclass(frozen=True, eq=False)
class Feature:
    """One registered feature; ``compute(bars, **params)`` returns one array per output."""

    name: str
    category: str
    inputs: tuple[str, ...]
    compute: Callable[..., Any]
    params: Mapping[str, Any] = field(default_factory=dict)
    outputs: tuple[str, ...] = ("",)
    # int, or a function of the parameters (most warm-ups grow with the period)
    warmup: int | Callable[..., int] = 0
    # parameter values the full default set uses (one column set per combination)
    grid: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    description: str = ""
    # for TA-Lib wrappers: (function name, kwargs builder, TA-Lib output index per output or None)
    talib: tuple[str, Callable[..., dict], tuple[int | None, ...]] | None = None
    # the module that registered it ("trademl.features.trend", "__main__", a user file's module)
    origin: str = ""
    # True only for trademl's own modules, set at registration (see BUILTIN_MODULES)
    proven: bool = False
    # how serving computes it bar by bar (see Online)
    online: Online = UNDECLARED

    def resolve(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults updated with ``params``; unknown names are an error naming the feature."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise FeatureError(
                f"feature {self.name!r} has no parameter {unknown[0]!r} "
                f"(parameters: {', '.join(self.params) or 'none'})"
            )
        resolved = {**self.params, **params}
        for key, default in self.params.items():
            value = resolved[key]
            if isinstance(default, int) and not isinstance(default, bool):
                if not float(value).is_integer():
                    raise FeatureError(
                        f"feature {self.name!r}: parameter {key} must be an integer, got {value!r}"
                    )
                resolved[key] = int(value)
        return resolved

    def param_sets(self, overrides: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every combination of the grid (or of the given values; a list means several)."""
        if overrides:
            grid = {
                k: tuple(v) if isinstance(v, list | tuple) else (v,) for k, v in overrides.items()
            }
        else:
            grid = {k: tuple(v) for k, v in self.grid.items()}
        keys = list(grid)
        combos = itertools.product(*(grid[k] for k in keys)) if keys else [()]
        return [self.resolve(dict(zip(keys, combo, strict=True))) for combo in combos]

    def stem(self, params: Mapping[str, Any]) -> str:
        parts = [self.name, *(format_param(params[k]) for k in self.params)]
        return "_".join(parts)

    def columns(self, params: Mapping[str, Any]) -> list[str]:
        stem = self.stem(params)
        return [f"{stem}_{out}" if out else stem for out in self.outputs]

    def warmup_bars(self, params: Mapping[str, Any]) -> int:
        return int(self.warmup(**params) if callable(self.warmup) else self.warmup)

    def run(
        self, bars: Any, params: Mapping[str, Any], wanted: set[str] | None = None
    ) -> list[np.ndarray]:
        """Compute and check the outputs: one float array per declared output, input length.

        ``wanted`` (column names): a TA-Lib wrapper whose derived outputs (distance to the
        average, %B...) are all unwanted skips computing them (they come back all-NaN)."""
        skip_derived = False
        if wanted is not None and self.talib is not None:
            derived = [c for c, pick in zip(self.columns(params), self.talib[2], strict=True)
                       if pick is None]  # fmt: skip
            skip_derived = bool(derived) and not wanted.intersection(derived)
        if skip_derived:
            result = self.compute(bars, _derive=False, **params)
        else:
            result = self.compute(bars, **params)
        arrays = list(result) if isinstance(result, tuple | list) else [result]
        if len(arrays) != len(self.outputs):
            raise FeatureError(
                f"feature {self.name!r} returned {len(arrays)} outputs, "
                f"declared {len(self.outputs)} ({', '.join(self.outputs)})"
            )
        checked = []
        for out, array in zip(self.outputs, arrays, strict=True):
            array = np.asarray(array, dtype=np.float64)
            if array.shape != (len(bars),):
                raise FeatureError(
                    f"feature {self.name!r} output {out or 'value'!r} has shape {array.shape}, "
                    f"expected ({len(bars)},): a feature returns one value per bar"
                )
            checked.append(array)
        return checked


def feature(
    name: str,
    *,
    category: str,
    inputs: Iterable[str] = ("close",),
    params: Mapping[str, Any] | None = None,
    outputs: Iterable[str] = ("",),
    warmup: int | Callable[..., int] = 0,
    grid: Mapping[str, Iterable[Any]] | None = None,
    description: str = "",
    online: Online = UNDECLARED,
    replace: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn(bars, **params)`` as a feature.

    ``bars`` gives float64 arrays ``bars.open/high/low/close/volume`` and the extra data
    (``bars.trades``, ``bars.book``, ``bars.l2``, ``bars.reference``). Return one array
    (or a tuple, one per output) as long as the input, computed from bars <= t only::

        @feature("range_ratio", category="volatility", inputs=("high", "low", "close"),
                 params={"window": 20}, warmup=lambda window: window - 1,
                 online=tail_within(lambda window: window + 1, 1e-9, "rolling sums"))
        def range_ratio(bars, window):
            ...

    ``online`` says how serving computes it bar by bar (:class:`Online`); without it the
    feature is not servable.
    """
    params = dict(params or {})
    inputs = tuple(inputs)
    outputs = tuple(outputs)
    if name != name.lower() or not name.replace("_", "").isalnum():
        raise FeatureError(f"feature name must be lower-case letters, digits and _, got {name!r}")
    if category not in CATEGORIES:
        raise FeatureError(
            f"feature {name!r}: category must be one of {', '.join(CATEGORIES)}, got {category!r}"
        )
    unknown = [i for i in inputs if i not in INPUTS]
    if unknown:
        raise FeatureError(
            f"feature {name!r}: unknown input {unknown[0]!r} (inputs: {', '.join(INPUTS)})"
        )
    if not outputs or len(set(outputs)) != len(outputs):
        raise FeatureError(f"feature {name!r}: outputs must be distinct, got {outputs}")
    grid = {k: tuple(v) for k, v in (grid or {}).items()}
    stray = sorted(set(grid) - set(params))
    if stray:
        raise FeatureError(f"feature {name!r}: grid names unknown parameter {stray[0]!r}")

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        _load_builtins()
        if name in _REGISTRY and not replace:
            raise FeatureError(
                f"a feature named {name!r} is already registered (pass replace=True to override)"
            )
        origin = getattr(fn, "__module__", None) or ""
        _REGISTRY[name] = Feature(
            name=name,
            category=category,
            inputs=inputs,
            compute=fn,
            params=params,
            outputs=outputs,
            warmup=warmup,
            grid=grid,
            description=description or (fn.__doc__ or "").strip().split("\n")[0],
            origin=origin,
            proven=origin in BUILTIN_MODULES,
            online=online,
        )
        return fn

    return register


def add(entry: Feature) -> Feature:
    """Register a prebuilt record (used by the TA-Lib table, which builds records directly).

    ``entry.origin`` names the registering module; ``proven`` is derived from it, never
    taken from the record."""
    _load_builtins()
    if entry.name in _REGISTRY:
        raise FeatureError(f"a feature named {entry.name!r} is already registered")
    entry = dataclasses.replace(entry, proven=entry.origin in BUILTIN_MODULES)
    _REGISTRY[entry.name] = entry
    return entry


def _load_builtins() -> None:
    # the built-in modules import TA-Lib; loading them on first use keeps `import trademl` light
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    _BUILTINS_LOADED = True
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def registry() -> dict[str, Feature]:
    """Every registered feature by name (a copy: register with :func:`feature`)."""
    _load_builtins()
    return dict(_REGISTRY)


def get_feature(name: str) -> Feature:
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        close = [n for n in _REGISTRY if n.startswith(name[:3])][:5]
        hint = f" (similar: {', '.join(close)})" if close else ""
        raise FeatureError(
            f"no feature named {name!r}{hint}; see `trademl features list`"
        ) from None


def unregister(name: str) -> None:
    """Remove a user feature (tests and notebooks re-registering a changed function)."""
    _REGISTRY.pop(name, None)


def restore(name: str, entry: Feature | None) -> None:
    """Put ``entry`` back under ``name`` (None: remove it); for unloading a user module."""
    if entry is None:
        _REGISTRY.pop(name, None)
    else:
        _REGISTRY[name] = entry

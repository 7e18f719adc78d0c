"""Registry records for TA-Lib functions: the call, the names, and the warm-up TA-Lib reports.

The warm-up is TA-Lib's own ``lookback`` for the chosen parameters, so it is exact by
construction; the test suite checks every wrapper against a direct TA-Lib call.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import talib
from talib import abstract

from trademl.features._online_state import TalibStream
from trademl.features._registry import Feature, Online, add

__all__ = ["talib_feature", "talib_lookback"]


@functools.lru_cache(maxsize=4096)
def _lookback(function: str, kwargs: tuple[tuple[str, Any], ...]) -> int:
    fn = abstract.Function(function)
    fn.set_parameters(**dict(kwargs))
    return int(fn.lookback)


def talib_lookback(function: str, kwargs: Mapping[str, Any]) -> int:
    return _lookback(function, tuple(sorted(kwargs.items())))


def talib_feature(
    name: str,
    function: str,
    *,
    category: str,
    inputs: tuple[str, ...] = ("close",),
    params: Mapping[str, Any] | None = None,
    grid: Mapping[str, tuple[Any, ...]] | None = None,
    outputs: tuple[str, ...] = ("",),
    talib_outputs: tuple[int | None, ...] | None = None,
    kwargs: Callable[..., dict[str, Any]] | None = None,
    derived: Callable[..., tuple[np.ndarray, ...]] | None = None,
    description: str = "",
) -> Feature:
    """Register TA-Lib ``function`` as feature ``name``.

    ``kwargs(**params)`` maps our parameter names to TA-Lib's (default: the same names);
    ``talib_outputs`` picks TA-Lib outputs by position (``None`` marks an output that
    ``derived(bars, params, talib_arrays)`` computes, e.g. the distance to a moving average).
    """
    params = dict(params or {})
    to_kwargs = kwargs or (lambda **p: p)
    picks = talib_outputs if talib_outputs is not None else tuple(range(len(outputs)))
    call = getattr(talib, function)

    def compute(bars: Any, _derive: bool = True, **p: Any) -> tuple[np.ndarray, ...]:
        result = call(*(bars.columns[i] for i in inputs), **to_kwargs(**p))
        raw = result if isinstance(result, tuple) else (result,)
        arrays = [raw[i] for i in picks if i is not None]
        if derived is not None:
            if _derive:
                arrays.extend(derived(bars, p, raw))
            else:  # every derived column is excluded: do not spend time on them
                # a zero-stride view: no memory touched for columns that are dropped anyway
                arrays.extend(np.broadcast_to(np.nan, len(bars)) for i in picks if i is None)
        return tuple(arrays)

    def warmup(**p: Any) -> int:
        return talib_lookback(function, to_kwargs(**p))

    info = abstract.Function(function).info
    # the module calling us registers the feature (as namedtuple finds its __module__)
    origin = sys._getframe(1).f_globals.get("__name__", "")
    return add(
        Feature(
            name=name,
            category=category,
            inputs=inputs,
            compute=compute,
            params=params,
            outputs=outputs,
            warmup=warmup,
            grid=dict(grid or {}),
            description=description or f"TA-Lib {function}: {info['display_name']}",
            talib=(function, to_kwargs, picks),
            origin=origin,
            # a talib.stream handle carries TA-Lib's own state: bit-identical to the batch call
            online=Online(
                "exact",
                reason="TA-Lib stream handle",
                state=lambda **p: TalibStream(function, inputs, to_kwargs(**p), picks, derived, p),
            ),
        )
    )

"""Model selection by regime: from a regime name to the model cards suited to it.

Regime names from this package map onto the market conditions the model cards declare
(``trademl.models.REGIMES``): ``bull``/``bear`` are trending markets, ``sideways`` a
mean-reverting one, and the rule-based labeller's ``_volatile``/``_calm`` suffixes add
the volatility condition. Other names (``mid_1``, …) carry no trend claim and map to
their suffix only.
"""

from __future__ import annotations

__all__ = ["card_conditions", "models_for_regime"]

_TREND = {"bull": "trending", "bear": "trending", "sideways": "mean_reverting"}
_VOLATILITY = {"volatile": "volatile", "calm": "calm"}


def card_conditions(regime: str) -> list[str]:
    """Model-card conditions for a regime name, e.g. ``bear_volatile`` -> trending, volatile."""
    if not isinstance(regime, str) or not regime:
        raise ValueError(f"regime must be a non-empty name, but got {regime!r}")
    head, _, tail = regime.partition("_")
    conditions = [_TREND[head]] if head in _TREND else []
    if tail in _VOLATILITY:
        conditions.append(_VOLATILITY[tail])
    return conditions


def models_for_regime(regime: str) -> list:
    """Model cards (``trademl.models.ModelCard``) suited to ``regime``; union over conditions."""
    from trademl.models import for_regime

    conditions = card_conditions(regime)
    if not conditions:
        raise ValueError(
            f"regime {regime!r} maps to no model-card condition; known heads {sorted(_TREND)} "
            f"and suffixes {sorted(_VOLATILITY)}"
        )
    chosen: dict[str, object] = {}
    for condition in conditions:
        for card in for_regime(condition):
            chosen.setdefault(card.kind, card)
    return list(chosen.values())

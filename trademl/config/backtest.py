"""``backtest:`` section: how predictions become positions and positions become returns.

These settings are read by the one returns engine (``trademl.backtest``): tuning folds,
the holdout and monitoring all score with them, so a Sharpe means the same everywhere
(see docs/metrics.md).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from trademl.config._base import SpecModel


class BacktestSpec(SpecModel):
    # sign: full size in the signal's direction; fixed: ``fraction`` of equity;
    # probability: size 2p - 1 (needs probabilities); kelly: capped Kelly fraction of p
    sizing: Literal["sign", "fixed", "probability", "kelly"] = "sign"
    fraction: float = Field(1.0, gt=0)
    kelly_payoff: float = Field(1.0, gt=0)  # average win / average loss assumed by Kelly
    kelly_cap: float = Field(0.5, gt=0)
    # probabilities within 0.5 ± threshold mean "no edge": stay flat
    threshold: float = Field(0.0, ge=0, lt=0.5)
    allow_short: bool = True
    max_leverage: float = Field(1.0, gt=0)
    fee_bp: float = Field(10.0, ge=0)  # per side, on traded notional
    slippage_bp: float = Field(0.0, ge=0)
    slippage_range_fraction: float = Field(0.0, ge=0, le=1)  # of (high - low) / close
    # bars between the signal's bar and the fill (1 = next bar; 0 = the signal's own
    # close, which is only honest if the signal is known before that close)
    execution_lag: int = Field(1, ge=0)
    initial_capital: float = Field(10_000.0, gt=0)
    weights: dict[str, float] | None = None  # multi-symbol; default equal weight
    benchmark: Literal["buy_and_hold", "none"] = "buy_and_hold"
    # how many bars make a year, for every annualised figure (Sharpe, volatility, CAGR):
    # "24/7" = 365 days of bars (1h -> 8760); "252" = 252 trading days of bars tiling the
    # day (1d -> 252, 1h -> 6048); see trademl.analytics.periods.periods_per_year_for
    calendar: Literal["24/7", "252"] = "24/7"

    @model_validator(mode="after")
    def _check(self) -> BacktestSpec:
        if self.weights is not None:
            bad = {k: v for k, v in self.weights.items() if v < 0}
            if bad:
                raise ValueError(f"weights must be non-negative, got {bad}")
            if sum(self.weights.values()) <= 0:
                raise ValueError("weights must not all be zero")
        return self

"""Stacked GRU over a window of bars, read at the last step."""

from __future__ import annotations

from trademl.models.cards import ModelCard, output_schema
from trademl.models.deep._base import COMMON_PARAMS
from trademl.models.deep.lstm import LSTMModel

__all__ = ["GRUModel"]

CARD = ModelCard(
    kind="gru",
    name="GRU",
    purpose="Recurrent baseline with fewer parameters than the LSTM; trains faster on small data.",
    tasks=("classification", "regression"),
    input_shape=(
        "rows = bars of one or more symbols (symbol=... one-hot columns), 5-200 features; "
        "each row is predicted from the `window` bars of its symbol ending at it"
    ),
    required_features="numeric, no NaN (warm-up rows dropped); standardised internally",
    output_schema=output_schema(),
    regimes=("trending", "volatile"),
    params={
        **{**COMMON_PARAMS},
    },
    search_space={
        "window": {"type": "int", "low": 16, "high": 128, "log": True},
        "hidden_size": {"type": "int", "low": 16, "high": 128, "log": True},
        "layers": {"type": "int", "low": 1, "high": 3},
        "dropout": {"type": "float", "low": 0.0, "high": 0.4},
        "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
    },
    early_stopping=True,
    notes=(
        "early_stopping_rounds counts epochs; the best epoch's weights are kept. The first "
        "window-1 rows of a contiguous run see a window padded with the run's first row."
    ),
    extra={"allow_nan": False, "sequence": True},
)


class GRUModel(LSTMModel):
    """The LSTM estimator (same parameters and defaults) with GRU cells."""

    card = CARD
    _cell = "gru"

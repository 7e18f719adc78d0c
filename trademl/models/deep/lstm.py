"""Stacked LSTM over a window of bars, read at the last step."""

from __future__ import annotations

from trademl.models.cards import ModelCard, output_schema
from trademl.models.deep._base import COMMON_PARAMS, SequenceModel

__all__ = ["LSTMModel"]

CARD = ModelCard(
    kind="lstm",
    name="LSTM",
    purpose="Recurrent baseline: remembers patterns over tens of bars (momentum build-ups, volatility clustering).",
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


class LSTMModel(SequenceModel):
    card = CARD
    _cell = "lstm"  # the GRU is the same estimator with the other recurrent cell

    def __init__(self, *, task="classification", window=32, epochs=20, batch_size=256,
                 hidden_size=32, layers=1, dropout=0.1, learning_rate=1e-3, weight_decay=1e-4,
                 grad_clip=1.0, class_weight="balanced", allow_gaps=False, device="auto",
                 mixed_precision=None, onnx=True, checkpoint_dir=None, nproc=1,
                 early_stopping_rounds=None, validation_fraction=0.15, purge=0,
                 random_state=0, n_jobs=1):  # fmt: skip
        super().__init__(
            task=task,
            window=window,
            epochs=epochs,
            batch_size=batch_size,
            hidden_size=hidden_size,
            layers=layers,
            dropout=dropout,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            grad_clip=grad_clip,
            class_weight=class_weight,
            allow_gaps=allow_gaps,
            device=device,
            mixed_precision=mixed_precision,
            onnx=onnx,
            checkpoint_dir=checkpoint_dir,
            nproc=nproc,
            early_stopping_rounds=early_stopping_rounds,
            validation_fraction=validation_fraction,
            purge=purge,
            random_state=random_state,
            n_jobs=n_jobs,
        )

    def _make_network(self, n_features: int, n_outputs: int):
        from trademl.models.deep._recurrent import RecurrentNet

        return RecurrentNet(self._cell, n_features, n_outputs, hidden_size=self.hidden_size,
                            layers=self.layers, dropout=self.dropout)  # fmt: skip

"""``SequenceModel``: the base of the torch sequence models (lstm, gru, tcn, transformer, ...).

A member implements only ``_make_network(n_features, n_outputs)``. The base turns the
feature rows it is given into lazy per-symbol windows, standardises the inputs on its
fitting rows, carves the purged early-stopping slice from the END of the rows (like the
boosted models), trains (``_training.fit_network``), exports ONNX, and predicts every row
of any matrix it is given: the window of a row is the ``window`` rows of the same symbol
ending at it, the first rows of a contiguous run padded with the run's first row.
"""

from __future__ import annotations

import hashlib
import json
import logging
from abc import abstractmethod
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.metaestimators import available_if

from trademl.errors import DataError, TradeMLError
from trademl.models.base import TabularModel, _is_classifier
from trademl.models.cards import ParamInfo

__all__ = ["COMMON_PARAMS", "SequenceModel"]

logger = logging.getLogger(__name__)

# every sequence model takes these; kinds add their own (kernel_size, filters, heads)
COMMON_PARAMS: dict[str, ParamInfo] = {
    "window": ParamInfo("int", 32, help="bars per window (the sequence length)"),
    "epochs": ParamInfo("int", 20, help="passes over the training windows (upper bound)"),
    "batch_size": ParamInfo("int", 256),
    "hidden_size": ParamInfo("int", 32),
    "layers": ParamInfo("int", 1),
    "dropout": ParamInfo("float", 0.1),
    "learning_rate": ParamInfo("float", 1e-3, help="AdamW peak rate of the one-cycle schedule"),
    "weight_decay": ParamInfo("float", 1e-4),
    "grad_clip": ParamInfo("float", 1.0, help="max gradient norm; 0 = no clipping"),
    "class_weight": ParamInfo("str", "balanced", choices=("balanced", "none")),
    "allow_gaps": ParamInfo("bool", False, help="let a window span a gap in the bars"),
    "device": ParamInfo("str", "auto", choices=("auto", "cpu", "cuda")),
    "mixed_precision": ParamInfo(
        "bool", None, nullable=True, help="None = on with a CUDA GPU (float16), off on CPU"
    ),
    "onnx": ParamInfo("bool", True, help="export to ONNX and predict with onnxruntime"),
    "checkpoint_dir": ParamInfo(
        "str", None, nullable=True, help="checkpoint every epoch here; resume if one exists"
    ),
    "nproc": ParamInfo("int", 1, help="data-parallel processes (torchrun, gloo)"),
}

# settings that do not change what is learned: left out of a checkpoint's signature
_RUNTIME_PARAMS = {"checkpoint_dir", "n_jobs", "device", "onnx", "nproc"}


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class SequenceModel(TabularModel):
    """Base of the window models; subclasses add their architecture's parameters."""

    def __init__(self, *, task="classification", window=32, epochs=20, batch_size=256,
                 hidden_size=32, layers=1, dropout=0.1, learning_rate=1e-3, weight_decay=1e-4,
                 grad_clip=1.0, class_weight="balanced", allow_gaps=False, device="auto",
                 mixed_precision=None, onnx=True, checkpoint_dir=None, nproc=1,
                 early_stopping_rounds=None, validation_fraction=0.15, purge=0,
                 random_state=0, n_jobs=1):  # fmt: skip
        self.task = task
        self.window = window
        self.epochs = epochs
        self.batch_size = batch_size
        self.hidden_size = hidden_size
        self.layers = layers
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.grad_clip = grad_clip
        self.class_weight = class_weight
        self.allow_gaps = allow_gaps
        self.device = device
        self.mixed_precision = mixed_precision
        self.onnx = onnx
        self.checkpoint_dir = checkpoint_dir
        self.nproc = nproc
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.purge = purge
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ---- what a member implements -------------------------------------------------------
    @abstractmethod
    def _make_network(self, n_features: int, n_outputs: int):
        """An untrained ``torch.nn.Module``: (B, window, F) -> (outputs, representation)."""

    def _make_estimator(self) -> Any:  # the network is the estimator; built in fit
        raise NotImplementedError

    # ---- checks where the data arrives --------------------------------------------------
    def _check_params(self) -> None:
        for name in ("window", "epochs", "batch_size", "hidden_size", "layers", "nproc"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {name}={value!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got dropout={self.dropout!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if self.class_weight not in ("balanced", "none", None):
            raise ValueError(
                f"class_weight must be 'balanced' or 'none', got {self.class_weight!r}"
            )

    def _torch_device(self):
        import torch

        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be auto, cpu or cuda, got device={self.device!r}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise TradeMLError(
                "device='cuda' was asked for but no CUDA GPU is available "
                "(torch.cuda.is_available() is False); use device='auto' or 'cpu'"
            )
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    @staticmethod
    def _as_frame(X) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            return X
        array = np.asarray(X)
        if array.ndim != 2:
            raise DataError(f"X must be 2-D (rows = bars, columns = features), got {array.shape}")
        return pd.DataFrame(array)

    @staticmethod
    def _finite_values(X: pd.DataFrame) -> np.ndarray:
        values = X.to_numpy(dtype=np.float32)
        bad = ~np.isfinite(values)
        if bad.any():
            row, col = (int(i[0]) for i in np.nonzero(bad))
            raise DataError(
                f"X has NaN/inf at row {row} ({X.index[row]}), column {X.columns[col]!r}: a "
                "window may not contain missing values; drop warm-up rows first"
            )
        return values

    def _check_lengths(self, X: pd.DataFrame) -> None:
        from trademl.models.deep._windows import row_groups

        if self.window > len(X):
            raise DataError(
                f"window={self.window} is longer than the data ({len(X)} rows); "
                "use a shorter window or more bars"
            )
        groups, names = row_groups(X)
        counts = np.bincount(groups, minlength=len(names))
        for name, count in zip(names, counts, strict=True):
            if count < self.window:
                raise DataError(
                    f"symbol {name or '(the only one)'} has {count} rows, fewer than one "
                    f"window (window={self.window})"
                )

    # ---- fitting ------------------------------------------------------------------------
    def _signature(self, values: np.ndarray, target: np.ndarray, n_outputs: int) -> dict:
        params = {k: v for k, v in self.get_params().items() if k not in _RUNTIME_PARAMS}
        data = hashlib.sha256(values.tobytes())
        data.update(np.ascontiguousarray(target).tobytes())
        return {
            "kind": self.card.kind,
            "params": json.dumps(params, sort_keys=True, default=str),
            "n_features": int(values.shape[1]),
            "n_outputs": int(n_outputs),
            "data": data.hexdigest()[:16],
        }

    def _windows(self, X: pd.DataFrame, values: np.ndarray):
        from trademl.models.deep._windows import SlidingWindows

        scaled = (values - self.mean_) / self.scale_
        return SlidingWindows.build(
            X, scaled, window=self.window, interval=self.bar_interval_, allow_gaps=self.allow_gaps
        )

    def fit(self, X, y, sample_weight=None):
        """Fit on rows in time order; the early-stopping slice is the last rows of ``X``."""
        import torch

        from trademl.models.deep._training import TrainSettings, fit_network
        from trademl.models.deep._windows import bar_interval, row_groups

        self._check_task()
        self._check_params()
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported by trademl models yet")
        X = self._as_frame(X)
        y_arr = np.asarray(y)
        if len(y_arr) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y_arr)}")
        if y_arr.dtype.kind == "f" and np.isnan(y_arr).any():
            first = int(np.flatnonzero(np.isnan(y_arr))[0])
            raise ValueError(f"y has NaN labels (first at row {first}); drop unknown labels first")
        device = self._torch_device()
        self._check_lengths(X)
        values = self._finite_values(X)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]

        carve = self._early_stopping_slice(len(X))
        fit_rows = np.arange(len(X) if carve is None else carve[0])
        val_rows = None if carve is None else np.arange(carve[1], carve[2])
        self.early_stopping_slice_ = None if carve is None else (carve[1], carve[2])

        if self.task == "classification":
            self.classes_ = np.unique(y_arr)
            if len(self.classes_) < 2:
                raise ValueError(
                    f"classification needs at least 2 classes in y, got {self.classes_}"
                )
            target = np.searchsorted(self.classes_, y_arr).astype(np.int64)
            n_outputs = len(self.classes_)
            weights = None
            if self.class_weight == "balanced":
                counts = np.bincount(target[fit_rows], minlength=n_outputs).astype(float)
                weights = len(fit_rows) / (n_outputs * np.maximum(counts, 1.0))
        else:
            self.y_mean_ = float(y_arr[fit_rows].mean())
            self.y_scale_ = float(y_arr[fit_rows].std()) or 1.0
            target = ((y_arr - self.y_mean_) / self.y_scale_).astype(np.float32)
            n_outputs, weights = 1, None

        # scaling is fitted on the fitting rows only (the validation slice is unseen)
        self.mean_ = values[fit_rows].mean(axis=0)
        scale = values[fit_rows].std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0).astype(np.float32)
        self.bar_interval_ = bar_interval(X.index, row_groups(X)[0])
        windows = self._windows(X, values)

        seed = int(self.random_state or 0)
        torch.manual_seed(seed)
        network = self._make_network(values.shape[1], n_outputs)
        mixed = device.type == "cuda" if self.mixed_precision is None else self.mixed_precision
        settings = TrainSettings(
            task=self.task,
            epochs=int(self.epochs),
            batch_size=int(self.batch_size),
            learning_rate=float(self.learning_rate),
            weight_decay=float(self.weight_decay),
            grad_clip=float(self.grad_clip),
            patience=self.early_stopping_rounds if val_rows is not None else None,
            seed=seed,
            device=device,
            mixed_precision=bool(mixed),
            class_weights=weights,
            checkpoint_dir=Path(self.checkpoint_dir) if self.checkpoint_dir else None,
            signature=self._signature(values, target, n_outputs),
            metric_prefix=self.card.kind,
        )
        threads = torch.get_num_threads()
        if self.n_jobs and self.n_jobs > 0:
            torch.set_num_threads(int(self.n_jobs))
        try:
            if self.nproc > 1:
                from trademl.models.deep._distributed import fit_distributed

                result = fit_distributed(self, network, windows, target, fit_rows, val_rows,
                                         settings)  # fmt: skip
            else:
                result = fit_network(network, windows, target, fit_rows, val_rows, settings)
        finally:
            torch.set_num_threads(threads)
        self.network_ = network
        self.estimator_ = network  # what the base class's checks look for
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.onnx_model_ = None
        if self.onnx:
            from trademl.models.deep._onnx import export_onnx

            sample = windows.gather(np.arange(min(64, len(X))))
            self.onnx_model_ = export_onnx(network, self.window, values.shape[1], sample)
        return self

    # ---- predicting ---------------------------------------------------------------------
    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_runner", None)  # an onnxruntime session is rebuilt on first use
        return state

    def _raw_outputs(self, X) -> tuple[np.ndarray, np.ndarray]:
        from trademl.models.deep._training import predict_network

        self._check_fitted()
        X = self._as_frame(X)
        if X.shape[1] != self.n_features_in_:
            raise DataError(
                f"X has {X.shape[1]} columns, the model was fitted on {self.n_features_in_}"
            )
        if len(X) == 0:
            return np.empty((0, 1)), np.empty((0, 1))
        windows = self._windows(X, self._finite_values(X))
        rows = np.arange(len(X))
        if getattr(self, "onnx_model_", None) is None:
            return predict_network(self.network_, windows, rows)
        from trademl.models.deep._onnx import OnnxRunner

        if getattr(self, "_runner", None) is None:
            self._runner = OnnxRunner(self.onnx_model_)
        parts = [
            self._runner.run(windows.gather(rows[i : i + 1024])) for i in range(0, len(rows), 1024)
        ]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    @available_if(_is_classifier)
    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        return _softmax(self._raw_outputs(X)[0].astype(np.float64))

    def predict(self, X) -> np.ndarray:
        if self.task == "classification":
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return self._raw_outputs(X)[0][:, 0].astype(float) * self.y_scale_ + self.y_mean_

    def transform(self, X) -> np.ndarray:
        """The network's penultimate representation of each row's window."""
        return self._raw_outputs(X)[1].astype(np.float64)

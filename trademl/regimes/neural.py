"""``NNRegimeDetector``: an LSTM that reads the last ``sequence_length`` bars and names the regime.

It learns from labels you give it (HMM regimes, the rule-based labeller, or your own),
so it is as causal as its inputs: the window ending at bar t holds bars <= t only.
torch is imported inside the methods, so importing this module is cheap.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from trademl._io import atomic_path
from trademl.errors import DataError
from trademl.regimes._base import RegimeDetector
from trademl.regimes._inputs import build_inputs, log_returns

__all__ = ["NNRegimeDetector"]

logger = logging.getLogger(__name__)

_WEIGHTS = "weights.pt"
_CONFIG = "config.json"


def _network(n_features: int, n_classes: int, hidden_size: int, num_layers: int, dropout: float):
    import torch
    from torch import nn

    class LSTMClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(
                n_features,
                hidden_size,
                num_layers=num_layers,
                batch_first=True,
                # torch applies this between stacked layers only
                dropout=dropout if num_layers > 1 else 0.0,
            )
            self.dropout = nn.Dropout(dropout)
            self.head = nn.Linear(hidden_size, n_classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            output, _ = self.lstm(x)
            return self.head(self.dropout(output[:, -1]))

    return LSTMClassifier()


class NNRegimeDetector(RegimeDetector):
    """LSTM classifier over sliding windows of causal features, scikit-learn style.

    Parameters
    ----------
    features, window, trend_window : observation columns, as for ``HMMRegimeDetector``.
    sequence_length : bars in each window (the window ending at t predicts t's regime).
    hidden_size, num_layers, dropout : LSTM size.
    class_weight : ``"balanced"`` (weights inverse to class frequency in the training
        slice) or ``None``.
    max_epochs, batch_size, learning_rate : Adam training.
    validation_fraction : the LAST share of the windows, kept in time order, on which
        early stopping watches the loss (never a random split: neighbours leak).
    patience : epochs without validation improvement before stopping (best weights kept).
    device : ``"auto"`` (CUDA when present, else CPU), ``"cpu"`` or ``"cuda"``.
    num_threads : CPU threads torch may use while this detector works (restored after);
        small LSTM batches gain little from more, and on a busy machine several threads
        spin-wait for each other (measured: 1 thread 0.06 s per batch, 2 threads 0.9 s).
        ``None`` keeps torch's setting.
    random_state : seed; on CPU the same seed gives the same weights.
    """

    def __init__(
        self,
        *,
        features: Sequence[str] = ("log_return", "volatility", "range"),
        window: int = 24,
        trend_window: int = 720,
        sequence_length: int = 48,
        hidden_size: int = 32,
        num_layers: int = 1,
        dropout: float = 0.0,
        class_weight: Literal["balanced"] | None = "balanced",
        max_epochs: int = 20,
        batch_size: int = 256,
        learning_rate: float = 3e-3,
        validation_fraction: float = 0.2,
        patience: int = 3,
        device: Literal["auto", "cpu", "cuda"] = "auto",
        num_threads: int | None = 1,
        random_state: int | None = 0,
    ):
        self.features = features
        self.window = window
        self.trend_window = trend_window
        self.sequence_length = sequence_length
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.class_weight = class_weight
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.num_threads = num_threads
        self.random_state = random_state

    # -- settings and inputs --------------------------------------------------------------------
    def _check_settings(self) -> None:
        for name in ("sequence_length", "hidden_size", "num_layers", "max_epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, but got {name}={getattr(self, name)}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), but got dropout={self.dropout}")
        if not 0.0 < float(self.validation_fraction) < 0.5:
            raise ValueError(
                f"validation_fraction must be in (0, 0.5), but got {self.validation_fraction=}"
            )
        if self.class_weight not in ("balanced", None):
            raise ValueError(
                f"class_weight must be 'balanced' or None, but got {self.class_weight=}"
            )
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', but got {self.device=}")

    @contextmanager
    def _threads(self):
        import torch

        previous = torch.get_num_threads()
        if self.num_threads is not None:
            torch.set_num_threads(int(self.num_threads))
        try:
            yield
        finally:
            torch.set_num_threads(previous)

    def _torch_device(self):
        import torch

        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device='cuda' but no CUDA device is available; use 'auto' or 'cpu'")
        return torch.device(self.device)

    def _raw_inputs(self, frame: pd.DataFrame) -> pd.DataFrame:
        return build_inputs(frame, list(self.features), int(self.window), int(self.trend_window))

    def _standardised(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """z-scored inputs (float32, missing -> 0 = the training mean) and a 'window ready' mask."""
        raw = self._raw_inputs(frame)
        z = ((raw - self.input_mean_) / self.input_scale_).to_numpy(dtype=np.float32)
        complete = ~np.isnan(z).any(axis=1)
        z = np.nan_to_num(z, nan=0.0)
        length = int(self.sequence_length)
        ready = np.zeros(len(z), dtype=bool)
        if complete.any():
            # a window is usable once it lies entirely after the features' warm-up
            ready[int(np.argmax(complete)) + length - 1 :] = True
        return z, ready

    @staticmethod
    def _windows(z, ends, length: int):
        import torch

        steps = torch.arange(length - 1, -1, -1)
        return z[ends[:, None] - steps[None, :]]  # (batch, length, features)

    # -- fitting --------------------------------------------------------------------------------
    def _class_order(self, frame: pd.DataFrame, labels: pd.Series) -> list[str]:
        # same convention as the HMM: classes ordered from the highest mean return down
        names = list(dict.fromkeys(labels.dropna()))
        if "close" not in frame.columns:
            return sorted(names)
        returns = log_returns(frame)
        means = {n: returns[(labels == n).to_numpy()].mean() for n in names}
        return sorted(names, key=lambda n: -np.nan_to_num(means[n], nan=-np.inf))

    def fit(self, frame: pd.DataFrame, y: pd.Series | None = None) -> NNRegimeDetector:
        """Train on ``frame`` with regime labels ``y`` (names, aligned to ``frame.index``)."""
        self._check_settings()
        with self._threads():
            return self._fit(frame, y)

    def _fit(self, frame: pd.DataFrame, y: pd.Series | None) -> NNRegimeDetector:
        import torch

        if y is None:
            raise ValueError(
                "NNRegimeDetector.fit needs labels y: e.g. HMMRegimeDetector().fit_predict(frame) "
                "or rule_based_regimes(frame)"
            )
        if not isinstance(y, pd.Series) or not y.index.equals(frame.index):
            raise DataError("labels y must be a pandas Series aligned to the frame's index")
        labels = y.astype(object).where(y.notna(), None)
        raw = self._raw_inputs(frame)
        self.feature_names_in_ = list(raw.columns)
        self.input_mean_ = raw.mean()
        self.input_scale_ = raw.std().replace(0.0, 1.0).fillna(1.0)
        self.names_ = self._class_order(frame, labels)
        if len(self.names_) < 2:
            raise DataError(f"labels y need at least 2 distinct regimes, got {self.names_}")
        z, ready = self._standardised(frame)
        code = {n: i for i, n in enumerate(self.names_)}
        target = np.array([code.get(v, -1) for v in labels.to_numpy()], dtype=np.int64)
        ends = np.flatnonzero(ready & (target >= 0))
        n_val = int(len(ends) * float(self.validation_fraction))
        if len(ends) - n_val < int(self.batch_size) // 4 or n_val < 1:
            raise DataError(
                f"only {len(ends)} labelled windows of {self.sequence_length} bars: too few to "
                "train and validate; give more bars or a shorter sequence_length"
            )
        train_ends, val_ends = ends[: len(ends) - n_val], ends[len(ends) - n_val :]

        if self.random_state is not None:
            torch.manual_seed(int(self.random_state))
        generator = torch.Generator().manual_seed(int(self.random_state or 0))
        device = self._torch_device()
        network = _network(
            z.shape[1],
            len(self.names_),
            int(self.hidden_size),
            int(self.num_layers),
            float(self.dropout),
        ).to(device)
        weights = None
        if self.class_weight == "balanced":
            counts = np.bincount(target[train_ends], minlength=len(self.names_)).astype(float)
            weights = torch.tensor(
                len(train_ends) / (len(self.names_) * np.maximum(counts, 1.0)), dtype=torch.float32
            ).to(device)
        loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
        optimiser = torch.optim.Adam(network.parameters(), lr=float(self.learning_rate))
        z_tensor = torch.from_numpy(z)
        target_tensor = torch.from_numpy(target)
        length = int(self.sequence_length)

        def validation_loss() -> float:
            network.eval()
            total = 0.0
            with torch.no_grad():
                for chunk in np.array_split(val_ends, max(1, len(val_ends) // 4096)):
                    idx = torch.from_numpy(chunk)
                    logits = network(self._windows(z_tensor, idx, length).to(device))
                    total += float(loss_fn(logits, target_tensor[idx].to(device))) * len(chunk)
            return total / len(val_ends)

        best_loss, best_state, stale = np.inf, None, 0
        self.history_ = []
        batch = int(self.batch_size)
        for epoch in range(int(self.max_epochs)):
            network.train()
            order = torch.from_numpy(train_ends)[
                torch.randperm(len(train_ends), generator=generator)
            ]
            running = 0.0
            for start in range(0, len(order), batch):
                idx = order[start : start + batch]
                optimiser.zero_grad()
                logits = network(self._windows(z_tensor, idx, length).to(device))
                loss = loss_fn(logits, target_tensor[idx].to(device))
                loss.backward()
                optimiser.step()
                running += float(loss.detach()) * len(idx)
            val = validation_loss()
            self.history_.append(
                {"epoch": epoch + 1, "train_loss": running / len(order), "val_loss": val}
            )
            logger.info(
                "epoch %d: train %.4f, validation %.4f", epoch + 1, running / len(order), val
            )
            if val < best_loss - 1e-6:
                best_loss, stale = val, 0
                best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
            else:
                stale += 1
                if stale >= int(self.patience):
                    break
        network.load_state_dict(best_state)
        self.network_ = network.eval()
        self.best_validation_loss_ = best_loss
        self.n_epochs_ = len(self.history_)
        return self

    # -- prediction -----------------------------------------------------------------------------
    def predict_proba(self, frame: pd.DataFrame) -> pd.DataFrame:
        """P(regime at t | the ``sequence_length`` bars ending at t); NaN before a full window."""
        self._check_fitted()
        with self._threads():
            return self._predict_proba(frame)

    def _predict_proba(self, frame: pd.DataFrame) -> pd.DataFrame:
        import torch

        z, ready = self._standardised(frame)
        out = np.full((len(z), len(self.names_)), np.nan)
        ends = np.flatnonzero(ready)
        device = next(self.network_.parameters()).device
        z_tensor = torch.from_numpy(z)
        with torch.no_grad():
            for start in range(0, len(ends), 4096):
                idx = torch.from_numpy(ends[start : start + 4096])
                logits = self.network_(
                    self._windows(z_tensor, idx, int(self.sequence_length)).to(device)
                )
                out[idx.numpy()] = torch.softmax(logits, dim=1).cpu().numpy()
        return pd.DataFrame(out, index=frame.index, columns=self.names_)

    # -- persistence: config JSON + state_dict, never a pickled object -------------------------
    def save(self, path: str | Path) -> Path:
        """Write ``path/config.json`` (settings, classes, scaling) and ``path/weights.pt``."""
        import torch

        self._check_fitted()
        params = self.get_params()
        params["features"] = list(params["features"])
        config = {
            "kind": "lstm",
            "format_version": 1,
            "params": params,
            "fitted": {
                "names": self.names_,
                "feature_names_in": self.feature_names_in_,
                "input_mean": self.input_mean_.tolist(),
                "input_scale": self.input_scale_.tolist(),
                "best_validation_loss": self.best_validation_loss_,
                "history": self.history_,
            },
        }
        path = Path(path)
        state = {k: v.cpu() for k, v in self.network_.state_dict().items()}
        # the folder is built under a temporary name and renamed: weights and config of
        # one fit, never a mix of an old and a new one
        with atomic_path(path) as folder:
            folder.mkdir()
            (folder / _CONFIG).write_text(json.dumps(config, indent=1))
            torch.save(state, folder / _WEIGHTS)
        return path

    @classmethod
    def load(cls, path: str | Path) -> NNRegimeDetector:
        """Rebuild a fitted detector from a directory written by ``save``."""
        import torch

        path = Path(path)
        try:
            config = json.loads((path / _CONFIG).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"cannot read an LSTM regime model from {path}: {exc}") from exc
        if config.get("kind") != "lstm":
            raise DataError(f"{path} is not an LSTM regime model (kind={config.get('kind')!r})")
        params = dict(config["params"])
        params["features"] = tuple(params["features"])
        detector = cls(**params)
        fitted = config["fitted"]
        columns = fitted["feature_names_in"]
        detector.names_ = list(fitted["names"])
        detector.feature_names_in_ = list(columns)
        detector.input_mean_ = pd.Series(fitted["input_mean"], index=columns)
        detector.input_scale_ = pd.Series(fitted["input_scale"], index=columns)
        detector.best_validation_loss_ = fitted["best_validation_loss"]
        detector.history_ = fitted["history"]
        detector.n_epochs_ = len(detector.history_)
        network = _network(
            len(columns),
            len(detector.names_),
            int(detector.hidden_size),
            int(detector.num_layers),
            float(detector.dropout),
        )
        # weights_only: the file can hold tensors only, so loading it cannot run code
        network.load_state_dict(torch.load(path / _WEIGHTS, weights_only=True, map_location="cpu"))
        detector.network_ = network.to(detector._torch_device()).eval()
        return detector

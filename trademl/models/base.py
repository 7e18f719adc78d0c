"""The one base class of the model zoo: a scikit-learn estimator with trading-aware fitting.

Members implement only ``_make_estimator`` (the native library object for the task);
boosted models also override ``_fit_estimator`` to pass the early-stopping slice. The base
owns label encoding, the early-stopping carve-out, ``predict``/``predict_proba`` and
save/load, so every model behaves the same inside pipelines, splitters and ``clone``.

Early stopping never looks at a test fold: the validation slice is carved from the END of
the training rows the model is given, and ``purge`` rows (the label horizon) are dropped
between the fitting part and the slice, so no fitting label overlaps a validation bar.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils._tags import ClassifierTags, RegressorTags
from sklearn.utils.metaestimators import available_if

from trademl.errors import TradeMLError
from trademl.models.cards import ModelCard

__all__ = ["TabularModel", "load", "normalised_proba"]

logger = logging.getLogger(__name__)

_TASKS = ("classification", "regression")


def _is_classifier(model: TabularModel) -> bool:
    return model.task == "classification"


def normalised_proba(proba) -> np.ndarray:
    """Probabilities as float64 rows that sum to one.

    XGBoost returns float32: cast to float64 such rows miss 1 by ~1e-7, more than
    scikit-learn's tolerance (sqrt of float64 eps), which then warns "y_prob values do
    not sum to one" in every log loss.
    """
    values = np.asarray(proba, dtype=np.float64)
    if values.ndim != 2:
        return values
    totals = values.sum(axis=1, keepdims=True)
    return np.divide(values, totals, out=values.copy(), where=totals > 0)


class TabularModel(BaseEstimator, ABC):
    """Base of every model: ``fit(X, y)``, ``predict(X)``, ``predict_proba(X)`` (classifiers).

    Subclasses declare their hyper-parameters as explicit keyword arguments of
    ``__init__`` (stored unchanged) and a class-level ``card``.
    """

    card: ClassVar[ModelCard]

    # ---- what a member implements -------------------------------------------------------
    @abstractmethod
    def _make_estimator(self) -> Any:
        """Return an unfitted native estimator configured from this object's parameters."""

    def _fit_estimator(self, estimator: Any, X, y, X_val=None, y_val=None) -> None:
        """Fit ``estimator``; models that support early stopping use ``X_val``/``y_val``."""
        estimator.fit(X, y)

    # ---- scikit-learn plumbing ----------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if getattr(self, "task", None) == "classification":
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
            tags.regressor_tags = None
        else:
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
            tags.classifier_tags = None
        tags.input_tags.allow_nan = self.card.extra.get("allow_nan", False)
        return tags

    # ---- fitting ------------------------------------------------------------------------
    def _check_task(self) -> None:
        if self.task not in _TASKS:
            raise ValueError(
                f"{type(self).__name__}: task must be one of {_TASKS}, got {self.task!r}"
            )
        if self.task not in self.card.tasks:
            raise ValueError(
                f"model kind '{self.card.kind}' does not support task={self.task!r} "
                f"(supports: {', '.join(self.card.tasks)})"
            )

    def _early_stopping_slice(self, n_rows: int) -> tuple[int, int, int] | None:
        """(end of fitting rows, start of validation slice, end) or None without early stopping."""
        rounds = getattr(self, "early_stopping_rounds", None)
        if not rounds:
            return None
        if not self.card.early_stopping:
            raise ValueError(
                f"model kind '{self.card.kind}' does not support early stopping "
                f"(early_stopping_rounds={rounds})"
            )
        fraction = self.validation_fraction
        if not 0 < fraction < 0.5:
            raise ValueError(f"validation_fraction must be in (0, 0.5), got {fraction}")
        purge = int(self.purge)
        if purge < 0:
            raise ValueError(f"purge must be >= 0 bars, got {purge}")
        n_val = max(1, int(round(n_rows * fraction)))
        fit_end = n_rows - n_val - purge
        if fit_end < max(10, n_val):
            raise ValueError(
                f"too few training rows ({n_rows}) for early stopping with "
                f"validation_fraction={fraction} and purge={purge}"
            )
        return fit_end, n_rows - n_val, n_rows

    def fit(self, X, y, sample_weight=None):
        """Fit on rows in time order; the early-stopping slice is the last rows of ``X``."""
        self._check_task()
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported by trademl models yet")
        y_arr = np.asarray(y)
        if len(y_arr) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y_arr)}")
        if len(y_arr) == 0:
            raise ValueError("cannot fit on 0 rows")
        if y_arr.dtype.kind == "f" and np.isnan(y_arr).any():
            first = int(np.flatnonzero(np.isnan(y_arr))[0])
            raise ValueError(f"y has NaN labels (first at row {first}); drop unknown labels first")
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]

        if self.task == "classification":
            self.classes_ = np.unique(y_arr)
            if len(self.classes_) < 2:
                raise ValueError(
                    f"classification needs at least 2 classes in y, got {self.classes_}"
                )
            target = np.searchsorted(self.classes_, y_arr)
        else:
            target = y_arr.astype(float)

        estimator = self._make_estimator()
        carve = self._early_stopping_slice(len(target))
        if carve is None:
            self.early_stopping_slice_ = None
            self._fit_estimator(estimator, X, target)
        else:
            fit_end, val_start, val_end = carve
            self.early_stopping_slice_ = (val_start, val_end)
            rows = X.iloc if isinstance(X, pd.DataFrame) else X
            self._fit_estimator(
                estimator,
                rows[:fit_end],
                target[:fit_end],
                rows[val_start:val_end],
                target[val_start:val_end],
            )
            if isinstance(X, pd.DataFrame):
                self.validation_index_ = X.index[val_start:val_end]
        self.estimator_ = estimator
        return self

    # ---- predicting ---------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "estimator_"):
            raise TradeMLError(f"{type(self).__name__} is not fitted yet: call fit(X, y) first")

    @available_if(_is_classifier)
    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (float64, each row summing to one), columns in the order
        of ``classes_``."""
        self._check_fitted()
        return normalised_proba(self.estimator_.predict_proba(X))

    @available_if(_is_classifier)
    def predict_proba_values(self, values: np.ndarray) -> np.ndarray:
        """``predict_proba`` of a plain matrix in the fitted column order, without the
        per-call validation a DataFrame gets (serving scores one row per bar). Members
        whose library has a cheaper direct call override it; the numbers are the same."""
        self._check_fitted()
        names = getattr(self, "feature_names_in_", None)
        X = pd.DataFrame(values, columns=names) if names is not None else values
        return self.predict_proba(X)

    @available_if(_is_classifier)
    def predict_proba_row(self, row: np.ndarray) -> np.ndarray:
        """``predict_proba_values`` of one row (1-D) -> its class probabilities."""
        return self.predict_proba_values(row[None, :])[0]

    def features_read(self) -> np.ndarray | None:
        """Positions (in the fitted column order) of the input columns the fitted model's
        predictions can depend on; None: all of them. Serving computes only these online.
        Members that can tell (tree ensembles) override it."""
        self._check_fitted()
        return None

    def predict(self, X) -> np.ndarray:
        self._check_fitted()
        if self.task == "classification":
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return np.asarray(self.estimator_.predict(X), dtype=float)

    def score(self, X, y) -> float:
        """Accuracy for classifiers, R² for regressors (scikit-learn's convention)."""
        from sklearn.metrics import accuracy_score, r2_score

        pred = self.predict(X)
        if self.task == "classification":
            return float(accuracy_score(y, pred))
        return float(r2_score(y, pred))

    # ---- persistence --------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the fitted model with its card to ``path`` (joblib) and its signed SHA-256
        to ``path.sig``; ``load(path)`` checks both before unpickling."""
        import joblib

        from trademl import __version__
        from trademl._io import atomic_path

        path = Path(path)
        with atomic_path(path) as temporary:
            joblib.dump(
                {"model": self, "card": self.card.to_dict(), "trademl_version": __version__},
                temporary,
            )
        _write_signature(path)
        return path


_FILE_SUBJECT = "trademl-model-file"


def _signature_path(path: Path) -> Path:
    return path.with_name(path.name + ".sig")


def _file_manifest(path: Path) -> dict[str, str]:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return {"model": digest.hexdigest()}


def _write_signature(path: Path) -> None:
    import json

    from trademl.package.signing import sign_manifest

    manifest = _file_manifest(path)
    record = {**manifest, "signature": sign_manifest(manifest, subject=_FILE_SUBJECT)}
    _signature_path(path).write_text(json.dumps(record) + "\n", encoding="utf-8")


def _check_signature(path: Path, *, allow_unsigned: bool) -> None:
    import json

    from trademl.package.signing import SignatureError, verify_manifest_signature

    sig_path = _signature_path(path)
    manifest = _file_manifest(path)
    signature = None
    if sig_path.is_file():
        try:
            record = json.loads(sig_path.read_text(encoding="utf-8"))
            recorded, signature = {"model": record["model"]}, record["signature"]
        except (ValueError, KeyError, TypeError):
            raise SignatureError(f"{sig_path}: not a trademl signature file") from None
        if recorded != manifest:
            raise SignatureError(
                f"{path}: SHA-256 differs from the one signed in {sig_path.name} "
                "(the file was changed after saving); refusing to unpickle it"
            )
    verify_manifest_signature(
        manifest,
        signature,
        subject=_FILE_SUBJECT,
        label=str(path),
        allow_unsigned=allow_unsigned,
    )


def load(path: str | Path, *, allow_unsigned: bool = False) -> TabularModel:
    """Read a model written by ``TabularModel.save``, after checking its signed SHA-256
    (``allow_unsigned`` accepts a file without a ``.sig``, with a warning)."""
    import joblib

    path = Path(path)
    if not path.is_file():
        raise TradeMLError(f"{path}: model file not found")
    _check_signature(path, allow_unsigned=allow_unsigned)
    payload = joblib.load(path)
    if not isinstance(payload, dict) or "model" not in payload:
        raise TradeMLError(f"{path}: not a trademl model file")
    return payload["model"]

"""The fitted feature recipe: raw candles of one symbol -> the model's feature matrix.

Everything the training run decided about its inputs lives here and nowhere else, so
prediction, serving and retraining rebuild exactly the training columns:

- the feature spec (what ``generate_features`` computes),
- user feature modules, carried as source text keyed by SHA-256 (a package must still
  load where the original file is gone or has changed),
- the columns kept (mostly-missing columns dropped, decided on development rows only),
- the symbol encoding of a pooled multi-symbol model (one-hot ``symbol=NAME`` columns),
- the dtype of the matrix.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trademl.errors import DataError

__all__ = ["MAX_MISSING_SHARE", "SYMBOL_PREFIX", "FeatureRecipe", "kept_columns"]

# a pooled multi-symbol model sees the symbol as one-hot columns with this prefix
SYMBOL_PREFIX = "symbol="
# a feature missing on more than this share of development rows is dropped (no order-book
# data, a very long warm-up) rather than throwing away most rows
MAX_MISSING_SHARE = 0.2
# content hashes of user feature modules already imported in this process (like sys.modules)
_LOADED_MODULES: set[str] = set()


def kept_columns(values: pd.DataFrame, development: np.ndarray) -> list[str]:
    """Columns missing (NaN or ±inf) on at most ``MAX_MISSING_SHARE`` of ``development`` rows.

    Decided on development rows only: the holdout must not shape the model's inputs.
    """
    part = values.iloc[development]
    missing = ~np.isfinite(part.to_numpy(dtype=float))
    share = missing.mean(axis=0) if len(part) else np.ones(values.shape[1])
    return [c for c, s in zip(values.columns, share, strict=True) if s <= MAX_MISSING_SHARE]


@dataclass
class FeatureRecipe:
    """How a model's inputs are made from candles; built by the pipeline, used downstream."""

    feature_spec: dict[str, Any]
    columns: list[str]
    dtype: str = "float64"
    symbols: list[str] = field(default_factory=list)
    one_hot_symbols: bool = False
    # original path as given in the spec -> (sha256, source text)
    modules: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def input_columns(self) -> list[str]:
        """The columns of the matrix the estimator sees, in order."""
        extra = [f"{SYMBOL_PREFIX}{s}" for s in self.symbols] if self.one_hot_symbols else []
        return [*self.columns, *extra]

    @staticmethod
    def import_modules(paths: list[str], base_dir: Path | None) -> dict[str, tuple[str, str]]:
        """Import the spec's user feature modules; {path: (sha256, source)} to carry them."""
        if not paths:
            return {}
        from trademl.features import load_feature_modules

        hashes = load_feature_modules(paths, base_dir=base_dir)  # errors name the path
        modules = {}
        for given in paths:
            path = Path(given).expanduser()
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            modules[given] = (hashes[given], path.read_text(encoding="utf-8"))
            _LOADED_MODULES.add(hashes[given])
        return modules

    def load_modules(self) -> None:
        """Register the carried user features from their stored source (once per hash)."""
        pending = {k: v for k, v in self.modules.items() if v[0] not in _LOADED_MODULES}
        if not pending:
            return
        from trademl.features import load_feature_modules

        folder = Path(tempfile.mkdtemp(prefix="trademl-recipe-"))
        paths = []
        for given, (digest, source) in pending.items():
            if hashlib.sha256(source.encode("utf-8")).hexdigest() != digest:
                raise DataError(f"feature module {given}: source does not match its SHA-256")
            path = folder / f"{Path(given).stem}_{digest[:12]}.py"
            path.write_text(source, encoding="utf-8")
            paths.append(str(path))
        load_feature_modules(paths, base_dir=None)
        _LOADED_MODULES.update(v[0] for v in pending.values())

    def raw_features(self, candles: pd.DataFrame) -> pd.DataFrame:
        """Every column the feature spec computes (before columns are selected)."""
        from trademl.features import generate_features

        self.load_modules()
        # causality of user features is checked where the recipe is fitted (build_dataset),
        # on the run's own data; predicting or serving does not repeat it
        return generate_features(candles, self.feature_spec, check_causality=False)

    def select(self, features: pd.DataFrame, symbol: str) -> pd.DataFrame:
        """Kept columns, ±inf as NaN, the symbol's one-hot columns, the recipe's dtype."""
        missing = [c for c in self.columns if c not in features.columns]
        if missing:
            raise DataError(
                f"features: the model needs {len(missing)} column(s) the data did not give, "
                f"first {missing[:5]}"
            )
        values = features[self.columns].replace([np.inf, -np.inf], np.nan).astype(self.dtype)
        if self.one_hot_symbols:
            if symbol not in self.symbols:
                raise DataError(
                    f"symbol {symbol!r} is unknown to this model (trained on {self.symbols})"
                )
            for name in self.symbols:
                values[f"{SYMBOL_PREFIX}{name}"] = np.asarray(symbol == name, dtype=self.dtype)
        return values

    def transform(self, candles: pd.DataFrame, symbol: str) -> pd.DataFrame:
        """Raw candles of ``symbol`` -> the estimator's matrix (rows with NaN kept)."""
        return self.select(self.raw_features(candles), symbol)

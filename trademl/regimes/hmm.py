"""``HMMRegimeDetector``: a Gaussian HMM whose default predictions are causal.

``predict_proba``/``predict`` run the forward filter (the value at bar t uses bars <= t);
``smooth`` runs forward-backward or Viterbi over the whole series and therefore sees the
future — for analysis only, never for trading decisions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from trademl._io import atomic_write_text
from trademl.errors import DataError
from trademl.regimes import _gaussian_hmm as ghmm
from trademl.regimes._base import RegimeDetector
from trademl.regimes._inputs import build_inputs, log_returns, refuse_constant_inputs
from trademl.regimes._naming import regime_names

__all__ = ["HMMRegimeDetector"]

logger = logging.getLogger(__name__)


class HMMRegimeDetector(RegimeDetector):
    """Gaussian HMM regimes on causal features of candles.

    Parameters
    ----------
    n_regimes : number of hidden states, or ``"auto"`` to choose it by ``criterion``
        over ``n_regimes_range`` (inclusive).
    covariance_type : ``"full"``, ``"diag"``, ``"spherical"`` or ``"tied"``.
    features : observation columns: built-ins ``log_return``, ``volatility``,
        ``volume_z``, ``range`` (see ``trademl.regimes._inputs``) or any column name.
    window : bars for the rolling built-ins (volatility, volume z-score).
    trend_window : bars of the ``momentum`` built-in (720 = 30 days of hourly bars).
    criterion : ``"bic"`` or ``"aic"`` for ``n_regimes="auto"``.
    n_init : random restarts; the best log-likelihood wins.
    prefit_iter : EM iterations given to every restart before the best one is run to
        convergence (``None``: every restart runs to convergence — slower, rarely better).
    n_iter, tol : EM iteration cap and convergence threshold (log-likelihood gain per bar).
    min_covar : added to covariance diagonals (features are standardised first).
    random_state : seed of the restarts.
    """

    def __init__(
        self,
        n_regimes: int | Literal["auto"] = 3,
        *,
        covariance_type: ghmm.CovarianceType = "full",
        features: Sequence[str] = ("log_return", "volatility"),
        window: int = 24,
        trend_window: int = 720,
        n_regimes_range: tuple[int, int] = (2, 6),
        criterion: Literal["bic", "aic"] = "bic",
        n_init: int = 5,
        prefit_iter: int | None = 10,
        n_iter: int = 300,
        tol: float = 1e-6,
        min_covar: float = 1e-3,
        random_state: int | None = 0,
    ):
        self.n_regimes = n_regimes
        self.covariance_type = covariance_type
        self.features = features
        self.window = window
        self.trend_window = trend_window
        self.n_regimes_range = n_regimes_range
        self.criterion = criterion
        self.n_init = n_init
        self.prefit_iter = prefit_iter
        self.n_iter = n_iter
        self.tol = tol
        self.min_covar = min_covar
        self.random_state = random_state

    # -- settings are checked when data arrives (scikit-learn style) ---------------------------
    def _candidate_counts(self) -> list[int]:
        if self.covariance_type not in ghmm.COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_type must be one of {ghmm.COVARIANCE_TYPES}, "
                f"but got covariance_type={self.covariance_type!r}"
            )
        if self.criterion not in ("bic", "aic"):
            raise ValueError(f"criterion must be 'bic' or 'aic', but got {self.criterion=}")
        if int(self.n_init) < 1:
            raise ValueError(f"n_init must be >= 1, but got {self.n_init=}")
        if self.prefit_iter is not None and int(self.prefit_iter) < 1:
            raise ValueError(f"prefit_iter must be >= 1 or None, but got {self.prefit_iter=}")
        if self.n_regimes == "auto":
            low, high = (int(v) for v in self.n_regimes_range)
            if not 2 <= low <= high:
                raise ValueError(
                    f"n_regimes_range must be (low, high) with 2 <= low <= high, "
                    f"but got {self.n_regimes_range=}"
                )
            return list(range(low, high + 1))
        if isinstance(self.n_regimes, str) or int(self.n_regimes) < 2:
            raise ValueError(f"n_regimes must be an int >= 2 or 'auto', but got {self.n_regimes=}")
        return [int(self.n_regimes)]

    def _inputs(self, frame: pd.DataFrame) -> np.ndarray:
        raw = build_inputs(frame, list(self.features), int(self.window), int(self.trend_window))
        return ((raw - self.input_mean_) / self.input_scale_).to_numpy()

    # -- fitting ------------------------------------------------------------------------------
    def _fit_states(self, X: np.ndarray, n_states: int) -> ghmm.EMResult:
        rng = np.random.default_rng(self.random_state)
        quick = self.prefit_iter is not None
        best: ghmm.EMResult | None = None
        for restart in range(int(self.n_init)):
            start = ghmm.initial_parameters(X, n_states, self.covariance_type, rng)
            result = ghmm.fit_em(
                X,
                start,
                covariance_type=self.covariance_type,
                n_iter=int(self.prefit_iter) if quick else int(self.n_iter),
                tol=float(self.tol),
                min_covar=float(self.min_covar),
            )
            logger.debug("restart %d: log-likelihood %.2f", restart, result.log_prob)
            if best is None or result.log_prob > best.log_prob:
                best = result
        if quick and not best.converged:
            prefit = best.n_iter
            best = ghmm.fit_em(
                X,
                best.params,
                covariance_type=self.covariance_type,
                n_iter=int(self.n_iter),
                tol=float(self.tol),
                min_covar=float(self.min_covar),
            )
            best.n_iter += prefit  # report the winner's whole EM path
        return best

    def fit(self, frame: pd.DataFrame, y: pd.Series | None = None) -> HMMRegimeDetector:
        """Fit on ``frame`` (candles and/or feature columns, in time order). ``y`` is ignored."""
        counts = self._candidate_counts()
        raw = build_inputs(frame, list(self.features), int(self.window), int(self.trend_window))
        refuse_constant_inputs(raw)
        self.feature_names_in_ = list(raw.columns)
        self.input_mean_ = raw.mean()
        self.input_scale_ = raw.std().replace(0.0, 1.0).fillna(1.0)
        X = self._inputs(frame)
        n_obs = int((~np.isnan(X).any(axis=1)).sum())
        rows = []
        fits = {}
        for n_states in counts:
            result = self._fit_states(X, n_states)
            k_params = ghmm.n_free_parameters(n_states, X.shape[1], self.covariance_type)
            fits[n_states] = result
            rows.append(
                {
                    "n_regimes": n_states,
                    "log_likelihood": result.log_prob,
                    "n_parameters": k_params,
                    "bic": k_params * np.log(n_obs) - 2.0 * result.log_prob,
                    "aic": 2.0 * k_params - 2.0 * result.log_prob,
                    "converged": result.converged,
                }
            )
        self.selection_ = pd.DataFrame(rows).set_index("n_regimes")
        chosen = int(self.selection_[self.criterion].idxmin()) if len(counts) > 1 else counts[0]
        result = fits[chosen]

        # name states by mean return (smoothed posteriors on the training data: fitting may
        # look at the whole training window, only predictions must be causal)
        log_lik = ghmm.log_likelihood(X, result.params.means, result.params.covars)
        posteriors, _, _ = ghmm.forward_backward(
            log_lik, result.params.startprob, result.params.transmat
        )
        returns = log_returns(frame).to_numpy() if "close" in frame.columns else X[:, 0]
        usable = ~np.isnan(returns)
        weights = posteriors[usable]
        mean_returns = (weights * returns[usable, None]).sum(0) / (weights.sum(0) + 1e-12)
        order = np.argsort(-mean_returns, kind="stable")
        params = result.params.reordered(order)

        self.n_regimes_ = chosen
        self.names_ = regime_names(chosen)
        self.params_ = params
        self._set_public_parameters()
        self.log_likelihood_ = result.log_prob
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged
        self.n_train_bars_ = n_obs
        logger.info(
            "HMM fitted: %d regimes, log-likelihood %.1f, converged=%s",
            chosen,
            result.log_prob,
            result.converged,
        )
        return self

    def _set_public_parameters(self) -> None:
        params = self.params_
        self.startprob_ = params.startprob
        self.transmat_ = params.transmat
        # means/covariances in the features' own units (the model works on z-scores)
        scale = self.input_scale_.to_numpy()
        self.means_ = params.means * scale + self.input_mean_.to_numpy()
        self.covars_ = params.covars * np.outer(scale, scale)

    # -- causal predictions ---------------------------------------------------------------------
    def _log_lik(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        X = self._inputs(frame)
        observed = ~np.isnan(X).any(axis=1)
        return ghmm.log_likelihood(X, self.params_.means, self.params_.covars), observed

    def predict_proba(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Forward-filtered P(regime_t | bars <= t). NaN until the features are warmed up."""
        log_lik, observed = self._log_lik(frame)
        filtered, _ = ghmm.forward_filter(log_lik, self.startprob_, self.transmat_)
        if observed.any():
            filtered[: int(np.argmax(observed))] = np.nan
        else:
            filtered[:] = np.nan
        return pd.DataFrame(filtered, index=frame.index, columns=self.names_)

    # -- analysis that sees the future --------------------------------------------------------
    def smooth(
        self, frame: pd.DataFrame, method: Literal["forward_backward", "viterbi"] = "viterbi"
    ) -> pd.Series:
        """SMOOTHED regimes: each bar's label uses the WHOLE series, future included.

        For describing the past only (statistics, plots of history); a backtest or live
        signal built on this leaks the future. ``method="viterbi"`` is the single most
        likely path; ``"forward_backward"`` the most probable state at each bar.
        """
        if method not in ("forward_backward", "viterbi"):
            raise ValueError(f"method must be 'forward_backward' or 'viterbi', but got {method=}")
        log_lik, observed = self._log_lik(frame)
        if method == "viterbi":
            states = ghmm.viterbi(log_lik, self.startprob_, self.transmat_)
        else:
            states = self.smooth_proba(frame).to_numpy().argmax(axis=1)
        labels = np.asarray(self.names_, dtype=object)[states]
        if observed.any():
            labels[: int(np.argmax(observed))] = None
        return pd.Series(labels, index=frame.index, name="regime", dtype="str")

    def smooth_proba(self, frame: pd.DataFrame) -> pd.DataFrame:
        """SMOOTHED P(regime_t | all bars) by forward-backward: sees the future (analysis only)."""
        log_lik, _ = self._log_lik(frame)
        posteriors, _, _ = ghmm.forward_backward(log_lik, self.startprob_, self.transmat_)
        return pd.DataFrame(posteriors, index=frame.index, columns=self.names_)

    # -- model summaries ----------------------------------------------------------------------
    def score(self, frame: pd.DataFrame) -> float:
        """Total log-likelihood of ``frame`` under the fitted model."""
        log_lik, _ = self._log_lik(frame)
        return ghmm.forward_filter(log_lik, self.startprob_, self.transmat_)[1]

    def information_criteria(self, frame: pd.DataFrame) -> dict[str, float]:
        """``log_likelihood``, ``bic`` and ``aic`` of the fitted model on ``frame``."""
        log_lik, observed = self._log_lik(frame)
        k = ghmm.n_free_parameters(self.n_regimes_, len(self.features), self.covariance_type)
        _, log_prob = ghmm.forward_filter(log_lik, self.startprob_, self.transmat_)
        return {
            "log_likelihood": log_prob,
            "bic": k * np.log(max(int(observed.sum()), 1)) - 2.0 * log_prob,
            "aic": 2.0 * k - 2.0 * log_prob,
        }

    def transition_matrix(self) -> pd.DataFrame:
        """P(next regime = column | regime = row) per bar."""
        self._check_fitted()
        return pd.DataFrame(self.transmat_, index=self.names_, columns=self.names_)

    def expected_durations(self) -> pd.Series:
        """Mean bars a regime lasts once entered, ``1 / (1 - p_ii)``."""
        self._check_fitted()
        stay = np.clip(np.diag(self.transmat_), 0.0, 1.0 - 1e-12)
        return pd.Series(1.0 / (1.0 - stay), index=self.names_, name="expected_duration")

    # -- persistence: parameters as JSON, no pickle ---------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write settings and fitted parameters to a JSON file (readable, diffable, no pickle)."""
        self._check_fitted()
        params = self.get_params()
        params["features"] = list(params["features"])
        params["n_regimes_range"] = list(params["n_regimes_range"])
        state = {
            "kind": "hmm",
            "format_version": 1,
            "params": params,
            "fitted": {
                "names": self.names_,
                "n_regimes": self.n_regimes_,
                "feature_names_in": self.feature_names_in_,
                "input_mean": self.input_mean_.tolist(),
                "input_scale": self.input_scale_.tolist(),
                "startprob": self.params_.startprob.tolist(),
                "transmat": self.params_.transmat.tolist(),
                "means": self.params_.means.tolist(),
                "covars": self.params_.covars.tolist(),
                "log_likelihood": self.log_likelihood_,
                "n_iter": self.n_iter_,
                "converged": self.converged_,
                "n_train_bars": self.n_train_bars_,
            },
        }
        path = Path(path)
        atomic_write_text(path, json.dumps(state, indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path) -> HMMRegimeDetector:
        """Rebuild a fitted detector written by ``save``."""
        try:
            state = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"cannot read an HMM regime model from {path}: {exc}") from exc
        if state.get("kind") != "hmm":
            raise DataError(f"{path} is not an HMM regime model (kind={state.get('kind')!r})")
        params = dict(state["params"])
        params["n_regimes_range"] = tuple(params["n_regimes_range"])
        params["features"] = tuple(params["features"])
        detector = cls(**params)
        fitted = state["fitted"]
        columns = fitted["feature_names_in"]
        detector.names_ = list(fitted["names"])
        detector.n_regimes_ = int(fitted["n_regimes"])
        detector.feature_names_in_ = list(columns)
        detector.input_mean_ = pd.Series(fitted["input_mean"], index=columns)
        detector.input_scale_ = pd.Series(fitted["input_scale"], index=columns)
        detector.params_ = ghmm.HMMParameters(
            startprob=np.asarray(fitted["startprob"]),
            transmat=np.asarray(fitted["transmat"]),
            means=np.asarray(fitted["means"]),
            covars=np.asarray(fitted["covars"]),
        )
        detector._set_public_parameters()
        detector.log_likelihood_ = float(fitted["log_likelihood"])
        detector.n_iter_ = int(fitted["n_iter"])
        detector.converged_ = bool(fitted["converged"])
        detector.n_train_bars_ = int(fitted["n_train_bars"])
        return detector

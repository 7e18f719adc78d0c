"""Logging a fitted model as an MLflow pyfunc model, with signature, example and model card."""

from __future__ import annotations

import json
import logging
import sys
from importlib import metadata
from typing import Any

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
from mlflow.types.type_hints import TypeFromExample

from trademl.tracking import _store
from trademl.tracking.errors import TrackingError
from trademl.tracking.runs import active_run_id

__all__ = ["MODEL_URI_TAG", "log_model", "render_model_card"]

log = logging.getLogger(__name__)

# run tag holding the models:/ URI of each model logged on it, read back by register_model
MODEL_URI_TAG = "trademl.model_uri.{artifact_name}"
CARD_ARTIFACT = "model_card/{artifact_name}"

# import name -> distribution, for the requirements written next to a model
_MODEL_PACKAGES = {
    "sklearn": "scikit-learn",
    "lightgbm": "lightgbm",
    "xgboost": "xgboost",
    "torch": "torch",
    "hmmlearn": "hmmlearn",
    "trademl": "trademl",
}


class PredictFunctionModel(mlflow.pyfunc.PythonModel):
    """Pyfunc wrapper for any fitted object with ``predict(X)`` and no MLflow flavor."""

    def __init__(self, model: Any):
        self.model = model

    # TypeFromExample: inputs are validated against the logged input example's type
    def predict(self, context, model_input: TypeFromExample, params=None):  # noqa: ARG002
        return self.model.predict(model_input)


def _requirements() -> list[str]:
    """Pinned requirements, listed from what is imported rather than inferred.

    MLflow's inference loads the model in a subprocess and takes ~30 s here (torch is
    installed); what a model needs is already known from the imported packages.
    """
    needed = ["mlflow", "cloudpickle", "numpy", "pandas", "scikit-learn"]
    needed += [dist for module, dist in _MODEL_PACKAGES.items() if module in sys.modules]
    pins = []
    for dist in dict.fromkeys(needed):
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
        pins.append(f"{dist}=={version.split('+', 1)[0]}")
    return pins


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _complete_card(card: dict, input_example: Any, signature: Any) -> dict:
    columns = list(getattr(input_example, "columns", []))
    shape = list(getattr(input_example, "shape", ()))
    filled = {
        "purpose": "",
        "input_shape": ["n_rows", *shape[1:]] if shape else [],
        "features": [str(c) for c in columns],
        "output_schema": signature.outputs.to_dict() if signature and signature.outputs else [],
    }
    filled.update(card)
    return _jsonable(filled)


def render_model_card(card: dict) -> str:
    """The card as Markdown, one section per field."""
    lines = [f"# Model card: {card.get('name', 'model')}", ""]
    for key, value in card.items():
        lines.append(f"## {key.replace('_', ' ').capitalize()}")
        if isinstance(value, (list, dict)):
            lines += ["```json", json.dumps(value, indent=2), "```"]
        else:
            lines.append(str(value))
        lines.append("")
    return "\n".join(lines)


def log_model(
    model: Any,
    *,
    input_example: Any,
    card: dict,
    artifact_name: str = "model",
    signature: Any = None,
) -> str:
    """Log ``model`` on the active run and return its ``models:/`` URI.

    scikit-learn compatible estimators (including LightGBM and XGBoost wrappers) use the
    ``mlflow.sklearn`` flavor, an ``mlflow.pyfunc.PythonModel`` is logged as it is, and any
    other object with ``predict`` is wrapped. The signature is inferred from
    ``input_example`` unless given, so ``mlflow.pyfunc.load_model`` returns a model that
    checks its input. The card (purpose, input shape, features, output schema, ...) goes
    into the model's MLmodel metadata and next to it as JSON and Markdown.
    """
    from mlflow.models import infer_signature

    run_id = active_run_id()
    if not isinstance(card, dict):
        raise ValueError(f"card must be a dict, got {type(card).__name__}")
    if input_example is None:
        raise ValueError("input_example is required: it defines the model's signature")
    if not artifact_name or "/" in artifact_name:
        raise ValueError(f"artifact_name must be a plain name, got {artifact_name!r}")
    is_python_model = isinstance(model, mlflow.pyfunc.PythonModel)
    if not is_python_model and not callable(getattr(model, "predict", None)):
        raise ValueError(f"model must have a predict method, got {type(model).__name__}")

    if signature is None and not is_python_model:
        signature = infer_signature(input_example, model.predict(input_example))
    full_card = _complete_card(card, input_example, signature)
    common = {
        "name": artifact_name,
        "input_example": input_example,
        "signature": signature,
        "pip_requirements": _requirements(),
        "metadata": {"trademl_model_card": full_card},
    }
    if is_python_model:
        info = mlflow.pyfunc.log_model(python_model=model, **common)
    elif callable(getattr(model, "get_params", None)) and callable(getattr(model, "fit", None)):
        # cloudpickle, not skops: skops refuses LightGBM/XGBoost types unless trusted one by
        # one; tampering is caught by the SHA-256 check on load instead
        info = mlflow.sklearn.log_model(model, serialization_format="cloudpickle", **common)
    else:
        # MLflow warns that a python_model object is cloudpickled; the SHA-256 manifest
        # recorded at logging and registration is what guards its loading
        pyfunc_log = logging.getLogger("mlflow.pyfunc")
        level = pyfunc_log.level
        pyfunc_log.setLevel(logging.ERROR)
        try:
            info = mlflow.pyfunc.log_model(python_model=PredictFunctionModel(model), **common)
        finally:
            pyfunc_log.setLevel(level)

    client = _store.client()
    base = CARD_ARTIFACT.format(artifact_name=artifact_name)
    client.log_dict(run_id, full_card, f"{base}.json")
    client.log_text(run_id, render_model_card(full_card), f"{base}.md")
    client.set_tag(run_id, MODEL_URI_TAG.format(artifact_name=artifact_name), info.model_uri)
    log.info("logged model %s on run %s as %s", artifact_name, run_id, info.model_uri)
    return info.model_uri


def model_uri_of_run(run_id: str, artifact_name: str = "model") -> str:
    """The ``models:/`` URI of the model ``artifact_name`` logged on ``run_id``."""
    try:
        run = _store.client().get_run(run_id)
    except mlflow.exceptions.MlflowException:
        raise TrackingError(f"run {run_id!r} not found in {_store.tracking_uri()}") from None
    uri = run.data.tags.get(MODEL_URI_TAG.format(artifact_name=artifact_name))
    if uri:
        return uri
    # logged with plain MLflow: let MLflow resolve the model by its name within the run
    return f"runs:/{run_id}/{artifact_name}"

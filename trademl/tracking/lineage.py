"""Lineage of a model version: version -> run -> spec -> dataset -> code -> parent version."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from mlflow.exceptions import MlflowException

from trademl.tracking import _store
from trademl.tracking.registry import STAGE_TAG, _get_version
from trademl.tracking.runs import SPEC_ARTIFACT

__all__ = ["format_lineage", "lineage"]

_PARENT_RUN_TAG = "mlflow.parentRunId"


def _spec_of(run) -> dict[str, Any]:
    """The spec artifact of ``run``, or of its parent when a child run trained the model."""
    candidates = [run.info.run_id]
    if _PARENT_RUN_TAG in run.data.tags:
        candidates.append(run.data.tags[_PARENT_RUN_TAG])
    for run_id in candidates:
        with tempfile.TemporaryDirectory() as folder:
            try:
                local = _store.download_artifacts(
                    run_id=run_id, artifact_path=SPEC_ARTIFACT, dst_path=folder
                )
            except (MlflowException, OSError):
                continue
            data = Path(local).read_bytes()
        return {
            "run_id": run_id,
            "artifact": SPEC_ARTIFACT,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    return {"run_id": None, "artifact": None, "sha256": "unknown"}


def _dataset_of(run, parent_tags: dict[str, str]) -> dict[str, Any]:
    tags = {**parent_tags, **run.data.tags}
    record = {
        key.removeprefix("trademl.data."): value
        for key, value in tags.items()
        if key.startswith("trademl.data.")
    }
    inputs = getattr(run, "inputs", None)
    record["inputs"] = [
        {"name": d.dataset.name, "digest": d.dataset.digest}
        for d in (inputs.dataset_inputs if inputs else [])
    ]
    return record


def lineage(name: str, version: int) -> dict[str, Any]:
    """Where ``name`` v``version`` came from, as a dict of links (``format_lineage`` prints it).

    Keys: ``model``, ``run``, ``spec`` (artifact and its SHA-256), ``dataset`` (source,
    symbols, timeframe, range, rows, SHA-256), ``code`` (git commit, trademl version),
    ``parents`` (the chain of parent versions, nearest first).
    """
    mv = _get_version(name, version)
    client = _store.client()
    run = client.get_run(mv.run_id)
    experiment = client.get_experiment(run.info.experiment_id)
    parent_tags: dict[str, str] = {}
    if _PARENT_RUN_TAG in run.data.tags:
        try:
            parent_tags = dict(client.get_run(run.data.tags[_PARENT_RUN_TAG]).data.tags)
        except MlflowException:
            parent_tags = {}
    tags = {**parent_tags, **run.data.tags}

    parents = []
    seen = {int(version)}
    parent = mv.tags.get("trademl.parent_version", "")
    while parent and int(parent) not in seen:
        seen.add(int(parent))
        parents.append(int(parent))
        try:
            parent = client.get_model_version(name, parent).tags.get("trademl.parent_version", "")
        except MlflowException:
            break
    return {
        "model": {
            "name": name,
            "version": int(version),
            "stage": mv.tags.get(STAGE_TAG, "development"),
            "files_hashed": len(json.loads(mv.tags.get("trademl.sha256") or "{}")),
        },
        "run": {
            "run_id": run.info.run_id,
            "run_name": run.info.run_name,
            "experiment": experiment.name,
            "parent_run_id": run.data.tags.get(_PARENT_RUN_TAG),
        },
        "spec": _spec_of(run),
        "dataset": _dataset_of(run, parent_tags),
        "code": {
            "git_commit": tags.get("trademl.git_commit", "unknown"),
            "git_dirty": tags.get("trademl.git_dirty", "unknown"),
            "trademl_version": tags.get("trademl.version", "unknown"),
            "trademl_commit": tags.get("trademl.source_commit", "unknown"),
            "seed": tags.get("trademl.seed", "unknown"),
        },
        "parents": parents,
    }


def format_lineage(chain: dict[str, Any]) -> list[str]:
    """The chain as lines of text, one link per line."""
    model, run, spec, data, code = (chain[k] for k in ("model", "run", "spec", "dataset", "code"))
    lines = [
        f"model    {model['name']} v{model['version']} ({model['stage']})",
        f"  run    {run['run_id']} '{run['run_name']}' in experiment '{run['experiment']}'"
        + (f" (child of {run['parent_run_id']})" if run["parent_run_id"] else ""),
        f"  spec   {spec['artifact'] or 'not logged'} sha256 {spec['sha256']}",
    ]
    if data.get("sha256"):
        lines.append(
            f"  data   {data.get('symbols', '?')} {data.get('timeframe', '?')} "
            f"{data.get('start', '?')} -> {data.get('end', '?')}, {data.get('rows', '?')} rows, "
            f"sha256 {data['sha256']} from {data.get('source', '?')}"
        )
    else:
        lines.append("  data   not logged")
    lines.append(
        f"  code   git {code['git_commit']}"
        + (" (uncommitted changes)" if code["git_dirty"] == "true" else "")
        + f", trademl {code['trademl_version']} (git {code.get('trademl_commit', 'unknown')[:12]})"
        + f", seed {code['seed']}"
    )
    parents = " -> ".join(f"v{p}" for p in chain["parents"]) or "none"
    lines.append(f"  parent {parents}")
    return lines

"""Model registry on MLflow: versions, stages via aliases + a tag, gated promotion, rollback.

MLflow's own stages are deprecated; a version's stage is the ``trademl.stage`` tag
(development -> staging -> production -> archived), production is the ``champion``
alias (so exactly one), staging the ``challenger`` alias. Every change of champion is
appended to the registered model's history (``trademl.champion_history.NNNNNN`` tags).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import mlflow
from mlflow.exceptions import MlflowException

from trademl.config.tracking import PlausibilitySpec, model_name_problem
from trademl.tracking import _store
from trademl.tracking.errors import PromotionRefused, TrackingError
from trademl.tracking.gates import (
    check_gates,
    check_plausibility,
    describe_failures,
    gates_of_run,
    plausibility_of_run,
)
from trademl.tracking.integrity import download_version, hash_directory, sign_version
from trademl.tracking.model_logging import model_uri_of_run

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "STAGES",
    "champion_history",
    "champion_version",
    "list_models",
    "model_versions",
    "promote",
    "register_model",
    "rollback",
]

log = logging.getLogger(__name__)

Stage = Literal["development", "staging", "production", "archived"]
STAGES: tuple[Stage, ...] = ("development", "staging", "production", "archived")
STAGE_TAG = "trademl.stage"
CHAMPION = "champion"
CHALLENGER = "challenger"
HISTORY_PREFIX = "trademl.champion_history."
# run tags copied onto the version, so its lineage reads from one place
_LINEAGE_TAGS = ("trademl.data.sha256", "trademl.git_commit", "trademl.version")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def name_filter(name: str) -> str:
    """``name = '...'`` for an MLflow search, quoted with the quote the name does not use
    (MLflow's filter grammar has no escapes); a name with both is refused."""
    problem = model_name_problem(name)
    if problem:
        raise TrackingError(f"model name {name!r} {problem}")
    quote = '"' if "'" in name else "'"
    return f"name = {quote}{name}{quote}"


def _alias_version(name: str, alias: str) -> int | None:
    try:
        return int(_store.client().get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def champion_version(name: str) -> int | None:
    """The version holding the ``champion`` alias, or None."""
    return _alias_version(name, CHAMPION)


def _get_version(name: str, version: int | str):
    client = _store.client()
    try:
        return client.get_model_version(name, str(version))
    except MlflowException:
        pass
    try:
        known = sorted(int(v.version) for v in client.search_model_versions(name_filter(name)))
    except MlflowException:
        known = []
    if not known:
        raise TrackingError(f"no registered model named {name!r}") from None
    raise TrackingError(f"model {name!r} has no version {version} (versions: {known})") from None


def register_model(
    run_id: str,
    name: str,
    description: str = "",
    changelog: str = "",
    *,
    artifact_name: str = "model",
) -> int:
    """Register the model logged on ``run_id`` as a new version of ``name``; return its number.

    The new version starts in ``development``; its parent is the champion at this
    moment (else the latest version). The SHA-256 of every file is recorded on it.
    """
    problem = model_name_problem(name)
    if problem:
        raise TrackingError(f"model name {name!r} {problem}")
    client = _store.client()
    model_uri = model_uri_of_run(run_id, artifact_name)
    run = client.get_run(run_id)
    parent = champion_version(name)
    if parent is None:
        existing = [int(v.version) for v in _search_versions(name)]
        parent = max(existing) if existing else None
    tags = {
        STAGE_TAG: "development",
        "trademl.changelog": changelog,
        "trademl.parent_version": "" if parent is None else str(parent),
        "trademl.registered_at": _now(),
        "trademl.artifact_name": artifact_name,
    }
    tags.update({k: run.data.tags[k] for k in _LINEAGE_TAGS if k in run.data.tags})
    try:
        mv = mlflow.register_model(model_uri, name, tags=tags)
    except MlflowException as exc:
        raise TrackingError(f"cannot register {model_uri} as {name!r}: {exc.message}") from None
    version = int(mv.version)
    if description:
        client.update_model_version(name, str(version), description=description)
    # hash what the registry now serves for this version, then record and sign it
    manifest = hash_directory(download_version(name, version))
    sign_version(name, version, manifest)
    log.info(
        "registered %s v%d from run %s (%d files hashed)", name, version, run_id, len(manifest)
    )
    return version


def _search_versions(name: str) -> list:
    try:
        return list(_store.client().search_model_versions(name_filter(name)))
    except MlflowException:
        return []


def _set_stage(name: str, version: int, stage: Stage) -> None:
    _store.client().set_model_version_tag(name, str(version), STAGE_TAG, stage)


def _append_history(name: str, event: dict[str, Any]) -> None:
    client = _store.client()
    tags = client.get_registered_model(name).tags
    index = sum(1 for key in tags if key.startswith(HISTORY_PREFIX))
    client.set_registered_model_tag(name, f"{HISTORY_PREFIX}{index:06d}", json.dumps(event))


def champion_history(name: str) -> list[dict[str, Any]]:
    """Every champion change, oldest first: ``{event, version, previous, at, reason}``."""
    try:
        tags = _store.client().get_registered_model(name).tags
    except MlflowException:
        raise TrackingError(f"no registered model named {name!r}") from None
    keys = sorted(key for key in tags if key.startswith(HISTORY_PREFIX))
    return [json.loads(tags[key]) for key in keys]


def _run_metrics(run_id: str) -> dict[str, float]:
    return dict(_store.client().get_run(run_id).data.metrics)


def _degeneracy_check(run, refuse: bool | None) -> list[dict]:
    """A failed check when the run was tagged degenerate and the refusal is on."""
    from trademl.pipeline.degenerate import DEGENERATE_TAG, REASONS_TAG

    if refuse is None:
        refuse = run.data.params.get("tracking.refuse_degenerate", "True") != "False"
    if not refuse or run.data.tags.get(DEGENERATE_TAG) != "true":
        return []
    return [
        {
            "gate": "degenerate model",
            "bound": "degenerate",
            "threshold": None,
            "value": None,
            "passed": False,
            "margin": None,
            "note": f"{run.data.tags.get(REASONS_TAG, '')} (tracking.refuse_degenerate)",
        }
    ]


def promote(
    name: str,
    version: int,
    gates: Mapping[str, Any] | None = None,
    *,
    stage: Literal["production", "staging"] = "production",
    reason: str = "",
    plausibility: PlausibilitySpec | Mapping[str, Any] | None = None,
    refuse_degenerate: bool | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Move ``version`` to production (``champion``) or staging (``challenger``).

    Every gate (``{metric: {min: x | "champion", max: ...}}``) is checked against the
    metrics recorded on the version's run; ``gates=None`` means the gates the run's own
    spec logged (``tracking.gates``), ``{}`` none. If one fails, ``PromotionRefused``
    names it and says by how much, and nothing changes. The replaced champion is
    archived and the change is added to the history.

    A version whose run was found degenerate (run tag ``trademl.degenerate``: one side
    on almost every holdout bar, a near-constant score, early stopping after a round or
    two) is refused too, unless ``refuse_degenerate`` is False (default: the run's
    ``tracking.refuse_degenerate``, else True).

    ``force=True`` skips every check; it needs a ``reason``, which is kept on the version
    (``trademl.promotion_forced``) and in the history with the checks that failed.

    The plausibility bounds apply to every promotion, gates or not: an ``oos_*`` / ``cv_*``
    accuracy or AUC at or above them (default 0.9) is refused as a likely look-ahead leak.
    ``plausibility`` (``spec.tracking.plausibility``, or ``{max_accuracy: ..., max_auc:
    ...}``, ``None`` in a field turns it off) defaults to the bounds the version's run
    logged with its spec, else 0.9 for both.
    """
    if stage not in ("production", "staging"):
        raise ValueError(f"stage must be 'production' or 'staging', got {stage=!r}")
    version = int(version)
    mv = _get_version(name, version)
    client = _store.client()
    champion = champion_version(name)
    champion_metrics = None
    if champion is not None and champion != version:
        champion_metrics = _run_metrics(_get_version(name, champion).run_id)
    if force and not (reason and reason.strip()):
        raise ValueError("a forced promotion needs a reason (it is kept in the registry)")
    run = client.get_run(mv.run_id)
    metrics = dict(run.data.metrics)
    bounds = plausibility_of_run(plausibility, run.data.params)
    scores = check_plausibility(bounds, metrics)
    if gates is None:
        gates = gates_of_run(run.data.params)
    results = check_gates(gates, metrics, champion_metrics)
    checks = scores + results + _degeneracy_check(run, refuse_degenerate)
    failures = [r for r in checks if not r["passed"]]
    if failures and not force:
        raise PromotionRefused(
            f"promotion of {name} v{version} to {stage} refused: {describe_failures(checks)}",
            failures=failures,
        )

    outcome = {
        "name": name,
        "version": version,
        "stage": stage,
        "gates": results,
        "plausibility": scores,
        "forced": bool(force),
        "skipped": describe_failures(checks) if failures else "",
    }
    if force:
        log.info("%s v%d promoted with force (%s); skipped: %s", name, version, reason,
                    outcome["skipped"] or "nothing failed")  # fmt: skip
        client.set_model_version_tag(name, str(version), "trademl.promotion_forced", reason)
        client.set_model_version_tag(
            name, str(version), "trademl.promotion_skipped", outcome["skipped"] or "-"
        )
    if stage == "staging" and version == champion:
        raise TrackingError(
            f"{name} v{version} is the champion; promote another version or roll back first"
        )
    if stage == "staging":
        previous = _alias_version(name, CHALLENGER)
        client.set_registered_model_alias(name, CHALLENGER, str(version))
        _set_stage(name, version, "staging")
        if previous not in (None, version, champion):
            _set_stage(name, previous, "archived")
        outcome["previous"] = previous
        return outcome

    outcome["previous"] = champion
    if champion == version:
        return outcome
    client.set_registered_model_alias(name, CHAMPION, str(version))
    _set_stage(name, version, "production")
    client.set_model_version_tag(name, str(version), "trademl.promoted_at", _now())
    if _alias_version(name, CHALLENGER) == version:
        client.delete_registered_model_alias(name, CHALLENGER)
    if champion is not None:
        _set_stage(name, champion, "archived")
    _append_history(
        name,
        {
            "event": "promote",
            "version": version,
            "previous": champion,
            "at": _now(),
            "reason": reason,
            **({"forced": True, "skipped": outcome["skipped"]} if force else {}),
        },
    )
    log.info("%s v%d is champion (was %s)", name, version, champion)
    return outcome


def _champion_stack(history: list[dict[str, Any]]) -> list[int]:
    """Replay the history: promotions push a version, rollbacks pop the rolled-back one."""
    stack: list[int] = []
    for event in history:
        if event["event"] == "promote":
            if event["version"] in stack:
                stack.remove(event["version"])
            stack.append(event["version"])
        elif event["event"] == "rollback" and event["previous"] in stack:
            stack.remove(event["previous"])
    return stack


def rollback(name: str, reason: str) -> int:
    """Put the previous champion back, archive the current one, record why; return it."""
    if not reason or not reason.strip():
        raise ValueError("rollback needs a reason (it is kept in the champion history)")
    current = champion_version(name)
    if current is None:
        raise TrackingError(f"model {name!r} has no champion to roll back")
    existing = {int(v.version) for v in _search_versions(name)}
    stack = [v for v in _champion_stack(champion_history(name)) if v in existing]
    if current in stack:
        stack.remove(current)
    if not stack:
        raise TrackingError(f"model {name!r} has no earlier champion to restore than v{current}")
    restored = stack[-1]
    client = _store.client()
    client.set_registered_model_alias(name, CHAMPION, str(restored))
    _set_stage(name, restored, "production")
    _set_stage(name, current, "archived")
    client.set_model_version_tag(name, str(current), "trademl.rollback_reason", reason)
    _append_history(
        name,
        {
            "event": "rollback",
            "version": restored,
            "previous": current,
            "at": _now(),
            "reason": reason,
        },
    )
    log.info("%s rolled back from v%d to v%d: %s", name, current, restored, reason)
    return restored


def _version_record(mv, aliases: dict[int, list[str]]) -> dict[str, Any]:
    return {
        "version": int(mv.version),
        "stage": mv.tags.get(STAGE_TAG, "development"),
        "aliases": aliases.get(int(mv.version), []),
        "run_id": mv.run_id,
        "created": datetime.fromtimestamp(mv.creation_timestamp / 1000, UTC).isoformat(
            timespec="seconds"
        ),
        "description": mv.description or "",
        "changelog": mv.tags.get("trademl.changelog", ""),
        "parent_version": mv.tags.get("trademl.parent_version", ""),
    }


def model_versions(name: str) -> list[dict[str, Any]]:
    """Every version of ``name`` (newest first) with stage, aliases, run and changelog."""
    try:
        registered = _store.client().get_registered_model(name)
    except MlflowException:
        raise TrackingError(f"no registered model named {name!r}") from None
    aliases: dict[int, list[str]] = {}
    for alias, number in (registered.aliases or {}).items():
        aliases.setdefault(int(number), []).append(alias)
    versions = [_version_record(mv, aliases) for mv in _search_versions(name)]
    return sorted(versions, key=lambda r: r["version"], reverse=True)


def list_models() -> list[dict[str, Any]]:
    """Registered models with their champion, challenger and latest version."""
    rows = []
    for registered in _store.client().search_registered_models(max_results=1000):
        aliases = {k: int(v) for k, v in (registered.aliases or {}).items()}
        versions = [int(v.version) for v in _search_versions(registered.name)]
        rows.append(
            {
                "name": registered.name,
                "versions": len(versions),
                "latest": max(versions) if versions else None,
                "champion": aliases.get(CHAMPION),
                "challenger": aliases.get(CHALLENGER),
                "description": registered.description or "",
            }
        )
    return sorted(rows, key=lambda r: r["name"])

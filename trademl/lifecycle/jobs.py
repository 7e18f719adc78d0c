"""One retraining job: the public pipeline steps on the latest data, a challenger
registered with lineage to the champion it challenges, the offline verdict, and a
promotion only through the registry's gates.

Crash safety: the job's state is committed before and after every step, and a heartbeat
thread keeps ``updated_at`` fresh while a step runs; a killed job is later marked failed
(``Journal.mark_stale_failed``). Promotion is the job's last registry write (one alias
move), so a job is never half-promoted, and the champion serves throughout.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trademl.lifecycle.journal import Journal

__all__ = ["JobResult", "model_name", "notify", "run_job"]

logger = logging.getLogger(__name__)

LINEAGE_TAG = "trademl.challenges"  # on a retrained version: the champion it challenged
HEARTBEAT_SECONDS = 10.0


@dataclass
class JobResult:
    job_id: int
    state: str
    challenger_version: int | None
    verdict: dict[str, Any]
    message: str


def model_name(spec) -> str:
    return spec.retraining.model or spec.tracking.model_name or spec.name


@contextmanager
def _heartbeat(journal: Journal, job_id: int, every: float = HEARTBEAT_SECONDS):
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            try:
                journal.heartbeat(job_id)
            except Exception:  # a busy store must not kill the job; the next beat retries
                logger.debug("heartbeat of job %s failed", job_id, exc_info=True)

    thread = threading.Thread(target=beat, name=f"retrain-heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every)


def notify(spec, model: str, text: str, *, severity: str = "info") -> None:
    """Tell the spec's alert channels (a failed delivery is logged, never raised)."""
    from trademl.monitoring._time import utcnow
    from trademl.monitoring.alerts.channels import make_channel
    from trademl.monitoring.alerts.channels._base import AlertMessage

    message = AlertMessage(
        alert_id=0, rule="retraining", model=model, severity=severity, message=text,
        value=None, first_seen=utcnow().isoformat(),
    )  # fmt: skip
    for name, channel_spec in spec.monitoring.channels.items():
        try:
            make_channel(name, channel_spec).deliver(message)
        except Exception as exc:  # noqa: BLE001 - a channel's failure is reported, not fatal
            logger.warning("retraining notice to channel %s failed: %s", name, type(exc).__name__)


def _train_and_register(spec, base: Path | None, model: str, champion: int | None):
    from trademl import pipeline

    pipeline.check_spec(spec)
    dataset = pipeline.build_dataset(spec, base_dir=base)
    folds = pipeline.make_folds(spec, dataset)
    tuning = pipeline.tune(spec, dataset, folds) if spec.tuning.n_trials > 0 else None
    package = pipeline.fit_final(spec, dataset, tuning.best_params if tuning else {})
    oos = pipeline.holdout_predictions(dataset, package)
    metrics = pipeline.evaluate(spec, dataset, oos, tuning)
    run_id, _, _ = pipeline.log_run(spec, dataset, package, oos, metrics, tuning)
    name, version = pipeline.register(spec, dataset, run_id, metrics)
    if name != model:
        raise ValueError(f"the spec registers {name!r}, the job retrains {model!r}")
    if champion is not None:
        from trademl.tracking import _store

        _store.client().set_model_version_tag(name, str(version), LINEAGE_TAG, str(champion))
    if spec.monitoring.register_reference:
        pipeline.register_monitoring_reference(spec, dataset, oos, metrics, name, version)
    return run_id, int(version), metrics


def run_job(
    spec, journal: Journal, job_id: int, *, base_dir: str | Path | None = None
) -> JobResult:
    """Run queued job ``job_id`` to a final state; returns what happened."""
    from trademl import tracking
    from trademl.lifecycle.challenge import challenge
    from trademl.tracking import PromotionRefused, registry

    tracking.configure(spec.tracking)
    base = Path(base_dir) if base_dir is not None else None
    model = model_name(spec)
    champion = registry.champion_version(model) if _registered(model) else None
    journal.update_job(job_id, state="running", champion_version=_text(champion))
    version = None
    try:
        with _heartbeat(journal, job_id):
            run_id, version, _ = _train_and_register(spec, base, model, champion)
            journal.update_job(job_id, challenger_version=str(version), run_id=run_id)
            gates = {k: v.model_dump(exclude_none=True) for k, v in spec.tracking.gates.items()}
            if champion is None:
                try:
                    tracking.promote(model, version, gates, reason=f"retrain job {job_id}: first")
                    result = JobResult(
                        job_id, "promoted", version, {}, f"{model} v{version} is champion"
                    )
                except PromotionRefused as exc:
                    result = JobResult(job_id, "rejected", version, {}, f"not promoted: {exc}")
            else:
                verdict = challenge(model, [version], spec=spec, base_dir=base,
                                    alpha=spec.retraining.alpha).to_dict()  # fmt: skip
                winner = verdict["verdict"] == f"v{version}"
                comparison = verdict["comparisons"][0]
                summary = (
                    f"v{version} vs champion v{champion} on {verdict['n_bars']} common bars: "
                    f"{comparison['verdict']} ({comparison['reason']})"
                )
                if winner and spec.retraining.promote:
                    try:
                        tracking.promote(model, version, gates,
                                         reason=f"retrain job {job_id}: {summary}")  # fmt: skip
                        state, message = "promoted", f"promoted: {summary}"
                    except PromotionRefused as exc:
                        state, message = "rejected", f"won the test but {exc}"
                else:
                    state, message = "rejected", f"champion kept: {summary}"
                result = JobResult(job_id, state, version, verdict, message)
    except Exception as exc:
        detail = {"error": f"{type(exc).__name__}: {exc}"}
        journal.update_job(job_id, state="failed", detail=detail)
        notify(spec, model, f"job {job_id} failed: {detail['error']}", severity="warning")
        raise
    journal.update_job(
        job_id, state=result.state, detail={"message": result.message, **result.verdict}
    )
    notify(spec, model, f"job {job_id}: {result.message}")
    return result


def _registered(model: str) -> bool:
    from trademl.tracking import _store

    try:
        _store.client().get_registered_model(model)
    except Exception:  # noqa: BLE001 - MlflowException RESOURCE_DOES_NOT_EXIST
        return False
    return True


def _text(value) -> str | None:
    return None if value is None else str(value)

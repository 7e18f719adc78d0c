"""Runs left RUNNING by a process that died (kill -9, power loss, OOM killer).

Every run trademl starts records the process that owns it: ``trademl.pid``,
``trademl.host`` and, where the system tells it, ``trademl.process_start`` (the process
start time, so a pid reused by a later process is not taken for the owner).
``mark_stale_runs`` ends as FAILED only the RUNNING runs whose owner is known to be
gone: recorded on this host, and no process with that pid and start time exists. A run
from another host, or from a tool that records no owner, is never touched.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

from trademl.tracking import _store

__all__ = ["mark_stale_runs", "owner_tags"]

log = logging.getLogger(__name__)

PID_TAG = "trademl.pid"
HOST_TAG = "trademl.host"
START_TAG = "trademl.process_start"
FAILURE_TAG = "trademl.failure"


def _start_time(pid: int) -> str | None:
    """The process start time in clock ticks since boot (Linux ``/proc``), else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its last ")"
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19]  # field 22 of the whole line


def owner_tags() -> dict[str, str]:
    """The tags naming this process as a run's owner."""
    tags = {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    start = _start_time(os.getpid())
    if start is not None:
        tags[START_TAG] = start
    return tags


def _owner_is_gone(tags: dict[str, str]) -> bool:
    if tags.get(HOST_TAG) != socket.gethostname() or not tags.get(PID_TAG, "").isdigit():
        return False  # another machine's run, or no owner recorded: cannot tell, keep it
    pid = int(tags[PID_TAG])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, owned by another user
        pass
    recorded = tags.get(START_TAG)
    current = _start_time(pid)
    # the pid is taken: by the owner, unless a start time says it is a newer process
    return recorded is not None and current is not None and recorded != current


def mark_stale_runs(experiment_ids: list[str] | None = None) -> list[str]:
    """End as FAILED the RUNNING runs of dead trademl processes; return their run ids.

    ``experiment_ids``: where to look (default: every active experiment). Each run
    marked gets a ``trademl.failure`` tag saying why.
    """
    client = _store.client()
    if experiment_ids is None:
        experiment_ids = [e.experiment_id for e in client.search_experiments()]
    if not experiment_ids:
        return []
    marked: list[str] = []
    token = None
    while True:
        page = client.search_runs(
            experiment_ids,
            "attributes.status = 'RUNNING'",
            max_results=1000,
            page_token=token,
        )
        for run in page:
            tags = run.data.tags
            if not _owner_is_gone(tags):
                continue
            run_id = run.info.run_id
            why = f"process {tags[PID_TAG]} on {tags[HOST_TAG]} ended without closing the run"
            client.set_tag(run_id, FAILURE_TAG, why)
            client.set_terminated(run_id, "FAILED")
            marked.append(run_id)
        token = page.token
        if not token:
            break
    if marked:
        log.warning("marked %d run(s) of dead processes FAILED: %s", len(marked), marked)
    return marked

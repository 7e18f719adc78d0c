"""Two processes logging to one SQLite store at the same moment: no run, child or metric lost."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from trademl.tracking import search_runs

RUNS_PER_WRITER = 12
CHILDREN = 2

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from trademl.config import ExperimentSpec
    from trademl.tracking import configure, log_metrics_batch, start_run

    uri, artifacts, writer, runs, children, go = sys.argv[1:7]
    spec = ExperimentSpec(name="concurrent", tracking={"uri": uri, "artifact_root": artifacts})
    configure(spec.tracking)
    Path(go + f".ready-{writer}").touch()
    while not Path(go).exists():  # start writing together, after the slow imports
        time.sleep(0.01)
    for i in range(int(runs)):
        with start_run(spec, run_name=f"{writer}-{i}", tags={"writer": writer}):
            for fold in range(int(children)):
                with start_run(spec, nested=True, run_name=f"{writer}-{i}-fold{fold}"):
                    log_metrics_batch({"sharpe": i + fold / 10, "hit_rate": 0.5}, step=fold)
            log_metrics_batch({"sharpe": float(i), "writer": float(writer)})
    """
)


def test_two_processes_log_to_one_sqlite_store_without_losing_runs(store, tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    go = tmp_path / "go"
    # both writers also race to create the experiment itself
    writers = [
        subprocess.Popen(
            [
                sys.executable, str(script), store["uri"], store["artifact_root"],
                str(writer), str(RUNS_PER_WRITER), str(CHILDREN), str(go),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for writer in (1, 2)
    ]  # fmt: skip
    deadline = time.monotonic() + 180
    while not all((tmp_path / f"go.ready-{w}").exists() for w in (1, 2)):
        assert time.monotonic() < deadline, "writers did not start"
        assert all(p.poll() is None for p in writers), [p.communicate() for p in writers]
        time.sleep(0.05)
    go.touch()
    for process in writers:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-2000:]

    runs = search_runs("concurrent", max_results=1000)
    parents = runs[runs["tags.mlflow.parentRunId"].isna()]
    children = runs[runs["tags.mlflow.parentRunId"].notna()]
    assert len(parents) == 2 * RUNS_PER_WRITER
    assert len(children) == 2 * RUNS_PER_WRITER * CHILDREN
    assert set(runs["status"]) == {"FINISHED"}
    for writer in ("1", "2"):
        mine = parents[parents["tags.writer"] == writer]
        assert sorted(mine["metrics.sharpe"]) == [float(i) for i in range(RUNS_PER_WRITER)]
    assert set(parents["run_id"]) == set(children["tags.mlflow.parentRunId"])
    assert children["metrics.hit_rate"].notna().all()

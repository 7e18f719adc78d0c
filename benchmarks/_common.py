"""What every benchmark here shares: timing (wall and CPU), alternating the sides, side venvs.

A comparison is fair only if both sides meet the same machine: on a shared machine the
load drifts from minute to minute, so the sides run in rounds, A B A B ..., with the
order rotated each round, and each side's best and median are reported. CPU time
(``time.process_time``: every thread of the process) stands beside wall time, because
wall time on a loaded 2-core machine mostly measures the neighbours.

A comparison library that cannot live in our venv (pandas-ta needs Python >= 3.12;
vectorbt and skfolio pin other numpy/pandas versions) runs in its own venv under
``benchmarks/.venv-NAME`` (``make bench-envs`` builds them) as a :class:`SideProcess`:
a long-lived worker that runs one named job per request and reports that run's wall
and CPU time measured in its own process. The parent waits while the worker runs, so
the two sides still alternate in time and never overlap.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"

__all__ = [
    "DATA",
    "ROOT",
    "SideProcess",
    "Timings",
    "alternate",
    "print_settings",
    "ratio_line",
    "side_python",
    "timed",
]


@dataclass
class Timings:
    """Every run of one side: wall and CPU seconds, in run order."""

    name: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    info: Any = None

    def add(self, wall: float, cpu: float) -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)

    @property
    def best_wall(self) -> float:
        return min(self.wall)

    @property
    def best_cpu(self) -> float:
        return min(self.cpu)

    @property
    def median_wall(self) -> float:
        return statistics.median(self.wall)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu)

    def line(self, unit: str = "ms", width: int = 24) -> str:
        scale = 1e3 if unit == "ms" else 1.0
        return (
            f"{self.name:<{width}} CPU best {self.best_cpu * scale:9.2f} {unit} "
            f"median {self.median_cpu * scale:9.2f} {unit} | wall best "
            f"{self.best_wall * scale:9.2f} {unit} median {self.median_wall * scale:9.2f} {unit}"
            f"  ({len(self.cpu)} runs)"
        )


def timed(function: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds, result) of one call, after a garbage collection."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def alternate(
    sides: Mapping[str, Callable[[], Any]], rounds: int, *, warmup: int = 1
) -> dict[str, Timings]:
    """Run every side once per round, rotating the order each round (A B C, B C A, ...).

    A side is a callable returning its result, or a :class:`SideProcess` job (a callable
    returning ``(wall, cpu, info)`` measured in the worker). ``warmup`` untimed rounds
    first: imports, caches, JIT compiles and first-touch page faults count for no side.
    """
    names = list(sides)
    results = {name: Timings(name) for name in names}
    for round_no in range(warmup + rounds):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            side = sides[name]
            if isinstance(side, _RemoteJob):
                wall, cpu, info = side()
            else:
                # the result is dropped at once, as the worker drops its own: no side runs
                # while another's output still holds memory
                wall, cpu, _ = timed(side)
                info = None
            if round_no >= warmup:
                results[name].add(wall, cpu)
                results[name].info = info
    return results


def ratio_line(slower: Timings, faster: Timings, what: str = "") -> str:
    """``slower / faster`` by best CPU, median CPU and best wall time, side by side."""
    return (
        f"{slower.name} / {faster.name}{' ' + what if what else ''}: CPU best "
        f"{slower.best_cpu / faster.best_cpu:.2f}x, CPU median "
        f"{slower.median_cpu / faster.median_cpu:.2f}x, wall best "
        f"{slower.best_wall / faster.best_wall:.2f}x"
    )


def print_settings(title: str, settings: Mapping[str, Any]) -> None:
    """The exact settings of one comparison, so that a rerun can match them."""
    print(f"\n== {title}")
    load = os.getloadavg()[0]
    print(
        f"   machine: {os.cpu_count()} cores, load average {load:.1f}; Python {sys.version.split()[0]}"
    )
    for key, value in settings.items():
        print(f"   {key}: {value}")


def side_python(name: str) -> Path | None:
    """The interpreter of ``benchmarks/.venv-NAME``, or None (with a hint) when not built."""
    python = ROOT / "benchmarks" / f".venv-{name}" / "bin" / "python"
    if python.exists():
        return python
    print(f"{name}: skipped, {python.parent.parent} is missing (build it with `make bench-envs`)")
    return None


# the worker's side of the protocol: one job name per line in, one JSON line out
_WORKER = r"""
import gc, json, os, sys, time
_reply = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)  # anything the libraries print goes to stderr, not into the replies
sys.stdout = sys.stderr

def serve(jobs):
    _reply.write(json.dumps({"ready": sorted(jobs)}) + "\n"); _reply.flush()
    for line in sys.stdin:
        name = line.strip()
        if not name:
            break
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        info = jobs[name]()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        _reply.write(json.dumps({"wall": wall, "cpu": cpu, "info": info}) + "\n"); _reply.flush()
"""


class _RemoteJob:
    def __init__(self, process: SideProcess, name: str):
        self.process = process
        self.name = name

    def __call__(self) -> tuple[float, float, Any]:
        reply = self.process.request(self.name)
        return reply["wall"], reply["cpu"], reply["info"]


class SideProcess:
    """A worker in a side venv running ``script``, which must end with ``serve({name: fn})``.

    ``fn()`` returns something JSON-serialisable (a checksum, a column count) or None.
    Use as a context manager; ``job(name)`` is a side for :func:`alternate`.
    """

    def __init__(self, python: Path, script: str, *args: str):
        self.python = python
        self.script = script
        self.args = args
        self._process: subprocess.Popen | None = None
        # a file, not a pipe: a chatty library must not fill a pipe nobody reads and hang
        self._errors = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in __exit__

    def __enter__(self) -> SideProcess:
        self._process = subprocess.Popen(
            [str(self.python), "-c", _WORKER + self.script, *self.args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
            text=True,
        )
        self._read()  # the worker has imported its libraries and loaded its data
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.stdin.close()
            self._process.wait(timeout=60)
        self._errors.close()

    def job(self, name: str) -> _RemoteJob:
        return _RemoteJob(self, name)

    def request(self, name: str) -> dict[str, Any]:
        assert self._process is not None, "use SideProcess as a context manager"
        self._process.stdin.write(name + "\n")
        self._process.stdin.flush()
        return self._read()

    def _read(self) -> dict[str, Any]:
        line = self._process.stdout.readline()
        if not line:
            self._process.wait(timeout=60)
            self._errors.seek(0)
            error = self._errors.read()[-3000:]
            raise RuntimeError(f"{self.python} worker died:\n{error}")
        return json.loads(line)

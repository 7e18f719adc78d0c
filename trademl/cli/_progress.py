"""The live display of ``trademl run``: stage, trial i/N and the best score so far.

On a terminal it is a rich progress bar; otherwise (output redirected, CI) a log line per
stage and per finished trial, so a long run is never silent.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager

from trademl.pipeline import STAGES, Reporter

__all__ = ["RunDisplay"]

logger = logging.getLogger("trademl.run")


class RunDisplay(Reporter):
    def __init__(self, *, console, live: bool = True):
        self.console = console
        self.live = live and console.is_terminal
        self._progress = None
        self._stage = None
        self._trials = None
        self._started = time.perf_counter()

    @contextmanager
    def show(self):
        if not self.live:
            yield self
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        ) as progress:
            self._progress = progress
            self._stage = progress.add_task("stage: data", total=STAGES)
            yield self

    def stage(self, name: str, number: int, total: int = STAGES) -> None:
        if self._progress is None:
            self.console.print(
                f"[{time.perf_counter() - self._started:6.1f} s] stage {number}/{total}: {name}"
            )
            return
        self._progress.update(self._stage, description=f"stage: {name}", completed=number - 1)

    def trial(self, done: int, total: int, best: float | None) -> None:
        if self._progress is None:
            if done:
                best_text = "" if best is None else f", best {best:.4f}"
                self.console.print(f"  trial {done}/{total}{best_text}")
            return
        if self._trials is None:
            self._trials = self._progress.add_task("trials", total=total)
        text = "trials" if best is None else f"trials (best {best:.4f})"
        self._progress.update(self._trials, completed=done, total=total, description=text)

"""The live display of ``trademl run``: stage, trial i/N, the best score so far and an ETA.

On a terminal it is a rich progress bar; otherwise (output redirected, CI, cron) plain
lines: one per stage, one per finished trial with the time per trial and the ETA, and a
heartbeat per fold when a trial is slow, so a long run is never silent. After the first
trial both say how long the whole search should take.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from trademl.pipeline import STAGES, Reporter

__all__ = ["RunDisplay", "TrialClock", "format_duration"]

logger = logging.getLogger("trademl.run")

# a plain line per finished fold only when this long has passed since the last line
HEARTBEAT_SECONDS = 30.0


def format_duration(seconds: float) -> str:
    """``"42 s"``, ``"3 min 05 s"``, ``"1 h 02 min"``."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class TrialClock:
    """Seconds per finished trial, measured from the first progress call, and the ETA."""

    def __init__(self, clock=time.perf_counter):
        self.clock = clock
        self.started: float | None = None
        self.first_done: int | None = None

    def start(self, done: int) -> None:
        if self.started is None:
            self.started, self.first_done = self.clock(), done

    def per_trial(self, done: int) -> float | None:
        """Mean seconds per trial finished in this run (None before the first)."""
        if self.started is None or done <= self.first_done:
            return None
        return (self.clock() - self.started) / (done - self.first_done)

    def remaining(self, done: int, total: int) -> float | None:
        per = self.per_trial(done)
        return None if per is None else per * max(0, total - done)


class RunDisplay(Reporter):
    def __init__(self, *, console, live: bool = True, n_folds: int | None = None):
        self.console = console
        self.live = live and console.is_terminal
        self.n_folds = n_folds
        self._progress = None
        self._stage = None
        self._trials = None
        self._started = time.perf_counter()
        self._last_line = self._started
        self._clock = TrialClock()
        self._shown_done: int | None = None
        self._estimated = False

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
            TimeRemainingColumn,
        )

        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        ) as progress:
            self._progress = progress
            self._stage = progress.add_task("stage: data", total=STAGES)
            yield self

    def _print(self, text: str) -> None:
        self._last_line = time.perf_counter()
        target = self._progress.console if self._progress is not None else self.console
        target.print(text, highlight=False)

    def _elapsed(self) -> str:
        return f"[{time.perf_counter() - self._started:6.1f} s]"

    def stage(self, name: str, number: int, total: int = STAGES) -> None:
        if self._progress is None:
            self._print(f"{self._elapsed()} stage {number}/{total}: {name}")
            return
        self._progress.update(self._stage, description=f"stage: {name}", completed=number - 1)

    def _estimate(self, done: int, total: int) -> str | None:
        """After the first finished trial: how long the whole search should take."""
        per = self._clock.per_trial(done)
        if per is None or self._estimated:
            return None
        self._estimated = True
        left = total - done
        fits = f" ({left * self.n_folds} fits)" if self.n_folds else ""
        return (
            f"  the first trial took {format_duration(per)}: about {format_duration(per * left)} "
            f"for the {left} trial(s) left{fits}; pruned trials take less"
        )

    def trial(self, done: int, total: int, best: float | None) -> None:
        self._clock.start(done)
        if done == self._shown_done:
            return  # parallel workers are polled: say each count once
        self._shown_done = done
        estimate = self._estimate(done, total)
        if self._progress is None:
            if done and done > (self._clock.first_done or 0):
                best_text = "" if best is None else f", best {best:.4f}"
                per = self._clock.per_trial(done)
                left = self._clock.remaining(done, total)
                timing = ""
                if per is not None and not estimate and done < total:
                    finish = datetime.now(UTC) + timedelta(seconds=left)
                    timing = (
                        f", {format_duration(per)} per trial, ETA {format_duration(left)} "
                        f"({finish:%H:%M:%S} UTC)"
                    )
                self._print(f"  trial {done}/{total}{best_text}{timing}")
            elif done:
                self._print(f"  study resumed with {done}/{total} trial(s) finished")
            if estimate:
                self._print(estimate)
            return
        if self._trials is None:
            self._trials = self._progress.add_task("trials", total=total, completed=done)
        text = "trials" if best is None else f"trials (best {best:.4f})"
        self._progress.update(self._trials, completed=done, total=total, description=text)
        if estimate:
            self._print(estimate)

    def fold(self, trial: int, done: int, total: int) -> None:
        self.n_folds = total
        if self._progress is not None:
            return
        if time.perf_counter() - self._last_line >= HEARTBEAT_SECONDS:
            self._print(f"{self._elapsed()}   trial {trial + 1}: fold {done}/{total} scored")

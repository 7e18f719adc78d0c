"""Benchmark: all 45 splits of CombinatorialPurgedCV(N=10, k=2) on 1M samples, horizon 24.

trademl's splitter is timed in this process; skfolio's ``CombinatorialPurgedCV`` (same
input, purge 24 on both sides of each test block, which is what horizon 24 means) runs
in a worker process from its own venv, ``benchmarks/.venv-skfolio`` (``make bench-envs``);
the two alternate, 3 rounds after a warm-up round.

A run is one full pass that materialises every (train, test) index array;
peak memory is tracemalloc's peak during one pass (numpy reports its buffers to
tracemalloc), excluding the input X. Both sides also print a checksum of their splits
to show they produce the same train sets. Run: ``.venv/bin/python benchmarks/splits.py``.
"""

from __future__ import annotations

import contextlib

import numpy as np
from _common import SideProcess, alternate, print_settings, ratio_line, side_python

N_SAMPLES, N_GROUPS, N_TEST, HORIZON = 1_000_000, 10, 2, 24

MEASURE = r"""
import tracemalloc
import numpy as np

def one_pass(cv, X):
    return sum(1 for _ in cv.split(X))

def describe(cv, X):
    tracemalloc.start()
    for _ in cv.split(X):
        pass
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    checksum = 0
    train_sizes = []
    for train, test in cv.split(X):
        checksum = (checksum * 31 + int(train.sum() % 1_000_003)) % 2**61
        train_sizes.append(len(train))
    return {"peak_mib": peak, "splits": len(train_sizes), "checksum": checksum,
            "mean_train": float(np.mean(train_sizes))}
"""

SKFOLIO_RUN = (
    MEASURE
    + rf"""
import skfolio
from skfolio.model_selection import CombinatorialPurgedCV
X = np.zeros(({N_SAMPLES}, 1))
cv = CombinatorialPurgedCV(n_folds={N_GROUPS}, n_test_folds={N_TEST}, purged_size={HORIZON})
serve({{"pass": lambda: one_pass(cv, X), "describe": lambda: describe(cv, X),
       "version": lambda: skfolio.__version__}})
"""
)


def main() -> None:
    from trademl.validation import CombinatorialPurgedCV

    namespace: dict = {}
    exec(MEASURE, namespace)  # the very same measuring code as the skfolio worker
    X = np.zeros((N_SAMPLES, 1))
    cv = CombinatorialPurgedCV(N_GROUPS, N_TEST, horizon=HORIZON)
    sides = {"trademl": lambda: namespace["one_pass"](cv, X)}
    settings = {"data": f"{N_SAMPLES:,} samples", "splitter": f"N={N_GROUPS}, k={N_TEST}, "
                f"horizon/purge {HORIZON} bars", "rounds": "3, alternating, one warm-up round"}  # fmt: skip
    python = side_python("skfolio")
    described = {"trademl": namespace["describe"](cv, X)}
    with contextlib.ExitStack() as stack:
        if python is not None:
            worker = stack.enter_context(SideProcess(python, SKFOLIO_RUN))
            settings["skfolio"] = worker.request("version")["info"]
            sides["skfolio"] = worker.job("pass")
            described["skfolio"] = worker.request("describe")["info"]
        print_settings("CombinatorialPurgedCV: every split materialised", settings)
        runs = alternate(sides, 3)
    for name, timing in runs.items():
        d = described[name]
        print(f"  {timing.line('s', width=10)}; {d['splits']} splits, peak {d['peak_mib']:.1f} MiB, "
              f"mean train {d['mean_train']:,.0f}")  # fmt: skip
    ours = runs["trademl"]
    if "skfolio" in runs:
        theirs = described["skfolio"]
        print("  " + ratio_line(runs["skfolio"], ours))
        print(f"  peak memory: skfolio / trademl {theirs['peak_mib'] / described['trademl']['peak_mib']:.1f}x; "
              f"same train sets: {'yes' if described['trademl']['checksum'] == theirs['checksum'] else 'NO'}")  # fmt: skip
    target = ours.best_wall <= 0.5 and described["trademl"]["peak_mib"] <= 200
    print(f"target (<= 0.5 s wall, <= 200 MiB): {'met' if target else 'MISSED'}")


if __name__ == "__main__":
    main()

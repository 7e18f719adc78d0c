"""Benchmark: all 45 splits of CombinatorialPurgedCV(N=10, k=2) on 1M samples, horizon 24.

trademl's splitter is timed in this process; skfolio's ``CombinatorialPurgedCV`` (same
input, purge 24 on both sides of each test block, which is what horizon 24 means) runs
in a subprocess from its own venv, ``benchmarks/.venv-skfolio``:

    ~/.pyenv/versions/3.12.1/bin/python -m venv benchmarks/.venv-skfolio
    benchmarks/.venv-skfolio/bin/pip install skfolio

Time is the best of 3 full passes that materialise every (train, test) index array;
peak memory is tracemalloc's peak during one pass (numpy reports its buffers to
tracemalloc), excluding the input X. Both sides also print a checksum of their splits
to show they produce the same train sets. Run: ``.venv/bin/python benchmarks/splits.py``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np

N_SAMPLES, N_GROUPS, N_TEST, HORIZON = 1_000_000, 10, 2, 24
SKFOLIO_PYTHON = Path(__file__).parent / ".venv-skfolio" / "bin" / "python"

MEASURE = r"""
import json, sys, time, tracemalloc
import numpy as np

def measure(make_splits, X):
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        count = sum(1 for _ in make_splits(X))
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    for _ in make_splits(X):
        pass
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    checksum = 0
    train_sizes = []
    for train, test in make_splits(X):
        checksum = (checksum * 31 + int(train.sum() % 1_000_003)) % 2**61
        train_sizes.append(len(train))
    return {"seconds": best, "peak_mib": peak, "splits": count, "checksum": checksum,
            "mean_train": float(np.mean(train_sizes))}
"""

SKFOLIO_RUN = (
    MEASURE
    + rf"""
import skfolio
from skfolio.model_selection import CombinatorialPurgedCV
X = np.zeros(({N_SAMPLES}, 1))
cv = CombinatorialPurgedCV(n_folds={N_GROUPS}, n_test_folds={N_TEST}, purged_size={HORIZON})
result = measure(lambda X: cv.split(X), X)
result["version"] = skfolio.__version__
print(json.dumps(result))
"""
)


def run_trademl() -> dict:
    from trademl.validation import CombinatorialPurgedCV

    namespace: dict = {}
    exec(MEASURE, namespace)  # the very same measuring code as the skfolio subprocess
    X = np.zeros((N_SAMPLES, 1))
    cv = CombinatorialPurgedCV(N_GROUPS, N_TEST, horizon=HORIZON)
    return namespace["measure"](lambda X: cv.split(X), X)


def run_skfolio() -> dict | None:
    if not SKFOLIO_PYTHON.exists():
        print(f"skfolio venv missing ({SKFOLIO_PYTHON}); see this file's docstring")
        return None
    done = subprocess.run(
        [str(SKFOLIO_PYTHON), "-c", SKFOLIO_RUN], capture_output=True, text=True, check=False
    )
    if done.returncode:
        print("skfolio run failed:\n" + done.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    print(
        f"CombinatorialPurgedCV N={N_GROUPS} k={N_TEST}, {N_SAMPLES:,} samples, "
        f"horizon/purge {HORIZON} bars"
    )
    ours = run_trademl()
    theirs = run_skfolio()
    rows = [("trademl", ours)] + ([(f"skfolio {theirs['version']}", theirs)] if theirs else [])
    print(f"{'library':<16}{'splits':>8}{'seconds':>10}{'peak MiB':>10}{'mean train':>12}")
    for name, r in rows:
        print(
            f"{name:<16}{r['splits']:>8}{r['seconds']:>10.3f}{r['peak_mib']:>10.1f}"
            f"{r['mean_train']:>12,.0f}"
        )
    if theirs:
        print(
            f"trademl vs skfolio: {theirs['seconds'] / ours['seconds']:.1f}x faster, "
            f"{theirs['peak_mib'] / ours['peak_mib']:.1f}x less peak memory; "
            f"same train sets: {'yes' if ours['checksum'] == theirs['checksum'] else 'NO'}"
        )
    target = ours["seconds"] <= 0.5 and ours["peak_mib"] <= 200
    print(f"target (<= 0.5 s, <= 200 MiB): {'met' if target else 'MISSED'}")


if __name__ == "__main__":
    main()

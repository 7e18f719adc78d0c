"""Benchmark: the cost of signing and verifying model manifests (HMAC-SHA256) on the demo.

Two measurements in one run, both against the demo's own work:

1. In situ. ``trademl run examples/btc_1h_lightgbm.yaml`` runs once in a child process
   (tracked in a scratch folder, its signing key in a scratch key file, as a first-time
   user gets one) with the signing functions wrapped to count their calls and add up their
   wall and CPU time: ``sign_manifest``, ``verify_manifest_signature``, and
   ``hash_directory`` (the SHA-256 of the package files, which the signature protects).
   Their total is set against the demo's wall and CPU time.

2. Per operation. On the package that run registered, with its real manifest, three sides
   alternate in rounds (order rotated each round, ``_common.alternate``): sign its manifest
   (``--batch`` times), verify the signature (``--batch`` times), and the demo-sized work
   they guard: one verified load of the package as ``trademl predict`` / ``serve`` do it
   (download, SHA-256 of every file, signature check, unpickle). The key is read from the
   key file on every call, as in the product.

Target: signing + verification + the hashing they protect <= 2 % of the demo run (in situ
and projected from the per-operation medians); exit 1 when above.

    .venv/bin/python benchmarks/signing.py [--rounds 15] [--batch 200]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, alternate, print_settings

DEMO_SPEC = ROOT / "examples" / "btc_1h_lightgbm.yaml"
DEMO_MODEL = "btc-1h-lightgbm"
TARGET_SHARE = 0.02

# runs the demo with the signing functions wrapped; the totals go to the file in argv[1]
_INSTRUMENTED_DEMO = r"""
import json, sys, time
import trademl.package.signing as signing
import trademl.tracking.integrity as integrity

totals = {}

def wrap(module, name):
    original = getattr(module, name)
    entry = totals.setdefault(name, {"calls": 0, "wall": 0.0, "cpu": 0.0})
    def timed(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            entry["calls"] += 1
            entry["wall"] += time.perf_counter() - wall
            entry["cpu"] += time.process_time() - cpu
    setattr(module, name, timed)

# every caller imports these at call time (``from ... import``), so the wrappers are seen
wrap(signing, "sign_manifest")
wrap(signing, "verify_manifest_signature")
wrap(integrity, "hash_directory")
from trademl.cli import run_cli
wall, cpu = time.perf_counter(), time.process_time()
code = run_cli(sys.argv[2:])
totals["demo"] = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
with open(sys.argv[1], "w") as handle:
    json.dump({"code": code, "totals": totals}, handle)
sys.exit(code)
"""


def run_demo(scratch: Path, env: dict[str, str]) -> dict:
    """The demo, tracked in ``scratch``; the instrumented totals and the outer wall time."""
    report = scratch / "signing-totals.json"
    before = os.times()
    wall = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _INSTRUMENTED_DEMO, str(report), "run", str(DEMO_SPEC),
         "--no-progress"],
        cwd=scratch, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - wall
    after = os.times()
    if done.returncode != 0 or not report.exists():
        raise SystemExit(f"the demo run failed (exit {done.returncode}): {done.stderr[-2000:]}")
    result = json.loads(report.read_text())
    result["outer_wall"] = wall
    result["outer_cpu"] = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return result


def _latest_version(tracking_uri: str) -> int:
    from mlflow import MlflowClient

    versions = MlflowClient(tracking_uri).search_model_versions(f"name = '{DEMO_MODEL}'")
    if not versions:
        raise SystemExit(f"the demo registered no version of {DEMO_MODEL}")
    return max(int(v.version) for v in versions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=200, help="signatures per timed call")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="trademl-bench-signing-") as folder:
        scratch = Path(folder)
        tracking_uri = f"sqlite:///{scratch}/mlruns.db"
        key_file = scratch / "config" / "trademl" / "signing.key"
        # the key the demo creates on its first signature; the user's own key is not touched
        env = {k: v for k, v in os.environ.items() if k != "TRADEML_SIGNING_KEY"}
        env |= {"MLFLOW_TRACKING_URI": tracking_uri, "TRADEML_SIGNING_KEY_FILE": str(key_file)}
        demo = run_demo(scratch, env)

        os.environ.pop("TRADEML_SIGNING_KEY", None)
        os.environ["TRADEML_SIGNING_KEY_FILE"] = str(key_file)
        os.environ["MLFLOW_TRACKING_URI"] = tracking_uri
        from trademl.package.load import load_model
        from trademl.package.signing import sign_manifest, verify_manifest_signature
        from trademl.tracking.integrity import (
            SIGNATURE_TAG,
            download_version,
            hash_directory,
            recorded_manifest,
            version_subject,
        )

        version = _latest_version(tracking_uri)
        uri = f"{DEMO_MODEL}/{version}"
        manifest, _ = recorded_manifest(DEMO_MODEL, version)
        local = download_version(DEMO_MODEL, version, scratch / "package")
        files = sorted(p for p in local.rglob("*") if p.is_file())
        package_bytes = sum(p.stat().st_size for p in files)
        subject = version_subject(DEMO_MODEL, version)
        from mlflow import MlflowClient

        signature = MlflowClient(tracking_uri).get_model_version(DEMO_MODEL, str(version))
        signature = signature.tags[SIGNATURE_TAG]

        def sign_batch() -> None:
            for _ in range(args.batch):
                sign_manifest(manifest, subject=subject)

        def verify_batch() -> None:
            for _ in range(args.batch):
                if not verify_manifest_signature(manifest, signature, subject=subject):
                    raise SystemExit("the demo package's signature did not verify")

        sides = {
            f"sign x{args.batch}": sign_batch,
            f"verify x{args.batch}": verify_batch,
            "hash package (SHA-256)": lambda: hash_directory(local),
            "verified load (demo)": lambda: load_model(uri),
        }
        results = alternate(sides, args.rounds)

    print_settings(
        "manifest signing and verification on the demo package",
        {
            "demo": f"trademl run {DEMO_SPEC.relative_to(ROOT)} (tracked in a scratch folder)",
            "package": f"{uri}: {len(manifest)} files in its manifest, "
            f"{package_bytes / 1e6:.2f} MB on disk",
            "key": "HMAC-SHA256, key file (mode 0600) read on every call, as on a first run",
            "rounds": f"{args.rounds} (+1 warm-up), sides alternating, order rotated; "
            f"sign/verify timed {args.batch} per call",
        },
    )
    totals = demo["totals"]
    demo_wall, demo_cpu = totals["demo"]["wall"], totals["demo"]["cpu"]
    print(f"\nin situ: the demo run took {demo_wall:.1f} s wall, {demo_cpu:.1f} s CPU "
          f"(exit {demo['code']}; child process {demo['outer_wall']:.1f} s wall incl. start-up)")  # fmt: skip
    print(f"{'function':<28}{'calls':>6}{'wall ms':>10}{'CPU ms':>9}{'% of wall':>11}")
    in_situ_wall = 0.0
    for name in ("sign_manifest", "verify_manifest_signature", "hash_directory"):
        entry = totals[name]
        in_situ_wall += entry["wall"]
        print(f"{name:<28}{entry['calls']:>6}{entry['wall'] * 1e3:>10.2f}"
              f"{entry['cpu'] * 1e3:>9.2f}{entry['wall'] / demo_wall:>11.4%}")  # fmt: skip
    in_situ_cpu = sum(totals[n]["cpu"] for n in ("sign_manifest", "verify_manifest_signature",
                                                   "hash_directory"))  # fmt: skip
    print(f"{'all three':<28}{'':>6}{in_situ_wall * 1e3:>10.2f}{in_situ_cpu * 1e3:>9.2f}"
          f"{in_situ_wall / demo_wall:>11.4%}")  # fmt: skip

    print("\nper operation (package of the demo run):")
    for timings in results.values():
        print("  " + timings.line(unit="ms", width=24))
    sign, verify, hashing, load = results.values()
    per_sign = sign.median_wall / args.batch
    per_verify = verify.median_wall / args.batch
    per_sign_cpu = sign.median_cpu / args.batch
    per_verify_cpu = verify.median_cpu / args.batch
    print(f"  one signature: {per_sign * 1e6:.1f} us wall, {per_sign_cpu * 1e6:.1f} us CPU; "
          f"one verification: {per_verify * 1e6:.1f} us wall, {per_verify_cpu * 1e6:.1f} us CPU "
          f"(medians)")  # fmt: skip
    check = per_verify + hashing.median_wall
    print(f"  signature check + SHA-256 of the files = {check / load.median_wall:.2%} of a "
          f"verified load ({load.median_wall * 1e3:.1f} ms wall median, "
          f"{load.median_cpu * 1e3:.1f} ms CPU)")  # fmt: skip
    projected = (
        totals["sign_manifest"]["calls"] * per_sign
        + totals["verify_manifest_signature"]["calls"] * per_verify
        + totals["hash_directory"]["calls"] * hashing.median_wall
    )
    projected_cpu = (
        totals["sign_manifest"]["calls"] * per_sign_cpu
        + totals["verify_manifest_signature"]["calls"] * per_verify_cpu
        + totals["hash_directory"]["calls"] * hashing.median_cpu
    )
    print(f"  projected on the demo's calls: {projected * 1e3:.2f} ms wall = "
          f"{projected / demo_wall:.4%} of its wall time; {projected_cpu * 1e3:.2f} ms CPU = "
          f"{projected_cpu / demo_cpu:.4%} of its CPU time")  # fmt: skip
    share = max(in_situ_wall / demo_wall, projected / demo_wall)
    verdict = "within" if share <= TARGET_SHARE else "ABOVE"
    print(f"\nsigning + verification + hashing: {share:.4%} of the demo run (the larger of in "
          f"situ and projected), {verdict} the target <= {TARGET_SHARE:.0%}")  # fmt: skip
    return 0 if share <= TARGET_SHARE else 1


if __name__ == "__main__":
    sys.exit(main())

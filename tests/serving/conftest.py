"""A real registry with two versions of a small model, and real uvicorn servers on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest

from trademl.pipeline import run

from ..pipeline.test_pipeline import small_spec

MODEL = "serve-test"
API_KEY = "test-admin-key-0123"
# the bars after the warm-up cut are streamed live; the warm-up file stops before them
LIVE_BARS = 60


@dataclass
class Registry:
    folder: Path
    uri: str
    candles: pd.DataFrame  # the run's data (BTCUSDT 1h sample from 2026-01-15)
    warmup_path: Path  # the candles minus the last LIVE_BARS
    live: pd.DataFrame  # the last LIVE_BARS bars

    def env(self) -> dict[str, str]:
        return {"MLFLOW_TRACKING_URI": self.uri}


@pytest.fixture(scope="session")
def registry(tmp_path_factory) -> Registry:
    """v1 (champion) and v2 (different trees, development) of one model, in a tmp MLflow."""
    from trademl.config import load_spec
    from trademl.pipeline import load_frames

    folder = tmp_path_factory.mktemp("serving-registry")
    common = {"tuning": {"n_trials": 0}, "monitoring": {"db_url": str(folder / "ref.db")}}
    first = small_spec(
        folder,
        name=MODEL,
        # a dozen trees on the sample are degenerate: these tests serve it, not judge it
        tracking={"gates": {"oos_sharpe": {"min": -1e9}}, "refuse_degenerate": False},
        **common,
    )
    second = small_spec(
        folder,
        name=MODEL,
        model={"kind": "lightgbm", "params": {"n_estimators": 12, "num_leaves": 7}},
        tracking={"refuse_degenerate": False},
        **common,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        one = run(first, progress=False)
        two = run(second, progress=False)
    assert (one.model_version, one.promoted, two.model_version) == (1, True, 2)
    candles = load_frames(load_spec(first))["BTCUSDT"]
    warmup_path = folder / "BTCUSDT-warmup.parquet"
    candles.iloc[:-LIVE_BARS].to_parquet(warmup_path)
    return Registry(
        folder, first["tracking"]["uri"], candles, warmup_path, candles.iloc[-LIVE_BARS:]
    )


def bar_json(stamp: pd.Timestamp, row) -> dict:
    return {"timestamp": stamp.isoformat(), **{k: float(row[k]) for k in
            ("open", "high", "low", "close", "volume")}}  # fmt: skip


def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class ThreadServer:
    """A real uvicorn server for ``app`` on a free loopback port, in a thread of the test."""

    def __init__(self, app):
        import uvicorn

        self.sock = listening_socket()
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()


@pytest.fixture
def serve_in_thread(registry, monkeypatch, tmp_path):
    """``serve(**build_service kwargs)`` -> (ThreadServer, Service) on a fresh monitoring store."""
    from trademl.serving.service import build_service

    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry.uri)
    monkeypatch.setenv("TRADEML_API_KEY", API_KEY)
    monkeypatch.chdir(registry.folder)
    started = []

    def serve(model: str = f"{MODEL}@champion", **kwargs):
        kwargs.setdefault("warmup", [str(registry.warmup_path)])
        kwargs.setdefault("db", str(tmp_path / "monitor.db"))
        kwargs.setdefault("poll_seconds", 0.0)
        service = build_service(model, tracking_uri=registry.uri, **kwargs)
        server = ThreadServer(service.app).__enter__()
        started.append(server)
        return server, service

    yield serve
    for server in started:
        server.__exit__(None, None, None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_cli_server(registry: Registry, folder: Path, *args: str) -> tuple[subprocess.Popen, str]:
    """``trademl serve`` as its own process (what SIGTERM reaches); waits for /ready."""
    port = free_port()
    env = {**os.environ, **registry.env(), "TRADEML_API_KEY": API_KEY,
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}  # fmt: skip
    command = [str(Path(sys.executable).with_name("trademl")), "serve", "--port", str(port),
               "--tracking-uri", registry.uri, "--poll", "0", *args]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out, err = process.communicate()
            raise RuntimeError(f"trademl serve exited {process.returncode}: {out}{err}")
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("trademl serve did not become ready in 120 s")

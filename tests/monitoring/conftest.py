"""Real servers for the monitoring tests: PostgreSQL, SMTP and HTTP, all on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on (for a channel that must fail)."""
    return free_port()


def _as_postgres(args: list[str]) -> list[str]:
    # initdb refuses to run as root; the Debian package ships a `postgres` system user
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL cluster on 127.0.0.1:<free port>, stopped at teardown."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL binaries not found in {PG_BIN}; skipping PostgreSQL tests")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL")
    root = Path(tempfile.mkdtemp(prefix="trademl-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres")
    port = free_port()
    log = root / "server.log"
    try:
        subprocess.run(
            _as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "trademl",
                          "--auth=trust", "--encoding=UTF8", "--no-sync"]),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w",
                          "-o", f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off", "start"]),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"could not start PostgreSQL: {detail.decode(errors='replace')[:300]}")
    url = f"postgresql+psycopg://trademl@127.0.0.1:{port}/postgres"
    try:
        yield url
    finally:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            capture_output=True, timeout=120,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_store_url(postgres_url):
    """A fresh database in the session cluster for one test."""
    import sqlalchemy as sa

    name = f"t{int(time.time() * 1e6) % 10**12}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    yield postgres_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def smtp_server():
    """A real aiosmtpd server on 127.0.0.1 that keeps the messages it receives."""
    from aiosmtpd.controller import Controller

    class Keep:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
            self.messages.append(
                {"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                 "data": envelope.content.decode("utf8", errors="replace")}
            )  # fmt: skip
            return "250 OK"

    handler = Keep()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, handler.messages
    finally:
        controller.stop()


class _Recorder(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server API
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        server = self.server
        server.calls.append({"path": self.path, "body": json.loads(body or b"null"),
                             "headers": dict(self.headers)})  # fmt: skip
        if server.delay:
            time.sleep(server.delay)
        status = server.statuses.pop(0) if server.statuses else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def http_server():
    """A real HTTP server on 127.0.0.1 recording POSTs; set .statuses / .delay per test."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Recorder)
    server.calls, server.statuses, server.delay = [], [], 0.0
    server.daemon_threads = True
    # a client that timed out on purpose leaves a broken pipe: not worth a traceback
    server.handle_error = lambda request, address: None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def btc_1h(btc_1h_path) -> pd.DataFrame:
    frame = pd.read_csv(btc_1h_path, parse_dates=["timestamp"], index_col="timestamp")
    return frame.astype(float)


def stationary_features(ohlcv: pd.DataFrame) -> pd.DataFrame:
    """Features whose distribution does not depend on the price level (returns, ranges)."""
    close = ohlcv["close"]
    ret = np.log(close).diff()
    vol = ret.rolling(24).std()
    features = pd.DataFrame(
        {
            "ret_1h": ret,
            "ret_24h": np.log(close).diff(24),
            "abs_ret": ret.abs(),
            "range": (ohlcv["high"] - ohlcv["low"]) / close,
            "vol_24h": vol,
            "z_ret": ret / vol.shift(1),
            "log_volume": np.log1p(ohlcv["volume"]),
            "hour": ohlcv.index.hour.astype(float),
        },
        index=ohlcv.index,
    )
    return features.dropna()


@pytest.fixture(scope="session")
def btc_features(btc_1h) -> pd.DataFrame:
    return stationary_features(btc_1h)

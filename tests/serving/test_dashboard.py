"""GET /dashboard renders live data in headless Chromium (Debian's package): the DOM after
the page's scripts ran holds the served version, counts and alerts, and the screenshot has
the prediction-distribution bars drawn."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime

import httpx
import numpy as np
import pytest

from .conftest import MODEL, bar_json

pytestmark = pytest.mark.server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BAR_RGB = (0x1F, 0x77, 0xB4)  # the .bar colour of the page


class _Drift:
    def to_dict(self) -> dict:
        return {"n_features": 12, "n_drifted": 3, "share": 0.25, "share_pvalue": 0.01}


def _chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--no-first-run",
        f"--user-data-dir={profile}", "--virtual-time-budget=5000", *args,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make install adds it)")
def test_dashboard_renders_live_data(serve_in_thread, registry, tmp_path):
    from matplotlib.image import imread

    server, service = serve_in_thread(model=f"{MODEL}/1")
    service.store.save_drift(model=MODEL, version="1", kind="features", report=_Drift())
    service.store.open_alert(
        fingerprint="serve-test:drift", rule="feature_drift", model=MODEL, severity="warning",
        message="3 of 12 features drifted", value=0.25, now=datetime.now(UTC),
    )  # fmt: skip
    with httpx.Client(base_url=server.url) as client:
        for stamp, row in registry.live.iloc[:25].iterrows():
            body = {"symbol": "BTCUSDT", "bars": [bar_json(stamp, row)]}
            assert client.post("/v1/bars", json=body).status_code == 200
        status = client.get("/v1/status").json()
    assert sum(status["proba_histogram"]) == 25
    url = f"{server.url}/dashboard"
    dom = _chromium(tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert f"{MODEL} v1" in html, html[:2000]
    assert "(ready)" in html
    for signal, count in status["predictions"].items():
        assert f'id="signal{signal}">{count}<' in html
    assert "3 of 12 features drifted" in html and "feature_drift" in html
    assert "/v1/bars" in html and 'class="p50"' in html

    shot = tmp_path / "dashboard.png"
    done = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,900", url)
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    pixels = (imread(shot)[..., :3] * 255).round().astype(int)
    bar = np.all(np.abs(pixels - np.array(BAR_RGB)) <= 2, axis=-1)
    assert bar.sum() > 200, "the prediction-distribution bars are not drawn"

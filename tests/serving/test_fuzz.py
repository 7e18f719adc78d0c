"""schemathesis against the live server: whatever the OpenAPI schema allows, and the
invalid bodies it derives from it, never gets a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error

from .conftest import API_KEY, MODEL, ThreadServer

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def live_schema(registry):
    from trademl.serving.service import build_service

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", registry.uri)
        patch.setenv("TRADEML_API_KEY", API_KEY)
        patch.chdir(registry.folder)
        service = build_service(
            f"{MODEL}/1", challenger=f"{MODEL}/2", tracking_uri=registry.uri,
            warmup=[str(registry.warmup_path)], db=str(registry.folder / "fuzz.db"),
            poll_seconds=0.0,
        )  # fmt: skip
        with ThreadServer(service.app) as server:
            yield schemathesis.openapi.from_url(f"{server.url}/openapi.json")


def test_no_server_error(live_schema):
    from schemathesis.generation.modes import GenerationMode

    operations = [result.ok() for result in live_schema.get_all_operations()]
    assert len(operations) >= 10
    assert "POST /v1/explain" in {operation.label for operation in operations}
    failures = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=12, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck),
            )  # fmt: skip
            def fuzz(case):
                # with the admin key, so the admin endpoints are fuzzed past the key check
                response = case.call(headers={"X-API-Key": API_KEY})
                case.validate_response(response, checks=[not_a_server_error])

            try:
                fuzz()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE  # no input to get wrong (GET /health)
            except Exception as exc:  # noqa: BLE001 - collect every operation's failure
                failures.append(f"{operation.label} ({mode}): {str(exc)[:400]}")
    assert not failures, "\n".join(failures)

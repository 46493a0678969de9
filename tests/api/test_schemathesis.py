"""The API answers as its OpenAPI document says: schemathesis sends generated requests, valid and
invalid, to every operation of a real server holding charge points, id tags and transactions, and
checks each answer: no server error, a status the operation documents, a content type and a body
that match the document."""

from __future__ import annotations

import asyncio
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings

from tests.commands.support import T0, online

schemathesis = pytest.importorskip("schemathesis")

# Bounded: a few examples per operation and mode keep the whole run within a minute or two.
EXAMPLES = {"positive": 12, "negative": 12, "known": 5}
# The event stream never ends by itself (test_resources checks its 401, test_openapi its document).
SKIPPED_PATHS = ("/api/v1/events",)


async def _seed(api: Any, connect: Any) -> dict[str, Any]:
    """Things to find, so that lookups do not all miss: charge points (one with a history of
    transactions and meter values), id tags. All offline at the end, so commands answer at once.
    Returns path parameters that name them."""
    for tag in ("TAG-1", "TAG-2"):
        assert (await api.post("/api/v1/id-tags", json={"id_tag": tag})).status_code == 201
    cp = await online(api, connect, "CP-1", connectors=2)
    first = (await cp.ok("StartTransaction", {"connectorId": 1, "idTag": "TAG-1", "meterStart": 0, "timestamp": T0}))
    await cp.ok("MeterValues", {"connectorId": 1, "transactionId": first["transactionId"], "meterValue": [
        {"timestamp": "2026-11-01T10:05:00Z", "sampledValue": [
            {"value": "1.5", "unit": "kWh"}, {"value": "230", "measurand": "Voltage", "unit": "V", "phase": "L1-N"}]}]})
    await cp.ok("StopTransaction", {"transactionId": first["transactionId"], "meterStop": 2_000,
                                    "timestamp": "2026-11-01T10:30:00Z"})
    await cp.ok("StartTransaction", {"connectorId": 2, "idTag": "TAG-2", "meterStart": 10, "timestamp": T0})
    await cp.close()
    for identity in ("CP-2", "CP-3"):
        assert (await api.post("/api/v1/charge-points", json={"id": identity})).status_code == 201
    return {"charge_point_id": "CP-1", "id_tag": "TAG-1", "transaction_id": first["transactionId"]}


def _checks() -> list[Any]:
    from schemathesis import checks

    return [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
            checks.response_headers_conformance, checks.response_schema_conformance]


def _run(base: str, headers: dict[str, str], known: dict[str, Any]) -> list[str]:
    """Every operation, positive then negative cases, one without a token, then positive cases on
    the seeds (`known` path parameters); deletions last so the seeds serve the others. Returns one
    line per distinct failure."""
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if op.path not in SKIPPED_PATHS]
    operations.sort(key=lambda op: op.method.upper() == "DELETE")
    failures: dict[tuple[str, ...], str] = {}
    checks = _checks()

    def explore(operation: Any, mode: Any, examples: int, headers: dict[str, str] | None,
                path_parameters: dict[str, Any] | None = None) -> None:
        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
        @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck), phases=[hypothesis.Phase.generate])
        def check(case: Any) -> None:
            try:
                response = case.call_and_validate(base_url=base, headers=headers, checks=checks, timeout=15)
            except (AssertionError, BaseExceptionGroup) as exc:
                for failure in getattr(exc, "exceptions", (exc,)):
                    title = getattr(failure, "title", type(failure).__name__)
                    detail = str(getattr(failure, "message", failure)).splitlines()[:1]
                    failures.setdefault((operation.label, title, *detail),
                                        f"{operation.label}: {title}: {' '.join(detail)}\n    {case.as_curl_command()}")
                return
            if headers is None and response.status_code != 401:
                failures[(operation.label, "token")] = f"{operation.label}: {response.status_code} without a token"

        try:
            check()
        except hypothesis.errors.Unsatisfiable:
            pass  # nothing to break: the operation takes no input

    for operation in operations:
        explore(operation, schemathesis.GenerationMode.POSITIVE, EXAMPLES["positive"], headers)
        explore(operation, schemathesis.GenerationMode.NEGATIVE, EXAMPLES["negative"], headers)
        if operation.path.startswith("/api/v1/"):
            explore(operation, schemathesis.GenerationMode.POSITIVE, 1, None)
        names = {parameter.name for parameter in operation.path_parameters}
        if names & known.keys():
            # The seeds themselves: their views are the answers worth checking against the document.
            explore(operation, schemathesis.GenerationMode.POSITIVE, EXAMPLES["known"], headers,
                    {name: value for name, value in known.items() if name in names})
    return sorted(failures.values())


async def test_every_answer_is_documented_and_matches_its_schema(server, api, api_token, connect) -> None:  # type: ignore[no-untyped-def]
    known = await _seed(api, connect)
    failures = await asyncio.to_thread(
        _run, f"http://127.0.0.1:{server.http_port}", {"Authorization": f"Bearer {api_token}"}, known
    )
    assert not failures, f"{len(failures)} distinct failures:\n" + "\n".join(failures)

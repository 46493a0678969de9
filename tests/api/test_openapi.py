"""The OpenAPI document is complete: every resource, and per operation the failures it answers."""

from __future__ import annotations

RESOURCES = {
    "/api/v1/charge-points": {"get", "post"},
    "/api/v1/charge-points/{charge_point_id}": {"get", "patch", "delete"},
    "/api/v1/charge-points/{charge_point_id}/commands/{action}": {"post"},
    "/api/v1/charge-points/{charge_point_id}/remote-start": {"post"},
    "/api/v1/charge-points/{charge_point_id}/remote-stop": {"post"},
    "/api/v1/charge-points/{charge_point_id}/reset": {"post"},
    "/api/v1/charge-points/{charge_point_id}/configuration": {"get"},
    "/api/v1/charge-points/{charge_point_id}/local-list": {"get"},
    "/api/v1/charge-points/{charge_point_id}/local-list/sync": {"post"},
    "/api/v1/charge-points/{charge_point_id}/events": {"get"},
    "/api/v1/id-tags": {"get", "post"},
    "/api/v1/id-tags/{id_tag}": {"get", "patch", "delete"},
    "/api/v1/transactions": {"get"},
    "/api/v1/transactions/export.csv": {"get"},
    "/api/v1/transactions/{transaction_id}": {"get"},
    "/api/v1/transactions/{transaction_id}/status": {"get"},
    "/api/v1/meter-values": {"get"},
    "/api/v1/messages": {"get"},
    "/api/v1/reservations": {"get", "post"},
    "/api/v1/reservations/{reservation_id}": {"get", "delete"},
    "/api/v1/charging-profiles": {"get", "post"},
    "/api/v1/charging-profiles/{profile_id}": {"get", "delete"},
    "/api/v1/remote-starts": {"get"},
    "/api/v1/remote-starts/{remote_start_id}": {"get"},
    "/api/v1/events": {"get"},
    "/api/v1/charge-points/{charge_point_id}/status-history": {"get"},
    "/api/v1/charge-points/{charge_point_id}/customer-information/{request_id}": {"get"},
    "/api/v1/reports/energy": {"get"},
    "/api/v1/reports/energy/by-charge-point": {"get"},
    "/api/v1/reports/energy/by-id-tag": {"get"},
    "/api/v1/reports/sessions": {"get"},
    "/api/v1/reports/utilisation": {"get"},
    "/api/v1/reports/reliability": {"get"},
    "/api/v1/reports/peak-power": {"get"},
    "/api/v1/certificates": {"get"},
    "/api/v1/certificates/{serial}": {"get"},
    "/api/v1/certificates/{serial}/revoke": {"post"},
    "/api/v1/charge-points/{charge_point_id}/password": {"post"},
    "/api/v1/charge-points/{charge_point_id}/security-profile": {"post"},
    "/api/v1/charge-points/{charge_point_id}/installed-certificates": {"get"},
}


async def test_openapi_document_lists_every_resource(server, api) -> None:  # type: ignore[no-untyped-def]
    spec = (await api.get("/api/v1/openapi.json")).json()
    for path, methods in RESOURCES.items():
        assert path in spec["paths"], path
        assert methods <= set(spec["paths"][path]), path
        for method in methods:
            operation = spec["paths"][path][method]
            assert operation.get("summary"), (method, path)
            assert any(code.startswith("2") for code in operation["responses"]), (method, path)
    lists = [p for p, ops in spec["paths"].items() if "get" in ops and "limit" in
             {param["name"] for param in ops["get"].get("parameters", [])}]
    assert len(lists) >= 10
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


# What each operation answers besides success, as the routes really do (checked against the server
# by test_schemathesis). 400 wherever there is input, 401 everywhere behind the token; 404 where a
# thing is named; 409/502/504 where a charge point is called (offline, CALLERROR, silence).
CALLS = {400, 401, 404, 409, 502, 504}
FAILURES = {
    ("post", "/api/v1/charge-points"): {400, 401, 409},
    ("get", "/api/v1/charge-points"): {400, 401},
    ("get", "/api/v1/charge-points/{charge_point_id}"): {400, 401, 404},
    ("patch", "/api/v1/charge-points/{charge_point_id}"): {400, 401, 404},
    ("delete", "/api/v1/charge-points/{charge_point_id}"): {400, 401, 404},
    ("post", "/api/v1/charge-points/{charge_point_id}/commands/{action}"): CALLS,
    ("post", "/api/v1/charge-points/{charge_point_id}/remote-start"): CALLS,
    ("post", "/api/v1/charge-points/{charge_point_id}/remote-stop"): CALLS,
    ("post", "/api/v1/charge-points/{charge_point_id}/reset"): CALLS,
    ("get", "/api/v1/charge-points/{charge_point_id}/configuration"): {400, 401, 404},
    ("get", "/api/v1/charge-points/{charge_point_id}/local-list"): {400, 401, 404},
    ("post", "/api/v1/charge-points/{charge_point_id}/local-list/sync"): CALLS,
    ("get", "/api/v1/charge-points/{charge_point_id}/events"): {400, 401, 404},
    ("post", "/api/v1/id-tags"): {400, 401, 409},
    ("get", "/api/v1/id-tags"): {400, 401},
    ("get", "/api/v1/id-tags/{id_tag}"): {400, 401, 404},
    ("patch", "/api/v1/id-tags/{id_tag}"): {400, 401, 404},
    ("delete", "/api/v1/id-tags/{id_tag}"): {400, 401, 404},
    ("get", "/api/v1/transactions"): {400, 401},
    ("get", "/api/v1/charge-points/{charge_point_id}/status-history"): {400, 401, 404},
    ("get", "/api/v1/charge-points/{charge_point_id}/customer-information/{request_id}"): {400, 401, 404},
    ("get", "/api/v1/reports/energy"): {400, 401},
    ("get", "/api/v1/reports/energy/by-charge-point"): {400, 401},
    ("get", "/api/v1/reports/energy/by-id-tag"): {400, 401},
    ("get", "/api/v1/reports/sessions"): {400, 401},
    ("get", "/api/v1/reports/utilisation"): {400, 401},
    ("get", "/api/v1/reports/reliability"): {400, 401},
    ("get", "/api/v1/reports/peak-power"): {400, 401},
    ("get", "/api/v1/transactions/export.csv"): {400, 401},
    ("get", "/api/v1/transactions/{transaction_id}"): {400, 401, 404},
    ("post", "/api/v1/transactions/{transaction_id}/close"): {400, 401, 404, 409},
    ("get", "/api/v1/transactions/{transaction_id}/status"): CALLS,
    ("get", "/api/v1/meter-values"): {400, 401},
    ("get", "/api/v1/messages"): {400, 401},
    ("post", "/api/v1/reservations"): CALLS,
    ("get", "/api/v1/reservations"): {400, 401},
    ("get", "/api/v1/reservations/{reservation_id}"): {400, 401, 404},
    ("delete", "/api/v1/reservations/{reservation_id}"): CALLS,
    ("post", "/api/v1/charging-profiles"): CALLS,
    ("get", "/api/v1/charging-profiles"): {400, 401},
    ("get", "/api/v1/charging-profiles/{profile_id}"): {400, 401, 404},
    ("delete", "/api/v1/charging-profiles/{profile_id}"): CALLS,
    ("get", "/api/v1/remote-starts"): {400, 401},
    ("get", "/api/v1/remote-starts/{remote_start_id}"): {400, 401, 404},
    ("get", "/api/v1/events"): {400, 401},
    ("get", "/api/v1/certificates"): {400, 401},
    ("get", "/api/v1/certificates/{serial}"): {400, 401, 404},
    ("post", "/api/v1/certificates/{serial}/revoke"): {400, 401, 404, 409},
    ("post", "/api/v1/charge-points/{charge_point_id}/password"): CALLS,
    ("post", "/api/v1/charge-points/{charge_point_id}/security-profile"): CALLS,
    ("get", "/api/v1/charge-points/{charge_point_id}/installed-certificates"): {400, 401, 404},
    ("get", "/api/v1/charge-points/{charge_point_id}/variables"): {400, 401, 404},
    ("post", "/api/v1/charge-points/{charge_point_id}/variables/get"): CALLS,
    ("post", "/api/v1/charge-points/{charge_point_id}/variables/set"): CALLS,
    ("post", "/api/v1/charge-points/{charge_point_id}/device-model-reports"): CALLS,
    ("get", "/api/v1/charge-points/{charge_point_id}/device-model-reports"): {400, 401, 404},
    ("get", "/api/v1/charge-points/{charge_point_id}/device-model-reports/{request_id}"): {400, 401, 404},
    ("get", "/health"): set(),
    ("get", "/metrics"): set(),
}
# Statuses this table speaks for; others (e.g. 503 when the database is overloaded) may be added
# without it.
TABLED = {400, 401, 404, 409, 422, 502, 504}


async def test_each_operation_declares_the_failures_it_really_answers_in_the_error_shape(server, api) -> None:  # type: ignore[no-untyped-def]
    spec = (await api.get("/api/v1/openapi.json")).json()
    operations = {(method, path): op for path, ops in spec["paths"].items() for method, op in ops.items()}
    assert set(FAILURES) == set(operations)
    for key, operation in operations.items():
        declared = {int(code) for code in operation["responses"] if not code.startswith("2")}
        assert declared & TABLED == FAILURES[key], key
        for code, response in operation["responses"].items():
            if code.startswith("2"):
                continue
            assert response["description"], (key, code)
            assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}, (key, code)
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert schemas["ErrorOut"]["required"] == ["error"]
    assert set(schemas["ErrorDetail"]["required"]) == {"code", "message"}
    assert spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"].keys() == {"text/plain"}

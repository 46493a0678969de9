"""/metrics speaks Prometheus' text format with the right types: what only grows is a counter
(`…_total`), what goes up and down a gauge, and the figures follow what the server does."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests.commands.support import T0, eventually, online
from voltline.metrics import Metrics
from voltline.services.message_log.recorder import MessageLog

COUNTERS = {
    "voltline_store_commits",
    "voltline_store_writes",
    "voltline_store_rejected_writes",
    "voltline_message_log_dropped_frames",
}
GAUGES = {
    "voltline_connected_charge_points",
    "voltline_active_transactions",
    "voltline_inbound_queued_frames",
    "voltline_message_log_buffered_frames",
}


def _parse(text: str) -> dict[str, tuple[str, dict[str, float]]]:
    """Family name → (type, sample name → value), as a Prometheus server would read them."""
    return {
        family.name: (family.type, {sample.name: sample.value for sample in family.samples})
        for family in text_string_to_metric_families(text)
    }


async def _scrape(server) -> dict[str, tuple[str, dict[str, float]]]:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.http_port}") as client:
        response = await client.get("/metrics")  # open, like /health
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return _parse(response.text)


async def test_monotonic_figures_are_counters_and_levels_are_gauges(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    before = await _scrape(server)
    assert {name for name, (kind, _) in before.items() if kind == "counter"} == COUNTERS
    assert {name for name, (kind, _) in before.items() if kind == "gauge"} == GAUGES
    for name in COUNTERS:
        assert set(before[name][1]) == {f"{name}_total"}, name  # one sample, named as Prometheus has it
    for name in GAUGES:
        assert set(before[name][1]) == {name}, name
    assert before["voltline_connected_charge_points"][1]["voltline_connected_charge_points"] == 0
    assert before["voltline_inbound_queued_frames"][1]["voltline_inbound_queued_frames"] == 0

    await api.post("/api/v1/id-tags", json={"id_tag": "TAG-M"})
    cp = await online(api, connect, "CP-M")
    await cp.ok("StartTransaction", {"connectorId": 1, "idTag": "TAG-M", "meterStart": 0, "timestamp": T0})

    async def grown() -> dict | None:  # type: ignore[type-arg]
        after = await _scrape(server)
        commits = after["voltline_store_commits"][1]["voltline_store_commits_total"]
        return after if commits > before["voltline_store_commits"][1]["voltline_store_commits_total"] else None

    after = await eventually(grown)
    assert after, "no commit counted"
    writes = "voltline_store_writes_total"
    assert after["voltline_store_writes"][1][writes] > before["voltline_store_writes"][1][writes]
    assert after["voltline_connected_charge_points"][1]["voltline_connected_charge_points"] == 1
    assert after["voltline_active_transactions"][1]["voltline_active_transactions"] == 1
    assert after["voltline_message_log_buffered_frames"][1]["voltline_message_log_buffered_frames"] >= 0
    assert after["voltline_message_log_dropped_frames"][1]["voltline_message_log_dropped_frames_total"] == 0

    await cp.close()

    async def offline() -> bool:
        return (await _scrape(server))["voltline_connected_charge_points"][1]["voltline_connected_charge_points"] == 0

    assert await eventually(offline)


def test_each_figure_is_read_from_its_part_at_scrape_time() -> None:
    """The message log's buffer and its losses, the inbound queue, and the rest, each from its own
    part: a log that holds two frames and dropped a third shows 2 buffered and 1 dropped."""
    log = MessageLog(store=None, max_buffer=2)  # type: ignore[arg-type]  # recording needs no store
    for n in range(3):
        log.record("CP-1", "in", 2, str(n), "Heartbeat", f'[2,"{n}","Heartbeat",{{}}]'.encode())
    parts = SimpleNamespace(
        store=SimpleNamespace(commits=7, writes=19, rejected=4),
        services=SimpleNamespace(message_log=log, transactions=SimpleNamespace(live={1: None, 2: None})),
        gateway=SimpleNamespace(connections={"CP-1": None}, inbound=[b"a", b"b", b"c"]),
        command_link=None,  # one node: no cluster figures
    )
    metrics = Metrics(parts)
    figures = _parse(generate_latest(metrics.registry).decode())
    assert {name: values for name, (_, values) in figures.items()} == {
        "voltline_store_commits": {"voltline_store_commits_total": 7},
        "voltline_store_writes": {"voltline_store_writes_total": 19},
        "voltline_store_rejected_writes": {"voltline_store_rejected_writes_total": 4},
        "voltline_message_log_dropped_frames": {"voltline_message_log_dropped_frames_total": 1},
        "voltline_connected_charge_points": {"voltline_connected_charge_points": 1},
        "voltline_active_transactions": {"voltline_active_transactions": 2},
        "voltline_inbound_queued_frames": {"voltline_inbound_queued_frames": 3},
        "voltline_message_log_buffered_frames": {"voltline_message_log_buffered_frames": 2},
    }
    parts.store.commits = 8  # read again at the next scrape, not kept
    assert _parse(generate_latest(metrics.registry).decode())["voltline_store_commits"][1] == {"voltline_store_commits_total": 8}

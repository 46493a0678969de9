"""Prometheus metrics, read from the running parts at scrape time (nothing counted on the hot path).

The parts keep plain numbers; a collector turns them into metric families when /metrics is
scraped. What only grows (commits, writes, dropped log frames) is a counter, named `…_total`
as Prometheus has it, so that `rate()` and restarts work; what goes up and down is a gauge.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric


class VoltlineCollector:
    def __init__(self, voltline: Any) -> None:
        self._voltline = voltline

    def collect(self) -> Iterator[Metric]:
        v = self._voltline
        store, log = v.store, v.services.message_log
        yield _counter("voltline_store_commits", "database transactions committed", store.commits)
        yield _counter("voltline_store_writes", "writes committed (several share a commit)", store.writes)
        yield _counter(
            "voltline_store_rejected_writes", "writes refused at once: a write queue full, or the database away", store.rejected
        )
        yield _counter(
            "voltline_message_log_dropped_frames", "message log frames dropped because the buffer was full", log.dropped
        )
        yield _gauge("voltline_connected_charge_points", "charge points connected to this node", len(v.gateway.connections))
        yield _gauge("voltline_active_transactions", "transactions in progress", len(v.services.transactions.live))
        yield _gauge(
            "voltline_inbound_queued_frames", "frames from charge points waiting for their turn", len(v.gateway.inbound)
        )
        yield _gauge(
            "voltline_message_log_buffered_frames", "message log frames in memory, not yet committed", log.buffered
        )
        link = v.command_link
        if link is not None:  # cluster mode
            yield _counter("voltline_cluster_commands_forwarded", "commands sent to the node holding the charge point",
                           link.forwarded)
            yield _counter("voltline_cluster_commands_executed", "other nodes' commands sent to charge points here",
                           link.executed)
            yield _counter("voltline_cluster_commands_duplicates", "command deliveries dropped: the command had run",
                           link.duplicates)
            yield _gauge("voltline_cluster_commands_waiting", "commands sent to other nodes, their outcome awaited",
                         link.waiting)
            yield _gauge("voltline_cluster_commands_running", "other nodes' commands being sent here", link.running)


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class Metrics:
    def __init__(self, voltline: Any) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(VoltlineCollector(voltline))

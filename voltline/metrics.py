"""Prometheus metrics, read from the running parts at scrape time (nothing counted on the hot path)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Gauge


class Metrics:
    def __init__(self, voltline: Any) -> None:
        self._voltline = voltline
        self.registry = CollectorRegistry()
        self.connected = Gauge("voltline_connected_charge_points", "charge points connected to this node", registry=self.registry)
        self.commits = Gauge("voltline_store_commits", "database transactions committed", registry=self.registry)
        self.writes = Gauge("voltline_store_writes", "writes committed (several share a commit)", registry=self.registry)
        self.rejected = Gauge("voltline_store_rejected", "writes refused at once: a write queue full, or the database away", registry=self.registry)
        self.log_dropped = Gauge("voltline_message_log_dropped", "message log rows dropped while the database was away", registry=self.registry)
        self.active_sessions = Gauge("voltline_active_transactions", "transactions in progress", registry=self.registry)

    def refresh(self) -> None:
        v = self._voltline
        self.connected.set(len(v.gateway.connections))
        self.commits.set(v.store.commits)
        self.writes.set(v.store.writes)
        self.rejected.set(v.store.rejected)
        self.log_dropped.set(v.services.message_log.dropped)
        self.active_sessions.set(len(v.services.transactions.live))

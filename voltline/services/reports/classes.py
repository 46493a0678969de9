"""A connector status's class in the utilisation report (and in the rollups by class)."""

from __future__ import annotations

# 1.6's statuses of a connector in use but not charging, and 2.0.1's Occupied (2.0.1 reports no
# Charging status: its charging state comes with the TransactionEvents).
OCCUPIED = frozenset(("Preparing", "SuspendedEV", "SuspendedEVSE", "Finishing", "Reserved", "Occupied"))
_CLASS_OF = {"Charging": "charging", "Available": "available", "Unavailable": "unavailable", "Faulted": "faulted"}


def status_class(status: str) -> str:
    return "occupied" if status in OCCUPIED else _CLASS_OF.get(status, "unknown")

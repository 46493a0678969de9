"""Live terminal view of a running simulation (CLI only; the library prints nothing)."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from voltline.simulator.simulator import Simulator

_STATUS_STYLE = {
    "Available": "green",
    "Preparing": "cyan",
    "Charging": "bold blue",
    "SuspendedEV": "blue",
    "SuspendedEVSE": "yellow",
    "Finishing": "cyan",
    "Reserved": "magenta",
    "Unavailable": "dim",
    "Faulted": "bold red",
    # 2.0.1: an EVSE's connectorStatus, and the chargingState of its transaction
    "Occupied": "cyan",
    "EVConnected": "cyan",
    "Idle": "cyan",
}
MAX_ROWS = 40  # a fleet of thousands is summarised, not listed


def _connection(cp_online: bool, connected: bool, silent: bool, registration: str | None) -> Text:
    if silent:
        return Text("silent", style="yellow")
    if cp_online:
        return Text("online", style="green")
    if connected:
        return Text(registration or "booting", style="cyan")
    return Text("offline", style="red")


def _status(cp: Any, connector: Any) -> str:
    """A connector's status in its station's words: on 2.0.1 (where a connector is an EVSE) the
    chargingState of its transaction, else the connectorStatus it reports (there is no Finishing
    or Preparing in 2.0.1)."""
    if cp.ocpp_version != "2.0.1":
        return str(connector.status)
    tx = connector.transaction
    if tx is not None and tx.charging_state is not None:
        return str(tx.charging_state)
    return str(cp.evse_state(connector))


def render(simulator: Simulator) -> Group:
    table = Table(expand=False, show_edge=False, pad_edge=False)
    for column in ("charge point", "connection", "connectors", "power kW", "energy kWh", "sessions", "errors"):
        table.add_column(
            column, justify="right" if column in ("power kW", "energy kWh", "sessions", "errors") else "left"
        )
    for cp in list(simulator)[:MAX_ROWS]:
        connectors = Text()
        for connector_id, connector in cp.connectors.items():
            if connector_id > 1:
                connectors.append(" ")
            status = _status(cp, connector)
            connectors.append(f"{connector_id}:{status}", style=_STATUS_STYLE.get(status, ""))
        energy = sum(tx.energy_wh for tx in cp.transactions) / 1000.0
        table.add_row(
            cp.identity,
            _connection(cp.online, cp.connected, cp.silent, cp.registration_status),
            connectors,
            f"{cp.power_w / 1000.0:.1f}",
            f"{energy:.2f}",
            str(len(cp.transactions)),
            Text(str(cp.error_count), style="red" if cp.error_count else ""),
        )
    summary = simulator.summary()
    total_power = sum(cp.power_w for cp in simulator) / 1000.0
    footer = Text(
        f"{summary['online']}/{summary['charge_points']} online · {summary['active']} charging sessions · "
        f"{total_power:.1f} kW · {summary['energy_wh'] / 1000.0:.2f} kWh delivered · "
        f"{summary['transactions']} sessions · {summary['errors']} errors · "
        f"simulated time {simulator.clock.elapsed():.0f} s (×{simulator.clock.speed:g})"
    )
    hidden = len(simulator) - MAX_ROWS
    parts: list[Table | Text] = [table]
    if hidden > 0:
        parts.append(Text(f"… and {hidden} more charge points", style="dim"))
    parts.append(footer)
    errors = [f"{cp.identity}: {cp.errors[-1]}" for cp in simulator if cp.errors][-5:]
    for line in errors:
        parts.append(Text(line, style="dim red"))
    return Group(*parts)

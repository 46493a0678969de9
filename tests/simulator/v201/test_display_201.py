"""The live view of `voltline simulate` names each station's connectors in its own version's words."""

from __future__ import annotations

from rich.console import Console

from voltline.simulator import Simulator
from voltline.simulator.display import render


def _text(simulator: Simulator) -> str:
    console = Console(width=200, record=True)
    console.print(render(simulator))
    return console.export_text()


async def test_a_2_0_1_station_shows_its_connector_status_not_1_6s() -> None:
    simulator = Simulator("ws://127.0.0.1:1/ocpp", identities=["CP-1", "CS-2"], ocpp_version="mixed")
    for cp in simulator:
        await cp.plug_in(1)  # a car, no card: nothing starts (1.6 without a tag, 2.0.1's PowerPathClosed)
    rows = {line.split()[0]: line for line in _text(simulator).splitlines() if line.startswith(("CP-1", "CS-2"))}
    assert "1:Preparing" in rows["CP-1"]
    assert "1:Occupied" in rows["CS-2"]  # 2.0.1 has no Preparing

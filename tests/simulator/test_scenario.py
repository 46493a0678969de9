"""Scripted scenarios (YAML and Python) and the command line."""

import asyncio

import pytest
from typer.testing import CliRunner

from voltline.simulator import Scenario, ScenarioError, Step
from voltline.simulator.cli import simulate_app

SCENARIO = """
- at: 0
  charge_point: CP-1
  connector: 1
  plug_in: {id_tag: TAG1, energy_kwh: 0.3, soc: 30, unplug_when_full: true}
- at: 1
  charge_point: CP-2
  connector: 1
  fault: {error_code: GroundFailure, info: insulation}
- at: 20
  charge_point: CP-2
  connector: 1
  clear_fault:
- at: 30
  charge_point: "*"
  drop_connection: {reconnect_after: 10}
"""


async def test_scenario_file_drives_the_fleet(csms, make_simulator, tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO)
    scenario = Scenario.load(path)
    async with make_simulator(count=2, speed=200.0, meter_interval=10) as sim:
        await scenario.run(sim)
        stop = await csms.wait_message("CP-1", "StopTransaction", timeout=20)
        await csms.wait_for(lambda: csms.connects >= 4)
        await sim.wait_accepted()
    assert stop["reason"] == "EVDisconnected"
    faults = [p for p in csms.messages("CP-2", "StatusNotification") if p["connectorId"] == 1]
    assert [(p["status"], p["errorCode"]) for p in faults] == [
        ("Available", "NoError"),
        ("Faulted", "GroundFailure"),
        ("Available", "NoError"),
    ]
    assert faults[1]["info"] == "insulation"


async def test_scenario_from_python_steps(csms, make_simulator):
    scenario = Scenario([Step(0, "CP-1", "plug_in", 1, {"id_tag": "PY"}), Step(5, "CP-1", "stop", 1)])
    async with make_simulator(speed=200.0) as sim:
        await scenario.run(sim)
        stop = await csms.wait_message("CP-1", "StopTransaction")
    assert stop["reason"] == "Local"
    assert sim["CP-1"].transactions[0].id_tag == "PY"


def test_scenario_errors_are_reported_when_read():
    with pytest.raises(ScenarioError, match="needs a connector"):
        Scenario.from_yaml("- {at: 1, charge_point: CP-1, plug_in: {id_tag: T}}")
    with pytest.raises(ScenarioError, match="unexpected keyword"):
        Scenario.from_yaml("- {at: 1, charge_point: CP-1, connector: 1, plug_in: {colour: red}}")
    with pytest.raises(ScenarioError, match="unknown action"):
        Scenario.from_yaml("- {at: 1, charge_point: CP-1, explode: {}}")
    with pytest.raises(ScenarioError, match="exactly one action"):
        Scenario.from_yaml("- {at: 1, charge_point: CP-1, unplug: {}, resume: {}}")


async def test_command_line_runs_a_fleet(csms, tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_text("- {at: 0, charge_point: SIM-2, connector: 2, plug_in: {id_tag: CLI}}\n")
    args = [
        "--url",
        csms.url,
        "-n",
        "2",
        "-m",
        "2",
        "--prefix",
        "SIM-",
        "--duration",
        "120",
        "--speed",
        "200",
        "--seed",
        "3",
        "--scenario",
        str(path),
        "--quiet",
    ]
    result = await asyncio.to_thread(CliRunner().invoke, simulate_app, args)
    assert result.exit_code == 0, result.output
    assert "2 charge points · 1 sessions" in result.output
    assert len(csms.messages("SIM-1", "BootNotification")) == 1
    start = csms.messages("SIM-2", "StartTransaction")[0]
    assert start["idTag"] == "CLI" and start["connectorId"] == 2
    # Leaving the run ends its sessions properly.
    assert csms.messages("SIM-2", "StopTransaction")[0]["reason"] == "Local"


def test_command_line_rejects_a_bad_scenario(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("- {at: 1, charge_point: CP-9, connector: 1, unplug: {}}\n")
    result = CliRunner().invoke(simulate_app, ["--url", "ws://127.0.0.1:9/ocpp", "--scenario", str(path), "-q"])
    assert result.exit_code != 0
    assert "CP-9" in result.output

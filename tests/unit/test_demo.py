"""The demo's settings and the commands it prints (the README test runs them for real)."""

from __future__ import annotations

import pytest

from voltline.config import load_settings
from voltline.demo import CHARGE_POINTS, CONNECTORS, DRIVER_TAGS, demo_settings, try_it_commands


def test_the_demo_accepts_unknown_charge_points_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOLTLINE_AUTO_REGISTER", raising=False)
    assert demo_settings(load_settings()).auto_register is True
    assert demo_settings(load_settings(auto_register=False)).auto_register is False
    monkeypatch.setenv("VOLTLINE_AUTO_REGISTER", "false")
    assert demo_settings(load_settings()).auto_register is False


def test_every_demo_connector_has_a_driver_card_of_its_own() -> None:
    assert len(set(DRIVER_TAGS)) == len(CHARGE_POINTS) * CONNECTORS


def test_the_printed_commands_name_the_demo_database_and_ports() -> None:
    settings = load_settings(database_url="sqlite:///voltline-demo.db")
    export, token, curl, simulate = try_it_commands(settings, 8123, 9123)
    assert export == "export VOLTLINE_PORT=8123 VOLTLINE_OCPP_PORT=9123"
    assert "token create --name cli --database-url sqlite:///voltline-demo.db | tail -n 1" in token
    assert "http://127.0.0.1:8123/api/v1/charge-points" in curl
    assert "--url ws://127.0.0.1:9123/ocpp --prefix SIM-" in simulate

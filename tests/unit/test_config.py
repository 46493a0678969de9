from pathlib import Path

import pytest

from voltline.config import load_settings


def test_defaults_work_on_a_laptop(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VOLTLINE_CONFIG", "VOLTLINE_DATABASE_URL", "VOLTLINE_PORT", "VOLTLINE_OCPP_PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert (settings.host, settings.port, settings.ocpp_host, settings.ocpp_port) == ("127.0.0.1", 8000, "127.0.0.1", 9000)
    assert settings.database_url.startswith("sqlite:///")


def test_toml_then_environment_then_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "voltline.toml"
    config.write_text('ocpp_port = 9100\nport = 8100\nheartbeat_interval = 60\n')
    monkeypatch.setenv("VOLTLINE_CONFIG", str(config))
    monkeypatch.setenv("VOLTLINE_PORT", "8200")
    settings = load_settings(heartbeat_interval=None, ocpp_port=9300)
    assert (settings.ocpp_port, settings.port, settings.heartbeat_interval) == (9300, 8200, 60)

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from voltline.config import BadSetting, Settings, load_settings, unknown_environment


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


def test_trusted_proxies_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOLTLINE_OCPP_TRUSTED_PROXIES", "10.0.0.5, 10.1.0.0/16")
    assert load_settings().ocpp_trusted_proxies == ["10.0.0.5", "10.1.0.0/16"]


# -- settings that are not settings, or values they cannot take, refuse the start ---------------

BAD_SETTINGS = {
    "unknown value": ({"VOLTLINE_BOOT_POLICY": "reject-everyone"}, "", "boot_policy"),
    "unknown variable": ({"VOLTLINE_HEARTBEAT": "60"}, "", "VOLTLINE_HEARTBEAT names no setting"),
    "unknown TOML key": ({}, "heartbeat = 60\n", "heartbeat is not a setting"),
    "bad TOML value": ({}, 'heartbeat_interval = "often"\n', "heartbeat_interval"),
    "out of range": ({"VOLTLINE_OCPP_PORT": "70000"}, "", "ocpp_port"),
    "not TOML": ({}, "port = = 1\n", "not TOML"),
    "unknown database": ({"VOLTLINE_DATABASE_URL": "mysql://x"}, "", "database_url"),
    "certificate without key": ({"VOLTLINE_OCPP_TLS_CERT": "server.pem"}, "", "ocpp_tls_cert and ocpp_tls_key go together"),
    "no listener left": ({"VOLTLINE_OCPP_PLAIN": "false"}, "", "ocpp_plain = false needs ocpp_tls_cert"),
    "proxy not an address": ({"VOLTLINE_OCPP_TRUSTED_PROXIES": "10.0.0.1,nginx"}, "", "ocpp_trusted_proxies"),
    "profile out of range": ({"VOLTLINE_DEFAULT_SECURITY_PROFILE": "4"}, "", "default_security_profile"),
    "auto-registered without password": (
        {"VOLTLINE_AUTO_REGISTER": "true", "VOLTLINE_DEFAULT_SECURITY_PROFILE": "2"}, "", "no password"),
    "cluster without secret key": ({"VOLTLINE_REDIS_URL": "redis://127.0.0.1:6379/0"}, "", "needs secret_key"),
}


@pytest.mark.parametrize("env, toml, named", BAD_SETTINGS.values(), ids=BAD_SETTINGS.keys())
def test_serve_refuses_a_bad_setting_with_one_line(tmp_path: Path, env: dict[str, str], toml: str, named: str) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("VOLTLINE_")}
    environ |= {"VOLTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'v.db'}", "VOLTLINE_PORT": "0", "VOLTLINE_OCPP_PORT": "0"}
    environ |= env
    command = [sys.executable, "-m", "voltline", "serve"]
    if toml:
        (tmp_path / "voltline.toml").write_text(toml)
        command += ["--config", str(tmp_path / "voltline.toml")]
    try:
        done = subprocess.run(command, env=environ, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the server started despite the bad setting")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("voltline: bad setting ") and named in lines[0], done.stderr
    assert done.stdout == ""


def test_settings_refuse_an_unknown_name_from_code_too() -> None:
    with pytest.raises(ValidationError):
        Settings(boot_polcy="pending")  # type: ignore[call-arg]


def test_variables_of_the_prefix_that_are_no_settings_are_told_apart() -> None:
    environ = {
        "VOLTLINE_PORT": "1", "VOLTLINE_CONFIG": "x", "VOLTLINE_TEST_DATABASES": "sqlite", "VOLTLINE_VENV": ".venv",
        "VOLTLINE_USER_PASSWORD": "x", "VOLTLINE_PROT": "1",
    }
    assert unknown_environment(environ) == ["VOLTLINE_PROT"]


def test_an_unknown_environment_variable_is_a_bad_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOLTLINE_PROT", "1")
    with pytest.raises(BadSetting, match="VOLTLINE_PROT names no setting"):
        load_settings()


@pytest.mark.parametrize("command", [["migrate"], ["token", "list"], ["user", "list"]], ids=" ".join)
def test_every_command_refuses_a_bad_setting_with_one_line(tmp_path: Path, command: list[str]) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("VOLTLINE_")}
    environ |= {"VOLTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'v.db'}", "VOLTLINE_WRITE_BATCH_MAX": "0"}
    done = subprocess.run([sys.executable, "-m", "voltline", *command], env=environ, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and "bad setting write_batch_max" in done.stderr


def test_a_renewal_window_as_long_as_the_validity_is_refused() -> None:
    with pytest.raises(BadSetting) as refused:
        load_settings(certificate_validity_days=30, certificate_renew_before_days=30)
    assert str(refused.value) == "certificate_renew_before_days must be less than certificate_validity_days"
    assert load_settings(certificate_validity_days=31).certificate_validity_days == 31

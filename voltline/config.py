"""Every knob of Voltline, read once into one `Settings` object.

Sources, later ones winning: built-in defaults, a TOML file (`--config` or `VOLTLINE_CONFIG`),
environment variables `VOLTLINE_<NAME>`, and command-line options.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VOLTLINE_", extra="ignore")

    # -- listeners ------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    ocpp_host: str = "127.0.0.1"
    ocpp_port: int = 9000
    public_url: str | None = Field(None, description="how operators reach the HTTP listener, for printed links")

    # -- storage --------------------------------------------------------------------------
    database_url: str = "sqlite:///voltline.db"
    database_pool_size: int = 10
    message_log: bool = True
    message_log_retention_days: int = 30
    # Group commit: writes that arrive while a commit is in flight share the next one.
    write_batch_max: int = 512
    # Bounds on memory while the database is slow or away: past them a write fails at once
    # (InternalError to the charge point, 503 to the API) and a log frame is dropped (counted).
    write_queue_max_rows: int = Field(100_000, ge=1, description="rows waiting to be committed, per write lane")
    write_queue_max_bytes: int = Field(64 * 1024 * 1024, ge=1, description="bytes waiting to be committed, per write lane")
    message_log_max_frames: int = Field(200_000, ge=1, description="log frames held in memory until committed")
    message_log_max_bytes: int = Field(64 * 1024 * 1024, ge=1, description="bytes of log frames held in memory")
    query_timeout: float = Field(10.0, gt=0, description="seconds an operator's read (API, dashboard, export) may run")

    # -- OCPP -----------------------------------------------------------------------------
    auto_register: bool = Field(False, description="accept charge points that were not registered before")
    heartbeat_interval: int = Field(300, description="seconds; returned in BootNotification.conf")
    boot_policy: Literal["accept", "pending", "reject-unknown"] = "accept"
    call_timeout: float = Field(30.0, description="seconds a charge point has to answer our CALL")
    ping_interval: float = Field(60.0, description="WebSocket ping interval; 0 disables; per charge point override")
    max_frame_bytes: int = Field(256 * 1024, description="larger WebSocket frames close the connection (1009)")
    handshake_timeout: float = 10.0
    # Passwords (charge points' Basic auth, operators' logins) are hashed on threads of their own.
    password_hash_threads: int = Field(1, ge=1, description="threads that verify passwords, beside the event loop")
    password_hash_queue: int = Field(8, ge=0, description="password checks that may wait; more answer 503 at once")

    # -- cluster --------------------------------------------------------------------------
    redis_url: str | None = None
    node_id: str | None = None

    # -- operator side --------------------------------------------------------------------
    secret_key: str | None = Field(None, description="signs dashboard sessions; random per start when unset")
    log_level: str = "INFO"
    log_format: Literal["console", "json"] = "console"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


class _TomlSource(PydanticBaseSettingsSource):
    """Values from the TOML file named by VOLTLINE_CONFIG (top-level keys = setting names)."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        path = os.environ.get("VOLTLINE_CONFIG")
        self._values: dict[str, Any] = tomllib.loads(Path(path).read_text()) if path else {}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._values.items() if k in self.settings_cls.model_fields}


def load_settings(config_file: str | None = None, **overrides: Any) -> Settings:
    if config_file:
        os.environ["VOLTLINE_CONFIG"] = config_file
    return Settings(**{k: v for k, v in overrides.items() if v is not None})

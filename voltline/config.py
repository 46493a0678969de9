"""Every knob of Voltline, read once into one `Settings` object.

Sources, later ones winning: built-in defaults, a TOML file (`--config` or `VOLTLINE_CONFIG`),
environment variables `VOLTLINE_<NAME>`, and command-line options.

A setting that is not one (a misspelt key or variable) or a value out of its range refuses the
start with `BadSetting`: a typo silently falling back to a default is found in production.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

ENV_PREFIX = "VOLTLINE_"
# Variables of that prefix that are read elsewhere, not settings: the config file's name,
# passwords the CLI takes without echoing them, the scripts' virtualenv, and the test suite's own.
NOT_SETTINGS = frozenset({
    "VOLTLINE_CONFIG", "VOLTLINE_SIMULATE_PASSWORD", "VOLTLINE_USER_PASSWORD", "VOLTLINE_VENV",
    "VOLTLINE_WORKER_PARENT",  # `serve --workers`: the pid of the parent a worker dies with
    "VOLTLINE_WORKER",  # `serve --workers`: a worker's number, which its log lines carry
})
NOT_SETTINGS_PREFIXES = ("VOLTLINE_TEST_",)

# The OCPP security whitepaper's TLS 1.2 suites (1.6 edition 3, 2.0.1 A00.FR.318-320): the
# ECDHE ones first, the plain-RSA ones last for charge points that have nothing better.
WHITEPAPER_CIPHERS = ":".join((
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
    "AES128-GCM-SHA256", "AES256-GCM-SHA384",
))

Port = Annotated[int, Field(ge=0, le=65535)]
Seconds = Annotated[float, Field(gt=0)]


class BadSetting(ValueError):
    """A setting that is not one, or a value it cannot take; the message is one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    # -- listeners ------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: Port = 8000
    ocpp_host: str = "127.0.0.1"
    ocpp_port: Port = 9000
    public_url: str | None = Field(None, description="how operators reach the HTTP listener, for printed links")
    reuse_port: bool = Field(
        False, description="share the listeners' ports with other processes (SO_REUSEPORT), as `serve --workers` does"
    )
    # TLS (OCPP security profiles 2 and 3; DESIGN §6). PEM files, re-read when they change.
    ocpp_plain: bool = Field(True, description="serve plain ws:// on ocpp_port (beside wss:// when TLS is set up)")
    ocpp_tls_port: Port = Field(9443, description="the wss:// listener's port, served when ocpp_tls_cert is set")
    ocpp_tls_cert: str | None = Field(None, description="PEM: the OCPP listener's certificate, its chain after it")
    ocpp_tls_key: str | None = Field(None, description="PEM: the private key of ocpp_tls_cert")
    ocpp_tls_client_ca: str | None = Field(
        None, description="PEM: the CAs charge point certificates must chain to (security profile 3)"
    )
    ocpp_tls_ciphers: str = Field(
        WHITEPAPER_CIPHERS, description="TLS 1.2 cipher suites (OpenSSL names); TLS 1.3 keeps its own"
    )
    default_security_profile: int = Field(0, ge=0, le=3, description="a new charge point's security profile")
    ocpp_trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="addresses or networks of TLS-terminating proxies in front of ocpp_port"
    )
    ocpp_proxy_client_cert_header: str = Field(
        "X-SSL-Client-Cert", description="the header a trusted proxy puts the URL-encoded client certificate in"
    )
    tls_cert: str | None = Field(None, description="PEM: the HTTP listener's certificate (https://)")
    tls_key: str | None = Field(None, description="PEM: the private key of tls_cert")
    tls_reload_interval: Seconds = Field(5.0, description="seconds between checks for changed TLS files (or SIGHUP)")

    # -- storage --------------------------------------------------------------------------
    database_url: str = "sqlite:///voltline.db"
    database_pool_size: int = Field(10, ge=1)
    message_log: bool = True
    message_log_retention_days: int = Field(30, ge=1)
    # Group commit: writes that arrive while a commit is in flight share the next one.
    write_batch_max: int = Field(512, ge=1)
    # Bounds on memory while the database is slow or away: past them a write fails at once
    # (InternalError to the charge point, 503 to the API) and a log frame is dropped (counted).
    write_queue_max_rows: int = Field(100_000, ge=1, description="rows waiting to be committed, per write lane")
    write_queue_max_bytes: int = Field(64 * 1024 * 1024, ge=1, description="bytes waiting to be committed, per write lane")
    message_log_max_frames: int = Field(200_000, ge=1, description="log frames held in memory until committed")
    message_log_max_bytes: int = Field(64 * 1024 * 1024, ge=1, description="bytes of log frames held in memory")
    message_log_hold_seconds: float = Field(
        2.0, ge=0, description="how long a charge point's frames wait to be written as one compressed batch"
    )
    query_timeout: float = Field(10.0, gt=0, description="seconds an operator's read (API, dashboard, export) may run")
    report_rollups: bool = Field(True, description="keep the reports' hourly rollups up to date as data arrives")
    reports_time_zone: str = Field("UTC", description="IANA zone of the reports' day boundaries unless a request names one")

    # -- OCPP -----------------------------------------------------------------------------
    auto_register: bool = Field(False, description="accept charge points that were not registered before")
    heartbeat_interval: int = Field(300, ge=1, description="seconds; returned in BootNotification.conf")
    boot_policy: Literal["accept", "pending", "reject-unknown"] = Field(
        "accept",
        description="what an auto-registered charge point's boot is answered: Accepted, Pending, or Rejected "
        "(recorded, for an operator to accept)",
    )
    call_timeout: Seconds = Field(30.0, description="seconds a charge point has to answer our CALL")
    device_report_timeout: float = Field(
        900.0, gt=0, description="seconds a 2.0.1 report asked for (GetBaseReport / GetReport) may go without a "
        "NotifyReport part before it shows as timed out")
    ping_interval: float = Field(60.0, ge=0, description="WebSocket ping interval; 0 disables; per charge point override")
    max_frame_bytes: int = Field(256 * 1024, ge=1024, description="larger WebSocket frames close the connection (1009)")
    handshake_timeout: Seconds = 10.0
    # Passwords (charge points' Basic auth, operators' logins) are hashed on threads of their own.
    password_hash_threads: int = Field(1, ge=1, description="threads that verify passwords, beside the event loop")
    password_hash_queue: int = Field(8, ge=0, description="password checks that may wait; more answer 503 at once")
    max_inbound_calls: int = Field(
        8, ge=2, description="unanswered CALLs one charge point may have; beyond them its socket is not read"
    )

    # -- certificate authority (security profile 3) --------------------------------------
    ca_cert: str | None = Field(None, description="PEM file of the CA certificate that signs charge point certificates")
    ca_key: str | None = Field(None, description="PEM file of that CA's private key (unencrypted; `voltline ca init`)")
    certificate_validity_days: int = Field(365, ge=1, description="how long a charge point certificate Voltline signs is valid")
    certificate_renew_before_days: int = Field(
        30, ge=1, description="a charge point is asked for a new certificate this many days before its own expires"
    )
    certificate_renewal_interval: Seconds = Field(3600.0, description="seconds between two looks for certificates near expiry")
    certificate_organization: str | None = Field(
        None, description="when set, a charge point's certificate request, and the client certificate it connects "
        "with, must name it as O (the operator's name)"
    )

    # -- cluster --------------------------------------------------------------------------
    redis_url: str | None = Field(None, description="cluster mode when set: the Redis the nodes share")
    node_id: str | None = Field(None, description="this node's name in a cluster; host name and pid when unset")
    cluster_lease_seconds: float = Field(
        15.0, gt=0, description="a cluster job's lease: how long after its node died another node takes the job over"
    )
    presence_expiry: Seconds = Field(
        10.0, description="seconds a node's liveness lasts in Redis unless refreshed; a node silent that long is "
        "dead and its charge points are shown offline within twice this"
    )

    # -- operator side --------------------------------------------------------------------
    secret_key: str | None = Field(None, description="signs dashboard sessions; random per start when unset")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["console", "json"] = "console"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("ocpp_trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        # From the environment: VOLTLINE_OCPP_TRUSTED_PROXIES=10.0.0.5,10.0.1.0/24
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("ocpp_trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            ipaddress.ip_network(entry, strict=False)  # ValueError says which
        return value

    @model_validator(mode="after")
    def _pairs(self) -> Settings:
        for cert, key in (("ocpp_tls_cert", "ocpp_tls_key"), ("tls_cert", "tls_key")):
            if bool(getattr(self, cert)) != bool(getattr(self, key)):
                raise ValueError(f"{cert} and {key} go together")
        if not self.ocpp_plain and not self.ocpp_tls_cert:
            raise ValueError("ocpp_plain = false needs ocpp_tls_cert: no OCPP listener would be left")
        if self.auto_register and self.default_security_profile in (1, 2):
            # Registered as they connect, they have no password: their next connection would fail.
            raise ValueError("auto_register gives charge points no password: default_security_profile 1 or 2 "
                             "would refuse them at their next connection")
        return self

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "sqlite+aiosqlite:", "postgresql://", "postgres://", "postgresql+asyncpg://")):
            raise ValueError("must be sqlite:///PATH or postgresql://…")
        return value

    @model_validator(mode="after")
    def _cluster_needs_secret_key(self) -> Settings:
        # A session signed by one node must open on every node behind the load balancer.
        if self.redis_url and not self.secret_key:
            raise ValueError("cluster mode (redis_url) needs secret_key, the same on every node: "
                             "dashboard sessions signed by one node must open on the others")
        return self

    @model_validator(mode="after")
    def _renewal_within_validity(self) -> Settings:
        # Otherwise every new certificate would be due for renewal at once, pass after pass.
        if self.certificate_renew_before_days >= self.certificate_validity_days:
            raise ValueError("certificate_renew_before_days must be less than certificate_validity_days")
        return self

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
        self._values: dict[str, Any] = _read_toml(path) if path else {}
        unknown = sorted(set(self._values) - set(settings_cls.model_fields))
        if unknown:
            raise BadSetting(f"{path}: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a setting")

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


def _read_toml(path: str) -> dict[str, Any]:
    try:
        return tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise BadSetting(f"{path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadSetting(f"{path}: not TOML ({exc})") from None


def unknown_environment(environ: dict[str, str] | os._Environ[str] = os.environ) -> list[str]:
    """`VOLTLINE_*` variables that name no setting."""
    fields = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    return sorted(
        name for name in environ
        if name.upper().startswith(ENV_PREFIX)
        and name.upper() not in fields
        and name.upper() not in NOT_SETTINGS
        and not name.upper().startswith(NOT_SETTINGS_PREFIXES)
    )


def load_settings(config_file: str | None = None, **overrides: Any) -> Settings:
    """The settings from every source; BadSetting (one line) if any source says nonsense."""
    if config_file:
        os.environ["VOLTLINE_CONFIG"] = config_file
    unknown = unknown_environment()
    if unknown:
        raise BadSetting(f"{', '.join(unknown)} {'names' if len(unknown) == 1 else 'name'} no setting")
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise BadSetting("; ".join(_explain(error) for error in exc.errors())) from None


def _explain(error: Any) -> str:
    if not error["loc"]:  # a rule between settings
        return str(error["msg"]).removeprefix("Value error, ")
    name = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{name} is not a setting"
    return f"{name} = {error.get('input')!r}: {error['msg']}"

"""The `voltline` command: serve, migrate, token, simulate, user, ca."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated, Any, Optional

import typer

from voltline.config import BadSetting, Settings
from voltline.config import load_settings as _load_settings

app = typer.Typer(help="Voltline: a Charging Station Management System for OCPP charge points.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for the REST API.", no_args_is_help=True)
app.add_typer(token_app, name="token")

ConfigOption = Annotated[Optional[str], typer.Option("--config", help="a TOML settings file")]
DatabaseOption = Annotated[
    Optional[str], typer.Option("--database-url", help="sqlite:///path or postgresql://… (env VOLTLINE_DATABASE_URL)")
]


def load_settings(config_file: str | None = None, **overrides: Any) -> Settings:
    """The settings, or the one line that says which is wrong and exit status 2."""
    try:
        return _load_settings(config_file, **overrides)
    except BadSetting as exc:
        typer.echo(f"voltline: bad setting {exc}", err=True)
        raise typer.Exit(2) from None


def _run(coroutine) -> object:  # type: ignore[no-untyped-def]
    try:
        import uvloop

        return uvloop.run(coroutine)
    except ImportError:
        return asyncio.run(coroutine)


@app.command()
def serve(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    host: Annotated[Optional[str], typer.Option(help="HTTP listener address (env VOLTLINE_HOST)")] = None,
    port: Annotated[Optional[int], typer.Option(help="HTTP listener port (env VOLTLINE_PORT)")] = None,
    ocpp_host: Annotated[Optional[str], typer.Option(help="OCPP listener address (env VOLTLINE_OCPP_HOST)")] = None,
    ocpp_port: Annotated[Optional[int], typer.Option(help="OCPP listener port (env VOLTLINE_OCPP_PORT)")] = None,
    ocpp_tls_port: Annotated[
        Optional[int], typer.Option(help="wss:// listener port, with ocpp_tls_cert set (env VOLTLINE_OCPP_TLS_PORT)")
    ] = None,
    auto_register: Annotated[
        Optional[bool], typer.Option("--auto-register/--no-auto-register", help="accept unknown charge points")
    ] = None,
    demo: Annotated[
        bool,
        typer.Option("--demo", help="on a local demo database, with simulated charge points charging at once"),
    ] = False,
    tls: Annotated[
        bool, typer.Option("--tls", help="with --demo: over wss://, certificates made at the start (voltline-demo-tls/)")
    ] = False,
    workers: Annotated[
        int, typer.Option(min=1, help="run this many nodes of a cluster on the same ports (needs redis_url)")
    ] = 1,
) -> None:
    """Run the server: OCPP-J WebSocket listener and HTTP (API, dashboard) listener."""
    from voltline.app import Voltline
    from voltline.gateway.tls import TlsFilesError
    from voltline.logging import configure, flush
    from voltline.services.security.authority import AuthorityNotConfigured

    if demo and not database_url and "VOLTLINE_DATABASE_URL" not in os.environ:
        from voltline.demo import DEMO_DATABASE

        database_url = DEMO_DATABASE
    overrides = dict(
        database_url=database_url, host=host, port=port, ocpp_host=ocpp_host, ocpp_port=ocpp_port,
        ocpp_tls_port=ocpp_tls_port, auto_register=auto_register,
    )
    settings = load_settings(config, **overrides)
    if workers > 1:
        _serve_workers(settings, workers, overrides, demo)
        return
    from voltline.workers import die_with_parent

    die_with_parent()
    configure("WARNING" if demo and "VOLTLINE_LOG_LEVEL" not in os.environ else settings.log_level, settings.log_format)
    try:
        if demo:
            from voltline.demo import run_demo

            report = _run(run_demo(settings, tls=tls))
        else:
            report = _run(Voltline(settings).run_forever())
    except KeyboardInterrupt:  # a signal before the server was up
        raise typer.Exit(130) from None
    except OSError as exc:
        # Most often a port that another program holds: say so plainly, without a traceback.
        typer.echo(f"voltline: cannot start: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None
    except (TlsFilesError, AuthorityNotConfigured) as exc:
        typer.echo(f"voltline: cannot start: {exc}", err=True)
        raise typer.Exit(1) from None
    flush()  # the log is written by a thread of its own: this line comes last
    typer.echo(f"voltline: stopped ({report})", err=True)


def _serve_workers(settings: Settings, workers: int, overrides: dict[str, Any], demo: bool) -> None:
    """`serve --workers N`: the schema made (once, not raced by N nodes), then N nodes."""
    from voltline.store.database import create_engine
    from voltline.store.migrate import SchemaOutdated, ensure_schema
    from voltline.workers import run_workers

    def refuse(why: str) -> None:
        typer.echo(f"voltline: cannot start {workers} workers: {why}", err=True)
        raise typer.Exit(2)

    if demo:
        refuse("--demo runs one node")
    if not settings.redis_url:
        refuse("they are nodes of one cluster and need redis_url (VOLTLINE_REDIS_URL), the Redis they share")
    if settings.port == 0 or (settings.ocpp_plain and settings.ocpp_port == 0):
        refuse("they share their ports, which must be given (not 0)")

    async def schema() -> None:
        engine = create_engine(settings.database_url)
        try:
            await ensure_schema(engine)
        finally:
            await engine.dispose()

    try:
        _run(schema())
    except (SchemaOutdated, OSError) as exc:
        typer.echo(f"voltline: cannot start: {exc}", err=True)
        raise typer.Exit(1) from None
    environment = {
        f"VOLTLINE_{name.upper()}": str(value).lower() if isinstance(value, bool) else str(value)
        for name, value in overrides.items() if value is not None
    }
    status = run_workers(workers, environment, settings.node_id)
    typer.echo(f"voltline: {workers} workers stopped", err=True)
    raise typer.Exit(status)


@app.command()
def migrate(config: ConfigOption = None, database_url: DatabaseOption = None) -> None:
    """Bring the database schema up to date."""
    from voltline.store.database import create_engine
    from voltline.store.migrate import upgrade

    settings = load_settings(config, database_url=database_url)

    async def run() -> None:
        engine = create_engine(settings.database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    _run(run())
    typer.echo("database schema is up to date")


def _with_services(settings: Settings, action):  # type: ignore[no-untyped-def]
    """Run `action(services)` against the configured database, outside a running server."""
    from voltline.bus.events import EventBus
    from voltline.services.container import Services
    from voltline.store.database import Store
    from voltline.store.migrate import ensure_schema

    async def run():  # type: ignore[no-untyped-def]
        store = Store(settings.database_url)
        try:
            await ensure_schema(store.engine)
            return await action(Services.build(settings, store, EventBus(), "cli"))
        finally:
            await store.close()

    return _run(run())


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="what the token is for")],
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Create an API token; it is printed once, alone on the last line."""
    token, secret = _with_services(load_settings(config, database_url=database_url), lambda s: s.tokens.create(name))
    typer.echo(f"created API token {token.id} ({token.name}); keep it, it is not shown again:")
    typer.echo(secret)


@token_app.command("list")
def token_list(config: ConfigOption = None, database_url: DatabaseOption = None) -> None:
    """List API tokens (never their secrets)."""
    for token in _with_services(load_settings(config, database_url=database_url), lambda s: s.tokens.list()):
        state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
        used = f"last used {token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never used"
        typer.echo(f"{token.id}\t{token.name}\t{token.created_at:%Y-%m-%d %H:%M}\t{state}\t{used}")


@token_app.command("revoke")
def token_revoke(token_id: int, config: ConfigOption = None, database_url: DatabaseOption = None) -> None:
    """Revoke an API token by its number."""
    if not _with_services(load_settings(config, database_url=database_url), lambda s: s.tokens.revoke(token_id)):
        typer.echo(f"no active token {token_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked token {token_id}")


def _mount_subcommands() -> None:
    from voltline.simulator.cli import simulate_app
    from voltline.user_cli import user_app
    from voltline.ca_cli import ca_app

    app.add_typer(simulate_app, name="simulate")
    app.add_typer(ca_app, name="ca")
    app.add_typer(user_app, name="user")


_mount_subcommands()


reports_app = typer.Typer(help="The reports' hourly rollups.", no_args_is_help=True)
app.add_typer(reports_app, name="reports")


@reports_app.command("rebuild")
def reports_rebuild(config: ConfigOption = None, database_url: DatabaseOption = None) -> None:
    """Recompute the energy, session, idle and status rollups from the transactions, meter values
    and status history (best with the server stopped)."""
    from voltline.services.reports.rebuild import rebuild

    report = _with_services(load_settings(config, database_url=database_url), lambda s: rebuild(s.store, s.rollups.grains))
    typer.echo(str(report))

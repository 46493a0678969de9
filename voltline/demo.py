"""`voltline serve --demo`: the server on SQLite with simulated charge points charging at once.

A newcomer runs one command and within seconds sees sessions in the dashboard: charge points,
id tags, an operator login and an API token are created (or refreshed) in a local database, and
a simulated fleet starts charging against the server in the same process.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets

import sqlalchemy as sa
from rich.console import Console
from rich.panel import Panel

from voltline.app import StopReport, Voltline, stop_signals
from voltline.config import Settings
from voltline.services.users import UnknownUser, UserExists, UserService
from voltline.simulator import Simulator
from voltline.simulator.traffic import drive_connector
from voltline.store import tables as t

DEMO_DATABASE = "sqlite:///voltline-demo.db"
CHARGE_POINTS = [f"DEMO-{n}" for n in range(1, 5)]
ACCEPTED_TAGS = ["DEMO-TAG-1", "DEMO-TAG-2", "DEMO-TAG-3", "DEMO-FLEET"]
OPERATOR = "admin"


async def _seed(voltline: Voltline) -> tuple[str, str]:
    """Register the demo fleet and tags if missing; return a fresh operator password and API token."""
    for identity in CHARGE_POINTS:
        if voltline.services.charge_points.access(identity) is None:
            await voltline.services.charge_points.register(identity, description="simulated demo charge point")
    existing = {r.id_tag for r in await voltline.store.fetch_all(sa.select(t.id_tags.c.id_tag))}
    tags = [(tag, "Accepted", "DEMO-FLEET" if tag != "DEMO-FLEET" else None) for tag in ACCEPTED_TAGS]
    tags.append(("DEMO-BLOCKED", "Blocked", None))
    new = [{"id_tag": tag, "status": status, "parent_id_tag": parent} for tag, status, parent in tags if tag not in existing]
    if new:
        await voltline.store.write(lambda conn: conn.execute(t.id_tags.insert(), new))

    password = secrets.token_urlsafe(9)
    users = UserService(voltline.store)
    try:
        await users.create(OPERATOR, password)
    except UserExists:
        with contextlib.suppress(UnknownUser):
            await users.set_password(OPERATOR, password)
    _, token = await voltline.services.tokens.create("demo")
    return password, token


async def run_demo(settings: Settings, console: Console | None = None) -> StopReport:
    """Serve with a simulated fleet until SIGTERM or SIGINT (Ctrl-C), then stop gracefully."""
    console = console or Console()
    voltline = Voltline(settings)
    requested = asyncio.Event()
    with stop_signals(requested):
        await voltline.start()
        try:
            await _run_fleet(voltline, settings, console, requested)
        finally:
            report = await voltline.stop()
    return report


async def _run_fleet(voltline: Voltline, settings: Settings, console: Console, requested: asyncio.Event) -> None:
    """Seed, say how to reach everything, and run the simulated fleet until a stop is requested."""
    password, token = await _seed(voltline)
    http = f"http://{settings.host}:{voltline.http_port}"
    console.print(
        Panel.fit(
            f"[bold]Dashboard[/]  {http}/   login [bold]{OPERATOR}[/] / [bold]{password}[/]\n"
            f"[bold]REST API[/]   {http}/docs   token [bold]{token}[/]\n"
            f"[bold]OCPP[/]       ws://{settings.ocpp_host}:{voltline.ocpp_port}/ocpp/{{chargePointId}}\n"
            f"[bold]Database[/]   {settings.database_url}\n\n"
            f"{len(CHARGE_POINTS)} simulated charge points are connecting; sessions start within seconds.\n"
            "Stop with Ctrl-C.",
            title="Voltline demo",
        )
    )
    simulator = Simulator(
        f"ws://{settings.ocpp_host}:{voltline.ocpp_port}/ocpp",
        identities=CHARGE_POINTS,
        connectors=2,
        vendor="Voltline",
        model="Demo AC 22",
        meter_interval=10,
        heartbeat_interval=60,
        seed="demo",
    )
    async with simulator:
        # Two drivers are already waiting; the rest arrive at random.
        for cp, tag in ((simulator[CHARGE_POINTS[0]], ACCEPTED_TAGS[0]), (simulator[CHARGE_POINTS[1]], ACCEPTED_TAGS[1])):
            await cp.plug_in(1, tag, energy_kwh=2.0, soc=40.0, max_power_w=11_000.0, unplug_when_full=True)
        drivers = asyncio.gather(*(
            drive_connector(cp, connector, [*ACCEPTED_TAGS, "DEMO-BLOCKED"], mean_idle_s=45.0, energy_kwh=(0.5, 3.0))
            for cp in simulator
            for connector in cp.connectors
        ))
        stop = asyncio.ensure_future(requested.wait())
        await asyncio.wait([drivers, stop], return_when=asyncio.FIRST_COMPLETED)
        for waiting in (drivers, stop):
            waiting.cancel()
        await asyncio.gather(drivers, stop, return_exceptions=True)

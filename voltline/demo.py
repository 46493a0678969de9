"""`voltline serve --demo`: the server on SQLite with simulated charge points charging at once.

A newcomer runs one command and within seconds sees sessions in the dashboard: charge points,
id tags, an operator login and an API token are created (or refreshed) in a local database, and
a simulated fleet starts charging against the server in the same process. The demo accepts
charge points it does not know (unless `auto_register` is set otherwise), so the README's
`voltline simulate` example connects without registering first, and it prints the exact
commands to try it from a second terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from rich.console import Console
from rich.panel import Panel

from voltline.app import StopReport, Voltline, stop_signals
from voltline.config import Settings
from voltline.services.security.operators import UnknownUser, UserExists, UserService
from voltline.demo_tls import DEMO_ORGANIZATION, DemoPki, make_demo_pki
from voltline.simulator import ClientTls, Simulator
from voltline.simulator.simulator import speaks_201
from voltline.simulator.traffic import drive_connector
from voltline.store import tables as t

DEMO_DATABASE = "sqlite:///voltline-demo.db"
DEMO_TLS_FOLDER = "voltline-demo-tls"
CHARGE_POINTS = [f"DEMO-{n}" for n in range(1, 5)]
CONNECTORS = 2  # per charge point: connectors 1 and 2 on 1.6, EVSEs 1 and 2 on 2.0.1
# A mixed fleet, as most operators have: every second charge point (DEMO-2, DEMO-4) speaks OCPP
# 2.0.1, the others 1.6 (Simulator's `speaks_201` spreads them).
OCPP_VERSION, SHARE_201 = "mixed", 0.5
# One driver's card per connector: a tag may be in one session at a time, so fewer tags than
# connectors would leave a driver refused with ConcurrentTx and a connector in Preparing.
DRIVER_TAGS = [f"DEMO-TAG-{n}" for n in range(1, len(CHARGE_POINTS) * CONNECTORS + 1)]
# The fleet card: parent of the drivers' cards, good for any number of sessions at once (the
# README's simulator example charges twenty connectors with it).
FLEET_TAG = "DEMO-FLEET"
BLOCKED_TAG = "DEMO-BLOCKED"
OPERATOR = "admin"


async def _seed(voltline: Voltline, passwords: dict[str, str]) -> tuple[str, str]:
    """Register the demo fleet and tags if missing; return a fresh operator password and API token.
    With TLS, the first half of the fleet is held to security profile 2 (TLS and `passwords`),
    the other half to profile 3 (client certificates); without, to none."""
    charge_points = voltline.services.charge_points
    for number, identity in enumerate(CHARGE_POINTS):
        if charge_points.access(identity) is None:
            await charge_points.register(identity, description="simulated demo charge point")
        if not passwords:
            await charge_points.update(identity, security_profile=0, password=None)
        elif identity in passwords:
            await charge_points.update(identity, security_profile=2, password=passwords[identity])
        else:
            await charge_points.update(identity, security_profile=3, password=None)
    existing = {r.id_tag for r in await voltline.store.fetch_all(sa.select(t.id_tags.c.id_tag))}
    tags = [{"id_tag": FLEET_TAG, "status": "Accepted", "parent_id_tag": None, "max_active_transactions": 0}]
    tags += [{"id_tag": tag, "status": "Accepted", "parent_id_tag": FLEET_TAG, "max_active_transactions": 1}
             for tag in DRIVER_TAGS]
    tags.append({"id_tag": BLOCKED_TAG, "status": "Blocked", "parent_id_tag": None, "max_active_transactions": 1})

    async def seed_tags(conn: AsyncConnection) -> None:
        new = [tag for tag in tags if tag["id_tag"] not in existing]
        if new:
            await conn.execute(t.id_tags.insert(), new)
        # A demo database from an earlier version has a fleet card limited to one session.
        await conn.execute(
            t.id_tags.update().where(t.id_tags.c.id_tag == FLEET_TAG).values(status="Accepted", max_active_transactions=0)
        )

    await voltline.store.write(seed_tags)

    password = secrets.token_urlsafe(9)
    users = UserService(voltline.store)
    try:
        await users.create(OPERATOR, password)
    except UserExists:
        with contextlib.suppress(UnknownUser):
            await users.set_password(OPERATOR, password)
    _, token = await voltline.services.tokens.create("demo")
    return password, token


def demo_settings(settings: Settings) -> Settings:
    """The demo accepts unknown charge points unless told otherwise (`--no-auto-register`)."""
    if "auto_register" in settings.model_fields_set:
        return settings
    return settings.model_copy(update={"auto_register": True})


def _voltline_command() -> str:
    """How this process was called, as a second terminal in the same folder can call it again."""
    called = Path(sys.argv[0])
    if called.name != "voltline":
        return "voltline"
    if called.is_absolute():
        with contextlib.suppress(ValueError):
            return str(called.relative_to(Path.cwd()))
    return str(called)


def _versions() -> str:
    by_version: dict[str, list[str]] = {}
    for index, identity in enumerate(CHARGE_POINTS):
        version = "2.0.1" if speaks_201(index, OCPP_VERSION, SHARE_201) else "1.6"
        by_version.setdefault(version, []).append(identity)
    return "; ".join(f"OCPP {version}: {', '.join(names)}" for version, names in sorted(by_version.items()))


def try_it_commands(settings: Settings, http_port: int, ocpp_port: int) -> list[str]:
    """The README's first commands against this demo, with its ports and database filled in."""
    voltline = _voltline_command()
    api = f"http://127.0.0.1:{http_port}/api/v1"
    return [
        f"export VOLTLINE_PORT={http_port} VOLTLINE_OCPP_PORT={ocpp_port}",
        f"TOKEN=$({voltline} token create --name cli --database-url {settings.database_url} | tail -n 1)",
        f'curl -H "Authorization: Bearer $TOKEN" {api}/charge-points',
        f"{voltline} simulate --url ws://127.0.0.1:{ocpp_port}/ocpp --prefix SIM- --charge-points 10 "
        f"--connectors 2 --id-tag {FLEET_TAG} --mean-idle 30",
    ]


def demo_tls_settings(settings: Settings, pki: DemoPki) -> Settings:
    """The OCPP listener on wss:// with the demo's certificates, client certificates checked."""
    return settings.model_copy(update={
        "ocpp_tls_cert": pki.server_cert, "ocpp_tls_key": pki.server_key, "ocpp_tls_client_ca": pki.ca_file,
        "certificate_organization": DEMO_ORGANIZATION,
    })


async def run_demo(settings: Settings, console: Console | None = None, tls: bool = False) -> StopReport:
    """Serve with a simulated fleet until SIGTERM or SIGINT (Ctrl-C), then stop gracefully.
    With `tls`, over wss:// with certificates made now (voltline/demo_tls.py)."""
    console = console or Console()
    settings = demo_settings(settings)
    pki = None
    if tls:
        pki = make_demo_pki(Path(DEMO_TLS_FOLDER), CHARGE_POINTS)
        settings = demo_tls_settings(settings, pki)
    voltline = Voltline(settings)
    requested = asyncio.Event()
    with stop_signals(requested):
        await voltline.start()
        try:
            await _run_fleet(voltline, settings, console, requested, pki)
        finally:
            report = await voltline.stop()
    return report


async def _run_fleet(
    voltline: Voltline, settings: Settings, console: Console, requested: asyncio.Event, pki: DemoPki | None = None
) -> None:
    """Seed, say how to reach everything, and run the simulated fleet until a stop is requested."""
    passwords = {identity: secrets.token_urlsafe(18) for identity in CHARGE_POINTS[:len(CHARGE_POINTS) // 2]} if pki else {}
    password, token = await _seed(voltline, passwords)
    ocpp = f"ws://{settings.ocpp_host}:{voltline.ocpp_port}/ocpp"
    if pki is not None:
        ocpp = f"wss://{settings.ocpp_host}:{voltline.ocpp_tls_port}/ocpp"
    http = f"http://{settings.host}:{voltline.http_port}"
    registration = (
        "Unknown charge points are registered as they connect." if settings.auto_register
        else "Only registered charge points may connect."
    )
    console.print(
        Panel.fit(
            f"[bold]Dashboard[/]  {http}/   login [bold]{OPERATOR}[/] / [bold]{password}[/]\n"
            f"[bold]REST API[/]   {http}/docs   token [bold]{token}[/]\n"
            f"[bold]OCPP[/]       {ocpp}/{{chargePointId}}"
            + (f"  (CA {pki.ca_file}; profile 2: {', '.join(passwords)}, profile 3: "
               f"{', '.join(CHARGE_POINTS[len(passwords):])})" if pki else "") + "\n"
            f"[bold]Database[/]   {settings.database_url}\n\n"
            f"{len(CHARGE_POINTS)} simulated charge points are connecting ({_versions()}); "
            "sessions start within seconds.\n"
            f"{registration} Stop with Ctrl-C.",
            title="Voltline demo",
        )
    )
    # Printed unwrapped and undecorated, so that they can be copied as they are.
    console.print(f"Try it from a second terminal, in {os.getcwd()} (more in README.md):", highlight=False)
    for command in try_it_commands(settings, voltline.http_port, voltline.ocpp_port):
        console.print(f"  {command}", soft_wrap=True, highlight=False, markup=False)
    simulator = Simulator(
        ocpp,
        identities=CHARGE_POINTS,
        passwords=passwords,
        tls=ClientTls(pki.ca_file, pki.client_cert, pki.client_key) if pki else None,
        connectors=CONNECTORS,
        ocpp_version=OCPP_VERSION,
        share_201=SHARE_201,
        vendor="Voltline",
        model="Demo AC 22",
        meter_interval=10,
        heartbeat_interval=60,
        seed="demo",
    )
    async with simulator:
        cards = iter(DRIVER_TAGS)
        driver_tag = {(cp.identity, connector): next(cards) for cp in simulator for connector in cp.connectors}
        # Two drivers are already waiting, at a 1.6 and at a 2.0.1 charge point; the rest arrive
        # at random, each connector's with its own card, now and then one with a blocked card
        # (refused, and leaves).
        for cp in (simulator[CHARGE_POINTS[0]], simulator[CHARGE_POINTS[1]]):
            await cp.plug_in(1, driver_tag[(cp.identity, 1)], energy_kwh=2.0, soc=40.0, max_power_w=11_000.0,
                             unplug_when_full=True)
        drivers = asyncio.gather(*(
            drive_connector(cp, connector, [driver_tag[(cp.identity, connector)]] * 4 + [BLOCKED_TAG],
                            mean_idle_s=45.0, energy_kwh=(0.5, 3.0))
            for cp in simulator
            for connector in cp.connectors
        ))
        stop = asyncio.ensure_future(requested.wait())
        await asyncio.wait([drivers, stop], return_when=asyncio.FIRST_COMPLETED)
        for waiting in (drivers, stop):
            waiting.cancel()
        await asyncio.gather(drivers, stop, return_exceptions=True)

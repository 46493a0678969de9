"""`voltline simulate`: run simulated charge points against a central system from the terminal."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live

from voltline.simulator.display import render
from voltline.simulator.scenario import Scenario, ScenarioError
from voltline.simulator.simulator import Simulator
from voltline.simulator.station import DEFAULT_MAX_POWER_W
from voltline.simulator.tls import ClientTls
from voltline.simulator.traffic import run_traffic

BOOT_WAIT_S = 30.0  # real seconds the CLI waits for the fleet to boot before scripted activity

simulate_app = typer.Typer(help="Simulate OCPP 1.6J charge points and 2.0.1 charging stations against a central system.")


@simulate_app.callback(invoke_without_command=True)
def simulate(
    url: Annotated[str, typer.Option(help="Central system endpoint; a charge point connects to {url}/{identity}.")] = (
        "ws://127.0.0.1:9000/ocpp"
    ),
    charge_points: Annotated[int, typer.Option("--charge-points", "-n", min=1, help="How many charge points.")] = 1,
    connectors: Annotated[
        int, typer.Option("--connectors", "-m", min=1, help="Connectors per charge point (2.0.1: EVSEs per station).")
    ] = 1,
    ocpp_version: Annotated[
        str,
        typer.Option(
            help="1.6, 2.0.1, or mixed: a fleet of both, --share-201 of it on 2.0.1 (spread evenly among the identities)."
        ),
    ] = "1.6",
    share_201: Annotated[
        float, typer.Option("--share-201", min=0.0, max=1.0, help="With --ocpp-version mixed: the share on 2.0.1.")
    ] = 0.5,
    connectors_per_evse: Annotated[
        int, typer.Option(min=1, help="2.0.1: connectors per EVSE (one cable in use at a time).")
    ] = 1,
    duration: Annotated[
        float | None,
        typer.Option("--duration", "-d", min=0, help="Stop after this many simulated seconds (default: until Ctrl-C)."),
    ] = None,
    prefix: Annotated[str, typer.Option(help="Identities are {prefix}{n}.")] = "CP-",
    first: Annotated[int, typer.Option(min=0, help="Number of the first charge point.")] = 1,
    vendor: Annotated[str, typer.Option(help="chargePointVendor in BootNotification.")] = "Voltline",
    model: Annotated[str, typer.Option(help="chargePointModel in BootNotification.")] = "Simulator",
    firmware: Annotated[str, typer.Option(help="firmwareVersion in BootNotification.")] = "1.0.0",
    password: Annotated[
        str | None,
        typer.Option(envvar="VOLTLINE_SIMULATE_PASSWORD", help="HTTP Basic password (the user is the identity)."),
    ] = None,
    ca_file: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="wss://: PEM of the CAs the central system's certificate chains to."),
    ] = None,
    client_cert: Annotated[
        str | None,
        typer.Option(help="wss://: PEM client certificate (profile 3); {identity} in the path is each station's."),
    ] = None,
    client_key: Annotated[str | None, typer.Option(help="wss://: PEM key of --client-cert ({identity} as there).")] = None,
    heartbeat_interval: Annotated[
        int | None, typer.Option(min=1, help="Heartbeat every N s instead of the interval the central system returns.")
    ] = None,
    meter_interval: Annotated[
        int, typer.Option(min=0, help="MeterValueSampleInterval (2.0.1: TxUpdatedInterval) in s (0: no samples).")
    ] = 60,
    max_power: Annotated[float, typer.Option(min=0, help="Power each connector can deliver, in W.")] = (
        DEFAULT_MAX_POWER_W
    ),
    speed: Annotated[float, typer.Option(min=0.001, help="Simulated seconds per real second.")] = 1.0,
    seed: Annotated[int | None, typer.Option(help="Seed for reproducible runs.")] = None,
    scenario: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="YAML scenario of timed actions and faults.")
    ] = None,
    traffic: Annotated[
        bool | None,
        typer.Option("--traffic/--no-traffic", help="Random drivers come and charge (default: on without a scenario)."),
    ] = None,
    id_tag: Annotated[
        list[str] | None, typer.Option("--id-tag", help="idTag(s) the random drivers present (repeatable).")
    ] = None,
    mean_idle: Annotated[float, typer.Option(min=1, help="Mean simulated seconds a connector stays free.")] = 600.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live view; print the summary at the end.")] = False,
) -> None:
    """Connect N charge points with M connectors each and let them behave like real stations."""
    plan = None
    if scenario is not None:
        try:
            plan = Scenario.load(scenario)
        except ScenarioError as exc:
            raise typer.BadParameter(str(exc), param_hint="--scenario") from None
    try:
        tls = None
        if ca_file or client_cert or client_key:
            tls = ClientTls(str(ca_file) if ca_file else None, client_cert, client_key)
        simulator = Simulator(
            url,
            charge_points,
            connectors,
            prefix=prefix,
            first=first,
            vendor=vendor,
            model=model,
            firmware=firmware,
            password=password,
            tls=tls,
            heartbeat_interval=heartbeat_interval,
            meter_interval=meter_interval,
            max_power_w=max_power,
            seed=seed,
            speed=speed,
            wait_accepted=False,
            ocpp_version=ocpp_version,
            share_201=share_201,
            connectors_per_evse=connectors_per_evse,
        )
        if plan is not None:
            plan.check(simulator)
    except (ValueError, ScenarioError) as exc:
        raise typer.BadParameter(str(exc)) from None
    tags = id_tag or ["SIMULATOR"]
    console = Console()
    failed = False
    with contextlib.suppress(KeyboardInterrupt):
        failed = asyncio.run(
            _run(
                simulator,
                plan,
                traffic if traffic is not None else plan is None,
                tags,
                mean_idle,
                duration,
                quiet,
                console,
            )
        )
    summary = simulator.summary()
    console.print(
        f"{summary['charge_points']} charge points · {summary['transactions']} sessions · "
        f"{summary['energy_wh'] / 1000.0:.2f} kWh delivered · {summary['errors']} errors"
    )
    if failed:
        raise typer.Exit(1)


async def _run(
    simulator: Simulator,
    plan: Scenario | None,
    traffic: bool,
    id_tags: list[str],
    mean_idle: float,
    duration: float | None,
    quiet: bool,
    console: Console,
) -> bool:
    """Run until `duration` (simulated) or interruption; True when the scenario failed."""
    await simulator.start()

    async def booted_then(action: Callable[[], Awaitable[None]]) -> None:
        # Scenario time starts once the fleet is up (or has had its chance), so a plug-in at
        # t=0 meets an accepted station rather than one still connecting.
        with contextlib.suppress(TimeoutError):
            await simulator.wait_accepted(BOOT_WAIT_S)
        await action()

    tasks: list[asyncio.Task[None]] = []
    if plan is not None:
        tasks.append(asyncio.create_task(booted_then(lambda: plan.run(simulator))))
    if traffic:
        tasks.append(asyncio.create_task(booted_then(lambda: run_traffic(simulator, id_tags, mean_idle))))
    live = None if quiet else Live(render(simulator), console=console, refresh_per_second=4)
    failed = False
    try:
        if live is not None:
            live.start()
        while duration is None or simulator.clock.elapsed() < duration:
            await asyncio.sleep(0.25)
            if live is not None:
                live.update(render(simulator))
            for task in tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    console.print(f"[red]scenario failed: {task.exception()}[/red]")
                    failed = True
            if failed:
                break
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        # Sessions end properly (StopTransaction delivered) before the stations power off.
        await simulator.stop_all_sessions("Local", timeout=5.0)
        if live is not None:
            live.update(render(simulator))
            live.stop()
        await simulator.stop()
    return failed

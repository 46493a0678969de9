"""Benchmark peer: a minimal OCPP 1.6J central system on the Python ``ocpp`` package
over ``websockets`` (the pairing its documentation shows), answering what the load
generator sends. State is in memory; there is no business logic.

    python bench/peers/python-ocpp/server.py [--host 127.0.0.1] [--port 9000] [--no-uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import signal
from datetime import UTC, datetime
from urllib.parse import unquote

from ocpp.routing import on
from ocpp.v16 import ChargePoint as _ChargePoint
from ocpp.v16 import call_result
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

_transaction_ids = itertools.count(1)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class ChargePoint(_ChargePoint):
    @on(Action.boot_notification)
    def on_boot_notification(
        self, charge_point_vendor: str, charge_point_model: str, **_
    ):
        return call_result.BootNotification(
            current_time=_now(), interval=300, status=RegistrationStatus.accepted
        )

    @on(Action.heartbeat)
    def on_heartbeat(self):
        return call_result.Heartbeat(current_time=_now())

    @on(Action.status_notification)
    def on_status_notification(
        self, connector_id: int, error_code: str, status: str, **_
    ):
        return call_result.StatusNotification()

    @on(Action.meter_values)
    def on_meter_values(self, connector_id: int, meter_value: list, **_):
        return call_result.MeterValues()

    @on(Action.authorize)
    def on_authorize(self, id_tag: str):
        return call_result.Authorize(
            id_tag_info={"status": AuthorizationStatus.accepted}
        )

    @on(Action.start_transaction)
    def on_start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **_
    ):
        return call_result.StartTransaction(
            transaction_id=next(_transaction_ids),
            id_tag_info={"status": AuthorizationStatus.accepted},
        )

    @on(Action.stop_transaction)
    def on_stop_transaction(
        self, meter_stop: int, timestamp: str, transaction_id: int, **_
    ):
        return call_result.StopTransaction(
            id_tag_info={"status": AuthorizationStatus.accepted}
        )


async def _handle(connection: ServerConnection) -> None:
    path = connection.request.path
    if connection.subprotocol != "ocpp1.6" or not path.startswith("/ocpp/"):
        await connection.close(1002, "ocpp1.6 on /ocpp/{id} required")
        return
    charge_point = ChargePoint(unquote(path.rstrip("/").rsplit("/", 1)[-1]), connection)
    try:
        await charge_point.start()
    except ConnectionClosed:
        pass


async def _serve(host: str, port: int, backlog: int) -> None:
    async with serve(
        _handle, host, port, subprotocols=["ocpp1.6"], backlog=backlog
    ) as server:
        print(
            f"python-ocpp peer listening on ws://{host}:{port}/ocpp/{{id}}", flush=True
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--backlog", type=int, default=4096)
    parser.add_argument(
        "--no-uvloop", action="store_true", help="use asyncio's default event loop"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    coro = _serve(args.host, args.port, args.backlog)
    if args.no_uvloop:
        asyncio.run(coro)
    else:
        import uvloop

        uvloop.run(coro)


if __name__ == "__main__":
    main()

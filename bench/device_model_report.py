"""A 2.0.1 full inventory of --variables variables in --parts NotifyReport parts, against a real
Voltline (in this process, on SQLite in a temporary directory or on --database-url; the stations
in a process of their own), while a second station sends Heartbeats: each part's round trip (the answer comes once the part is
stored), the whole report's time, and the other station's Heartbeat round trips meanwhile.

    python bench/device_model_report.py
    python bench/device_model_report.py --database-url postgresql://postgres@127.0.0.1:5432/bench_dm

The stations speak raw OCPP-J frames, so the figures are Voltline's (validation and storage),
not a client library's. Nothing is asserted: the figures go to stdout."""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import websockets

from voltline.app import Voltline
from voltline.config import Settings


def entry(part: int, i: int) -> dict[str, Any]:
    return {
        "component": {"name": f"Controller{part}", "evse": {"id": 1 + i % 2}},
        "variable": {"name": f"Variable{i}"},
        "variableAttribute": [{"type": "Actual", "value": str(i), "mutability": "ReadWrite"}],
        "variableCharacteristics": {"dataType": "integer", "unit": "s", "supportsMonitoring": False},
    }


class Raw:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.n = 0

    async def call(self, action: str, payload: dict[str, Any], *, answered: bool = True) -> Any:
        self.n += 1
        message_id = str(self.n)
        await self.ws.send(json.dumps([2, message_id, action, payload]))
        while True:
            frame = json.loads(await self.ws.recv())
            if frame[0] == 2:  # the Central System's own CALL (GetBaseReport at boot): answered
                await self.ws.send(json.dumps([3, frame[1], {"status": "Accepted"}]))
            elif frame[1] == message_id:
                assert frame[0] == 3 or not answered, frame
                return frame[2]


BOOT = {"chargingStation": {"vendorName": "Bench", "model": "Inventory"}, "reason": "PowerUp"}


async def heartbeats(url: str, stop: asyncio.Event, times: list[float]) -> None:
    async with websockets.connect(url, subprotocols=["ocpp2.0.1"]) as ws:
        station = Raw(ws)
        await station.call("BootNotification", BOOT)
        while not stop.is_set():
            started = time.perf_counter()
            # A round trip through the same event loop, answered or (where no 2.0.1 Heartbeat
            # handler is built in) refused as NotImplemented alike.
            await station.call("Heartbeat", {}, answered=False)
            times.append(time.perf_counter() - started)
            await asyncio.sleep(0.01)


async def stations(base: str, variables: int, parts_n: int) -> dict[str, Any]:
    stop, beats = asyncio.Event(), []
    per_part = variables // parts_n
    parts = [[entry(p, i) for i in range(per_part)] for p in range(parts_n)]
    async with websockets.connect(f"{base}/BENCH-DM", subprotocols=["ocpp2.0.1"], max_size=2**26) as ws:
        station = Raw(ws)
        await station.call("BootNotification", BOOT)
        other = asyncio.create_task(heartbeats(f"{base}/BENCH-HB", stop, beats))
        while not beats:
            await asyncio.sleep(0.01)
        rounds = []
        started = time.perf_counter()
        for seq_no, data in enumerate(parts):
            t0 = time.perf_counter()
            await station.call("NotifyReport", {
                "requestId": 999, "generatedAt": "2026-12-02T10:00:00Z", "seqNo": seq_no,
                "tbc": seq_no < len(parts) - 1, "reportData": data})
            rounds.append(time.perf_counter() - t0)
        total = time.perf_counter() - started
        stop.set()
        await other
    return {"rounds": rounds, "total": total, "beats": beats}


def _stations(base: str, variables: int, parts_n: int, results: Any) -> None:
    results.put(asyncio.run(stations(base, variables, parts_n)))


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        voltline = Voltline(Settings(database_url=url, host="127.0.0.1", port=0, ocpp_host="127.0.0.1", ocpp_port=0,
                                     auto_register=True, message_log=False, node_id=f"bench-{uuid.uuid4().hex[:6]}",
                                     # 1,000 variables a part are about 280 KB, past the default limit.
                                     max_frame_bytes=1024 * 1024))
        await voltline.start()
        try:
            # The stations in a process of their own: the figures are the server's alone.
            context = multiprocessing.get_context("spawn")
            results = context.Queue()
            base = f"ws://127.0.0.1:{voltline.ocpp_port}/ocpp"
            child = context.Process(target=_stations, args=(base, args.variables, args.parts, results))
            child.start()
            got = await asyncio.get_running_loop().run_in_executor(None, results.get)
            child.join()
            page = await voltline.services.views.device_model.variables("BENCH-DM", limit=1)
            ms = sorted(r * 1000 for r in got["rounds"])
            hb = sorted(b * 1000 for b in got["beats"])
            total = got["total"]
            print(f"database: {voltline.store.engine.dialect.name}")
            print(f"report: {args.variables} variables in {args.parts} parts, stored {page.total}, in {total:.2f} s "
                  f"({page.total / total:,.0f} variables/s)")
            print(f"part round trip (ms): p50 {statistics.median(ms):.1f}, max {ms[-1]:.1f}")
            print(f"the other station's Heartbeat meanwhile ({len(hb)}): p50 {statistics.median(hb):.1f} ms, "
                  f"p95 {hb[min(len(hb) - 1, int(len(hb) * 0.95))]:.1f} ms, max {hb[-1]:.1f} ms")
        finally:
            await voltline.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variables", type=int, default=20_000)
    parser.add_argument("--parts", type=int, default=20)
    parser.add_argument("--database-url")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

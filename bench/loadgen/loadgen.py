"""OCPP 1.6J / 2.0.1 load generator: N simulated charge points over real WebSockets.

Each charge point connects with subprotocol ``ocpp1.6`` (or ``ocpp2.0.1`` with
``--ocpp-version 2.0.1``), boots (BootNotification),
then runs a mix of CP→CS CALLs closed-loop (one outstanding CALL per connection, as
OCPP requires) or at a fixed total rate, and answers any CS→CP CALL. Progress goes
to stdout; the final line of stdout is one JSON object with every figure.

It runs on picows + orjson + uvloop because that was measured to be the cheapest
client per message (about twice as cheap as a Node ``ws`` client at 1,000
connections): the generator must not be the bottleneck. It reports its own CPU use
and the server's, so a run shows which side was saturated.

    python bench/loadgen/loadgen.py --charge-points 1000 --duration 20 \\
        --mix heartbeat:1,metervalues:1 --source-addresses 127.0.0.2-127.0.0.33 --server-pid PID
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import ipaddress
import json
import logging
import os
import random
import resource
import ssl
import sys
import time
from array import array
from base64 import b64encode
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import orjson
from picows import (
    WSFrame,
    WSHandshakeError,
    WSListener,
    WSMsgType,
    WSTransport,
    ws_connect,
)

# ------------------------------------------------------------------ options


def _source_addresses(spec: str | None) -> list[str | None]:
    if not spec:
        return [None]
    out: list[str | None] = []
    for part in spec.split(","):
        first, _, last = part.strip().partition("-")
        lo = ipaddress.IPv4Address(first)
        hi = (
            ipaddress.IPv4Address(
                last if "." in last else f"{first.rsplit('.', 1)[0]}.{last}"
            )
            if last
            else lo
        )
        if hi < lo:
            raise argparse.ArgumentTypeError(f"empty address range {part}")
        for n in range(int(lo), int(hi) + 1):
            addr = ipaddress.IPv4Address(n)
            if not addr.is_loopback:
                raise argparse.ArgumentTypeError(
                    f"source address {addr} is not on loopback (127.x.x.x)"
                )
            out.append(str(addr))
    return out


_ACTION_ALIASES = {
    "heartbeat": "heartbeat",
    "statusnotification": "statusnotification",
    "status": "statusnotification",
    "metervalues": "metervalues",
    "authorize": "authorize",
    "transaction": "transaction",
    "starttransaction": "transaction",
    "stoptransaction": "transaction",
    "transactionevent": "transactionevent",
}


def _mix(spec: str) -> tuple[list[str], dict[str, int]]:
    """heartbeat:1,metervalues:1 → the cyclic schedule [heartbeat, metervalues], interleaved."""
    weights: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, weight = part.partition(":")
        action = _ACTION_ALIASES.get(name.strip().lower())
        if action is None:
            raise argparse.ArgumentTypeError(f"unknown action in --mix: {name}")
        weights[action] = weights.get(action, 0) + int(weight or 1)
    remaining = dict(weights)
    schedule: list[str] = []
    while any(remaining.values()):
        for action, left in remaining.items():
            if left:
                schedule.append(action)
                remaining[action] = left - 1
    if not schedule:
        raise argparse.ArgumentTypeError("--mix has no weight")
    return schedule, weights


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--url",
        default="ws://127.0.0.1:9000/ocpp",
        help="OCPP endpoint without the identity",
    )
    p.add_argument("--charge-points", type=int, default=1, metavar="N")
    p.add_argument(
        "--duration",
        type=float,
        default=10,
        metavar="S",
        help="seconds of load after all booted, or of holding with --idle",
    )
    p.add_argument(
        "--mix",
        default="heartbeat:1",
        help="weighted CALL mix: heartbeat, statusnotification, "
        "metervalues, authorize, transaction (Start/StopTransaction alternately; "
        "starttransaction/stoptransaction are aliases; 2.0.1: TransactionEvent Started/Ended), "
        "transactionevent (Started once, then Updated with --sampled-values; 1.6, the same messages "
        "per session: StartTransaction once, then MeterValues of that transaction)",
    )
    p.add_argument(
        "--ocpp-version",
        choices=("1.6", "2.0.1"),
        default="1.6",
        help="the OCPP version the charge points speak (subprotocol ocpp1.6 or ocpp2.0.1)",
    )
    p.add_argument("--mode", choices=("closed", "rate"), default="closed")
    p.add_argument(
        "--rate",
        type=float,
        default=0,
        metavar="R",
        help="total CALLs/s over all charge points (--mode rate)",
    )
    p.add_argument(
        "--sampled-values", type=int, default=4, choices=range(1, 9), metavar="1..8"
    )
    p.add_argument(
        "--prefix",
        default="BENCH-",
        help="identity prefix; identities are PREFIX00001, ...",
    )
    p.add_argument("--password", help="HTTP Basic auth password (username = identity)")
    p.add_argument(
        "--ca-file",
        help="wss://: PEM of the CA the server's certificate chains to (default: the system's)",
    )
    p.add_argument(
        "--source-addresses",
        metavar="A-B",
        help="bind client sockets round-robin, e.g. 127.0.0.2-127.0.0.33",
    )
    p.add_argument(
        "--server-pid",
        default="",
        metavar="PID[,PID]",
        help="read server VmRSS and CPU time from /proc",
    )
    p.add_argument(
        "--idle",
        action="store_true",
        help="connect and boot, then hold the connections --duration seconds",
    )
    p.add_argument(
        "--connect-concurrency",
        type=int,
        default=0,
        metavar="N",
        help="handshakes+boots in flight at once (default 0 = all at once)",
    )
    p.add_argument(
        "--connect-timeout",
        type=float,
        default=120,
        metavar="S",
        help="give up on charge points not booted after S seconds",
    )
    p.add_argument("--call-timeout", type=float, default=30, metavar="S")
    p.add_argument(
        "--settle",
        type=float,
        default=2,
        metavar="S",
        help="pause after all booted before reading RSS",
    )
    p.add_argument(
        "--follow-remote-start",
        action="store_true",
        help="after answering RemoteStartTransaction Accepted, send StartTransaction next",
    )
    p.add_argument(
        "--api-url", help="REST API base for scenario 4, e.g. http://127.0.0.1:8000"
    )
    p.add_argument("--api-token", help="bearer token for the REST API")
    p.add_argument(
        "--remote-start-rate",
        type=float,
        default=0,
        metavar="R",
        help="RemoteStartTransaction requests per second through the REST API",
    )
    p.add_argument("--id-tag", default="BENCHTAG")
    p.add_argument(
        "--disturb-after",
        type=float,
        metavar="S",
        help="start the disturbance (--storm-rate, --heavy-read) S seconds into the load"
        " (default: half of --duration); figures are reported for the quiet stretch before"
        " and the disturbed one after",
    )
    p.add_argument(
        "--storm-rate",
        type=float,
        default=0,
        metavar="R",
        help="WebSocket handshakes per second with a wrong Basic-auth password",
    )
    p.add_argument(
        "--storm-prefix",
        default="STORM-",
        help="the storm's identities are PREFIX0001 ... (known, registered with a password)",
    )
    p.add_argument("--storm-count", type=int, default=20, metavar="N")
    p.add_argument("--storm-password", default="wrong-password")
    p.add_argument(
        "--storm-source-addresses",
        metavar="A-B",
        help="source addresses of the storm's handshakes (default: those of the fleet)",
    )
    p.add_argument("--storm-timeout", type=float, default=15, metavar="S")
    p.add_argument(
        "--heavy-read",
        action="append",
        default=[],
        metavar="PATH",
        help="an operator read (GET PATH on --api-url), in turn with the others given, one started"
        " every --heavy-read-interval seconds (skipped, and counted, while its last one runs)",
    )
    p.add_argument("--heavy-read-interval", type=float, default=1.0, metavar="S")
    p.add_argument("--heavy-read-timeout", type=float, default=120, metavar="S")
    p.add_argument("--label", help="free text copied into the JSON result")
    p.add_argument(
        "--quiet", action="store_true", help="print only the final JSON line"
    )
    a = p.parse_args(argv)
    if a.charge_points < 1:
        p.error("--charge-points must be at least 1")
    if a.mode == "rate" and a.rate <= 0:
        p.error("--mode rate needs --rate > 0")
    if a.remote_start_rate > 0 and not a.api_url:
        p.error("--remote-start-rate needs --api-url")
    if a.heavy_read and not a.api_url:
        p.error("--heavy-read needs --api-url")
    a.disturbed = a.storm_rate > 0 or bool(a.heavy_read)
    if a.disturb_after is None:
        a.disturb_after = a.duration / 2
    if a.disturbed and not 0 < a.disturb_after < a.duration:
        p.error("--disturb-after must lie within --duration")
    try:
        a.schedule, a.weights = _mix(a.mix)
        a.sources = _source_addresses(a.source_addresses)
        a.storm_sources = (
            _source_addresses(a.storm_source_addresses)
            if a.storm_source_addresses
            else a.sources
        )
    except (argparse.ArgumentTypeError, ValueError) as e:
        p.error(str(e))
    a.v201 = a.ocpp_version == "2.0.1"
    if a.v201 and a.follow_remote_start:
        p.error("--follow-remote-start is for OCPP 1.6 (RemoteStartTransaction)")
    a.server_pids = [int(x) for x in a.server_pid.split(",") if x.strip()]
    a.url = a.url.rstrip("/")
    return a


# ------------------------------------------------------------------ /proc


def read_rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
    return total


_TICKS = 100  # USER_HZ


def read_cpu_s(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / _TICKS


def read_machine_jiffies() -> tuple[int, int]:
    """(busy, total) over all cores from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def raise_open_file_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# ------------------------------------------------------------------ figures


def summarize(samples: array) -> dict:
    """Latency summary in ms from an array of seconds."""
    n = len(samples)
    if not n:
        return {
            "count": 0,
            "mean_ms": None,
            "p50_ms": None,
            "p95_ms": None,
            "p99_ms": None,
            "max_ms": None,
        }
    s = sorted(samples)

    def pct(p: float) -> float:
        return round(s[min(n - 1, max(0, -(-int(p * n) // 100) - 1))] * 1000, 3)

    return {
        "count": n,
        "mean_ms": round(sum(s) / n * 1000, 3),
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "max_ms": round(s[-1] * 1000, 3),
    }


class Stats:
    def __init__(self) -> None:
        self.phase = "connect"  # connect → load → done
        # action → seconds: CP→CS round trips in the load window
        self.latency: dict[bytes, array] = {a: array("d") for a in _LOAD_ACTIONS}
        self.boot_latency = array("d")
        self.completed = 0
        self.errors: dict[str, int] = {}
        self.cs_calls_answered = 0
        self.rate_dropped = 0
        self.connect_attempts = 0
        self.connected = 0
        self.booted = 0
        self.first_open: float | None = None
        self.last_open: float | None = None
        self.last_boot: float | None = None

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


# ------------------------------------------------------------------ OCPP payloads

_now = time.perf_counter
_loads = orjson.loads
_TEXT = WSMsgType.TEXT
_LOAD_ACTIONS = (
    b"Heartbeat",
    b"MeterValues",
    b"StatusNotification",
    b"Authorize",
    b"StartTransaction",
    b"StopTransaction",
    b"TransactionEvent",
)
_iso = [b""]


def _refresh_clock(loop: asyncio.AbstractEventLoop) -> None:
    # Formatting a timestamp per message would cost more than building the rest of the frame.
    _iso[0] = (
        datetime.now(UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
        .encode()
    )
    loop.call_later(0.02, _refresh_clock, loop)


_SAMPLED = [
    b'{"value":"%d","measurand":"Energy.Active.Import.Register","unit":"Wh","context":"Sample.Periodic","location":"Outlet"}',
    b'{"value":"7360","measurand":"Power.Active.Import","unit":"W","context":"Sample.Periodic","location":"Outlet"}',
    b'{"value":"32.0","measurand":"Current.Import","unit":"A","phase":"L1","context":"Sample.Periodic","location":"Outlet"}',
    b'{"value":"230.0","measurand":"Voltage","unit":"V","phase":"L1-N","context":"Sample.Periodic","location":"Outlet"}',
    b'{"value":"31.8","measurand":"Current.Import","unit":"A","phase":"L2","context":"Sample.Periodic","location":"Outlet"}',
    b'{"value":"231.0","measurand":"Voltage","unit":"V","phase":"L2-N","context":"Sample.Periodic","location":"Outlet"}',
    b'{"value":"32.1","measurand":"Current.Offered","unit":"A","context":"Sample.Periodic","location":"Outlet"}',
    b'{"value":"54","measurand":"SoC","unit":"Percent","context":"Sample.Periodic","location":"EV"}',
]

# OCPP 2.0.1: values are numbers, units in unitOfMeasure.
_SAMPLED_201 = [
    b'{"value":%d,"measurand":"Energy.Active.Import.Register","unitOfMeasure":{"unit":"Wh"},"context":"Sample.Periodic","location":"Outlet"}',
    b'{"value":7360.0,"measurand":"Power.Active.Import","unitOfMeasure":{"unit":"W"},"context":"Sample.Periodic","location":"Outlet"}',
    b'{"value":32.0,"measurand":"Current.Import","unitOfMeasure":{"unit":"A"},"phase":"L1","context":"Sample.Periodic","location":"Outlet"}',
    b'{"value":230.0,"measurand":"Voltage","unitOfMeasure":{"unit":"V"},"phase":"L1-N","context":"Sample.Periodic","location":"Outlet"}',
    b'{"value":31.8,"measurand":"Current.Import","unitOfMeasure":{"unit":"A"},"phase":"L2","context":"Sample.Periodic","location":"Outlet"}',
    b'{"value":231.0,"measurand":"Voltage","unitOfMeasure":{"unit":"V"},"phase":"L2-N","context":"Sample.Periodic","location":"Outlet"}',
    b'{"value":32.1,"measurand":"Current.Offered","unitOfMeasure":{"unit":"A"},"context":"Sample.Periodic","location":"Outlet"}',
    b'{"value":54,"measurand":"SoC","unitOfMeasure":{"unit":"Percent"},"context":"Sample.Periodic","location":"EV"}',
]

_ANSWERS_201 = {
    "RequestStartTransaction": b'{"status":"Accepted"}',
    "RequestStopTransaction": b'{"status":"Accepted"}',
    "Reset": b'{"status":"Accepted"}',
    "ChangeAvailability": b'{"status":"Accepted"}',
    "ClearCache": b'{"status":"Accepted"}',
    "TriggerMessage": b'{"status":"Accepted"}',
    "UnlockConnector": b'{"status":"Unlocked"}',
    "GetBaseReport": b'{"status":"NotSupported"}',
    "GetReport": b'{"status":"NotSupported"}',
    "DataTransfer": b'{"status":"UnknownVendorId"}',
}

_ANSWERS = {
    "RemoteStartTransaction": b'{"status":"Accepted"}',
    "RemoteStopTransaction": b'{"status":"Accepted"}',
    "Reset": b'{"status":"Accepted"}',
    "ChangeAvailability": b'{"status":"Accepted"}',
    "ChangeConfiguration": b'{"status":"Accepted"}',
    "ClearCache": b'{"status":"Accepted"}',
    "TriggerMessage": b'{"status":"Accepted"}',
    "UnlockConnector": b'{"status":"Unlocked"}',
    "GetConfiguration": b'{"configurationKey":[]}',
    "DataTransfer": b'{"status":"UnknownVendorId"}',
}

_BOOT, _LOAD, _START, _STOP = 0, 1, 2, 3


# ------------------------------------------------------------------ a charge point


class ChargePoint(WSListener):
    def __init__(self, index: int, run: Run) -> None:
        self.index = index
        self.run = run
        self.stats = run.stats
        self.samples = run.stats.latency
        self.closed_loop = run.opts.mode == "closed"
        self.identity = f"{run.opts.prefix}{index + 1:05d}"
        self.transport: WSTransport | None = None
        self.booted = False
        self.seq = 0
        self.out_id: str | None = None  # id of the outstanding CALL
        self.out_action = b""
        self.out_kind = _LOAD
        self.out_sent = 0.0
        self.cycle = index % len(run.opts.schedule)
        self.meter_wh = 1000 + index
        self.transaction_id: int | bytes | None = None  # 2.0.1: the id we chose, as bytes
        self.pending_start: bytes | None = None
        self.v201 = run.opts.v201
        if self.v201:
            self.send_next = self._send_next_201
            self.transactions = 0  # 2.0.1 transaction ids are {identity}-{n}
            self.tx_pending = b""
            self.seq_no = 0
        self.boot_future: asyncio.Future | None = None
        self.rate_queue: list[float] = []

    # picows callbacks --------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if transport is not self.transport:
            return
        if self.booted:
            self.booted = False
            self.run.stats.booted -= 1
            self.run.stats.error("disconnected")
        self.out_id = None
        self._boot_done(False)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not _TEXT:
            if frame.msg_type is WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code())
                transport.disconnect()
            return  # pings are answered by picows (enable_auto_pong)
        stats = self.stats
        try:
            msg = _loads(frame.get_payload_as_bytes())
            kind = msg[0]
        except Exception:  # noqa: BLE001 - any unparsable frame is one counted error
            stats.error("bad_frame_from_server")
            return
        # The hot path of a closed-loop run, kept flat: answer to a load CALL → next CALL.
        if (
            kind == 3
            and self.out_kind == _LOAD
            and msg[1] == self.out_id
            and stats.phase == "load"
        ):
            self.out_id = None
            now = _now()
            stats.completed += 1
            self.samples[self.out_action].append(now - self.out_sent)
            if self.closed_loop and self.booted and now < self.run.until:
                self.send_next()
            else:
                self.run.after_result(self, True)
            return
        if kind == 2:
            self._answer(msg)
            return
        if self.out_id is None or msg[1] != self.out_id:
            stats.error("unexpected_response")
            return
        self.out_id = None
        now = _now()
        latency = now - self.out_sent
        out_kind = self.out_kind
        if kind == 3:
            payload = msg[2]
            if out_kind == _BOOT:
                if payload.get("status") == "Accepted":
                    stats.boot_latency.append(latency)
                    self._boot_done(True)
                else:
                    stats.error(f"boot_{payload.get('status')}")
                    self._boot_done(False)
                return
            if stats.phase == "load":
                stats.completed += 1
                self.samples[self.out_action].append(latency)
            if out_kind == _START and self.v201:
                self.transaction_id = self.tx_pending
            elif out_kind == _START:
                tid = payload.get("transactionId")
                self.transaction_id = tid if isinstance(tid, int) else None
            elif out_kind == _STOP:
                self.transaction_id = None
            self.run.after_result(self, True)
        elif kind == 4:
            stats.error(f"callerror_{self.out_action.decode()}_{msg[2]}")
            if out_kind == _BOOT:
                self._boot_done(False)
            else:
                self.run.after_result(self, False)
        else:
            stats.error("bad_frame_from_server")

    # CALLs ------------------------------------------------------------

    def call(
        self,
        action: bytes,
        payload: bytes,
        kind: int = _LOAD,
        sent_at: float | None = None,
    ) -> None:
        self.seq = seq = self.seq + 1
        self.out_id = str(seq)
        self.out_action = action
        self.out_kind = kind
        self.out_sent = _now() if sent_at is None else sent_at
        self.transport.send(_TEXT, b'[2,"%d","%s",%s]' % (seq, action, payload))

    def check_timeout(self, now: float, timeout: float) -> None:
        if self.out_id is not None and now - self.out_sent > timeout:
            self.out_id = None
            self.run.stats.error(f"timeout_{self.out_action.decode()}")
            if self.out_kind == _BOOT:
                self._boot_done(False)
            else:
                self.run.after_result(self, False)

    def send_next(self, sent_at: float | None = None) -> None:
        iso = _iso[0]
        if self.pending_start is not None:
            tag, self.pending_start = self.pending_start, None
            self.call(
                b"StartTransaction",
                b'{"connectorId":1,"idTag":%s,"meterStart":%d,"timestamp":"%s"}'
                % (tag, self.meter_wh, iso),
                _START,
                sent_at,
            )
            return
        schedule = self.run.opts.schedule
        action = schedule[self.cycle]
        self.cycle = (self.cycle + 1) % len(schedule)
        if action == "heartbeat":
            self.call(b"Heartbeat", b"{}", _LOAD, sent_at)
        elif action == "metervalues" or action == "transactionevent" and self.transaction_id is not None:
            self.meter_wh += 10
            tx = (
                b""
                if self.transaction_id is None
                else b',"transactionId":%d' % self.transaction_id
            )
            self.call(
                b"MeterValues",
                b'{"connectorId":1%s,"meterValue":[{"timestamp":"%s","sampledValue":[%s]}]}'
                % (tx, iso, self.run.sampled % self.meter_wh),
                _LOAD,
                sent_at,
            )
        elif action == "statusnotification":
            status = b"Available" if self.transaction_id is None else b"Charging"
            self.call(
                b"StatusNotification",
                b'{"connectorId":1,"errorCode":"NoError","status":"%s","timestamp":"%s"}'
                % (status, iso),
                _LOAD,
                sent_at,
            )
        elif action == "authorize":
            self.call(b"Authorize", b'{"idTag":%s}' % self.run.id_tag, _LOAD, sent_at)
        elif self.transaction_id is None:  # transaction, or transactionevent's one start
            self.call(
                b"StartTransaction",
                b'{"connectorId":1,"idTag":%s,"meterStart":%d,"timestamp":"%s"}'
                % (self.run.id_tag, self.meter_wh, iso),
                _START,
                sent_at,
            )
        else:
            self.call(
                b"StopTransaction",
                b'{"transactionId":%d,"idTag":%s,"meterStop":%d,"timestamp":"%s","reason":"Local"}'
                % (self.transaction_id, self.run.id_tag, self.meter_wh, iso),
                _STOP,
                sent_at,
            )

    def _send_next_201(self, sent_at: float | None = None) -> None:
        iso = _iso[0]
        schedule = self.run.opts.schedule
        action = schedule[self.cycle]
        self.cycle = (self.cycle + 1) % len(schedule)
        if action == "heartbeat":
            self.call(b"Heartbeat", b"{}", _LOAD, sent_at)
        elif action == "transactionevent" and self.transaction_id is not None:
            self.meter_wh += 10
            self._event_201(
                b"Updated",
                b"MeterValuePeriodic",
                _LOAD,
                sent_at,
                b',"meterValue":[{"timestamp":"%s","sampledValue":[%s]}]'
                % (iso, self.run.sampled % self.meter_wh),
            )
        elif action in ("transactionevent", "transaction") and self.transaction_id is None:
            self._event_201(
                b"Started",
                b"Authorized",
                _START,
                sent_at,
                b',"idToken":{"idToken":%s,"type":"ISO14443"}' % self.run.id_tag,
            )
        elif action == "transaction":
            self._event_201(b"Ended", b"StopAuthorized", _STOP, sent_at)
        elif action == "metervalues":
            self.meter_wh += 10
            self.call(
                b"MeterValues",
                b'{"evseId":1,"meterValue":[{"timestamp":"%s","sampledValue":[%s]}]}'
                % (iso, self.run.sampled % self.meter_wh),
                _LOAD,
                sent_at,
            )
        elif action == "statusnotification":
            status = b"Available" if self.transaction_id is None else b"Occupied"
            self.call(
                b"StatusNotification",
                b'{"timestamp":"%s","connectorStatus":"%s","evseId":1,"connectorId":1}'
                % (iso, status),
                _LOAD,
                sent_at,
            )
        else:  # authorize
            self.call(
                b"Authorize",
                b'{"idToken":{"idToken":%s,"type":"ISO14443"}}' % self.run.id_tag,
                _LOAD,
                sent_at,
            )

    def _event_201(
        self, event_type: bytes, trigger: bytes, kind: int, sent_at: float | None, extra: bytes = b""
    ) -> None:
        """A TransactionEvent; Started opens a transaction of our own id, seqNo from 0."""
        if kind == _START:
            self.transactions += 1
            self.tx_pending = b"%s-%d" % (self.identity.encode(), self.transactions)
            self.seq_no = 0
            tx = self.tx_pending
        else:
            tx = self.transaction_id  # type: ignore[assignment]
        info = b',"stoppedReason":"Local"' if kind == _STOP else b""
        self.call(
            b"TransactionEvent",
            b'{"eventType":"%s","timestamp":"%s","triggerReason":"%s","seqNo":%d,'
            b'"transactionInfo":{"transactionId":"%s"%s},"evse":{"id":1,"connectorId":1}%s}'
            % (event_type, _iso[0], trigger, self.seq_no, tx, info, extra),
            kind,
            sent_at,
        )
        self.seq_no += 1

    def _answer(self, msg: list) -> None:
        # The server may call while our own CALL is outstanding: OCPP allows one per direction.
        try:
            _, mid, action, payload = msg
        except ValueError:
            self.run.stats.error("bad_call_from_server")
            return
        answer = (_ANSWERS_201 if self.v201 else _ANSWERS).get(action)
        mid_json = orjson.dumps(mid)
        if answer is None:
            self.transport.send(
                WSMsgType.TEXT,
                b'[4,%s,"NotImplemented","not supported by the load generator",{}]'
                % mid_json,
            )
        else:
            self.transport.send(WSMsgType.TEXT, b"[3,%s,%s]" % (mid_json, answer))
            if (
                action == "RemoteStartTransaction"
                and self.run.opts.follow_remote_start
                and self.transaction_id is None
            ):
                tag = payload.get("idTag") if isinstance(payload, dict) else None
                self.pending_start = (
                    orjson.dumps(tag) if isinstance(tag, str) else self.run.id_tag
                )
        self.run.stats.cs_calls_answered += 1

    # connecting -------------------------------------------------------

    def _boot_done(self, ok: bool) -> None:
        f = self.boot_future
        if f is not None and not f.done():
            f.set_result(ok)

    async def connect_and_boot(self) -> bool:
        run, stats = self.run, self.run.stats
        stats.connect_attempts += 1
        headers = {"Sec-WebSocket-Protocol": run.subprotocol}
        if run.opts.password is not None:
            headers["Authorization"] = (
                "Basic "
                + b64encode(f"{self.identity}:{run.opts.password}".encode()).decode()
            )
        source = run.opts.sources[self.index % len(run.opts.sources)]
        kwargs = {"local_addr": (source, 0)} if source else {}
        try:
            transport, _ = await ws_connect(
                lambda: self,
                f"{run.opts.url}/{quote(self.identity, safe='')}",
                extra_headers=headers,
                websocket_handshake_timeout=run.opts.connect_timeout,
                # uvloop's own TCP transport and one logger for all: opening a connection
                # through aiofastnet's Python transport, with a logger per connection, cost the
                # generator about twice the CPU (scenario 3 is generator-bound).
                use_aiofastnet=False,
                logger_name=_WS_LOGGER,
                ssl_context=run.ssl_context,
                **kwargs,
            )
        except WSHandshakeError as e:
            status = getattr(getattr(e, "response", None), "status", None)
            stats.error(
                f"handshake_{int(status) if status is not None else type(e).__name__}"
            )
            return False
        except OSError as e:
            stats.error(
                f"connect_{errno.errorcode.get(e.errno, type(e).__name__) if e.errno else type(e).__name__}"
            )
            return False
        except TimeoutError:
            stats.error("connect_timeout")
            return False
        except Exception as e:  # noqa: BLE001 - whatever else the handshake raises is an error to count, not a lost charge point
            stats.error(f"connect_{type(e).__name__}")
            return False
        if transport.response.headers.get("Sec-WebSocket-Protocol") != run.subprotocol:
            stats.error("subprotocol_not_negotiated")
            transport.disconnect()
            return False
        now = _now()
        stats.connected += 1
        if stats.first_open is None:
            stats.first_open = now
        stats.last_open = now
        self.boot_future = asyncio.get_running_loop().create_future()
        self.call(b"BootNotification", run.boot_payload % self.identity.encode(), _BOOT)
        ok = await self.boot_future
        self.boot_future = None
        if ok:
            self.booted = True
            stats.booted += 1
            stats.last_boot = _now()
        else:
            transport.disconnect()
        return ok


# ------------------------------------------------------------------ the run


class Run:
    def __init__(self, opts: argparse.Namespace) -> None:
        self.opts = opts
        self.stats = Stats()
        self.sampled = b",".join((_SAMPLED_201 if opts.v201 else _SAMPLED)[: opts.sampled_values])
        self.subprotocol = "ocpp2.0.1" if opts.v201 else "ocpp1.6"
        self.boot_payload = (
            b'{"reason":"PowerUp","chargingStation":{"model":"BenchCP","vendorName":"Voltline",'
            b'"serialNumber":"%s","firmwareVersion":"1.0.0"}}'
            if opts.v201
            else b'{"chargePointVendor":"Voltline","chargePointModel":"BenchCP",'
            b'"chargePointSerialNumber":"%s","firmwareVersion":"1.0.0"}'
        )
        self.id_tag = orjson.dumps(opts.id_tag)
        self.until = 0.0
        self.ssl_context: ssl.SSLContext | None = None
        if opts.url.startswith("wss://"):
            self.ssl_context = ssl.create_default_context(cafile=opts.ca_file)
        self.cps = [ChargePoint(i, self) for i in range(opts.charge_points)]

    def after_result(self, cp: ChargePoint, ok: bool) -> None:
        """A load CALL finished: closed loop sends the next at once, rate mode drains its queue."""
        if self.stats.phase != "load" or not cp.booted:
            return
        if self.opts.mode == "closed":
            if _now() < self.until:
                if ok:
                    cp.send_next()
                else:  # don't spin on a failing server
                    asyncio.get_running_loop().call_later(0.1, self._resume, cp)
        elif cp.rate_queue:
            cp.send_next(cp.rate_queue.pop(0))

    async def drain(self, timeout: float) -> int:
        """Wait (at most `timeout` s) for the answers to the load CALLs still outstanding: a
        stalled server's late answers are the slowest of the run, not to be left out. Returns
        how many were still outstanding then."""
        deadline = _now() + timeout
        while True:
            left = sum(1 for cp in self.cps if cp.out_id is not None and cp.out_kind == _LOAD)
            if not left or _now() >= deadline:
                return left
            await asyncio.sleep(0.05)

    def _resume(self, cp: ChargePoint) -> None:
        if (
            self.stats.phase == "load"
            and cp.booted
            and cp.out_id is None
            and _now() < self.until
        ):
            cp.send_next()

    def _rate_tick(self, cp: ChargePoint, due: float, interval: float) -> None:
        # Sends are due on a clock; one due while a CALL is outstanding waits (OCPP's rule)
        # and its latency counts from when it was due: no coordinated omission.
        if self.stats.phase != "load" or due >= self.until or not cp.booted:
            return
        if cp.out_id is None:
            cp.send_next(due)
        elif len(cp.rate_queue) < 100:
            cp.rate_queue.append(due)
        else:
            self.stats.rate_dropped += 1
        nxt = due + interval
        loop = asyncio.get_running_loop()
        loop.call_later(max(0.0, nxt - _now()), self._rate_tick, cp, nxt, interval)

    async def _sweep(self) -> None:
        timeout = self.opts.call_timeout
        while True:
            await asyncio.sleep(1)
            now = _now()
            for cp in self.cps:
                cp.check_timeout(now, timeout)

    async def connect_all(self, deadline: float) -> None:
        # A charge point whose connection or boot fails retries after a pause with jitter, as
        # real ones do in a reconnect storm; the failures are counted, not hidden.
        async def one(cp: ChargePoint) -> None:
            while _now() < deadline:
                try:
                    if await cp.connect_and_boot():
                        return
                except Exception as e:  # noqa: BLE001 - e.g. the server closed right after the handshake
                    self.stats.error(f"boot_{type(e).__name__}")
                    if cp.transport is not None:
                        cp.transport.disconnect()
                await asyncio.sleep(0.5 + random.random())

        limit = self.opts.connect_concurrency or len(self.cps)
        pending = iter(self.cps)

        async def worker() -> None:
            for cp in pending:
                await one(cp)

        tasks = [
            asyncio.ensure_future(worker()) for _ in range(min(limit, len(self.cps)))
        ]
        await asyncio.wait(tasks, timeout=max(0.0, deadline - _now()) + 5)
        for t in tasks:
            t.cancel()


_WS_LOGGER = logging.LoggerAdapter(logging.getLogger("loadgen.ws"), {})


class RemoteStartLoad:
    """Scenario 4: POST /api/v1/charge-points/{id}/remote-start at a fixed rate over a small
    keep-alive HTTP/1.1 pool; each answer's latency is the REST→OCPP→REST round trip."""

    def __init__(self, run: Run) -> None:
        self.run = run
        u = urlsplit(run.opts.api_url)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.base = u.path.rstrip("/")
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.latency = array("d")
        self.sent = self.ok = self.not_accepted = 0
        self.errors: dict[str, int] = {}
        self.body = orjson.dumps({"id_tag": run.opts.id_tag, "connector_id": 1})

    def _error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    async def _request(self, identity: str) -> None:
        reused = bool(self.idle)
        conn = self.idle.pop() if reused else await asyncio.open_connection(self.host, self.port)
        reader, writer = conn
        auth = (
            f"Authorization: Bearer {self.run.opts.api_token}\r\n"
            if self.run.opts.api_token
            else ""
        )
        head = (
            f"POST {self.base}/api/v1/charge-points/{quote(identity, safe='')}/remote-start HTTP/1.1\r\n"
            f"Host: {self.host}:{self.port}\r\n{auth}Content-Type: application/json\r\n"
            f"Content-Length: {len(self.body)}\r\n\r\n"
        ).encode()
        start = _now()
        writer.write(head + self.body)
        status_line = await reader.readline()
        if not status_line and reused:
            # The server closed this idle keep-alive connection (its idle timeout) just before
            # the request went out: what any HTTP client does, send it again on a new one.
            writer.close()
            reader, writer = conn = await asyncio.open_connection(self.host, self.port)
            start = _now()
            writer.write(head + self.body)
            status_line = await reader.readline()
        status = int(status_line.split()[1])
        length, chunked, keep = 0, False, True
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                keep = False
        if chunked:
            body = b""
            while size := int((await reader.readline()).strip() or b"0", 16):
                body += await reader.readexactly(size + 2)
            await reader.readline()
        else:
            body = await reader.readexactly(length)
        elapsed = _now() - start
        if keep:
            self.idle.append(conn)
        else:
            writer.close()
        if 200 <= status < 300:
            self.latency.append(elapsed)
            try:
                doc = orjson.loads(body)
                answer = (
                    doc.get("status", "Accepted")
                    if isinstance(doc, dict)
                    else "Accepted"
                )
            except orjson.JSONDecodeError:
                answer = "Accepted"
            if answer == "Accepted":
                self.ok += 1
            else:
                self.not_accepted += 1
        else:
            self._error(f"http_{status}")

    async def _one(self, identity: str) -> None:
        try:
            await asyncio.wait_for(self._request(identity), 60)
        except Exception as e:  # noqa: BLE001 - counted, never fatal
            self._error(type(e).__name__)

    async def drive(self, until: float) -> None:
        interval = 1 / self.run.opts.remote_start_rate
        tasks: set[asyncio.Task] = set()
        k, due = 0, _now()
        while due < until:
            live = [cp for cp in self.run.cps if cp.booted]
            if live:
                cp = live[k % len(live)]
                k += 1
                self.sent += 1
                t = asyncio.ensure_future(self._one(cp.identity))
                tasks.add(t)
                t.add_done_callback(tasks.discard)
            due += interval
            await asyncio.sleep(max(0.0, due - _now()))
        if tasks:
            await asyncio.wait(tasks)
        for _, w in self.idle:
            w.close()

    def result(self) -> dict:
        return {
            "rate_per_s": self.run.opts.remote_start_rate,
            "sent": self.sent,
            "ok": self.ok,
            "not_accepted": self.not_accepted,
            "errors": self.errors,
            "latency": summarize(self.latency),
        }


class PasswordStorm:
    """A wrong-password storm: WebSocket upgrade requests with a wrong Basic-auth password to
    known identities at a fixed rate, each on a new TCP connection; only the answer's status
    line is read (401 expected, 429 once the server backs off)."""

    def __init__(self, run: Run) -> None:
        opts = run.opts
        self.opts = opts
        u = urlsplit(opts.url.replace("ws://", "http://", 1).replace("wss://", "https://", 1))
        self.ssl = run.ssl_context  # the storm over wss:// pays the TLS handshake too
        self.host, self.port, self.path = u.hostname or "127.0.0.1", u.port or (443 if self.ssl else 80), u.path
        self.identities = [
            f"{opts.storm_prefix}{i + 1:04d}" for i in range(opts.storm_count)
        ]
        self.sources = opts.storm_sources
        self.outcomes: dict[str, int] = {}
        self.latency = array("d")
        self.sent = self.skipped = 0
        self.in_flight = 0

    def request(self, identity: str) -> bytes:
        auth = b64encode(f"{identity}:{self.opts.storm_password}".encode()).decode()
        key = b64encode(os.urandom(16)).decode()
        return (
            f"GET {self.path}/{quote(identity, safe='')} HTTP/1.1\r\n"
            f"Host: {self.host}:{self.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: ocpp1.6\r\nAuthorization: Basic {auth}\r\n\r\n"
        ).encode()

    def _count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    async def _one(self, k: int) -> None:
        identity = self.identities[k % len(self.identities)]
        source = self.sources[k % len(self.sources)]
        start = _now()
        writer = None
        try:
            async with asyncio.timeout(self.opts.storm_timeout):
                reader, writer = await asyncio.open_connection(
                    self.host, self.port, local_addr=(source, 0) if source else None,
                    ssl=self.ssl, server_hostname=self.host if self.ssl else None,
                )
                writer.write(self.request(identity))
                line = await reader.readline()
            parts = line.split()
            outcome = parts[1].decode() if len(parts) > 1 else "closed_without_answer"
            self.latency.append(_now() - start)
        except TimeoutError:
            outcome = "timeout"
        except OSError as e:
            outcome = f"connect_{errno.errorcode.get(e.errno, type(e).__name__) if e.errno else type(e).__name__}"
        finally:
            self.in_flight -= 1
            if writer is not None:
                writer.close()
        self._count(outcome)

    async def drive(self, until: float) -> None:
        interval = 1 / self.opts.storm_rate
        tasks: set[asyncio.Task] = set()
        k, due = 0, _now()
        while due < until:
            # A server that answers nothing must not make the generator hold unbounded sockets.
            if self.in_flight < 2000:
                self.in_flight += 1
                self.sent += 1
                t = asyncio.ensure_future(self._one(k))
                tasks.add(t)
                t.add_done_callback(tasks.discard)
            else:
                self.skipped += 1
            k += 1
            due += interval
            await asyncio.sleep(max(0.0, due - _now()))
        if tasks:
            await asyncio.wait(tasks)

    def result(self) -> dict:
        counted = {"401": 0, "429": 0}
        other = 0
        for outcome, n in self.outcomes.items():
            if outcome in counted:
                counted[outcome] += n
            else:
                other += n
        return {
            "rate_per_s": self.opts.storm_rate,
            "identities": len(self.identities),
            "sent": self.sent,
            "skipped_too_many_in_flight": self.skipped,
            "answered_401": counted["401"],
            "answered_429": counted["429"],
            "other": other,
            "outcomes": dict(sorted(self.outcomes.items(), key=lambda kv: -kv[1])),
            "latency": summarize(self.latency),
        }


async def http_get(host: str, port: int, path: str, token: str | None) -> tuple[int, int]:
    """GET path over a new connection (Connection: close); (status, body bytes read)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{auth}Connection: close\r\n\r\n".encode()
        )
        status = int((await reader.readline()).split()[1])
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        size = 0  # to the end of the connection (chunk framing included: a few bytes a chunk)
        while chunk := await reader.read(1 << 16):
            size += len(chunk)
        return status, size
    finally:
        writer.close()


class HeavyReads:
    """Heavy operator reads: the given GETs in turn, one started every --heavy-read-interval
    seconds, each read whole (latency to the last byte). A read whose previous one is still
    running is skipped and counted: as many operators as reads, each waiting for their page."""

    def __init__(self, run: Run) -> None:
        self.opts = run.opts
        u = urlsplit(run.opts.api_url)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.base = u.path.rstrip("/")
        self.by_path = {
            path: {"latency": array("d"), "statuses": {}, "bytes": 0, "busy": False, "skipped": 0}
            for path in self.opts.heavy_read
        }

    @staticmethod
    def name(path: str) -> str:
        """A read's name in the result: its path's last part, /api/v1/transactions/export.csv
        → export-csv (no dots: run.py addresses figures by dotted paths)."""
        return path.partition("?")[0].rstrip("/").rsplit("/", 1)[-1].replace(".", "-")

    async def _one(self, path: str) -> None:
        entry = self.by_path[path]
        start = _now()
        try:
            async with asyncio.timeout(self.opts.heavy_read_timeout):
                status, size = await http_get(
                    self.host, self.port, self.base + path, self.opts.api_token
                )
            outcome = str(status)
            entry["bytes"] += size
        except TimeoutError:
            outcome = "timeout"
        except (OSError, ValueError, IndexError) as e:
            outcome = type(e).__name__
        entry["latency"].append(_now() - start)
        entry["statuses"][outcome] = entry["statuses"].get(outcome, 0) + 1
        entry["busy"] = False

    async def drive(self, until: float) -> None:
        paths = self.opts.heavy_read
        tasks: set[asyncio.Task] = set()
        k, due = 0, _now()
        while due < until:
            path = paths[k % len(paths)]
            entry = self.by_path[path]
            if entry["busy"]:
                entry["skipped"] += 1
            else:
                entry["busy"] = True
                t = asyncio.ensure_future(self._one(path))
                tasks.add(t)
                t.add_done_callback(tasks.discard)
            k += 1
            due += self.opts.heavy_read_interval
            await asyncio.sleep(max(0.0, due - _now()))
        if tasks:
            await asyncio.wait(tasks)

    def result(self) -> dict:
        return {
            "interval_s": self.opts.heavy_read_interval,
            "reads": {
                self.name(path): {
                    "path": path,
                    "count": len(e["latency"]),
                    "skipped_still_running": e["skipped"],
                    "statuses": e["statuses"],
                    "bytes_per_read": round(e["bytes"] / len(e["latency"]))
                    if e["latency"]
                    else None,
                    "latency": summarize(e["latency"]),
                }
                for path, e in self.by_path.items()
            },
        }


class Windows:
    """The quiet and the disturbed stretch of one load: the latency arrays only grow, in the
    order answers arrive, so a stretch is a slice of each, marked when it begins."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.marks: list[tuple[float, int, dict[bytes, int]]] = []

    def mark(self) -> None:
        s = self.stats
        self.marks.append(
            (_now(), s.completed, {a: len(v) for a, v in s.latency.items()})
        )

    def stretch(self, i: int) -> dict:
        """Figures from mark i to mark i + 1 (throughput) and to the end (latency: answers that
        arrive after the load ended, while draining, belong to the last stretch)."""
        t0, done0, lens0 = self.marks[i]
        t1, done1, lens1 = self.marks[i + 1]
        last = i + 2 == len(self.marks)
        samples, heartbeat = array("d"), array("d")
        for action, values in self.stats.latency.items():
            part = values[lens0[action] : None if last else lens1[action]]
            samples.extend(part)
            if action == b"Heartbeat":
                heartbeat.extend(part)
        return {
            "seconds": round(t1 - t0, 3),
            "messages_per_s": round((done1 - done0) / (t1 - t0), 1) if t1 > t0 else None,
            "latency": summarize(samples),
            "heartbeat_latency": summarize(heartbeat),
        }


async def main(opts: argparse.Namespace, nofile: int) -> dict:
    say = (lambda *a: None) if opts.quiet else (lambda *a: print(*a, flush=True))
    loop = asyncio.get_running_loop()
    _refresh_clock(loop)
    run = Run(opts)
    stats = run.stats
    pids = opts.server_pids
    sweep = asyncio.ensure_future(run._sweep())

    rss_before = read_rss_kib(pids) if pids else None
    sources = len([s for s in opts.sources if s])
    say(
        f"connecting {len(run.cps)} charge points to {opts.url} from {sources or 'the default'} source address(es)"
    )
    cpu0 = time.process_time()
    server_cpu_c0 = read_cpu_s(pids) if pids else 0.0
    machine_c0 = read_machine_jiffies()
    t0 = _now()

    async def progress() -> None:
        while True:
            await asyncio.sleep(2)
            say(
                f"  {_now() - t0:5.1f} s: {stats.connected} connected, {stats.booted} booted"
            )

    ticker = asyncio.ensure_future(progress())
    await run.connect_all(t0 + opts.connect_timeout)
    ticker.cancel()
    connect_wall = _now() - t0
    machine_c1 = read_machine_jiffies()
    ncpu = os.cpu_count() or 1
    busy_connect = (
        (machine_c1[0] - machine_c0[0]) / max(1, machine_c1[1] - machine_c0[1]) * ncpu
    )
    other_connect = (
        busy_connect
        - (time.process_time() - cpu0) / connect_wall
        - ((read_cpu_s(pids) - server_cpu_c0) / connect_wall if pids else 0.0)
    )
    booted = stats.booted
    say(f"{booted}/{len(run.cps)} booted in {connect_wall:.2f} s")

    rss_after_boot = None
    if pids:
        await asyncio.sleep(opts.settle)
        rss_after_boot = read_rss_kib(pids)

    # Nothing of ours is cyclic garbage: keep the collector out of the measured window.
    gc.collect()
    gc.freeze()
    gc.disable()
    cpu_load0 = time.process_time()
    server_cpu0 = read_cpu_s(pids) if pids else None
    machine0 = read_machine_jiffies()
    t_load = _now()
    run.until = t_load + opts.duration
    rest: RemoteStartLoad | None = None
    windows: Windows | None = None
    disturbances: dict[str, PasswordStorm | HeavyReads] = {}
    disturbance_tasks: list[asyncio.Future] = []
    end: tuple | None = None
    undrained = drained_s = None
    if opts.duration > 0 and not opts.idle:
        stats.phase = "load"
        live = [cp for cp in run.cps if cp.booted]
        if opts.mode == "closed":
            for cp in live:
                cp.send_next()
        elif live:
            interval = len(live) / opts.rate
            for i, cp in enumerate(live):
                first = t_load + interval * i / len(live)
                loop.call_later(first - t_load, run._rate_tick, cp, first, interval)
        rest_task = None
        if opts.remote_start_rate > 0:
            rest = RemoteStartLoad(run)
            rest_task = asyncio.ensure_future(rest.drive(run.until))

        async def load_progress() -> None:
            while True:
                await asyncio.sleep(5)
                say(f"  {_now() - t_load:5.1f} s: {stats.completed} CALLs answered")

        ticker = asyncio.ensure_future(load_progress())
        if opts.disturbed:
            windows = Windows(stats)
            windows.mark()
            await asyncio.sleep(opts.disturb_after)
            windows.mark()
            for kind, make in (("storm", PasswordStorm), ("heavy_read", HeavyReads)):
                if (kind == "storm" and opts.storm_rate > 0) or (
                    kind == "heavy_read" and opts.heavy_read
                ):
                    disturbance = disturbances[kind] = make(run)
                    disturbance_tasks.append(
                        asyncio.ensure_future(disturbance.drive(run.until))
                    )
            await asyncio.sleep(max(0.0, run.until - _now()))
            windows.mark()
            # The run's figures end here; the drain only completes the disturbed stretch.
            end = (_now(), time.process_time(), read_cpu_s(pids) if pids else None,
                   read_machine_jiffies(), stats.completed)
            drain_t0 = _now()
            undrained = await run.drain(opts.call_timeout + 1)
            drained_s = _now() - drain_t0
        else:
            await asyncio.sleep(opts.duration)
        ticker.cancel()
        stats.phase = "done"
        if rest_task is not None:
            await rest_task
        if disturbance_tasks:
            await asyncio.gather(*disturbance_tasks)
    elif opts.duration > 0:
        await asyncio.sleep(opts.duration)
    if end is None:
        end = (_now(), time.process_time(), read_cpu_s(pids) if pids else None,
               read_machine_jiffies(), stats.completed)
    load_wall = end[0] - t_load
    cpu_load = end[1] - cpu_load0
    server_cpu = end[2] - server_cpu0 if pids else None
    machine1 = end[3]
    machine_busy = (
        (machine1[0] - machine0[0]) / max(1, machine1[1] - machine0[1]) * ncpu
    )
    rss_end = read_rss_kib(pids) if pids else None
    gc.enable()
    sweep.cancel()

    all_samples = array("d")
    for a in stats.latency.values():
        all_samples.extend(a)
    measured = opts.duration > 0 and not opts.idle
    n = len(run.cps)
    result = {
        "tool": "voltline-loadgen",
        "label": opts.label,
        "url": opts.url,
        "mode": "idle" if opts.idle else opts.mode,
        "mix": opts.weights,
        "sampled_values": opts.sampled_values,
        "charge_points": n,
        "source_addresses": sources,
        "duration_s": round(load_wall, 3),
        "connections_established": booted,
        "connections_at_end": stats.booted,
        "connect_attempts": stats.connect_attempts,
        "time_to_all_connected_s": round(stats.last_open - t0, 3)
        if stats.connected >= n and stats.last_open
        else None,
        "time_to_connect_and_boot_all_s": round(stats.last_boot - t0, 3)
        if booted == n
        else None,
        "time_connect_phase_s": round(connect_wall, 3),
        "boot_latency": summarize(stats.boot_latency),
        "calls_answered": end[4],
        "messages_per_s": round(end[4] / load_wall, 1)
        if measured and load_wall > 0
        else None,
        "latency": summarize(all_samples),
        "latency_by_action": {
            a.decode(): summarize(s) for a, s in stats.latency.items() if s
        },
        "rate_target_per_s": opts.rate if opts.mode == "rate" else None,
        "rate_dropped": stats.rate_dropped if opts.mode == "rate" else None,
        "cs_calls_answered": stats.cs_calls_answered,
        "errors": sum(stats.errors.values()),
        "error_kinds": dict(sorted(stats.errors.items(), key=lambda kv: -kv[1])),
        "remote_start": rest.result() if rest else None,
        **(disturbed_figures(opts, windows, disturbances, undrained, drained_s) if windows else {}),
        "server_pids": pids,
        "server_rss_before_kib": rss_before,
        "server_rss_after_boot_kib": rss_after_boot,
        "server_rss_end_kib": rss_end,
        "server_rss_per_connection_kib": round(
            (rss_after_boot - rss_before) / booted, 2
        )
        if pids and booted
        else None,
        "server_cpu_utilization": round(server_cpu / load_wall, 3)
        if server_cpu is not None and load_wall > 0.5
        else None,
        "generator_cpu_utilization": round(cpu_load / load_wall, 3)
        if load_wall > 0.5
        else None,
        # Cores busy machine-wide in the load window, and what neither the server nor the
        # generator used: on a shared machine a run is only as good as this is small.
        "machine_busy_cores": round(machine_busy, 3) if load_wall > 0.5 else None,
        "other_busy_cores": round(
            max(
                0.0, machine_busy - cpu_load / load_wall - (server_cpu or 0) / load_wall
            ),
            3,
        )
        if load_wall > 0.5 and pids
        else None,
        "other_busy_cores_connect": round(max(0.0, other_connect), 3)
        if pids and connect_wall > 0.5
        else None,
        "generator_cpu_s_total": round(time.process_time() - cpu0, 3),
        "generator_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "open_file_limit": nofile,
        "python": sys.version.split()[0],
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    say(
        f"connections: {booted}/{n}, connect+boot all: {result['time_to_connect_and_boot_all_s']} s"
    )
    if result["messages_per_s"] is not None:
        lat = result["latency"]
        say(
            f"throughput: {result['messages_per_s']} CALLs/s, latency p50 {lat['p50_ms']} p95 {lat['p95_ms']} "
            f"p99 {lat['p99_ms']} max {lat['max_ms']} ms"
        )
    if rest:
        lat = result["remote_start"]["latency"]
        say(
            f"remote start: {rest.ok} Accepted of {rest.sent}, p50 {lat['p50_ms']} p99 {lat['p99_ms']} ms"
        )
    if windows:
        q, d = result["quiet"], result["disturbed"]
        say(
            f"quiet: {q['messages_per_s']} CALLs/s, p50 {q['latency']['p50_ms']} p99 {q['latency']['p99_ms']} ms;"
            f" disturbed: {d['messages_per_s']} CALLs/s, p50 {d['latency']['p50_ms']} p99 {d['latency']['p99_ms']} ms;"
            f" p99 ratio {result['p99_ratio']}"
        )
        if "storm" in result:
            say(f"storm: {json.dumps(result['storm']['outcomes'])}")
        for r in (result.get("heavy_read") or {}).get("reads", {}).values():
            say(f"read {r['path']}: {json.dumps(r['statuses'])}, p50 {r['latency']['p50_ms']} max {r['latency']['max_ms']} ms")
    if result["server_rss_per_connection_kib"] is not None:
        say(f"server RSS per connection: {result['server_rss_per_connection_kib']} KiB")
    say(
        f"errors: {result['errors']} {json.dumps(result['error_kinds']) if result['errors'] else ''}"
    )
    for cp in run.cps:
        if cp.transport is not None and not cp.transport.is_disconnected:
            cp.transport.disconnect()
    return result


def disturbed_figures(
    opts: argparse.Namespace,
    windows: Windows,
    disturbances: dict,
    undrained: int | None,
    drained_s: float | None,
) -> dict:
    """The fleet before and during the disturbance, and what the disturbance itself saw."""
    quiet, disturbed = windows.stretch(0), windows.stretch(1)

    def ratio(key: str) -> float | None:
        a, b = quiet[key]["p99_ms"], disturbed[key]["p99_ms"]
        return round(b / a, 2) if a and b is not None else None

    out = {
        "disturb_after_s": opts.disturb_after,
        "quiet": quiet,
        "disturbed": disturbed,
        "p99_ratio": ratio("latency"),
        "heartbeat_p99_ratio": ratio("heartbeat_latency"),
        "drain_s": round(drained_s, 3) if drained_s is not None else None,
        "undrained_calls": undrained,
    }
    for kind, disturbance in disturbances.items():
        out[kind] = disturbance.result()
    return out


def cli(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    nofile = raise_open_file_limit()
    if opts.charge_points + 64 > nofile:
        print(
            f"open-file limit {nofile} is too low for {opts.charge_points} connections",
            file=sys.stderr,
        )
        return 2
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(main(opts, nofile))
    else:
        result = uvloop.run(main(opts, nofile))
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(cli())

"""Benchmark peer: the transport limit.

A picows WebSocket server that negotiates the ``ocpp1.6`` subprotocol, parses each
CALL with orjson and answers a canned CALLRESULT for its action. No schema
validation, no state, no storage: whatever a real central system does costs more
than this, so its figures bound what any server on the same transport can reach.

    python bench/peers/raw-echo/server.py [--host 127.0.0.1] [--port 9000]
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import orjson
from picows import (
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
    ws_create_server,
)

_NOW = "2025-01-01T00:00:00.000Z"
_ACCEPTED_TAG = {"idTagInfo": {"status": "Accepted"}}
# Canned payloads, serialized once: the frame is the id spliced between a prefix and this.
_CANNED: dict[str, bytes] = {
    action: orjson.dumps(payload)
    for action, payload in {
        "BootNotification": {
            "status": "Accepted",
            "currentTime": _NOW,
            "interval": 300,
        },
        "Heartbeat": {"currentTime": _NOW},
        "StatusNotification": {},
        "MeterValues": {},
        "Authorize": _ACCEPTED_TAG,
        "StartTransaction": {"transactionId": 1, **_ACCEPTED_TAG},
        "StopTransaction": _ACCEPTED_TAG,
    }.items()
}
_EMPTY = b"{}"


class EchoListener(WSListener):
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        msg_type = frame.msg_type
        if msg_type is WSMsgType.TEXT:
            try:
                msg = orjson.loads(frame.get_payload_as_bytes())
                if msg[0] != 2:
                    return  # a CALLRESULT/CALLERROR from the client: nothing to answer
                payload = _CANNED.get(msg[2], _EMPTY)
                reply = b"[3," + orjson.dumps(msg[1]) + b"," + payload + b"]"
            except Exception:  # noqa: BLE001 - any bad frame gets a CALLERROR
                reply = b'[4,"-1","FormationViolation","not an OCPP-J CALL",{}]'
            transport.send(WSMsgType.TEXT, reply)
        elif msg_type is WSMsgType.PING:
            transport.send_pong(frame.get_payload_as_bytes())
        elif msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()


def _factory(request: WSUpgradeRequest):
    if not request.path.startswith(b"/ocpp/"):
        return None  # 404
    offered = request.headers.get("Sec-WebSocket-Protocol", "")
    if "ocpp1.6" not in [p.strip() for p in offered.split(",")]:
        return WSUpgradeResponseWithListener(
            WSUpgradeResponse.create_error_response(
                400, b"subprotocol ocpp1.6 required"
            ),
            None,
        )
    response = WSUpgradeResponse.create_101_response(
        extra_headers={"Sec-WebSocket-Protocol": "ocpp1.6"}
    )
    return WSUpgradeResponseWithListener(response, EchoListener())


async def serve(host: str, port: int, backlog: int) -> None:
    server = await ws_create_server(
        _factory, host, port, backlog=backlog, websocket_handshake_timeout=30
    )
    print(f"raw-echo peer listening on ws://{host}:{port}/ocpp/{{id}}", flush=True)
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
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.host, args.port, args.backlog))
    else:
        uvloop.run(serve(args.host, args.port, args.backlog))


if __name__ == "__main__":
    main()

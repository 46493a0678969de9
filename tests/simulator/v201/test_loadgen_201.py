"""bench/loadgen's 2.0.1 mode against the independent 2.0.1 CSMS (which validates every message
against the official schemas): scenario 1's mix, Heartbeat : TransactionEvent Updated with four
sampled values, 1 : 1. A short functional run at a low rate, not a benchmark."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

LOADGEN = Path(__file__).resolve().parents[3] / "bench" / "loadgen" / "loadgen.py"


async def test_loadgen_speaks_2_0_1(csms201):
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(LOADGEN), "--url", csms201.url, "--charge-points", "3", "--duration", "1",
        "--ocpp-version", "2.0.1", "--mix", "heartbeat:1,transactionevent:1", "--mode", "rate", "--rate", "60",
        "--settle", "0", "--quiet",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["errors"] == 0, result["error_kinds"]
    assert set(result["latency_by_action"]) == {"Heartbeat", "TransactionEvent"}
    assert set(csms201.subprotocols) == {"ocpp2.0.1"}
    for identity in ("BENCH-00001", "BENCH-00002", "BENCH-00003"):
        assert csms201.messages(identity, "BootNotification")[0]["reason"] == "PowerUp"
        events = csms201.events(identity)
        assert events[0]["eventType"] == "Started"
        assert [e["seqNo"] for e in events] == list(range(len(events)))
        updated = events[1:]
        assert updated and all(e["eventType"] == "Updated" for e in updated)
        assert all(len(e["meterValue"][0]["sampledValue"]) == 4 for e in updated)
        heartbeats = len(csms201.messages(identity, "Heartbeat"))
        assert abs(heartbeats - len(events)) <= 1  # 1 : 1

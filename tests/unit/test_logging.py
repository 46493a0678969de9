"""Logging: formatted and written off the logging thread, tracebacks plain and without locals,
the JSON format with its stack trace, and nothing lost at exit."""

from __future__ import annotations

import json
import os
import logging
import queue
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import logging, sys, threading
import structlog
from voltline.logging import configure

configure("INFO", sys.argv[1])
log = logging.getLogger("voltline.probe")


class Loud(Exception):
    def __str__(self):
        print("formatted on " + threading.current_thread().name, file=sys.stderr)
        return "loud"


def failing():
    secret_local = "xyzzy-local-value"
    raise Loud()


try:
    failing()
except Loud:
    log.exception("serving %s failed", "CP-1")
try:
    failing()
except Loud:
    structlog.get_logger("voltline.native").exception("native failed")
for n in range(3000):
    log.info("record %d", n)
print("logged on " + threading.current_thread().name)  # stdout: the log's thread writes stderr
"""


def _run(fmt: str, tmp_path: Path, **env: str) -> list[str]:
    script = tmp_path / "probe.py"  # a file, so tracebacks can quote its lines
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), fmt], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env}, capture_output=True, text=True,
        timeout=60, check=True,
    )
    return done.stdout.splitlines() + done.stderr.splitlines()


def test_console_tracebacks_are_plain_without_locals_and_formatted_off_the_logging_thread(tmp_path: Path) -> None:
    lines = _run("console", tmp_path)
    text = "\n".join(lines)
    assert "Traceback (most recent call last)" in text and "raise Loud()" in text
    assert "xyzzy-local-value" not in text and "secret_local" not in text
    logged_on = next(line for line in lines if line.startswith("logged on "))
    formatted_on = [line for line in lines if line.startswith("formatted on ")]
    assert len(formatted_on) == 2 and all(line[13:] != logged_on[10:] for line in formatted_on), formatted_on
    # every record is written before the process ends
    assert sum(1 for line in lines if "record " in line) == 3000


def test_json_records_carry_the_stack_trace(tmp_path: Path) -> None:
    records = [json.loads(line) for line in _run("json", tmp_path) if line.startswith("{")]
    failures = [r for r in records if r["level"] == "error"]
    assert [r["event"] for r in failures] == ["serving CP-1 failed", "native failed"]
    for record in failures:
        assert record["exception"].startswith("Traceback (most recent call last)")
        assert "raise Loud()" in record["exception"] and "xyzzy-local-value" not in record["exception"]
    assert sum(1 for r in records if r["event"].startswith("record ")) == 3000


def test_a_workers_lines_name_it_in_both_formats(tmp_path: Path) -> None:
    records = [json.loads(line) for line in _run("json", tmp_path, VOLTLINE_WORKER="2") if line.startswith("{")]
    assert records and all(record["worker"] == "2" for record in records)
    lines = [line for line in _run("console", tmp_path, VOLTLINE_WORKER="2") if "record 7 " in line or line.endswith("record 7")]
    assert lines and all("worker=2" in line for line in lines)
    plain = [json.loads(line) for line in _run("json", tmp_path) if line.startswith("{")]
    assert plain and not any("worker" in record for record in plain)  # a lone server's lines are as before


def test_a_log_that_cannot_keep_up_drops_and_counts_instead_of_waiting() -> None:
    from voltline.logging import _Enqueue

    records: queue.Queue[logging.LogRecord] = queue.Queue(3)
    handler = _Enqueue(records)
    logger = logging.getLogger("voltline.test.drop")
    for n in range(5):
        handler.handle(logger.makeRecord(logger.name, logging.INFO, __file__, 0, "record %d", (n,), None))
    assert records.qsize() == 3 and handler.dropped == 2
    while not records.empty():
        records.get_nowait()
    handler.handle(logger.makeRecord(logger.name, logging.INFO, __file__, 0, "after", None, None))
    assert [r.getMessage() for r in records.queue] == ["2 log records were dropped: the log could not keep up", "after"]


SILENCED = """
import logging, os, sys
from voltline.logging import configure, silence

configure("INFO", "console")
log = logging.getLogger("voltline.probe")
for n in range(2000):
    log.info("record %d", n)
silence()
sys.stderr.write("the last line\\n")
sys.stderr.flush()
log.info("after the last line")
os._exit(3)
"""


def test_a_silenced_log_writes_nothing_after_the_last_line(tmp_path: Path) -> None:
    script = tmp_path / "silenced.py"
    script.write_text(SILENCED)
    done = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
        text=True, timeout=60,
    )
    assert done.returncode == 3
    assert done.stderr.splitlines()[-1] == "the last line"

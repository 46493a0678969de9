"""Structured logging for the whole process: console for people, JSON for log collectors.

The thread that logs (the event loop's, mostly) only puts the record in a queue; one thread of
its own formats and writes it. Formatting on the loop stalled every charge point: rich
tracebacks with locals during a 10-s database outage made the Heartbeat p50 7.6 s. Tracebacks
are plain text, without locals, in both formats (in JSON as the `exception` field).
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import os
import queue
import sys
import time
from typing import Any

import structlog

from voltline.workers import WORKER_VARIABLE

# Records waiting to be written. Beyond this many the newest are dropped and counted, rather than
# growing or making the loop wait for a slow terminal or pipe.
QUEUE_LIMIT = 10_000

_listener: logging.handlers.QueueListener | None = None
_queue: queue.Queue[logging.LogRecord] | None = None
_writer: _Writer | None = None


class _Enqueue(logging.handlers.QueueHandler):
    """Hands records to the writer thread without formatting them here."""

    def __init__(self, records: queue.Queue[logging.LogRecord]) -> None:
        super().__init__(records)
        self.dropped = 0

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # The message is resolved now, since its arguments may change once we return (cheap); the
        # traceback, the costly part, is left for the writer. structlog's own records carry an
        # event dict that its formatter reads as it is.
        if not isinstance(record.msg, dict):
            record.msg = record.getMessage()
            record.args = None
        return record

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            if self.dropped:
                self.queue.put_nowait(_dropped_record(self.dropped))
                self.dropped = 0
            self.queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1


class _Writer(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes records on the writer thread; silenced for an exit that cannot wait for it."""

    silenced = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.silenced:
            super().emit(record)


def _dropped_record(count: int) -> logging.LogRecord:
    return logging.LogRecord(
        "voltline.logging", logging.WARNING, __file__, 0, f"{count} log records were dropped: the log could not keep up",
        None, None,
    )


def configure(level: str = "INFO", fmt: str = "console") -> None:
    global _listener, _queue, _writer
    shared: list[Any] = [
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
    ]
    worker = os.environ.get(WORKER_VARIABLE)
    if worker:
        shared.append(_WorkerName(worker))
    if fmt == "json":
        render: list[Any] = [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        render = [structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)]
    writer = _Writer()
    writer.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *render],
        )
    )
    stop()
    _queue, _writer = queue.Queue(QUEUE_LIMIT), writer
    _listener = logging.handlers.QueueListener(_queue, writer)
    _listener.start()
    root = logging.getLogger()
    root.handlers[:] = [_Enqueue(_queue)]
    root.setLevel(level.upper())
    # picows logs every accepted connection at INFO: thousands a second in a reconnect storm.
    logging.getLogger("voltline.gateway.ws").setLevel(max(logging.WARNING, root.level))
    structlog.configure(
        processors=[*shared, _capture_exc_info, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )


class _WorkerName:
    """Adds `worker=N` to each line of a `--workers` worker, so the lines of N processes sharing
    one terminal or journal tell whose they are."""

    def __init__(self, worker: str) -> None:
        self.worker = worker

    def __call__(self, logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        event["worker"] = self.worker
        return event


def _capture_exc_info(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """`exc_info=True` names the exception being handled on this thread: take it before the
    record goes to the writer's."""
    if event.get("exc_info") is True:
        event["exc_info"] = sys.exc_info()
    return event


def flush(timeout: float = 5.0) -> None:
    """Wait (at most `timeout` seconds) until every record logged so far is written."""
    records = _queue
    if records is None:
        return
    deadline = time.monotonic() + timeout
    with records.all_tasks_done:
        while records.unfinished_tasks:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            records.all_tasks_done.wait(remaining)


def silence(within: float = 0.5) -> None:
    """Write what is queued for at most `within` seconds, then nothing more: for a process about
    to end at once, whose own last line must come last."""
    writer = _writer
    if writer is None:
        return
    flush(within)
    with writer.lock:  # a record being written is finished first
        writer.silenced = True


def stop() -> None:
    """Write what is queued and end the writer thread (at exit, or before configuring anew).
    What is logged afterwards is written at once: there is no event loop left to keep free."""
    global _listener, _queue, _writer
    listener, writer = _listener, _writer
    _listener = _queue = _writer = None
    if listener is None or writer is None:
        return
    listener.stop()
    root = logging.getLogger()
    root.handlers[:] = [writer if isinstance(handler, _Enqueue) else handler for handler in root.handlers]


atexit.register(stop)

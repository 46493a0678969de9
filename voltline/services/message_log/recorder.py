"""The OCPP message log: every frame in and out, written in the background in batches.

Recording a frame is an append to its charge point's list; a flush every fraction of a second
turns the frames of each charge point that has had frames waiting for `hold` seconds into one
`message_batches` row, its body compressed (see store.log_bodies), and hands the rows to the
store's next group commit, so the log never delays an answer to a charge point. Readers unpack
the frames again (services.message_log.search).

A batch costs a row and three index entries beside its body (160-200 bytes): written every
0.2 s, a charge point's batch held two or three frames under bench scenario 1 and the row cost
more than its compressed frames. Held for `hold` seconds (2 by default), a batch holds ten times
as many; each flush writes only a share of the charge points whose wait is over, so the writes
stay as even as before. A read of one charge point's log writes its frames first
(`flush(charge_point=…)`); a stop or an explicit flush writes them all.

The dictionary the bodies are compressed with is trained here, in a thread, on the first
batches a database's log writes (and again, on fresh samples, after ten times as many batches
as the last was trained after): the frames a network's charge points send are what it packs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
import zstandard

from voltline.services.clock import now
from voltline.services.security.charge_point_passwords import redacted
from voltline.store import tables as t
from voltline.store import log_bodies
from voltline.store.database import Store

log = logging.getLogger("voltline.message_log")

CHUNK_FRAMES = 2000
FRAME_BYTES = 64  # a frame's fields beside its text, as counted against `max_bytes`
WARN_EVERY = 10.0  # seconds between two warnings that frames wait for the database

Frame = tuple[str, str, int, str | None, str | None, str | None, str]  # in the order of tables.FRAME_FIELDS
Batch = tuple[str, datetime, datetime, int, bytes, int | None]
"""A message_batches row: charge point, first/last at, frame count, body, dictionary id."""
SPREAD = 1.5  # how much more than its share of the waiting charge points a flush may take
RETRAIN_GROWTH = 10  # a new dictionary once the batches since the last are this many times those before it


class MessageLog:
    """Frames wait in memory until committed: recorded since the last flush, handed to the store,
    or failed and kept for the next flush. All of them together are bounded by `max_buffer`
    frames and `max_bytes` of text; past either, a new frame is dropped and counted (`dropped`,
    exported in /metrics) — the newest are lost, not the memory."""

    def __init__(
        self,
        store: Store,
        *,
        enabled: bool = True,
        retention_days: int = 30,
        max_buffer: int = 200_000,
        max_bytes: int = 64 * 1024 * 1024,
        training_samples: int = log_bodies.TRAINING_SAMPLES,
        hold: float = 2.0,
    ):
        self._store = store
        self.enabled = enabled
        self.retention = timedelta(days=retention_days)
        self._frames: dict[str, list[Frame]] = {}  # recorded since the last flush, by charge point
        self._recorded = 0  # frames in self._frames
        self._recorded_bytes = 0
        self._retry: list[tuple[Batch, int]] = []  # batches whose commit failed (with their size), oldest first
        self._retry_frames = 0
        self._retry_bytes = 0
        self._committing: set[asyncio.Future[Any]] = set()  # chunks handed to the store
        self._committing_frames = 0
        self._committing_bytes = 0
        self._stamp_ms = 0
        self._stamp = ""
        self.hold = hold
        # When each charge point of `_frames` recorded its first frame since its last batch: in
        # the order of `_frames`, the oldest first.
        self._waiting_since: dict[str, float] = {}
        self._max_buffer = max_buffer
        self._max_bytes = max_bytes
        # What newly recorded frames may take: the bounds less what is held beyond them (kept
        # up to date at flushes and commits, so that `record` compares two numbers).
        self._room_frames = max_buffer
        self._room_bytes = max_bytes
        self.dropped = 0
        self._warned_at = -WARN_EVERY
        self._compressor = log_bodies.compressor()
        self._dictionary_id: int | None = None
        self._training_samples = training_samples
        self._samples: list[bytes] | None = None  # bodies to train on, while they are gathered
        self._batches = 0  # batches written since the dictionary in use was trained (or since start)
        self._train_after = 0  # batches after which to gather samples for the next dictionary
        self._training: asyncio.Task[None] | None = None

    @property
    def held_frames(self) -> int:
        """Frames in memory: not yet committed."""
        return self._recorded + self._retry_frames + self._committing_frames

    @property
    def held_bytes(self) -> int:
        return self._recorded_bytes + self._retry_bytes + self._committing_bytes

    def _held_changed(self) -> None:
        self._room_frames = self._max_buffer - self._retry_frames - self._committing_frames
        self._room_bytes = self._max_bytes - self._retry_bytes - self._committing_bytes

    @property
    def buffered(self) -> int:
        """Frames held in memory for a commit to come (recorded since the last flush, or in a failed
        batch kept for its retry): what `max_buffer` bounds, shown in /metrics."""
        return self._recorded + self._retry_frames

    def record(
        self,
        identity: str,
        direction: str,
        message_type: int,
        message_id: str | None,
        action: str | None,
        raw: bytes | str,
        error_code: str | None = None,
    ) -> None:
        if not self.enabled:
            return
        if self._recorded >= self._room_frames or self._recorded_bytes >= self._room_bytes:
            # The database has been away or slow for long: count what is lost.
            self.dropped += 1
            return
        frames = self._frames.get(identity)
        if frames is None:
            frames = self._frames[identity] = []
            self._waiting_since[identity] = time.monotonic()
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes | bytearray) else raw
        if action == "ChangeConfiguration" and message_type == 2 and "AuthorizationKey" in text:
            text = redacted(text)
        self._recorded += 1
        self._recorded_bytes += len(text) + FRAME_BYTES  # as taken off again by `_take`
        frames.append(
            (
                self._now(),
                direction,
                message_type,
                message_id[:64] if message_id else None,
                action[:64] if action else None,
                error_code[:40] if error_code else None,
                text,
            )
        )

    def _now(self) -> str:
        """Now, to the millisecond, as the frames keep it: formatted once per millisecond."""
        at = time.time()
        millisecond = int(at * 1000)
        if millisecond != self._stamp_ms:  # a clock set back is followed, not waited for
            self._stamp_ms = millisecond
            instant = datetime.fromtimestamp(at, UTC)
            self._stamp = instant.isoformat(" ", "microseconds")[:26]
        return self._stamp

    def _take(self, held_for: float, share: float) -> dict[str, list[Frame]]:
        """The frames of the charge points that have had frames waiting for `held_for` seconds
        (0: of all of them), taken out of the recorded ones: at most `share` of the waiting
        charge points (and one), the longest waiting first.

        Charge points that all started together (a fleet booting at once) would otherwise stay
        together, one big write every `held_for` seconds; taken a share at a time, the ones
        left over wait a flush or two longer, and the writes spread out evenly."""
        if held_for <= 0:
            taken, self._frames, self._waiting_since = self._frames, {}, {}
            self._recorded = self._recorded_bytes = 0
            return taken
        cutoff = time.monotonic() - held_for
        most = max(1, int(len(self._waiting_since) * share))
        # Past a quarter of the memory bounds, the longest waiting go early: holding back never drops.
        over_frames, over_bytes = self._recorded - self._max_buffer // 4, self._recorded_bytes - self._max_bytes // 4
        due = []
        for identity, since in self._waiting_since.items():
            if over_frames <= 0 and over_bytes <= 0 and (since > cutoff or len(due) >= most):
                break  # the others came later
            frames = self._frames[identity]
            size = sum([len(frame[6]) for frame in frames]) + FRAME_BYTES * len(frames)
            due.append((identity, size))
            over_frames -= len(frames)
            over_bytes -= size
        taken = {}
        for identity, size in due:
            del self._waiting_since[identity]
            frames = taken[identity] = self._frames.pop(identity)
            self._recorded -= len(frames)
            self._recorded_bytes -= size
        return taken

    def _take_one(self, identity: str) -> dict[str, list[Frame]]:
        frames = self._frames.pop(identity, None)
        if frames is None:
            return {}
        del self._waiting_since[identity]
        self._recorded -= len(frames)
        self._recorded_bytes -= sum([len(frame[6]) for frame in frames]) + FRAME_BYTES * len(frames)
        return {identity: frames}

    def flush(
        self, held_for: float = 0.0, share: float = 1.0, charge_point: str | None = None
    ) -> Awaitable[Any] | None:
        """Hand the recorded frames to the store (with `held_for`, those of the charge points
        whose frames have waited that long, at most `share` of them; with `charge_point`, that
        one's alone); the result resolves once every frame handed over so far is committed (or
        failed and waits for the next flush), earlier flushes' included.

        Batches go in chunks of about `CHUNK_FRAMES` frames, each a commit of its own: on SQLite a
        commit holds the event loop, and one of a fifth of a second's log held every charge point
        and API request for tens of milliseconds."""
        pending = self._take(held_for, share) if charge_point is None else self._take_one(charge_point)
        instant = _instant
        batches, self._retry, self._retry_frames, self._retry_bytes = self._retry, [], 0, 0
        compress, dictionary_id, samples = self._compressor.compress, self._dictionary_id, self._samples
        for identity, frames in pending.items():
            for start in range(0, len(frames), t.FRAMES_PER_BATCH):
                part = frames[start:start + t.FRAMES_PER_BATCH]
                text = orjson.dumps(part)
                if samples is not None and len(samples) < self._training_samples:
                    samples.append(text[:4096])  # enough to learn from, and bounded
                batch = (identity, instant(part[0][0]), instant(part[-1][0]), len(part), compress(text), dictionary_id)
                batches.append((batch, len(text) + FRAME_BYTES * len(part)))
        self._batches += len(batches)
        if samples is None and self._batches >= self._train_after:
            self._samples = []
        chunk: list[tuple[Batch, int]] = []
        frames_in_chunk = 0
        for batch, size in batches:
            chunk.append((batch, size))
            frames_in_chunk += batch[3]
            if frames_in_chunk >= CHUNK_FRAMES:
                self._commit(chunk)
                chunk, frames_in_chunk = [], 0
        if chunk:
            self._commit(chunk)
        self._held_changed()
        if not self._committing:
            return None
        return asyncio.gather(*self._committing, return_exceptions=True)

    def _commit(self, chunk: list[tuple[Batch, int]]) -> None:
        """Commit the batches of `chunk`; each beside its size as counted against `max_bytes`
        (the frames' text, not the compressed body: what the frames held in memory weigh)."""
        frames = sum(batch[3] for batch, _ in chunk)
        size = sum(batch_size for _, batch_size in chunk)
        self._committing_frames += frames
        self._committing_bytes += size
        written = self._store.write(inserts=((t.message_batches, [batch for batch, _ in chunk]),), background=True)
        written.add_done_callback(lambda done: self._written(done, chunk, frames, size))
        self._committing.add(written)

    def _written(self, done: asyncio.Future[Any], chunk: list[tuple[Batch, int]], frames: int, size: int) -> None:
        self._committing.discard(done)
        self._committing_frames -= frames
        self._committing_bytes -= size
        if done.cancelled() or done.exception() is not None:
            # Not written (the database is away, or the store's lane is full): kept for the next
            # flush, ahead of newer frames (chunks fail in the order they were committed).
            self._retry += chunk
            self._retry_frames += frames
            self._retry_bytes += size
            # Every chunk is offered again at each flush: say so now and then, not each time.
            if time.monotonic() - self._warned_at >= WARN_EVERY:
                self._warned_at = time.monotonic()
                error = None if done.cancelled() else done.exception()
                log.warning("message log: %d frames wait for the database (%s)", self._retry_frames, error)
        self._held_changed()

    async def run(self, interval: float = 0.2) -> None:
        """Flush forever; train a dictionary when samples are gathered."""
        try:
            await self.use_newest_dictionary()
        except Exception:  # the database away at start: bodies are compressed without one meanwhile
            log.exception("loading the message log's dictionary failed")
        while True:
            await asyncio.sleep(interval)
            # A little more than one flush's part of the hold: none waits much past it.
            self.flush(self.hold, SPREAD * interval / self.hold if self.hold > 0 else 1.0)
            samples = self._samples
            if samples is not None and len(samples) >= self._training_samples and self._training is None:
                self._training = asyncio.create_task(self.train(samples))

    async def run_pruning(self, interval: float = 3600.0) -> None:
        """Prune past the retention period now and every `interval` seconds, until cancelled (in a
        cluster, on one node at a time)."""
        while True:
            try:
                await self.prune()
            except Exception:
                log.exception("pruning the message log failed")
            await asyncio.sleep(interval)

    async def use_newest_dictionary(self) -> None:
        """Compress with the newest dictionary of the database, if it has one (else gather
        samples to train one on)."""
        d = t.message_dictionaries.c
        row = await self._store.fetch_one(sa.select(d.id, d.content).order_by(d.id.desc()).limit(1))
        if row is None:
            self._samples = self._samples if self._samples is not None else []
            return
        self._use(row.id, bytes(row.content), after=0)

    async def train(self, samples: list[bytes]) -> None:
        """Train a dictionary on `samples` in a thread, store it, and compress with it from the
        next flush on. Too few or too alike samples: gather again (zstd refuses to train)."""
        try:
            content = await asyncio.to_thread(log_bodies.train, samples)
            dictionaries = t.message_dictionaries
            [stored] = await self._store.commit_one(
                dictionaries.insert().values(content=content).returning(dictionaries.c.id)
            )
            self._use(stored.id, content, after=self._batches)
        except zstandard.ZstdError as error:
            log.info("message log: no dictionary trained on %d batches (%s)", len(samples), error)
            self._samples = []
        except Exception:
            log.exception("training the message log's dictionary failed")
            self._samples, self._train_after = None, self._batches + len(samples)
        finally:
            self._training = None

    def _use(self, dictionary_id: int, content: bytes, *, after: int) -> None:
        self._compressor = log_bodies.compressor(content)
        self._dictionary_id = dictionary_id
        self._samples = None
        # The next dictionary on fresher samples, each after ten times as many batches as the last.
        self._train_after = max(after, self._training_samples) * RETRAIN_GROWTH
        self._batches = 0

    async def prune(self) -> None:
        """Drop the batches whose every frame is past the retention period."""
        cutoff = now() - self.retention
        batches = t.message_batches
        await self._store.write(lambda conn: conn.execute(batches.delete().where(batches.c.last_at < cutoff)))


def _instant(stamp: str) -> datetime:
    """The UTC instant of a frame's stamp (a batch's first_at and last_at)."""
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC)

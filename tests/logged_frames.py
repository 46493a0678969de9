"""The message log's frames as a test reads them: unpacked the way the API and dashboard do."""

from __future__ import annotations

from typing import Any

from voltline.services.message_log.search import FrameQuery, LoggedFrame, Search
from voltline.store.log_bodies import Unpacker


async def logged_frames(conn: Any, query: FrameQuery = FrameQuery()) -> list[LoggedFrame]:
    """Every frame matching `query`, oldest first; `conn` a connection with `run_sync` (an
    AsyncConnection, or what Store.query or Store.read yields)."""
    return await conn.run_sync(  # type: ignore[no-any-return]
        lambda sync_conn: list(Search(sync_conn, Unpacker({}), 60.0).frames(query, newest_first=False))
    )


async def store_frames(store: Any, query: FrameQuery = FrameQuery()) -> list[LoggedFrame]:
    async with store.read() as conn:
        return await logged_frames(conn, query)

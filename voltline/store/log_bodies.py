"""The message log's batch bodies: a batch's frames as JSON (tables.FRAME_FIELDS), compressed
with zstd, with a dictionary trained on the log's own frames once there is one.

OCPP frames repeat themselves (actions, measurands, units, keys), but a batch holds only a few of
them: compressed alone, a batch of five frames kept about 78 bytes a frame; with a dictionary
trained on a few thousand batches, about 24 (bench scenario 1). Dictionaries are rows of
`message_dictionaries`, never changed; a batch names its own, so older batches stay readable
after a newer one is trained."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
import zstandard

from voltline.store import tables as t

LEVEL = 3  # on a 1-2 kB batch, levels 1-3 cost the same few microseconds; 3 packs a little tighter
DICTIONARY_BYTES = 32 * 1024  # 64 kB trained on the same samples packed no tighter
TRAINING_SAMPLES = 1000  # batches a dictionary is trained on (under 0.1 s of one core)


def compressor(dictionary: bytes | None = None) -> zstandard.ZstdCompressor:
    """A compressor of bodies (with `dictionary`, the content of a message_dictionaries row).
    Not to be used by two threads at once."""
    data = None if dictionary is None else zstandard.ZstdCompressionDict(dictionary)
    # No checksum and no dictionary id: the database keeps the bytes, the row names the dictionary.
    return zstandard.ZstdCompressor(
        level=LEVEL, dict_data=data, write_checksum=False, write_content_size=True, write_dict_id=False
    )


def train(samples: list[bytes]) -> bytes:
    """A dictionary trained on `samples` (batch bodies before compression). Raises
    zstandard.ZstdError when they are too few or too alike to train on."""
    return zstandard.train_dictionary(DICTIONARY_BYTES, samples).as_bytes()  # type: ignore[no-any-return]


class Unpacker:
    """Decompresses bodies with the dictionaries they name, each loaded once from the database.
    One per read (a decompressor is not to be used by two threads at once)."""

    def __init__(self, dictionaries: dict[int, bytes]) -> None:
        self._dictionaries = dictionaries  # shared by the reads of one store: they never change
        self._decompressors: dict[int | None, zstandard.ZstdDecompressor] = {}

    def load(self, conn: sa.Connection, ids: Iterable[int | None]) -> None:
        """Fetch the dictionaries among `ids` not loaded yet."""
        missing = {i for i in ids if i is not None and i not in self._dictionaries}
        if missing:
            d = t.message_dictionaries.c
            for row in conn.execute(sa.select(d.id, d.content).where(d.id.in_(missing))):
                self._dictionaries[row.id] = bytes(row.content)

    def unpack(self, body: bytes, dictionary_id: int | None) -> bytes:
        decompressor = self._decompressors.get(dictionary_id)
        if decompressor is None:
            data = None if dictionary_id is None else zstandard.ZstdCompressionDict(self._dictionaries[dictionary_id])
            decompressor = self._decompressors[dictionary_id] = zstandard.ZstdDecompressor(dict_data=data)
        return decompressor.decompress(body)  # type: ignore[no-any-return]

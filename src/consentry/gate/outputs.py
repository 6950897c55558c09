"""The run's output files, appended in order and cut back to the last checkpoint on
resume, so every item is written exactly once even after ``kill -9``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import zstandard

__all__ = ["OutputFiles", "with_verdict"]


def _encoded(value: dict[str, Any]) -> bytes:
    """``value`` as compact JSON. Written by the fast encoder; what it refuses (an
    integer wider than 64 bits in a record's metadata) by the standard one, which the
    reader has already checked can write it."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def with_verdict(line: bytes, record: dict[str, Any], verdict: dict[str, Any]) -> bytes | None:
    """``line``, the JSON object ``record`` was read from, with ``verdict``'s fields
    added after its own: the record as it came, byte for byte, without writing its
    content out again. None when a verdict field other than an equal ``id`` is one
    the record has, which the record is written out again to replace."""
    added = {key: value for key, value in verdict.items() if key not in record}
    if len(added) + 1 < len(verdict) or ("id" in record and record["id"] != verdict.get("id")):
        return None
    body = line.rstrip()
    if not added:
        return body
    return body[:-1] + b"," + _encoded(added)[1:]


class _Appender:
    """An append-only file; with zstd each checkpoint closes a frame, so the file is
    always a sequence of whole frames and can be truncated at any checkpoint."""

    def __init__(self, path: Path, *, compress: bool, offset: int | None) -> None:
        self.path = path
        self._raw: BinaryIO = path.open("r+b" if offset is not None else "wb")
        if offset is not None:
            self._raw.truncate(offset)
            self._raw.seek(offset)
        self._zstd = (
            zstandard.ZstdCompressor(level=3).stream_writer(self._raw, closefd=False)
            if compress
            else None
        )

    def write(self, data: bytes) -> None:
        (self._zstd or self._raw).write(data)

    def checkpoint(self) -> int:
        """Make everything written durable; returns the byte offset to resume from."""
        if self._zstd is not None:
            self._zstd.flush(zstandard.FLUSH_FRAME)
        self._raw.flush()
        os.fsync(self._raw.fileno())
        return self._raw.tell()

    def close(self) -> None:
        if self._zstd is not None:
            self._zstd.close()  # type: ignore[no-untyped-call]  # zstandard ships no types
        self._raw.close()


class OutputFiles:
    """``admitted.jsonl[.zst]``, ``rejected.jsonl`` and the item-digest list."""

    def __init__(
        self, folder: Path, *, compress: bool, offsets: dict[str, int] | None = None
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        offsets = offsets or {}
        resume = bool(offsets)
        name = "admitted.jsonl.zst" if compress else "admitted.jsonl"
        self.admitted = _Appender(
            folder / name, compress=compress, offset=offsets.get("admitted") if resume else None
        )
        self.rejected = _Appender(
            folder / "rejected.jsonl",
            compress=False,
            offset=offsets.get("rejected") if resume else None,
        )
        self.digests = _Appender(
            folder / ".item-digests",
            compress=False,
            offset=offsets.get("digests") if resume else None,
        )

    def write(self, *, admitted: bool, line: dict[str, Any] | bytes, digest: bytes) -> None:
        """Append ``line`` (an object, or a line already written out) and ``digest``."""
        encoded = line if isinstance(line, bytes) else _encoded(line)
        (self.admitted if admitted else self.rejected).write(encoded + b"\n")
        self.digests.write(digest)

    def checkpoint(self) -> dict[str, int]:
        return {
            "admitted": self.admitted.checkpoint(),
            "rejected": self.rejected.checkpoint(),
            "digests": self.digests.checkpoint(),
        }

    def close(self) -> None:
        for appender in (self.admitted, self.rejected, self.digests):
            appender.close()

    def remove(self) -> None:
        """Close and delete the files, for a run that saved nothing to resume."""
        self.close()
        for appender in (self.admitted, self.rejected, self.digests):
            appender.path.unlink(missing_ok=True)

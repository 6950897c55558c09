"""JSON Lines, plain, gzip or zstd, streamed line by line in bounded memory."""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO, cast

import orjson
import zstandard

from consentry.errors import InputError
from consentry.gate.item import DEFAULT_MAX_ITEM_BYTES, Item, item_from_mapping, shown_name

__all__ = ["open_decompressed", "read_jsonl"]

_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"
_PLAIN = frozenset({".jsonl", ".json", ".ndjson"})
# Read from the corpus at a time, and split into lines in one call.
_READ_BYTES = 1 << 20
# What a damaged compressed stream raises: gzip's EOFError (truncated), BadGzipFile (an
# OSError) and zlib.error (corrupt), zstd's ZstdError, and the file's own OSError.
_DAMAGED = (OSError, EOFError, zlib.error, zstandard.ZstdError)


def _zstd_short(raw: BinaryIO) -> str | None:
    """Where a zstd file's frames stop short of their end (RFC 8878 §3.1: each frame's
    header, then blocks up to the one marked last, then an optional checksum), or None
    when the file is whole frames. Only headers are read."""
    size = os.fstat(raw.fileno()).st_size
    short = f"the file ends inside a zstd frame, at byte {size:,}"
    at = 0
    while at < size:
        raw.seek(at)
        head = raw.read(8)
        if 0x184D2A50 <= int.from_bytes(head[:4], "little") <= 0x184D2A5F:  # skippable
            at += 8 + int.from_bytes(head[4:8], "little") if len(head) == 8 else size + 1
            continue
        if len(head) < 5:
            return short
        descriptor = head[4]
        single = descriptor >> 5 & 1
        at += 5 + (1 - single) + (0, 1, 2, 4)[descriptor & 3] + (single, 2, 4, 8)[descriptor >> 6]
        last = False
        while not last:
            if at + 3 > size:
                return short
            raw.seek(at)
            block = int.from_bytes(raw.read(3), "little")
            last = bool(block & 1)
            at += 3 + (1 if block >> 1 & 3 == 1 else block >> 3)  # an RLE block holds 1 byte
        at += 4 * (descriptor >> 2 & 1)
    return short if at > size else None


class _WholeZstd(io.RawIOBase):
    """A zstd file decompressed frame after frame that, like gzip's stream, ends in
    ``EOFError`` when the file ends inside a frame: zstd's own reader ends there as
    quietly as at the end of a whole file, and a truncated corpus lost half its items
    without a word."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._raw = raw
        self._stream = zstandard.ZstdDecompressor().stream_reader(
            raw, read_across_frames=True, closefd=False
        )

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]  # io's own buffer type
        read = int(self._stream.readinto(buffer))
        if read == 0 and (short := _zstd_short(self._raw)) is not None:
            raise EOFError(short)
        return read


@contextmanager
def open_decompressed(path: Path) -> Iterator[IO[bytes]]:
    """``path`` as a byte stream, decompressed when its name says .gz or .zst. A name
    that says plain JSON Lines is read as it is, even when its first bytes look like a
    compressed stream's (they are then a line like any other); any other name is
    decompressed by its magic bytes. A compressed stream that is cut short ends in
    ``EOFError``."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot open corpus {path} ({exc.strerror})") from exc
    with raw:
        magic = raw.read(4)
        raw.seek(0)
        suffix = path.suffix.lower()
        sniff = suffix not in _PLAIN
        if suffix == ".gz" or (sniff and magic.startswith(_GZIP)):
            with gzip.GzipFile(fileobj=raw) as stream:
                yield cast(IO[bytes], stream)
        elif suffix in {".zst", ".zstd"} or (sniff and magic == _ZSTD):
            with io.BufferedReader(_WholeZstd(raw), buffer_size=1 << 20) as stream:
                yield stream
        else:
            yield raw


def _lines(stream: IO[bytes], limit: int) -> Iterator[tuple[bytes, bool]]:
    """Each line (without its newline) and whether it was cut at ``limit`` bytes; the
    rest of an over-long line is read past without being held. Read a block at a time
    and split there: a call per line costs as much as the parse of a short record."""
    # One underlying read at a time (``read1``): a damaged stream has given every line
    # before the damage when it raises.
    read = getattr(stream, "read1", stream.read)
    pending = b""  # the start of the line the last block ended in
    skipping = False  # inside the rest of a line already cut
    while block := read(_READ_BYTES):
        if skipping:
            end = block.find(b"\n")
            if end < 0:
                continue
            block, skipping = block[end + 1 :], False
        lines = (pending + block if pending else block).split(b"\n")
        pending = lines.pop()
        for line in lines:
            yield (line[:limit], True) if len(line) > limit else (line.rstrip(b"\r"), False)
        if len(pending) > limit:
            yield pending[:limit], True
            pending, skipping = b"", True
    if pending:
        yield pending.rstrip(b"\r"), False


class _Range(io.RawIOBase):
    """Bytes ``start`` to ``end`` of a plain file, as a stream of their own."""

    def __init__(self, raw: IO[bytes], start: int, end: int) -> None:
        super().__init__()
        self._raw, self._left = raw, end - start
        raw.seek(start)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]  # io's own buffer type
        if self._left <= 0:
            return 0
        data = self._raw.read(min(len(buffer), self._left))
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)


def _between(raw: IO[bytes], start: int, end: int) -> IO[bytes]:
    return io.BufferedReader(_Range(raw, start, end), buffer_size=1 << 20)


def _refuse_binary(path: Path) -> None:
    try:
        with open_decompressed(path) as stream:
            head = stream.read(8192)
    except _DAMAGED:
        return  # a damaged stream is reported by the reader itself, after what it read
    if b"\x00" in head:
        raise InputError(
            f"corpus {path} is binary, not JSON Lines (a NUL byte in its first 8 KiB); "
            "check the file, or compress it as .gz or .zst and name it so"
        )


def _parsed(line: bytes, number: int) -> tuple[object, str | None]:
    """The line's JSON value, or why it has none. Read by the fast parser; a line it
    refuses (NaN, an unpaired surrogate, deep nesting, bad UTF-8) is read again by the
    standard one, whose value or reason is the one a record is judged by, as is a line
    whose id the fast parser read as a float: an integer too wide for 64 bits."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        pass
    else:
        if not (isinstance(value, dict) and type(value.get("id")) is float):
            return value, None
    try:
        return json.loads(line), None
    except UnicodeDecodeError:
        return None, f"line {number} is not UTF-8"
    except json.JSONDecodeError as exc:
        return None, f"line {number} is not JSON ({exc.msg} at column {exc.colno})"
    except RecursionError:
        return None, f"line {number} is JSON nested too deeply to read"
    except ValueError:
        # The one other ValueError of json.loads: Python's bound on digits in an integer.
        digits = sys.get_int_max_str_digits()
        return None, f"line {number} holds an integer of over {digits:,} digits"


def _line_item(line: bytes, number: int, source: str, base: Path, max_bytes: int) -> Item:
    if not line.strip():
        return Item.broken(source, f"line {number} is blank")
    record, problem = _parsed(line, number)
    if problem is not None:
        return Item.broken(source, problem)
    if not isinstance(record, dict):
        return Item.broken(
            source, f"line {number} is a JSON {type(record).__name__}, not an object"
        )
    item = item_from_mapping(record, source=source, base=base, max_bytes=max_bytes)
    if item.original is not None:
        item.line = line
        item.footprint += len(line)  # held beside its record until written out
    return item


def read_jsonl(
    path: Path,
    *,
    max_bytes: int = DEFAULT_MAX_ITEM_BYTES,
    lines: tuple[int, int, int] | None = None,
) -> Iterator[Item]:
    """One ``Item`` per line. A line that is blank, not a JSON object, not UTF-8, too
    long, or not one that can be written back out as JSON becomes an unreadable item
    naming the line; reading goes on. ``lines``: of a plain file, only those from byte
    ``start`` (a line's first) to ``end``, the first of them line ``first``, as
    ``(start, end, first)`` (``plan_shards`` makes them): each item named as a reading
    of the whole file names it.

    Raises ``InputError`` for a file that is binary (a NUL byte in its first 8 KiB once
    decompressed): it is not JSON Lines, and reading it would give a reason per line;
    and, after the items before the damage, for a compressed file that is truncated or
    corrupt, naming the last line read whole."""
    _refuse_binary(path)
    name = shown_name(path.name)
    number = 0
    first = 1 if lines is None else lines[2]
    try:
        with open_decompressed(path) as whole:
            stream: IO[bytes] = whole if lines is None else _between(whole, lines[0], lines[1])
            for number, (line, cut) in enumerate(_lines(stream, max_bytes + 4096), start=first):
                source = f"{name}:{number}"
                if cut:
                    yield Item.broken(
                        source, f"line {number} is over the {max_bytes:,}-byte limit per item"
                    )
                else:
                    yield _line_item(line, number, source, path.parent, max_bytes)
    except _DAMAGED as exc:
        where = f"after line {number:,}" if number else "before its first line"
        raise InputError(
            f"corpus {shown_name(str(path))} is truncated or corrupt {where} ({exc})"
        ) from exc

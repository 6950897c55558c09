"""JSON Lines, plain, gzip or zstd, streamed line by line in bounded memory."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, cast

import zstandard

from consentry.errors import InputError
from consentry.gate.item import DEFAULT_MAX_ITEM_BYTES, Item, item_from_mapping

__all__ = ["open_decompressed", "read_jsonl"]

_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"
_PLAIN = frozenset({".jsonl", ".json", ".ndjson"})


@contextmanager
def open_decompressed(path: Path) -> Iterator[IO[bytes]]:
    """``path`` as a byte stream, decompressed when its name says .gz or .zst. A name
    that says plain JSON Lines is read as it is, even when its first bytes look like a
    compressed stream's (they are then a line like any other); any other name is
    decompressed by its magic bytes."""
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
            reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
            with io.BufferedReader(reader, buffer_size=1 << 20) as stream:
                yield stream
        else:
            yield raw


def _lines(stream: IO[bytes], limit: int) -> Iterator[tuple[bytes, bool]]:
    """Each line (without its newline) and whether it was cut at ``limit`` bytes; the
    rest of an over-long line is read past without being held."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while True:
                rest = stream.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield line[:limit], True
            continue
        yield line.rstrip(b"\r\n"), False


def _refuse_binary(path: Path) -> None:
    try:
        with open_decompressed(path) as stream:
            head = stream.read(8192)
    except (OSError, EOFError, zstandard.ZstdError):
        return  # a damaged stream is reported as an item by the reader itself
    if b"\x00" in head:
        raise InputError(
            f"corpus {path} is binary, not JSON Lines (a NUL byte in its first 8 KiB); "
            "check the file, or compress it as .gz or .zst and name it so"
        )


def read_jsonl(path: Path, *, max_bytes: int = DEFAULT_MAX_ITEM_BYTES) -> Iterator[Item]:
    """One ``Item`` per line. A line that is blank, not a JSON object, not UTF-8, or
    too long becomes an unreadable item naming the line; reading goes on.

    Raises ``InputError`` for a file that is binary (a NUL byte in its first 8 KiB once
    decompressed): it is not JSON Lines, and reading it would give a reason per line."""
    _refuse_binary(path)
    try:
        with open_decompressed(path) as stream:
            for number, (line, cut) in enumerate(_lines(stream, max_bytes + 4096), start=1):
                source = f"{path.name}:{number}"
                if cut:
                    yield Item.broken(
                        source, f"line {number} is over the {max_bytes:,}-byte limit per item"
                    )
                    continue
                if not line.strip():
                    yield Item.broken(source, f"line {number} is blank")
                    continue
                try:
                    record = json.loads(line)
                except UnicodeDecodeError:
                    yield Item.broken(source, f"line {number} is not UTF-8")
                    continue
                except json.JSONDecodeError as exc:
                    yield Item.broken(
                        source, f"line {number} is not JSON ({exc.msg} at column {exc.colno})"
                    )
                    continue
                if not isinstance(record, dict):
                    yield Item.broken(
                        source, f"line {number} is a JSON {type(record).__name__}, not an object"
                    )
                    continue
                yield item_from_mapping(
                    record, source=source, base=path.parent, max_bytes=max_bytes
                )
    except (OSError, EOFError, zstandard.ZstdError) as exc:
        # A truncated or corrupt compressed stream: the items read so far stand; the
        # damage is itself reported as an unreadable item so counts still reconcile.
        yield Item.broken(
            f"{path.name}:end",
            f"{path.name} is truncated or corrupt ({exc}); items after this point were not read",
        )

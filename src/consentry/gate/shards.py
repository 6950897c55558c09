"""A corpus cut into shards that can be decided apart and merged in order, each knowing
the number of its first item, so that its items are named as a reading of the whole
file names them and the merged run is the run one process would have made:

- a plain JSON Lines file into byte ranges that start and end at line boundaries;
- a Parquet file into runs of whole row groups;
- a WARC file (``.warc``, or ``.warc.gz`` of one gzip member per record) into byte
  ranges that start where a record does (``consentry.gate.readers._warc_members`` says
  where a cut may go). A ``.warc.gz`` compressed as one gzip stream is one shard.

Signal files a WARC holds for its sites (robots.txt...) are read from the whole file
before it is cut (``consentry.app.gating.site_signals_for``), so they apply to every
shard.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from consentry.errors import InputError
from consentry.gate.item import Item
from consentry.gate.readers import read_jsonl, read_parquet, read_warc
from consentry.gate.readers._warc_members import record_starts
from consentry.gate.readers.warc import is_warc

__all__ = ["DEFAULT_SHARD_BYTES", "Shard", "plan_shards", "read_shard", "splittable"]

DEFAULT_SHARD_BYTES = 64 << 20
_PLAIN = (".jsonl", ".json", ".ndjson")
_PARQUET = ".parquet"
_BLOCK = 8 << 20


@dataclass(frozen=True, slots=True)
class Shard:
    """Items of the corpus from ``start`` to ``end``, the first of them item
    ``first_line``: of a JSON Lines file, the lines from byte ``start`` to byte
    ``end``; of a Parquet file, row groups ``start`` to ``end`` (exclusive); of a WARC
    file, the records from byte ``start`` to byte ``end``, ``first_line`` the number
    of their first response."""

    number: int
    start: int
    end: int
    first_line: int

    @property
    def lines(self) -> tuple[int, int, int]:
        return (self.start, self.end, self.first_line)

    def to_json(self) -> dict[str, int]:
        return {
            "number": self.number,
            "start": self.start,
            "end": self.end,
            "first_line": self.first_line,
        }

    @classmethod
    def from_json(cls, data: Any) -> Shard:
        try:
            return cls(
                int(data["number"]), int(data["start"]), int(data["end"]), int(data["first_line"])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"a shard of the run's plan is not one ({exc})") from exc


def splittable(path: Path) -> bool:
    """Whether ``path`` is a file that can be cut into shards: plain JSON Lines (at any
    line), Parquet (at any row group) or WARC (where a record begins)."""
    name = path.name.lower()
    return path.is_file() and (name.endswith((*_PLAIN, _PARQUET)) or is_warc(path))


def plan_shards(path: Path, *, target_bytes: int = DEFAULT_SHARD_BYTES) -> list[Shard]:
    """``path`` (``splittable``) cut into shards of about ``target_bytes`` each, with
    their first items counted. Raises ``InputError`` for a file that cannot be read."""
    if target_bytes < 1:
        raise InputError(f"a shard must hold at least one byte, not {target_bytes}")
    if path.name.lower().endswith(_PARQUET):
        return _row_group_shards(path, target_bytes)
    if is_warc(path):
        return _record_shards(path, target_bytes)
    return _line_shards(path, target_bytes)


def read_shard(path: Path, shard: Shard) -> Iterator[Item]:
    """The items of ``shard`` of ``path``, named as a reading of the whole file names
    them."""
    if path.name.lower().endswith(_PARQUET):
        return read_parquet(path, row_groups=shard.lines)
    if is_warc(path):
        return read_warc(path, records=shard.lines)
    return read_jsonl(path, lines=shard.lines)


def _line_shards(path: Path, target_bytes: int) -> list[Shard]:
    """Each shard ending after a newline (the last at the end of the file): one
    reading of the file, at the speed of counting newlines."""
    size = path.stat().st_size
    cuts = [0]
    with path.open("rb") as stream:
        while cuts[-1] + target_bytes < size:
            stream.seek(cuts[-1] + target_bytes)
            stream.readline()  # to the start of the next line
            at = stream.tell()
            if at >= size:
                break
            cuts.append(at)
        cuts.append(size)
        shards, line = [], 1
        for number, (start, end) in enumerate(pairwise(cuts)):
            shards.append(Shard(number, start, end, line))
            stream.seek(start)
            left = end - start
            while left > 0:
                block = stream.read(min(_BLOCK, left))
                line += block.count(b"\n")
                left -= len(block)
    return shards


def _row_group_shards(path: Path, target_bytes: int) -> list[Shard]:
    """Consecutive row groups, each shard as many as hold about ``target_bytes`` (at
    least one); read from the file's footer alone."""
    try:
        metadata = pq.ParquetFile(path).metadata
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{path} is not a readable Parquet file ({exc})") from exc
    shards: list[Shard] = []
    first, held, row, first_row = 0, 0, 1, 1
    for group in range(metadata.num_row_groups):
        held += metadata.row_group(group).total_byte_size
        row += metadata.row_group(group).num_rows
        if held >= target_bytes or group == metadata.num_row_groups - 1:
            shards.append(Shard(len(shards), first, group + 1, first_row))
            first, held, first_row = group + 1, 0, row
    return shards or [Shard(0, 0, 0, 1)]


def _record_shards(path: Path, target_bytes: int) -> list[Shard]:
    """Each shard beginning at a record where a cut may go, the first at or past
    ``target_bytes`` from the shard before; the last ending at the end of the file.
    One reading of the file: a ``.warc.gz`` is inflated whole, a plain one is read
    header by header."""
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot open corpus {path} ({exc.strerror})") from exc
    starts, responses = [(0, 1)], 0
    with stream:
        try:
            for at, response in record_starts(stream):
                if at - starts[-1][0] >= target_bytes:
                    starts.append((at, responses + 1))
                responses += response
            size = stream.seek(0, io.SEEK_END)
        except OSError as exc:
            raise InputError(f"cannot read corpus {path} ({exc.strerror})") from exc
    ends = [at for at, _ in starts[1:]] + [size]
    return [
        Shard(number, start, end, first)
        for number, ((start, first), end) in enumerate(zip(starts, ends, strict=True))
    ]

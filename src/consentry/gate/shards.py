"""A corpus cut into shards that can be decided apart and merged in order: a plain JSON
Lines file into byte ranges that start and end at line boundaries, each knowing the
number of its first line, so that its items are named as a reading of the whole file
names them and the merged run is the run one process would have made."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from consentry.errors import InputError

__all__ = ["DEFAULT_SHARD_BYTES", "Shard", "plan_shards", "splittable"]

DEFAULT_SHARD_BYTES = 64 << 20
_PLAIN = (".jsonl", ".json", ".ndjson")
_BLOCK = 8 << 20


@dataclass(frozen=True, slots=True)
class Shard:
    """Lines of the corpus from byte ``start`` to ``end``, the first of them line
    ``first_line``."""

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
    """Whether ``path`` is a plain JSON Lines file, which can be cut at any line."""
    return path.is_file() and path.name.lower().endswith(_PLAIN)


def plan_shards(path: Path, *, target_bytes: int = DEFAULT_SHARD_BYTES) -> list[Shard]:
    """``path`` cut into shards of about ``target_bytes``, each ending after a newline
    (the last at the end of the file), with their first lines counted: one reading of
    the file, at the speed of counting newlines."""
    if target_bytes < 1:
        raise InputError(f"a shard must hold at least one byte, not {target_bytes}")
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

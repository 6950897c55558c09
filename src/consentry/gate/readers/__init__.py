"""Corpus readers: every format streams ``Item``s in bounded memory, bad records as
unreadable items rather than errors."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from consentry.errors import InputError
from consentry.gate.item import DEFAULT_MAX_ITEM_BYTES, Item, item_from_mapping
from consentry.gate.readers.folder import read_folder
from consentry.gate.readers.jsonl import read_jsonl
from consentry.gate.readers.parquet import read_parquet
from consentry.gate.readers.warc import html_text_and_meta, read_warc

__all__ = [
    "html_text_and_meta",
    "read_corpus",
    "read_dataset",
    "read_folder",
    "read_jsonl",
    "read_parquet",
    "read_warc",
]

_JSONL = (".jsonl", ".json", ".ndjson", ".jsonl.gz", ".json.gz", ".jsonl.zst", ".json.zst")
_WARC = (".warc", ".warc.gz")


def read_dataset(
    rows: Iterable[Mapping[str, Any]],
    *,
    name: str = "dataset",
    max_bytes: int = DEFAULT_MAX_ITEM_BYTES,
) -> Iterator[Item]:
    """Rows of a Hugging Face ``datasets.Dataset`` (or any iterable of mappings) with
    the JSON Lines fields."""
    for number, row in enumerate(rows, start=1):
        yield item_from_mapping(dict(row), source=f"{name}#{number}", max_bytes=max_bytes)


def read_corpus(path: Path, *, max_bytes: int = DEFAULT_MAX_ITEM_BYTES) -> Iterator[Item]:
    """Pick the reader for ``path`` by what it is.

    Raises ``InputError`` for a path that does not exist or is no known format.
    """
    if path.is_dir():
        return read_folder(path, max_bytes=max_bytes)
    if not path.exists():
        raise InputError(f"corpus {path} does not exist; check the path")
    name = path.name.lower()
    if name.endswith(_JSONL):
        return read_jsonl(path, max_bytes=max_bytes)
    if name.endswith(".parquet"):
        return read_parquet(path, max_bytes=max_bytes)
    if name.endswith(_WARC):
        return read_warc(path, max_bytes=max_bytes)
    raise InputError(
        f"corpus {path} is not a folder, JSON Lines (.jsonl[.gz|.zst]), Parquet or WARC "
        "file; convert it or name it by its format"
    )

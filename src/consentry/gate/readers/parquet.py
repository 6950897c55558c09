"""Parquet with the JSON Lines columns (``id``, ``text``, ``metadata``, ``image``,
``image_path``), streamed by record batch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from consentry.errors import InputError
from consentry.gate.item import DEFAULT_MAX_ITEM_BYTES, Item, item_from_mapping, shown_name

__all__ = ["read_parquet"]

_COLUMNS = ("id", "text", "metadata", "image", "image_path")


def read_parquet(
    path: Path,
    *,
    max_bytes: int = DEFAULT_MAX_ITEM_BYTES,
    batch_rows: int = 1024,
    row_groups: tuple[int, int, int] | None = None,
) -> Iterator[Item]:
    """One ``Item`` per row, as ``item_from_mapping`` makes it; a ``metadata`` column of
    JSON strings is parsed. ``row_groups`` (first, end, first row): only row groups
    ``first`` to ``end`` (exclusive), whose first row is row ``first row`` of the file,
    each item named as a reading of the whole file names it (a shard of the file).

    Raises ``InputError`` for a file that is not Parquet or has no ``id`` column, and,
    after the items before the damage, for one whose data cannot be decoded part way."""
    try:
        parquet = pq.ParquetFile(path)
        names = parquet.schema_arrow.names
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{path} is not a readable Parquet file ({exc})") from exc
    columns = [c for c in _COLUMNS if c in names]
    if "id" not in columns:
        raise InputError(f"{path} has no 'id' column; the gate needs one id per row")
    name = shown_name(path.name)
    row, groups = 0, None
    if row_groups is not None:
        first, end, first_row = row_groups
        row, groups = first_row - 1, list(range(first, end))
    try:
        for batch in parquet.iter_batches(
            batch_size=batch_rows, row_groups=groups, columns=columns
        ):
            for record in batch.to_pylist():
                row += 1
                yield _row_item(record, f"{name}#{row}", row, path.parent, max_bytes)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(
            f"corpus {shown_name(str(path))} is corrupt after row {row:,} ({exc})"
        ) from exc


def _row_item(record: dict[str, Any], source: str, row: int, base: Path, max_bytes: int) -> Item:
    metadata = record.get("metadata")
    if isinstance(metadata, str):
        # Metadata is often stored as a JSON string column.
        try:
            record["metadata"] = json.loads(metadata)
        except (ValueError, RecursionError):  # not JSON, too deep, or too long a number
            # Arrow's strings are UTF-8 and its integers 64-bit: any id is writable.
            record_id = record.get("id")
            named = isinstance(record_id, str | int) and record_id != ""
            item_id = str(record_id) if named else source
            return Item.broken(source, f"row {row} metadata is not JSON", item_id=item_id)
    return item_from_mapping(record, source=source, base=base, max_bytes=max_bytes)

"""Parquet with the JSON Lines columns (``id``, ``text``, ``metadata``, ``image``,
``image_path``), streamed by record batch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from consentry.errors import InputError
from consentry.gate.item import DEFAULT_MAX_ITEM_BYTES, Item, item_from_mapping

__all__ = ["read_parquet"]

_COLUMNS = ("id", "text", "metadata", "image", "image_path")


def read_parquet(
    path: Path, *, max_bytes: int = DEFAULT_MAX_ITEM_BYTES, batch_rows: int = 1024
) -> Iterator[Item]:
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputError(f"{path} is not a readable Parquet file ({exc})") from exc
    columns = [c for c in _COLUMNS if c in parquet.schema_arrow.names]
    if "id" not in columns:
        raise InputError(f"{path} has no 'id' column; the gate needs one id per row")
    row = 0
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
        for record in batch.to_pylist():
            row += 1
            metadata = record.get("metadata")
            if isinstance(metadata, str):
                # Metadata is often stored as a JSON string column.
                try:
                    record["metadata"] = json.loads(metadata)
                except json.JSONDecodeError:
                    yield Item.broken(
                        f"{path.name}#{row}",
                        f"row {row} metadata is not JSON",
                        item_id=str(record.get("id") or f"{path.name}#{row}"),
                    )
                    continue
            yield item_from_mapping(
                record, source=f"{path.name}#{row}", base=path.parent, max_bytes=max_bytes
            )

"""The ingestion gate: readers, decisions, writers, manifest (in progress)."""

from consentry.gate.item import Item, item_from_mapping
from consentry.gate.readers import (
    read_corpus,
    read_dataset,
    read_folder,
    read_jsonl,
    read_parquet,
    read_warc,
)

__all__ = [
    "Item",
    "item_from_mapping",
    "read_corpus",
    "read_dataset",
    "read_folder",
    "read_jsonl",
    "read_parquet",
    "read_warc",
]

"""The registry's match index on disk, refreshed with new works before each run."""

from __future__ import annotations

from pathlib import Path

from consentry.errors import InputError
from consentry.index import MatchIndex
from consentry.registry import Registry

__all__ = ["MAX_SEGMENTS", "current_index"]

MAX_SEGMENTS = 8


def current_index(registry: Registry, folder: Path) -> MatchIndex:
    """Load the saved index (memory-mapped), add works registered since, save.

    A missing or damaged index is rebuilt from the registry.
    """
    try:
        index = MatchIndex.load(folder)
    except InputError:
        index = MatchIndex()
    added = registry.works.refresh_index(index)
    if len(index.segments) > MAX_SEGMENTS:
        index.compact()
    if added or not (folder / "index.json").exists():
        index.save(folder)
    return index

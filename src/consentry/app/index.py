"""The registry's match index on disk, refreshed with new works before each run or
check. It lives in the registry's home, beside the database it mirrors.

It is built from the registry a segment at a time, and compaction merges only small
segments, never past ``SEGMENT_WORKS`` works: building or compacting the index of a
registry of millions of works holds one segment's records in memory, not all of them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from consentry.app.workspace import Workspace
from consentry.errors import InputError
from consentry.index import MatchIndex
from consentry.registry import Registry
from consentry.registry.works import SEGMENT_WORKS

__all__ = ["MAX_SEGMENTS", "compact_index", "current_index", "workspace_index"]

MAX_SEGMENTS = 8


def current_index(registry: Registry, folder: Path, *, save: bool = True) -> MatchIndex:
    """Load the saved index (memory-mapped), add works registered since, save.

    A missing or damaged index is rebuilt from the registry. With ``save`` False the
    folder is only read (processes running side by side must not all write it): the
    index is brought up to date in memory.
    """
    try:
        index = MatchIndex.load(folder)
    except InputError:
        if save:
            # Damaged or from an older layout: rebuild into a clean folder, so no
            # damaged segment is kept because its name says it is already there.
            shutil.rmtree(folder, ignore_errors=True)
        index = MatchIndex()
    added = registry.works.refresh_index(index, segment_works=SEGMENT_WORKS)
    if save:
        compact_index(index)
    if save and (added or not (folder / "index.json").exists()):
        index.save(folder)
    return index


def compact_index(index: MatchIndex, *, segment_works: int = SEGMENT_WORKS) -> bool:
    """Once ``index`` has more than ``MAX_SEGMENTS`` segments, merge each run of
    neighbouring segments that together hold at most ``segment_works`` works into one
    (same answers, fewer lookups per item); returns whether any were merged. A segment
    already that large stays as it is, so a registry past ``MAX_SEGMENTS`` of them keeps
    one segment per ``segment_works`` works."""
    if len(index.segments) <= MAX_SEGMENTS:
        return False
    runs: list[list[int]] = []
    held = 0
    for position, segment in enumerate(index.segments):
        size = MatchIndex(segments=[segment]).size  # works, not rows (code has two)
        if runs and held + size <= segment_works:
            runs[-1].append(position)
            held += size
        else:
            runs.append([position])
            held = size
    if len(runs) == len(index.segments):
        return False
    merged = []
    for run in runs:
        part = MatchIndex(segments=[index.segments[p] for p in run], params=index.params)
        part.compact()
        merged += part.segments
    index.segments = merged
    return True


def workspace_index(ws: Workspace, *, save: bool = True) -> MatchIndex:
    """``current_index`` for the workspace's registry, in its home's ``index`` folder."""
    return current_index(ws.registry, index_folder(ws), save=save)


def index_folder(ws: Workspace) -> Path:
    return ws.settings.home / "index"

"""The registry's match index on disk, refreshed with new works before each run or
check. It lives in the registry's home, beside the database it mirrors."""

from __future__ import annotations

import shutil
from pathlib import Path

from consentry.app.workspace import Workspace
from consentry.errors import InputError
from consentry.index import MatchIndex
from consentry.registry import Registry

__all__ = ["MAX_SEGMENTS", "current_index", "workspace_index"]

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
    added = registry.works.refresh_index(index)
    if save and len(index.segments) > MAX_SEGMENTS:
        index.compact()
    if save and (added or not (folder / "index.json").exists()):
        index.save(folder)
    return index


def workspace_index(ws: Workspace, *, save: bool = True) -> MatchIndex:
    """``current_index`` for the workspace's registry, in its home's ``index`` folder."""
    return current_index(ws.registry, index_folder(ws), save=save)


def index_folder(ws: Workspace) -> Path:
    return ws.settings.home / "index"

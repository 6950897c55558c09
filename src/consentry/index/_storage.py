"""How index parts are kept on disk: a frozen dataclass of numpy arrays is a folder of
``.npy`` files (memory-mapped on load), and an index is such folders plus a JSON
manifest naming them, replaced atomically last."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import Field, fields
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import numpy as np

from consentry.errors import InputError

__all__ = ["Arrays", "read_manifest", "write_index"]


class Arrays:
    """What a dataclass whose every field is a numpy array inherits: kept as a folder
    of ``.npy`` files, one per array, so loading can memory-map them."""

    __slots__ = ()
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    def save(self, folder: Path) -> None:
        """Write every array to ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        for field in fields(self):
            np.save(folder / f"{field.name}.npy", getattr(self, field.name), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path, *, mmap: bool = True) -> Self:
        """What ``save`` wrote to ``folder``, memory-mapped unless ``mmap`` is False."""
        mode: Literal["r"] | None = "r" if mmap else None
        # As plain arrays over the mapping (still paged in on demand): a memmap subclass
        # is converted by every kernel call that takes it.
        return cls(
            **{
                field.name: np.asarray(
                    np.load(folder / f"{field.name}.npy", mmap_mode=mode, allow_pickle=False)
                )
                for field in fields(cls)
            }
        )

    def digest(self) -> str:
        """SHA-256 over every array, in field order: names the content."""
        hasher = hashlib.sha256()
        for field in fields(self):
            array = np.ascontiguousarray(getattr(self, field.name))
            hasher.update(f"{field.name}:{array.dtype.str}:{array.shape}\n".encode())
            hasher.update(array.tobytes())
        return hasher.hexdigest()


def write_index(
    folder: Path,
    parts: Sequence[tuple[str, Arrays]],
    manifest: dict[str, object],
    *,
    kinds: Sequence[str],
) -> None:
    """Write each ``(name, part)`` to its subfolder, then ``index.json`` (``manifest``),
    then remove the subfolders named ``<kind>-*`` (for each of ``kinds``) it no
    longer names.

    A part's name carries its digest, so a folder already there is the same part and
    is kept; new ones go to a staging folder first. The manifest is replaced
    atomically last, so a reader sees the old index or the new one, never a mix.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name, part in parts:
        if not (folder / name / f"{fields(part)[0].name}.npy").exists():
            staging = folder / f".{name}.tmp"
            shutil.rmtree(staging, ignore_errors=True)
            part.save(staging)
            os.replace(staging, folder / name)
    temporary = folder / "index.json.tmp"
    temporary.write_text(json.dumps(manifest, indent=2))
    os.replace(temporary, folder / "index.json")
    names = {name for name, _ in parts}
    for kind in kinds:
        for stale in folder.glob(f"{kind}-*"):
            if stale.name not in names:
                shutil.rmtree(stale, ignore_errors=True)


def read_manifest(folder: Path, fmt: int, what: str) -> dict[str, Any]:
    """The manifest of the index (``what`` names its kind) saved in ``folder``.

    Raises ``InputError`` when there is none or it is of another format than ``fmt``.
    """
    try:
        manifest: dict[str, Any] = json.loads((folder / "index.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{folder} holds no readable {what}; build it again") from exc
    if manifest.get("format") != fmt:
        raise InputError(f"{folder} is index format {manifest.get('format')}; rebuild it")
    return manifest

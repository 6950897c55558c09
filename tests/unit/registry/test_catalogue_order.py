"""Registering a folder says the same thing every time (issue 19, point 8): files are
fingerprinted in parallel but reported, and registered, in the folder's order."""

from __future__ import annotations

from pathlib import Path

from consentry.registry.catalogue import CatalogueFile, FileProblem, fingerprint_files
from tests.conftest import LICENSES


def test_files_fingerprinted_in_parallel_come_back_in_their_order(tmp_path: Path) -> None:
    files = []
    for n in range(60):
        path = tmp_path / f"{n:02}.txt"
        # A large file first and small ones after: finished first, reported after it.
        source = (LICENSES / "GPL-3").read_text()
        path.write_text(source * (40 if n == 0 else 1) + f"\nfile {n}\n" * (n % 7))
        files.append(CatalogueFile(path, path.name))
    (tmp_path / "empty.txt").write_text("")
    files.insert(30, CatalogueFile(tmp_path / "empty.txt", "empty.txt"))
    results = list(fingerprint_files(files, workers=2))
    assert [r.path for r in results] == [f.path for f in files]
    assert [r.path for r in results if isinstance(r, FileProblem)] == ["empty.txt"]

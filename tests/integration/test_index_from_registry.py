"""The match index built from a real registry, refreshed as works are added."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from consentry.errors import VerificationError
from consentry.fingerprint import fingerprint_bytes
from consentry.index import MatchIndex, MatchKind
from consentry.registry import FileFingerprint, Registry
from consentry.store.models import FingerprintRow
from tests.conftest import STDLIB


def _file(name: str) -> FileFingerprint:
    return FileFingerprint(f"lib/{name}", fingerprint_bytes(name, (STDLIB / name).read_bytes()))


def test_index_is_built_and_refreshed_incrementally(
    registry: Registry, make_owner, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    owner = make_owner()
    first = [_file(n) for n in ("textwrap.py", "shlex.py", "fnmatch.py")]
    list(registry.works.register(owner.id, owner.key, first))
    index = MatchIndex()
    assert registry.works.refresh_index(index) == 3
    assert registry.works.refresh_index(index) == 0
    later = _file("glob.py")
    list(registry.works.register(owner.id, owner.key, [later]))
    assert registry.works.refresh_index(index) == 1
    assert len(index.segments) == 2
    index.save(tmp_path / "index")
    loaded = MatchIndex.load(tmp_path / "index")
    (match,) = loaded.match(later.fingerprint)
    assert match.kind is MatchKind.EXACT and match.owner_id == owner.id


def test_a_fingerprint_changed_in_the_database_is_never_indexed(
    registry: Registry, make_owner, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    owner = make_owner()
    (result,) = registry.works.register(owner.id, owner.key, [_file("textwrap.py")])
    with engine.begin() as connection:
        connection.execute(
            FingerprintRow.__table__.update()
            .where(FingerprintRow.work_id == result.work.id, FingerprintRow.kind == "excerpts")
            .values(value=b"\0" * 12)
        )
    with pytest.raises(VerificationError, match="differ from those its owner signed"):
        registry.works.refresh_index(MatchIndex())


def test_a_damaged_saved_index_is_rebuilt_from_the_registry(
    registry: Registry, make_owner, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from consentry.app import current_index

    owner = make_owner()
    list(registry.works.register(owner.id, owner.key, [_file("textwrap.py")]))
    folder = tmp_path / "index"
    first = current_index(registry, folder)
    for array in folder.glob("segment-*/posting_keys.npy"):
        array.unlink()
    again = current_index(registry, folder)
    assert again.digest() == first.digest()
    assert MatchIndex.load(folder).digest() == first.digest()


def test_a_read_only_index_is_brought_up_to_date_without_writing_the_folder(
    registry: Registry, make_owner, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from consentry.app import current_index

    owner = make_owner()
    list(registry.works.register(owner.id, owner.key, [_file("textwrap.py")]))
    folder = tmp_path / "index"
    index = current_index(registry, folder, save=False)
    assert index.size == 1
    assert not folder.exists()

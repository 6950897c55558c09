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
from consentry.terms import Category, Terms
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


def test_a_fingerprint_changed_in_the_database_stops_only_that_work(
    registry: Registry, make_owner, make_licensee, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    owner, lab = make_owner(), make_licensee()
    changed, kept = registry.works.register(
        owner.id, owner.key, [_file("textwrap.py"), _file("shlex.py")]
    )
    allow = Terms.from_json({"version": 1, "categories": {"train-ai": "allow"}}, source="test")
    registry.terms.set(owner.id, owner.id, owner.key, allow)
    with engine.begin() as connection:
        connection.execute(
            FingerprintRow.__table__.update()
            .where(FingerprintRow.work_id == changed.work.id, FingerprintRow.kind == "excerpts")
            .values(value=b"\0" * 12)
        )
    # Still indexed, so its copies are not taken for unregistered items; refused where
    # consent is read, naming it, while the other work is decided as before.
    index = MatchIndex()
    assert registry.works.refresh_index(index) == 2
    refused = registry.licensing.may_use(lab.actor, changed.work.id, Category.TRAIN_AI)
    assert not refused.allowed
    assert f"fingerprints of work {changed.work.id} differ" in refused.reason
    assert registry.licensing.may_use(lab.actor, kept.work.id, Category.TRAIN_AI).allowed
    with pytest.raises(VerificationError, match="differ from those its owner signed"):
        registry.works.get(changed.work.id)


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

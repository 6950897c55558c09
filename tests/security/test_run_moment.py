"""A run is decided as of a moment the registry records, not a clock the licensee sets
(issue 20, point 4): the registry refuses a manifest whose start differs from the one
it recorded, whose consent is older than its bound, or that bills under a grant
revoked at or before the run began."""

from __future__ import annotations

from datetime import timedelta

import pytest

from consentry.clock import format_time, utc_now
from consentry.crypto import sign_document
from consentry.errors import InputError, NotFoundError, StateConflictError, VerificationError
from consentry.ids import IdKind, new_id
from consentry.registry import Registry
from consentry.registry import runs as runs_module
from consentry.terms import Category
from tests.conftest import Actor
from tests.security.test_state_rows import _world


def _manifest(run_id: str, lab: Actor, started: str, grant: str, work: str) -> dict[str, object]:
    return {
        "type": "consentry.training-manifest",
        "version": 1,
        "run_id": run_id,
        "licensee": lab.id,
        "started_at": started,
        "works": [{"work_id": work, "grant_id": grant, "owner_id": "x", "items": 1}],
    }


def _record(registry: Registry, lab: Actor, body: dict[str, object]) -> None:
    envelope = sign_document("training-manifest", body, lab.key)
    registry.runs.record_manifest(lab.id, lab.key, body, envelope.signature_b64)


def test_a_backdated_manifest_is_refused(registry: Registry, make_owner, make_licensee) -> None:  # type: ignore[no-untyped-def]
    owner, lab = make_owner(), make_licensee()
    works, grants = _world(registry, owner, lab)
    run_id = new_id(IdKind.RUN)
    started = registry.runs.start(lab.id, lab.key, run_id, Category.TRAIN_AI)
    assert registry.runs.started(lab.actor, run_id) == started
    earlier = format_time(started - timedelta(days=1))
    with pytest.raises(VerificationError, match="but the registry recorded its start"):
        _record(registry, lab, _manifest(run_id, lab, earlier, grants[0], works[0]))
    _record(registry, lab, _manifest(run_id, lab, format_time(started), grants[0], works[0]))


def test_a_manifest_billing_under_a_grant_revoked_before_its_run_is_refused(
    registry: Registry, make_owner, make_licensee
) -> None:  # type: ignore[no-untyped-def]
    owner, lab = make_owner(), make_licensee()
    works, grants = _world(registry, owner, lab)
    registry.licensing.revoke(grants[0], owner.id, owner.key)
    run_id = new_id(IdKind.RUN)
    started = format_time(registry.runs.start(lab.id, lab.key, run_id, Category.TRAIN_AI))
    with pytest.raises(VerificationError, match=f"bills under grant {grants[0]}, revoked"):
        _record(registry, lab, _manifest(run_id, lab, started, grants[0], works[0]))
    _record(registry, lab, _manifest(run_id, lab, started, grants[1], works[1]))


def test_a_run_is_started_once_through_the_registry_and_within_its_bound(
    registry: Registry, make_owner, make_licensee, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    owner, lab, other = make_owner(), make_licensee(), make_licensee("Other")
    works, grants = _world(registry, owner, lab)
    never = new_id(IdKind.RUN)
    with pytest.raises(NotFoundError, match="recorded no start of run"):
        _record(registry, lab, _manifest(never, lab, format_time(utc_now()), grants[0], works[0]))
    run_id = new_id(IdKind.RUN)
    started = registry.runs.start(lab.id, lab.key, run_id, Category.TRAIN_AI)
    with pytest.raises(StateConflictError, match="has started already"):
        registry.runs.start(lab.id, lab.key, run_id, Category.TRAIN_AI)
    with pytest.raises(NotFoundError):
        registry.runs.started(other.actor, run_id)
    later = started + runs_module.RUN_BOUND + timedelta(days=1)
    monkeypatch.setattr(runs_module, "utc_now", lambda: later)
    with pytest.raises(InputError, match="past the registry's bound"):
        _record(registry, lab, _manifest(run_id, lab, format_time(started), grants[0], works[0]))


def test_a_manifest_is_recorded_once_and_again_is_a_no_op(
    registry: Registry, make_owner, make_licensee
) -> None:  # type: ignore[no-untyped-def]
    owner, lab = make_owner(), make_licensee()
    works, grants = _world(registry, owner, lab)
    run_id = new_id(IdKind.RUN)
    started = format_time(registry.runs.start(lab.id, lab.key, run_id, Category.TRAIN_AI))
    body = _manifest(run_id, lab, started, grants[0], works[0])
    _record(registry, lab, body)
    # The same signed manifest again (a run that crashed before writing it out): a no-op.
    size = registry.log.size()
    envelope = sign_document("training-manifest", body, lab.key)
    registry.runs.record_manifest(lab.id, lab.key, body, envelope.signature_b64)
    assert registry.log.size() == size
    # Another manifest for the same run: refused.
    with pytest.raises(StateConflictError, match="has a manifest on the log already"):
        _record(registry, lab, {**body, "works": []})

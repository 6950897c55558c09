"""State that disagrees with the log is caught, and changes no decision (issue 20,
point 1). Each test edits, inserts or deletes rows of a consent table behind the
services' back, on SQLite and on PostgreSQL, and shows that ``license check``'s
decision is the one the signed events establish and that the audit (``consentry log
verify``) names the row."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, delete, func, select, text, update

from consentry.clock import format_time, utc_now
from consentry.crypto import KeyPair, sign_document
from consentry.errors import VerificationError
from consentry.fingerprint import fingerprint_bytes
from consentry.gate import RegistryConsent
from consentry.ids import IdKind, new_id
from consentry.log import NoteVerifier
from consentry.registry import FileFingerprint, Registry
from consentry.registry.records import Scope, ScopeKind
from consentry.store.models import (
    DisputeRow,
    EventRow,
    GrantRow,
    LicenseRequestRow,
    LogEntryRow,
    OwnerRow,
    RevocationRow,
    TermsRow,
    WorkRow,
)
from consentry.terms import Category, Price, PriceUnit, Terms
from tests.conftest import Actor, real_text

ORIGIN = "consentry.test/log"


def _world(registry: Registry, owner: Actor, lab: Actor) -> tuple[list[str], list[str]]:
    """Two works of the owner, and two grants of train-ai to the lab, one per work."""
    files = [
        FileFingerprint(name, fingerprint_bytes(name, real_text(name).encode()))
        for name in ("GPL-3", "MPL-2.0")
    ]
    works = [r.work.id for r in registry.works.register(owner.id, owner.key, files)]
    grants = []
    for work in works:
        request = registry.licensing.request(
            lab.id,
            lab.key,
            scope=Scope(ScopeKind.WORKS, (work,)),
            purposes=[Category.TRAIN_AI],
            not_after=utc_now() + timedelta(days=30),
            offer=Price(PriceUnit.WORK, Decimal("0.10"), "EUR"),
        )
        grants.append(registry.licensing.grant(request.id, owner.id, owner.key).id)
    return works, grants


def _training(permission: str) -> Terms:
    """Terms that give training AI ``permission`` (allow, license or deny)."""
    return Terms.from_json({"version": 1, "categories": {"train-ai": permission}}, source="test")


def _allowed(registry: Registry, lab: Actor, works: list[str]) -> list[bool]:
    return [registry.licensing.may_use(lab.actor, w, Category.TRAIN_AI).allowed for w in works]


def _audit_names(registry: Registry, *names: str) -> None:
    key = KeyPair.generate()
    registry.log.checkpoint(key, ORIGIN)
    with pytest.raises(VerificationError) as caught:
        registry.log.audit(NoteVerifier(ORIGIN, key.public))
    for name in names:
        assert name in str(caught.value)


def test_deleting_a_revocation_row_revives_nothing(
    registry: Registry, make_owner, make_licensee, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    owner, lab = make_owner(), make_licensee()
    works, grants = _world(registry, owner, lab)
    registry.licensing.revoke(grants[0], owner.id, owner.key)
    assert _allowed(registry, lab, works) == [False, True]
    with engine.begin() as connection:
        connection.execute(delete(RevocationRow).where(RevocationRow.grant_id == grants[0]))
    assert _allowed(registry, lab, works) == [False, True]
    _audit_names(registry, "has no row")


def test_pointing_a_revocation_at_another_grant_moves_nothing(
    registry: Registry, make_owner, make_licensee, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    owner, lab = make_owner(), make_licensee()
    works, grants = _world(registry, owner, lab)
    registry.licensing.revoke(grants[0], owner.id, owner.key)
    with engine.begin() as connection:
        connection.execute(
            update(RevocationRow)
            .where(RevocationRow.grant_id == grants[0])
            .values(grant_id=grants[1])
        )
    # The revoked grant stays revoked, the innocent one stays in force.
    assert _allowed(registry, lab, works) == [False, True]
    _audit_names(registry, "differs from what its event recorded")


def test_deleting_the_newest_terms_brings_back_nothing(
    registry: Registry, make_owner, make_licensee, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    owner, lab, stranger = make_owner(), make_licensee(), make_licensee("Stranger")
    works, _ = _world(registry, owner, lab)
    allow = _training("allow")
    licence = _training("license")
    registry.terms.set(works[0], owner.id, owner.key, allow)
    assert _allowed(registry, stranger, works) == [True, False]
    registry.terms.set(works[0], owner.id, owner.key, licence)
    assert _allowed(registry, stranger, works) == [False, False]
    with engine.begin() as connection:
        connection.execute(
            delete(TermsRow).where(TermsRow.target_id == works[0], TermsRow.version == 2)
        )
    assert _allowed(registry, stranger, works) == [False, False]
    _audit_names(registry, f"terms of {works[0]} v2")
    # Every terms row of the work gone: its terms are still those its owner set last.
    with engine.begin() as connection:
        connection.execute(delete(TermsRow).where(TermsRow.target_id == works[0]))
    registry.terms.set(owner.id, owner.id, owner.key, allow)
    assert _allowed(registry, stranger, works) == [False, True]


def test_a_grant_row_widened_or_added_grants_nothing(
    registry: Registry, make_owner, make_licensee, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    owner, lab, other = make_owner(), make_licensee(), make_licensee("Other")
    works, grants = _world(registry, owner, lab)
    with engine.begin() as connection:
        body = json.loads(
            connection.execute(select(GrantRow.body).where(GrantRow.id == grants[1])).scalar_one()
        )
        body["purposes"] = ["train-ai", "train-other"]
        connection.execute(
            update(GrantRow)
            .where(GrantRow.id == grants[1])
            .values(body=json.dumps(body, separators=(",", ":"), sort_keys=True))
        )
        # And the first grant's row handed to another licensee.
        connection.execute(
            update(GrantRow).where(GrantRow.id == grants[0]).values(licensee_id=other.id)
        )
    assert not registry.licensing.may_use(lab.actor, works[1], Category.TRAIN_OTHER).allowed
    assert not _allowed(registry, other, works)[0]
    _audit_names(registry, f"grants row {grants[1]} differs")


def test_a_work_row_given_to_another_owner_refuses_only_that_work(
    registry: Registry, make_owner, make_licensee, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    owner, thief, lab = make_owner(), make_owner("Thief"), make_licensee()
    works, _ = _world(registry, owner, lab)
    with engine.begin() as connection:
        connection.execute(update(WorkRow).where(WorkRow.id == works[0]).values(owner_id=thief.id))
    refused = registry.licensing.may_use(lab.actor, works[0], Category.TRAIN_AI)
    assert not refused.allowed and f"work {works[0]}: work was signed by key" in refused.reason
    assert _allowed(registry, lab, works)[1]
    _audit_names(registry, f"works row {works[0]} differs")


def test_a_dispute_or_request_changed_behind_the_services_back_is_named(
    registry: Registry, make_owner, make_licensee, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    owner, rival, lab = make_owner(), make_owner("Rival"), make_licensee()
    works, _ = _world(registry, owner, lab)
    copy = FileFingerprint("copy", fingerprint_bytes("copy", real_text("GPL-3").encode()))
    (disputed,) = registry.works.register(rival.id, rival.key, [copy])
    assert disputed.dispute_id is not None
    request = registry.licensing.request(
        lab.id, lab.key, scope=Scope(ScopeKind.WORKS, (works[0],)), purposes=[Category.SEARCH]
    )
    with engine.begin() as connection:
        connection.execute(delete(DisputeRow).where(DisputeRow.id == disputed.dispute_id))
        connection.execute(
            update(LicenseRequestRow)
            .where(LicenseRequestRow.id == request.id)
            .values(state="accepted")
        )
    _audit_names(
        registry,
        f"dispute {disputed.dispute_id} is recorded by its event but has no row",
        f"licence request state of {request.id} differs",
    )


def _drop_append_only_triggers(engine: Engine) -> None:
    """What only the database's owner can do: lift the append-only rule."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            for name in ("events_no_delete", "log_entries_no_delete"):
                connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        else:
            connection.execute(text("ALTER TABLE events DISABLE TRIGGER USER"))
            connection.execute(text("ALTER TABLE log_entries DISABLE TRIGGER USER"))


def test_a_revocation_taken_off_the_log_with_its_row_is_caught(
    registry: Registry, make_owner, make_licensee, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    owner, lab = make_owner(), make_licensee()
    _, grants = _world(registry, owner, lab)
    key = KeyPair.generate()
    registry.licensing.revoke(grants[0], owner.id, owner.key)
    # The revocation is a leaf as soon as it commits: a checkpoint signed after it (the
    # service signs them on a short interval) covers it.
    registry.log.checkpoint(key, ORIGIN)
    _drop_append_only_triggers(engine)
    with engine.begin() as connection:
        seq = connection.execute(
            select(EventRow.seq).where(
                EventRow.subject_id == grants[0], EventRow.kind == "grant.revoked"
            )
        ).scalar_one()
        connection.execute(delete(LogEntryRow).where(LogEntryRow.event_seq == seq))
        connection.execute(delete(RevocationRow).where(RevocationRow.grant_id == grants[0]))
        connection.execute(delete(EventRow).where(EventRow.seq == seq))
    with pytest.raises(VerificationError, match=r"missing|does not match"):
        registry.log.audit(NoteVerifier(ORIGIN, key.public))


def test_a_party_given_another_key_is_named(
    registry: Registry, make_owner, make_licensee, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    owner, impostor = make_owner(), make_owner("Impostor")
    with engine.begin() as connection:
        impostor_key = connection.execute(
            select(OwnerRow.key_id).where(OwnerRow.id == impostor.id)
        ).scalar_one()
        connection.execute(
            update(OwnerRow).where(OwnerRow.id == owner.id).values(key_id=impostor_key)
        )
    # Its own first event was signed with its own key: the leaf no longer verifies.
    _audit_names(registry, f"by {owner.id}) is not signed by its actor's key")


def test_an_event_from_no_known_party_refuses_only_what_it_is_about(
    registry: Registry, make_owner, make_licensee, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    owner, lab = make_owner(), make_licensee()
    works, grants = _world(registry, owner, lab)
    # A second "issue" of the first grant, by an owner this registry never had.
    with engine.begin() as connection:
        row = connection.execute(
            select(EventRow).where(
                EventRow.subject_id == grants[0], EventRow.kind == "grant.issued"
            )
        ).one()
        copied = {k: v for k, v in row._mapping.items() if k != "seq"}
        connection.execute(
            EventRow.__table__.insert().values({**copied, "actor_id": "own_aaaaaaaaaaaaaaaa"})
        )
    assert _allowed(registry, lab, works) == [False, True]
    consent = RegistryConsent(
        registry,
        licensee=lab.actor,
        purpose=Category.TRAIN_AI,
        at=utc_now(),
    )
    assert [d.allowed for d in consent.decide(works).values()] == [False, True]
    assert consent.price_of(grants[1]) is not None and consent.price_of(grants[0]) is None
    # And a manifest billing under the refused grant is refused.
    run_id = new_id(IdKind.RUN)
    started = registry.runs.start(lab.id, lab.key, run_id, Category.TRAIN_AI)
    body = {
        "type": "consentry.training-manifest",
        "run_id": run_id,
        "started_at": format_time(started),
        "works": [{"work_id": works[0], "grant_id": grants[0]}],
    }
    signature = sign_document("training-manifest", body, lab.key).signature_b64
    with pytest.raises(VerificationError, match="do not establish"):
        registry.runs.record_manifest(lab.id, lab.key, body, signature)
    # An event added behind the services' back was never a leaf.
    _audit_names(registry, "is not on the log")


def test_a_terms_event_changed_refuses_only_the_works_under_it(
    registry: Registry, make_owner, make_licensee, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    owner, lab, stranger = make_owner(), make_licensee(), make_licensee("Stranger")
    works, _ = _world(registry, owner, lab)
    licence = _training("license")
    registry.terms.set(works[0], owner.id, owner.key, licence)
    allow = _training("allow")
    registry.terms.set(works[1], owner.id, owner.key, allow)
    _drop_append_only_triggers(engine)
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            connection.execute(text("DROP TRIGGER IF EXISTS events_no_update"))
    with engine.begin() as connection:
        connection.execute(
            update(EventRow)
            .where(EventRow.subject_id == works[0], EventRow.kind == "terms.set")
            .values(body=func.replace(EventRow.body, '"license"', '"allow"'))
        )
    refused = registry.licensing.may_use(stranger.actor, works[0], Category.TRAIN_AI)
    assert not refused.allowed and f"the terms of {works[0]} are refused" in refused.reason
    assert registry.licensing.may_use(stranger.actor, works[1], Category.TRAIN_AI).allowed

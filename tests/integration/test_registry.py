"""The registry's services on a real database: works, terms, licences, guarantee 7,
events, and signatures checked on load."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from consentry.clock import utc_now
from consentry.crypto import PublicKey, SignedEnvelope, verify_document
from consentry.errors import (
    InputError,
    NotFoundError,
    PermissionDeniedError,
    StateConflictError,
    VerificationError,
)
from consentry.fingerprint import fingerprint_bytes
from consentry.registry import Actor as RegistryActor
from consentry.registry import (
    FileFingerprint,
    PartyKind,
    RegistrationStatus,
    Registry,
    RequestState,
    Scope,
    ScopeKind,
)
from consentry.store.models import EventRow, GrantRow, PublicKeyRow, WorkRow
from consentry.terms import Category, Price, PriceUnit, Terms
from tests.conftest import LICENSES, STDLIB, Actor

TEXTS = ["GPL-3", "Apache-2.0", "MPL-2.0", "CC0-1.0"]


def _files(names: list[str] = TEXTS) -> list[FileFingerprint]:
    out = []
    for name in names:
        path = LICENSES / name
        data = (
            path.read_bytes() if path.is_file() else (STDLIB / "json" / f"{name}.py").read_bytes()
        )
        out.append(FileFingerprint(f"texts/{name}", fingerprint_bytes(name, data)))
    return out


def _register(
    registry: Registry, owner: Actor, names: list[str] = TEXTS, collection: str | None = None
):  # type: ignore[no-untyped-def]
    return list(registry.works.register(owner.id, owner.key, _files(names), collection=collection))


def test_registering_stores_fingerprints_not_content(
    registry: Registry, make_owner, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    owner = make_owner()
    results = _register(registry, owner)
    assert [r.status for r in results] == [RegistrationStatus.REGISTERED] * len(TEXTS)
    assert {w.path for w in registry.works.all(owner_id=owner.id)} == {f"texts/{n}" for n in TEXTS}
    # Guarantee 4: no sentence of the registered text is anywhere in the database.
    sentence = (
        (LICENSES / "GPL-3").read_text()[200:260] if (LICENSES / "GPL-3").is_file() else "def "
    )
    with engine.connect() as connection:
        for table in ("works", "fingerprints", "events"):
            rows = connection.execute(text(f"SELECT * FROM {table}")).all()
            dump = "\n".join(str(row) for row in rows)
            assert sentence not in dump


def test_reregistering_is_a_no_op_that_reports_the_existing_work(
    registry: Registry, make_owner
) -> None:  # type: ignore[no-untyped-def]
    owner = make_owner()
    first = _register(registry, owner)
    again = _register(registry, owner)
    assert [r.status for r in again] == [RegistrationStatus.EXISTING] * len(TEXTS)
    assert [r.work.id for r in again] == [r.work.id for r in first]
    assert len(registry.works.all(owner_id=owner.id)) == len(TEXTS)


def test_whitespace_and_case_variants_are_the_same_work(registry: Registry, make_owner) -> None:  # type: ignore[no-untyped-def]
    owner = make_owner()
    original = _files(["GPL-3"])[0]
    variant_bytes = original_text().upper().replace("\n", "\r\n").encode()
    variant = FileFingerprint("copy/GPL-3", fingerprint_bytes("GPL-3", variant_bytes))
    results = list(registry.works.register(owner.id, owner.key, [original, variant]))
    assert results[1].status is RegistrationStatus.EXISTING
    assert results[1].work.id == results[0].work.id


def original_text() -> str:
    path = LICENSES / "GPL-3"
    return path.read_text() if path.is_file() else (STDLIB / "json" / "GPL-3.py").read_text()


def test_content_of_another_owner_opens_a_dispute(registry: Registry, make_owner) -> None:  # type: ignore[no-untyped-def]
    first, second = make_owner("First"), make_owner("Second")
    registered = _register(registry, first, ["GPL-3"])
    claimed = _register(registry, second, ["GPL-3"])
    assert claimed[0].status is RegistrationStatus.DISPUTED
    assert claimed[0].work.id == registered[0].work.id
    assert registry.works.all(owner_id=second.id) == []
    assert registry.works.disputes(registered[0].work.id) == [(claimed[0].dispute_id, second.id)]


def test_only_the_owner_key_registers_for_the_owner(registry: Registry, make_owner) -> None:  # type: ignore[no-untyped-def]
    owner, intruder = make_owner("Owner"), make_owner("Intruder")
    with pytest.raises(PermissionDeniedError, match=f"does not belong to owner {owner.id}"):
        list(registry.works.register(owner.id, intruder.key, _files(["GPL-3"])))
    assert registry.works.all() == []


def test_terms_inherit_owner_then_collection_then_work(registry: Registry, make_owner) -> None:  # type: ignore[no-untyped-def]
    owner = make_owner()
    work = _register(registry, owner, ["GPL-3"], collection="novels")[0].work
    collection = registry.works.find_collection(owner.id, "novels")
    assert work.collection_id == collection.id
    registry.terms.set(
        owner.id,
        owner.id,
        owner.key,
        Terms.from_json(
            {
                "version": 1,
                "categories": {"search": "allow", "train-ai": "deny"},
                "price": {"per": "work", "amount": "2.00", "currency": "EUR"},
            }
        ),
    )
    registry.terms.set(
        collection.id,
        owner.id,
        owner.key,
        Terms.from_json({"version": 1, "categories": {"train-ai": "license"}}),
    )
    registry.terms.set(
        work.id,
        owner.id,
        owner.key,
        Terms.from_json({"version": 1, "conditions": {"attribution": "© Owner"}}),
    )
    effective = registry.terms.effective(work.id)
    assert [layer.target_id for layer in effective.layers] == [owner.id, collection.id, work.id]
    assert effective.terms.permission(Category.SEARCH).value == "allow"
    assert effective.terms.permission(Category.TRAIN_AI).value == "license"
    assert effective.terms.conditions.attribution == "© Owner"
    assert effective.terms.price == Price(
        PriceUnit.WORK, __import__("decimal").Decimal("2.00"), "EUR"
    )
    # The bulk path a sketch export takes resolves the same layers.
    plain = _register(registry, owner, ["MPL-2.0"])[0].work
    bulk = registry.terms.effective_for_works([work.id, plain.id])
    assert bulk == {w: registry.terms.effective(w).terms for w in (work.id, plain.id)}
    second = registry.terms.set(owner.id, owner.id, owner.key, Terms.from_json({"version": 1}))
    assert second.version == 2


def test_only_the_owner_sets_terms(registry: Registry, make_owner) -> None:  # type: ignore[no-untyped-def]
    owner, other = make_owner("Owner"), make_owner("Other")
    work = _register(registry, owner, ["GPL-3"])[0].work
    with pytest.raises(PermissionDeniedError, match="belongs to another owner"):
        registry.terms.set(work.id, other.id, other.key, Terms.from_json({"version": 1}))


def _licence_loop(registry: Registry, owner: Actor, lab: Actor):  # type: ignore[no-untyped-def]
    work = _register(registry, owner, ["GPL-3"])[0].work
    request = registry.licensing.request(
        lab.id,
        lab.key,
        scope=Scope(ScopeKind.WORKS, (work.id,)),
        purposes=[Category.TRAIN_AI],
        not_after=utc_now() + timedelta(days=30),
        offer=Price(PriceUnit.WORK, __import__("decimal").Decimal("0.10"), "EUR"),
    )
    return work, request


def test_request_grant_and_use(registry: Registry, make_owner, make_licensee) -> None:  # type: ignore[no-untyped-def]
    owner, lab = make_owner(), make_licensee()
    work, request = _licence_loop(registry, owner, lab)
    assert request.owner_id == owner.id and request.state is RequestState.PENDING
    assert not registry.licensing.may_use(lab.actor, work.id, Category.TRAIN_AI).allowed
    grant = registry.licensing.grant(request.id, owner.id, owner.key)
    assert grant.price is not None and str(grant.price.amount) == "0.10"
    decision = registry.licensing.may_use(lab.actor, work.id, Category.TRAIN_AI)
    assert decision.allowed and decision.grant_id == grant.id
    assert not registry.licensing.may_use(lab.actor, work.id, Category.TRAIN_OTHER).allowed
    with pytest.raises(StateConflictError, match="was granted already"):
        registry.licensing.grant(request.id, owner.id, owner.key)


def test_counter_offer_accept_then_grant_uses_the_counter_terms(
    registry: Registry, make_owner, make_licensee
) -> None:  # type: ignore[no-untyped-def]
    owner, lab = make_owner(), make_licensee()
    _, request = _licence_loop(registry, owner, lab)
    with pytest.raises(
        StateConflictError,
        match="is pending, so it cannot be accepted: only a request that is countered",
    ):
        registry.licensing.accept(request.id, lab.id, lab.key)
    price = Price(PriceUnit.THOUSAND_TOKENS, __import__("decimal").Decimal("0.02"), "EUR")
    countered = registry.licensing.counter(request.id, owner.id, owner.key, price=price)
    assert countered.state is RequestState.COUNTERED and countered.counter is not None
    with pytest.raises(StateConflictError, match="countered"):
        registry.licensing.grant(request.id, owner.id, owner.key)
    registry.licensing.accept(request.id, lab.id, lab.key)
    grant = registry.licensing.grant(request.id, owner.id, owner.key)
    assert grant.price == price


def test_deny(registry: Registry, make_owner, make_licensee) -> None:  # type: ignore[no-untyped-def]
    owner, lab = make_owner(), make_licensee()
    _, request = _licence_loop(registry, owner, lab)
    registry.licensing.deny(request.id, owner.id, owner.key, "not for training")
    (seen,) = registry.licensing.requests(lab.actor)
    assert seen.state is RequestState.DENIED and seen.note == "not for training"
    with pytest.raises(StateConflictError):
        registry.licensing.grant(request.id, owner.id, owner.key)


def test_revocation_applies_to_later_runs_only(
    registry: Registry, make_owner, make_licensee
) -> None:  # type: ignore[no-untyped-def]
    owner, lab = make_owner(), make_licensee()
    work, request = _licence_loop(registry, owner, lab)
    grant = registry.licensing.grant(request.id, owner.id, owner.key)
    before = utc_now()
    with pytest.raises(InputError, match="not in the past"):
        registry.licensing.revoke(
            grant.id, owner.id, owner.key, effective_at=before - timedelta(days=1)
        )
    revocation = registry.licensing.revoke(grant.id, owner.id, owner.key)
    assert registry.licensing.may_use(lab.actor, work.id, Category.TRAIN_AI, at=before).allowed
    later = registry.licensing.may_use(lab.actor, work.id, Category.TRAIN_AI)
    assert not later.allowed and "was revoked" in later.reason
    assert revocation.effective_at >= before
    with pytest.raises(StateConflictError, match="already revoked"):
        registry.licensing.revoke(grant.id, owner.id, owner.key)


def test_no_one_acts_for_another(registry: Registry, make_owner, make_licensee) -> None:  # type: ignore[no-untyped-def]
    owner, lab = make_owner("Owner"), make_licensee("Lab")
    rival_owner, rival_lab = make_owner("Rival"), make_licensee("Rival lab")
    work, request = _licence_loop(registry, owner, lab)
    with pytest.raises(PermissionDeniedError):
        registry.licensing.grant(request.id, owner.id, rival_owner.key)
    with pytest.raises(NotFoundError):
        registry.licensing.grant(request.id, rival_owner.id, rival_owner.key)
    with pytest.raises(PermissionDeniedError):
        registry.licensing.request(
            lab.id,
            rival_lab.key,
            scope=Scope(ScopeKind.WORKS, (work.id,)),
            purposes=[Category.SEARCH],
        )
    with pytest.raises(PermissionDeniedError):
        registry.licensing.requests(RegistryActor(lab.id, PartyKind.LICENSEE, rival_lab.key.public))
    assert registry.licensing.requests(rival_lab.actor) == []
    grant = registry.licensing.grant(request.id, owner.id, owner.key)
    with pytest.raises(PermissionDeniedError):
        registry.licensing.may_use(
            RegistryActor(lab.id, PartyKind.LICENSEE, rival_lab.key.public),
            work.id,
            Category.TRAIN_AI,
        )
    assert not registry.licensing.may_use(rival_lab.actor, work.id, Category.TRAIN_AI).allowed
    with pytest.raises(NotFoundError):
        registry.licensing.revoke(grant.id, rival_owner.id, rival_owner.key)


def test_requests_spanning_owners_are_refused(
    registry: Registry, make_owner, make_licensee
) -> None:  # type: ignore[no-untyped-def]
    a, b, lab = make_owner("A"), make_owner("B"), make_licensee()
    wa = _register(registry, a, ["GPL-3"])[0].work
    wb = _register(registry, b, ["MPL-2.0"])[0].work
    with pytest.raises(InputError, match="belong to 2 owners"):
        registry.licensing.request(
            lab.id,
            lab.key,
            scope=Scope(ScopeKind.WORKS, (wa.id, wb.id)),
            purposes=[Category.TRAIN_AI],
        )


def test_collection_scope_covers_later_works_of_the_collection(
    registry: Registry, make_owner, make_licensee
) -> None:  # type: ignore[no-untyped-def]
    owner, lab = make_owner(), make_licensee()
    _register(registry, owner, ["GPL-3"], collection="texts")
    collection = registry.works.find_collection(owner.id, "texts")
    request = registry.licensing.request(
        lab.id,
        lab.key,
        scope=Scope(ScopeKind.COLLECTION, (collection.id,)),
        purposes=[Category.TRAIN_AI],
    )
    registry.licensing.grant(request.id, owner.id, owner.key)
    later = _register(registry, owner, ["MPL-2.0"], collection="texts")[0].work
    outside = _register(registry, owner, ["Apache-2.0"])[0].work
    assert registry.licensing.may_use(lab.actor, later.id, Category.TRAIN_AI).allowed
    assert not registry.licensing.may_use(lab.actor, outside.id, Category.TRAIN_AI).allowed


def test_a_grant_tampered_with_in_the_database_authorises_nothing(
    registry: Registry, make_owner, make_licensee, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    owner, lab = make_owner(), make_licensee()
    work, request = _licence_loop(registry, owner, lab)
    grant = registry.licensing.grant(request.id, owner.id, owner.key)
    with engine.begin() as connection:
        body = json.loads(
            connection.execute(select(GrantRow.body).where(GrantRow.id == grant.id)).scalar_one()
        )
        body["purposes"] = ["train-ai", "train-other"]
        connection.execute(
            GrantRow.__table__.update()
            .where(GrantRow.id == grant.id)
            .values(body=json.dumps(body, separators=(",", ":"), sort_keys=True))
        )
    # Decided from the grant its event recorded: the widened row grants nothing more
    # (tests/security/ shows the audit naming it).
    decision = registry.licensing.may_use(lab.actor, work.id, Category.TRAIN_OTHER)
    assert (
        not decision.allowed and f"grant {grant.id} does not cover train-other" in decision.reason
    )
    ((held, _),) = registry.licensing.grants(lab.actor)
    assert held.purposes == grant.purposes


def test_a_work_row_changed_in_the_database_fails_on_load(
    registry: Registry, make_owner, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    owner = make_owner()
    work = _register(registry, owner, ["GPL-3"])[0].work
    with engine.begin() as connection:
        connection.execute(
            WorkRow.__table__.update().where(WorkRow.id == work.id).values(path="stolen/GPL-3")
        )
    with pytest.raises(VerificationError, match="differs from what its owner signed"):
        registry.works.get(work.id)


def test_every_change_is_a_signed_event_in_the_same_transaction(
    registry: Registry, make_owner, make_licensee, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    owner, lab = make_owner(), make_licensee()
    _, request = _licence_loop(registry, owner, lab)
    grant = registry.licensing.grant(request.id, owner.id, owner.key)
    registry.licensing.revoke(grant.id, owner.id, owner.key)
    with engine.connect() as connection:
        events = connection.execute(select(EventRow).order_by(EventRow.seq)).all()
        keys = {
            row.key_id: row.public_key for row in connection.execute(select(PublicKeyRow)).all()
        }
    kinds = [event.kind for event in events]
    assert kinds == [
        "owner.created",
        "licensee.created",
        "work.registered",
        "request.created",
        "grant.issued",
        "grant.revoked",
    ]
    for event in events:
        envelope = SignedEnvelope.from_stored(
            kind="event", body=event.body, key_id=event.key_id, signature_b64=event.signature
        )
        body = verify_document(envelope, PublicKey.from_hex(keys[event.key_id]))
        assert body["event"] == event.kind and body["actor"] == event.actor_id


def test_a_failed_change_leaves_no_event(registry: Registry, make_owner, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    owner, other = make_owner("Owner"), make_owner("Other")
    with engine.connect() as connection:
        before = connection.execute(text("SELECT COUNT(*) FROM events")).scalar_one()
    with pytest.raises(PermissionDeniedError):
        registry.terms.set(owner.id, owner.id, other.key, Terms.from_json({"version": 1}))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM events")).scalar_one() == before


def test_private_keys_never_enter_the_database(
    registry: Registry, make_owner, make_licensee, engine: Engine, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    owner, lab = make_owner(), make_licensee()
    _, request = _licence_loop(registry, owner, lab)
    registry.licensing.grant(request.id, owner.id, owner.key)
    secrets = []
    for actor in (owner, lab):
        pem = actor.key.to_pem()
        from cryptography.hazmat.primitives import serialization

        raw = serialization.load_pem_private_key(pem, None).private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        secrets += [raw.hex(), base64.b64encode(raw).decode(), pem.decode().splitlines()[1]]
    with engine.connect() as connection:
        for table in (
            "owners",
            "licensees",
            "public_keys",
            "works",
            "terms",
            "license_requests",
            "grants",
            "events",
        ):
            dump = "\n".join(
                str(row) for row in connection.execute(text(f"SELECT * FROM {table}")).all()
            )
            for secret in secrets:
                assert secret not in dump


def test_nothing_is_a_copy_of_nothing_empty_content_is_refused_by_the_service(
    registry: Registry,
    make_owner,  # type: ignore[no-untyped-def]
) -> None:
    owner = make_owner()
    comments = FileFingerprint("only_comments.py", fingerprint_bytes("c.py", b"# a\n# b\n"))
    with pytest.raises(InputError, match="normalises to nothing"):
        list(registry.works.register(owner.id, owner.key, [comments]))


def test_nothing_is_a_copy_of_nothing_works_registered_empty_are_never_indexed(
    registry: Registry,
    make_owner,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from consentry.registry import works as works_module

    owner = make_owner()
    # A registry made before empty content was refused holds such works.
    monkeypatch.setattr(works_module, "_NOTHING", "not the empty digest")
    empty = FileFingerprint("blank.py", fingerprint_bytes("blank.py", b"# only a comment\n"))
    [legacy] = list(registry.works.register(owner.id, owner.key, [empty]))
    [kept] = _register(registry, owner, ["GPL-3"])
    monkeypatch.undo()
    indexed = {record.work_id for record in registry.works.index_records()}
    assert kept.work.id in indexed
    assert legacy.work.id not in indexed

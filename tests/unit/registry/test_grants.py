"""Each way a grant must fail to authorise a use (issue: Licences)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from consentry.crypto import KeyPair, SignedEnvelope, sign_document
from consentry.errors import VerificationError
from consentry.registry import (
    Grant,
    Revocation,
    Scope,
    ScopeKind,
    Work,
    authorize,
    verify_grant,
)
from consentry.registry.documents import grant_body, revocation_body
from consentry.registry.grants import verify_revocation
from consentry.terms import Category

OWNER = KeyPair.generate()
LICENSEE = KeyPair.generate()
STRANGER = KeyPair.generate()
NOW = datetime(2027, 3, 1, tzinfo=UTC)


def _work(work_id: str = "wrk_a", owner: str = "own_1", collection: str | None = "col_1") -> Work:
    return Work(
        work_id, owner, collection, "d" * 64, "text", "text/plain", "a.txt", "a", 10, None, NOW
    )


GRANT = Grant(
    id="grt_1",
    request_id="req_1",
    owner_id="own_1",
    licensee_id="lic_1",
    licensee_key=LICENSEE.public.hex,
    scope=Scope(ScopeKind.WORKS, ("wrk_a",)),
    purposes=frozenset({Category.TRAIN_AI}),
    not_before=NOW - timedelta(days=10),
    not_after=NOW + timedelta(days=10),
    price=None,
    issued_at=NOW - timedelta(days=10),
)


def _signed(grant: Grant = GRANT, key: KeyPair = OWNER) -> SignedEnvelope:
    return sign_document("grant", grant_body(grant), key)


def _authorize(grant: Grant, **changes: object) -> None:
    arguments: dict[str, object] = {
        "work": _work(),
        "licensee_id": "lic_1",
        "licensee_key": LICENSEE.public,
        "purpose": Category.TRAIN_AI,
        "at": NOW,
        "revocation": None,
    }
    arguments.update(changes)
    authorize(grant, **arguments)  # type: ignore[arg-type]


def test_a_valid_grant_authorises_exactly_its_use() -> None:
    grant = verify_grant(_signed(), owner_id="own_1", owner_key=OWNER.public)
    assert grant == GRANT
    _authorize(grant)


def test_signed_by_someone_other_than_the_owner() -> None:
    with pytest.raises(VerificationError, match=f"signed by key {STRANGER.public.key_id}"):
        verify_grant(_signed(key=STRANGER), owner_id="own_1", owner_key=OWNER.public)


def test_signed_by_another_owner_for_this_owners_work() -> None:
    other = KeyPair.generate()
    forged = dataclasses.replace(GRANT, owner_id="own_2")
    grant = verify_grant(_signed(forged, other), owner_id="own_2", owner_key=other.public)
    with pytest.raises(VerificationError, match="work wrk_a belongs to own_1"):
        _authorize(grant)


def test_for_another_licensee() -> None:
    with pytest.raises(VerificationError, match="is for licensee lic_1, not lic_2"):
        _authorize(GRANT, licensee_id="lic_2")


def test_for_another_licensee_key() -> None:
    with pytest.raises(VerificationError, match="names licensee key"):
        _authorize(GRANT, licensee_key=STRANGER.public)


def test_for_another_purpose() -> None:
    with pytest.raises(VerificationError, match="does not cover train-other"):
        _authorize(GRANT, purpose=Category.TRAIN_OTHER)


def test_for_another_work() -> None:
    with pytest.raises(VerificationError, match="covers 1 work\\(s\\), not work wrk_b"):
        _authorize(GRANT, work=_work("wrk_b"))


def test_collection_and_owner_scopes_cover_their_works_only() -> None:
    by_collection = dataclasses.replace(GRANT, scope=Scope(ScopeKind.COLLECTION, ("col_1",)))
    _authorize(by_collection, work=_work("wrk_z", collection="col_1"))
    with pytest.raises(VerificationError, match="covers collection col_1"):
        _authorize(by_collection, work=_work("wrk_z", collection="col_2"))
    by_owner = dataclasses.replace(GRANT, scope=Scope(ScopeKind.OWNER, ("own_1",)))
    _authorize(by_owner, work=_work("wrk_q", collection=None))


def test_expired() -> None:
    with pytest.raises(VerificationError, match="expired"):
        _authorize(GRANT, at=GRANT.not_after)


def test_not_yet_in_force() -> None:
    with pytest.raises(VerificationError, match="starts"):
        _authorize(GRANT, at=GRANT.not_before - timedelta(seconds=1))


def test_revoked() -> None:
    revocation = Revocation("rev_1", "grt_1", "own_1", NOW - timedelta(hours=1), None)
    with pytest.raises(VerificationError, match="was revoked"):
        _authorize(GRANT, revocation=revocation)
    # Before the revocation took effect the grant still authorised the use.
    _authorize(GRANT, revocation=revocation, at=NOW - timedelta(hours=2))


def test_a_revocation_for_another_grant_is_refused() -> None:
    revocation = Revocation("rev_1", "grt_9", "own_1", NOW, None)
    with pytest.raises(VerificationError, match="is for grant grt_9"):
        _authorize(GRANT, revocation=revocation)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("licensee", "lic_evil"),
        ("purposes", ["train-ai", "train-other"]),
        ("not_after", "2099-01-01T00:00:00.000000Z"),
        ("scope", {"kind": "owner", "ids": ["own_1"]}),
        ("price", None),
    ],
)
def test_tampered_with_after_signing(field: str, value: object) -> None:
    envelope = _signed(dataclasses.replace(GRANT, price=None) if field != "price" else GRANT)
    body = json.loads(envelope.body)
    body[field] = value if field != "price" else {"per": "work", "amount": "0", "currency": "EUR"}
    tampered = dataclasses.replace(
        envelope, body=json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    )
    with pytest.raises(VerificationError):
        verify_grant(tampered, owner_id="own_1", owner_key=OWNER.public)


def test_revocations_verify_against_the_owner() -> None:
    revocation = Revocation("rev_1", "grt_1", "own_1", NOW, "ended")
    envelope = sign_document("revocation", revocation_body(revocation), OWNER)
    assert verify_revocation(envelope, owner_id="own_1", owner_key=OWNER.public) == revocation
    forged = sign_document("revocation", revocation_body(revocation), STRANGER)
    with pytest.raises(VerificationError):
        verify_revocation(forged, owner_id="own_1", owner_key=OWNER.public)

"""What a party's client signs when a served registry asks: only the messages of the
change it asked for. A registry that asks for anything else gets no signature at all."""

from __future__ import annotations

import base64
from typing import Any

from consentry.client.http import _Expected, _signable
from consentry.crypto import KeyPair, canonical_json
from consentry.registry import EventKind

KEY = KeyPair.generate()
ADA = "own_aaaaaaaaaaaaaaaa"
MALLORY = "own_bbbbbbbbbbbbbbbb"
DIGEST = "a" * 64


def _document(kind: str, body: dict[str, Any]) -> bytes:
    return f"consentry/{kind}/v1\n".encode() + canonical_json(body)


def _event(
    kind: EventKind, actor: str, payload: dict[str, Any], subject: str = "wrk_cccccccccccccccc"
) -> bytes:
    body = {"type": "consentry.event", "version": 1, "event": kind.value, "actor": actor,
            "subject": subject, "at": "2026-12-02T00:00:00.000000Z",
            "payload": payload}  # fmt: skip
    return _document("event", body)


def _leaf(kind: EventKind) -> bytes:
    body = {"type": "consentry.log-leaf", "version": 1, "event": kind.value,
            "at": "2026-12-02T00:00:00.000000Z", "actor": "00" * 32, "subject": "11" * 32,
            "content": "22" * 32}  # fmt: skip
    return b"consentry/log-leaf/v1\n" + canonical_json(body)


WORK = {"type": "consentry.work", "id": "wrk_cccccccccccccccc", "owner": ADA,
        "collection": None, "path": "poems/river.txt", "digest": DIGEST}  # fmt: skip
EXPECTED = _Expected(
    ADA,
    frozenset({EventKind.WORK_REGISTERED}),
    {"work": lambda d: d.get("owner") == ADA and d.get("digest") == DIGEST},
)


def test_a_registration_signs_its_work_then_its_event_and_leaf() -> None:
    document = _document("work", WORK)
    signature = base64.b64encode(KEY.sign(document)).decode()
    waiting = _event(EventKind.WORK_REGISTERED, ADA, {"work": WORK, "signature": "AAAA"})
    # Round one: the event embeds a signature not yet made, so only the document.
    assert _signable([document, waiting, _leaf(EventKind.WORK_REGISTERED)], {}, EXPECTED) == [
        document
    ]
    # Round two: the event carries the document's real signature; it and its leaf.
    ready = _event(EventKind.WORK_REGISTERED, ADA, {"work": WORK, "signature": signature})
    leaf = _leaf(EventKind.WORK_REGISTERED)
    signed = {signature: canonical_json(WORK)}
    assert _signable([ready, leaf], signed, EXPECTED) == [ready, leaf]
    # An event that carries this signature beside another document is never signed.
    swapped = _event(EventKind.WORK_REGISTERED, ADA,
                     {"work": {**WORK, "path": "elsewhere"}, "signature": signature})  # fmt: skip
    assert _signable([swapped, leaf], signed, EXPECTED) == []


def test_an_event_about_another_subject_is_never_signed() -> None:
    deny = _Expected(ADA, frozenset({EventKind.REQUEST_DENIED}), {},
                     frozenset({"req_eeeeeeeeeeeeeeee"}))  # fmt: skip
    ours = _event(EventKind.REQUEST_DENIED, ADA, {"request": "req_eeeeeeeeeeeeeeee"},
                  "req_eeeeeeeeeeeeeeee")  # fmt: skip
    theirs = _event(EventKind.REQUEST_DENIED, ADA, {"request": "req_ffffffffffffffff"},
                    "req_ffffffffffffffff")  # fmt: skip
    assert _signable([ours], {}, deny) == [ours]
    assert _signable([theirs], {}, deny) == []


def test_a_work_for_content_never_uploaded_is_never_signed() -> None:
    other = _document("work", {**WORK, "digest": "b" * 64})
    assert _signable([_document("work", WORK), other], {}, EXPECTED) == []


def test_a_document_of_another_kind_is_never_signed() -> None:
    grant = _document("grant", {"owner": ADA, "licensee": "lic_dddddddddddddddd"})
    assert _signable([_document("work", WORK), grant], {}, EXPECTED) == []


def test_an_event_of_another_party_or_kind_is_never_signed() -> None:
    for wrong in (
        _event(EventKind.WORK_REGISTERED, MALLORY, {}),
        _event(EventKind.GRANT_ISSUED, ADA, {}),
    ):
        assert _signable([wrong], {}, EXPECTED) == []


def test_a_leaf_of_another_kind_or_an_unknown_message_is_never_signed() -> None:
    assert _signable([_leaf(EventKind.GRANT_REVOKED)], {}, EXPECTED) == []
    assert _signable([b"consentry/log-leaf/v1\nnot json"], {}, EXPECTED) == []
    assert _signable([b"anything else at all"], {}, EXPECTED) == []
    assert _signable([_document("work", WORK)[:-1]], {}, EXPECTED) == []


def test_a_grant_is_signed_only_for_exactly_what_was_asked() -> None:
    from datetime import UTC, datetime

    from consentry.client.registry import _grants
    from consentry.registry import LicenseRequest, RequestState, Scope, ScopeKind
    from consentry.terms import Category, Price

    now = datetime(2026, 12, 2, tzinfo=UTC)
    asked = LicenseRequest(
        id="req_eeeeeeeeeeeeeeee", licensee_id="lic_dddddddddddddddd", owner_id=ADA,
        scope=Scope(ScopeKind.OWNER, (ADA,)), purposes=frozenset({Category.TRAIN_AI}),
        not_before=now, not_after=None, offer=Price.from_text("0.05 EUR", "work", option="x"),
        commercial=True, state=RequestState.PENDING, counter=None, note=None, created_at=now,
    )  # fmt: skip
    price = {"per": "work", "amount": "0.05", "currency": "EUR"}
    good = {"request": asked.id, "owner": ADA, "licensee": asked.licensee_id,
            "scope": {"kind": "owner", "ids": [ADA]}, "purposes": ["train-ai"],
            "not_after": None, "price": price}  # fmt: skip
    assert _grants(good, asked, ADA)
    for field, other in (
        ("licensee", "lic_ffffffffffffffff"),
        ("scope", {"kind": "owner", "ids": [MALLORY]}),
        ("purposes", ["train-ai", "search"]),
        ("not_after", "2100-01-01T00:00:00.000000Z"),
        ("price", {"per": "work", "amount": "0", "currency": "EUR"}),
        ("owner", MALLORY),
    ):
        assert not _grants({**good, field: other}, asked, ADA), field

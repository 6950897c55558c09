"""What a party's client signs when a served registry asks: only the messages of the
change it asked for. A registry that asks for anything else gets no signature at all."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from consentry.client.http import _Expected, _signable
from consentry.client.registry import (
    _asks,
    _counter_expected,
    _grant_expected,
    _grants,
    _revokes,
)
from consentry.crypto import KeyPair, canonical_json
from consentry.registry import (
    CounterOffer,
    EventKind,
    LicenseRequest,
    RequestState,
    Scope,
    ScopeKind,
)
from consentry.terms import Category, Price

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


NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
LAB = "lic_dddddddddddddddd"
LAB_KEY = KeyPair.generate().public.hex
REQUEST = "req_eeeeeeeeeeeeeeee"
PRICE = {"per": "work", "amount": "0.05", "currency": "EUR"}
ASKED = LicenseRequest(
    id=REQUEST, licensee_id=LAB, owner_id=ADA, scope=Scope(ScopeKind.OWNER, (ADA,)),
    purposes=frozenset({Category.TRAIN_AI}), not_before=NOW - timedelta(hours=1),
    not_after=None, offer=Price.from_json(PRICE), commercial=True,
    state=RequestState.PENDING, counter=None, note=None, created_at=NOW - timedelta(hours=1),
)  # fmt: skip
# A grant of ASKED as the registry writes it (registry.documents.grant_body).
GRANT = {"type": "consentry.grant", "version": 1, "id": "grt_gggggggggggggggg",
         "request": REQUEST, "owner": ADA, "licensee": LAB, "licensee_key": LAB_KEY,
         "scope": {"kind": "owner", "ids": [ADA]}, "purposes": ["train-ai"],
         "not_before": "2026-12-02T08:30:00.000000Z", "not_after": None, "price": PRICE,
         "issued_at": "2026-12-02T09:30:00.100000Z"}  # fmt: skip


def _grant_of(asked: LicenseRequest, published: Any = None) -> Any:
    return _grant_expected(asked, ADA, licensee_key=LAB_KEY, published_price=published)


def test_a_grant_is_signed_only_for_exactly_what_was_asked() -> None:
    expected = _grant_of(ASKED)
    assert _grants(GRANT, expected, NOW)
    for field, other in (
        ("type", "consentry.terms"),
        ("version", 2),
        ("version", True),  # JSON's true is not 1, though Python's True == 1
        ("id", "grt_../../gggggggg"),
        ("request", "req_ffffffffffffffff"),
        ("licensee", "lic_ffffffffffffffff"),
        ("scope", {"kind": "owner", "ids": [MALLORY]}),
        ("purposes", ["train-ai", "search"]),
        ("not_after", "2100-01-01T00:00:00.000000Z"),
        ("price", {"per": "work", "amount": "0", "currency": "EUR"}),
        ("price", None),
        ("owner", MALLORY),
        # Issued at another time than now (within five minutes of this clock).
        ("issued_at", "2026-12-02T09:36:00.000000Z"),
        ("issued_at", "2026-12-02T09:30:00Z"),
    ):
        assert not _grants({**GRANT, field: other}, expected, NOW), (field, other)
    # A field the registry adds, or one it leaves out, is not what was asked either.
    assert not _grants({**GRANT, "commercial": False}, expected, NOW)
    assert not _grants({k: v for k, v in GRANT.items() if k != "price"}, expected, NOW)


def test_a_backdated_grant_is_never_signed() -> None:
    """A registry that starts the licence before the request did would license runs
    made before the owner agreed: the owner's client signs nothing."""
    expected = _grant_of(ASKED)
    for earlier in ("2026-12-02T08:29:59.999999Z", "2020-01-01T00:00:00.000000Z",
                    "2026-12-02T08:30:00Z"):  # fmt: skip
        backdated = _document("grant", {**GRANT, "not_before": earlier})
        assert not _grants(json.loads(backdated.split(b"\n", 1)[1]), expected, NOW)
        assert _signable([backdated], {}, _granting(expected)) == [], earlier
    # A request said to start before it was made is not granted at all.
    said = replace(ASKED, not_before=ASKED.created_at - timedelta(days=365))
    assert _grant_of(said) is None
    assert _signable([_document("grant", {**GRANT, "not_before": "2025-12-02T08:30:00.000000Z"})],
                     {}, _granting(_grant_of(said))) == []  # fmt: skip


def test_a_grant_bound_to_another_licensee_key_is_never_signed() -> None:
    expected = _grant_of(ASKED)
    assert _signable([_document("grant", GRANT)], {}, _granting(expected)) == [
        _document("grant", GRANT)
    ]
    for key in (KeyPair.generate().public.hex, LAB_KEY.upper(), "", None):
        other = _document("grant", {**GRANT, "licensee_key": key})
        assert _signable([other], {}, _granting(expected)) == [], key


def test_a_grant_without_an_offer_is_signed_at_the_owners_published_price() -> None:
    unpriced = replace(ASKED, offer=None)
    published = {"per": "work", "amount": "0.10", "currency": "EUR"}
    expected = _grant_of(unpriced, published)
    assert _grants({**GRANT, "price": published}, expected, NOW)
    assert not _grants({**GRANT, "price": PRICE}, expected, NOW)
    assert not _grants({**GRANT, "price": None}, expected, NOW)
    # An owner without a published price grants free of charge, and only that.
    assert _grants({**GRANT, "price": None}, _grant_of(unpriced), NOW)


def test_an_accepted_counter_offer_is_granted_as_countered() -> None:
    one = {"per": "work", "amount": "1", "currency": "EUR"}
    until = datetime(2027, 12, 1, tzinfo=UTC)
    counter = CounterOffer(frozenset({Category.SEARCH}), until, Price.from_json(one))
    accepted = replace(ASKED, state=RequestState.ACCEPTED, counter=counter)
    countered = {**GRANT, "purposes": ["search"], "not_after": "2027-12-01T00:00:00.000000Z",
                 "price": one}  # fmt: skip
    assert _grants(countered, _grant_of(accepted), NOW)
    assert not _grants(GRANT, _grant_of(accepted), NOW)
    # Only once accepted: a countered request is not granted as countered, nor asked.
    assert _grant_of(replace(accepted, state=RequestState.COUNTERED)) is None
    assert _grant_of(replace(ASKED, state=RequestState.GRANTED)) is None
    assert _grant_of(replace(ASKED, owner_id=MALLORY)) is None


def _granting(expected: Any) -> _Expected:
    return _Expected(ADA, frozenset({EventKind.GRANT_ISSUED}),
                     {"grant": lambda d: _grants(d, expected, NOW)})  # fmt: skip


def test_a_licence_request_is_signed_as_asked_starting_when_it_is_made() -> None:
    asked = {"type": "consentry.license-request", "version": 1, "licensee": LAB, "owner": ADA,
             "scope": {"kind": "owner", "ids": [ADA]}, "purposes": ["train-ai"],
             "not_after": None, "offer": PRICE, "commercial": True}  # fmt: skip
    made = {**asked, "id": REQUEST, "not_before": "2026-12-02T09:30:00.000000Z",
            "created_at": "2026-12-02T09:30:00.000000Z"}  # fmt: skip
    assert _asks(made, asked, NOW)
    for field, other in (
        ("owner", MALLORY),
        ("not_before", "2026-12-01T09:30:00.000000Z"),
        ("created_at", "2026-12-01T09:30:00.000000Z"),
        ("id", "grt_gggggggggggggggg"),
        ("type", "consentry.grant"),
    ):
        assert not _asks({**made, field: other}, asked, NOW), field
    backdated = {**made, "not_before": "2026-12-01T09:30:00.000000Z",
                 "created_at": "2026-12-01T09:30:00.000000Z"}  # fmt: skip
    assert not _asks(backdated, asked, NOW)
    assert not _asks({**made, "extra": 1}, asked, NOW)


def test_a_revocation_is_signed_for_its_grant_from_now_or_the_time_given() -> None:
    made = {"type": "consentry.revocation", "version": 1, "id": "rev_hhhhhhhhhhhhhhhh",
            "grant": "grt_gggggggggggggggg", "owner": ADA,
            "effective_at": "2026-12-02T09:31:00.000000Z", "reason": "ended"}  # fmt: skip
    args = ("grt_gggggggggggggggg", ADA)
    assert _revokes(made, *args, None, "ended", NOW)
    assert _revokes(made, *args, "2026-12-02T09:31:00.000000Z", "ended", NOW)
    for field, other in (
        ("effective_at", "2026-12-01T00:00:00.000000Z"),  # backdated: runs made before
        ("effective_at", "2027-12-01T00:00:00.000000Z"),  # put off: runs made after
        ("grant", "grt_ffffffffffffffff"),
        ("owner", MALLORY),
        ("reason", None),
        ("id", "rev_x"),
        ("version", 2),
    ):
        assert not _revokes({**made, field: other}, *args, None, "ended", NOW), field
    later = "2027-12-01T00:00:00.000000Z"
    assert not _revokes(made, *args, later, "ended", NOW)
    assert _revokes({**made, "effective_at": later}, *args, later, "ended", NOW)


def test_a_counter_offer_says_what_the_owner_gave_and_the_request_the_rest() -> None:
    until = "2027-12-01T00:00:00.000000Z"
    given = {"purposes": None, "not_after": until, "price": None}
    made = {"type": "consentry.counter-offer", "version": 1, "request": REQUEST,
            "purposes": ["train-ai"], "not_after": until, "price": PRICE}  # fmt: skip
    expected = _counter_expected(given, ASKED)
    assert made == expected
    for field, other in (
        ("purposes", ["search", "train-ai"]),  # filled otherwise than the request says
        ("price", None),
        ("price", {"per": "work", "amount": "0.01", "currency": "EUR"}),
        ("not_after", None),
        ("request", "req_ffffffffffffffff"),
    ):
        assert {**made, field: other} != expected, field

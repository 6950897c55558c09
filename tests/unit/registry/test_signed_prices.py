"""A price outside the amount rule in a signed document (issue 20, "Bounded money").

A signature says who wrote a price, not that it can be billed: an owner's key (or a
registry that once let ``1E+999999999`` through) can sign one that overflows every
bill. Such a document is refused when read, so it authorises nothing."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from consentry.crypto import KeyPair, sign_document, verify_document
from consentry.errors import VerificationError
from consentry.registry import Scope, ScopeKind, verify_grant
from consentry.registry.documents import (
    counter_body,
    counter_from_body,
    grant_body,
    request_body,
    request_from_body,
)
from consentry.registry.records import CounterOffer, LicenseRequest, RequestState
from consentry.terms import Category, Price, PriceUnit
from tests.unit.registry.test_grants import GRANT as TESTED_GRANT
from tests.unit.registry.test_grants import LICENSEE, NOW

OWNER = KeyPair.generate()
PRICE = Price.from_json({"per": "1k-tokens", "amount": "0.05", "currency": "EUR"})

# The grant the grant tests verify, here with a price.
GRANT = dataclasses.replace(TESTED_GRANT, price=PRICE)
REQUEST = LicenseRequest(
    id="req_1",
    licensee_id="lic_1",
    owner_id="own_1",
    scope=Scope(ScopeKind.OWNER, ("own_1",)),
    purposes=frozenset({Category.TRAIN_AI}),
    not_before=NOW,
    not_after=None,
    offer=PRICE,
    commercial=True,
    state=RequestState.PENDING,
    counter=None,
    note=None,
    created_at=NOW,
)

UNBILLABLE = ["1E+999999999", "NaN", "-Infinity", "-1", "0.000000001", "1" + "0" * 15]


def _with_amount(body: dict[str, Any], field: str, amount: str) -> dict[str, Any]:
    # Built by hand: no Price can hold these, so no service could have written them.
    return {**body, field: {**body[field], "amount": amount}}


def test_a_grant_signed_with_a_valid_price_still_verifies() -> None:
    envelope = sign_document("grant", grant_body(GRANT), OWNER)
    assert verify_grant(envelope, owner_id="own_1", owner_key=OWNER.public) == GRANT


@pytest.mark.parametrize("amount", UNBILLABLE)
def test_a_grant_its_owner_signed_with_an_unbillable_price_is_refused_when_read(
    amount: str,
) -> None:
    body = _with_amount(grant_body(GRANT), "price", amount)
    envelope = sign_document("grant", body, OWNER)
    # The signature holds: it is the price that is refused.
    assert verify_document(envelope, OWNER.public) == body
    with pytest.raises(VerificationError) as refused:
        verify_grant(envelope, owner_id="own_1", owner_key=OWNER.public)
    assert str(refused.value).startswith(f"grant grt_1 price.amount {amount!r}: the amount must")


@pytest.mark.parametrize("amount", UNBILLABLE)
def test_a_signed_request_offering_an_unbillable_price_is_refused_when_read(amount: str) -> None:
    body = _with_amount(request_body(REQUEST), "offer", amount)
    signed = verify_document(sign_document("license-request", body, LICENSEE), LICENSEE.public)
    with pytest.raises(
        VerificationError, match=rf"^request req_1 offer\.amount {re.escape(repr(amount))}: "
    ):
        request_from_body(signed, state=RequestState.PENDING, counter=None, note=None)


def test_a_signed_counter_offer_asking_an_unbillable_price_is_refused_when_read() -> None:
    counter = CounterOffer(frozenset({Category.TRAIN_AI}), None, PRICE)
    body = _with_amount(counter_body("req_1", counter), "price", "1E+999999999")
    signed = verify_document(sign_document("counter-offer", body, OWNER), OWNER.public)
    with pytest.raises(VerificationError, match=r"^counter-offer to req_1 price\.amount '1E\+9"):
        counter_from_body(signed)


@pytest.mark.parametrize(
    "price",
    [
        "0.05 EUR",
        {"per": "work", "amount": "1"},
        {"per": "page", "amount": "1", "currency": "EUR"},
        {"per": "work", "amount": 5, "currency": "EUR"},
        {"per": "work", "amount": "1", "currency": "euro"},
    ],
)
def test_a_signed_grant_with_a_malformed_price_is_refused_when_read(price: object) -> None:
    body = {**grant_body(GRANT), "price": price}
    envelope = sign_document("grant", body, OWNER)
    with pytest.raises(VerificationError, match=r"^grant grt_1 price"):
        verify_grant(envelope, owner_id="own_1", owner_key=OWNER.public)


def test_a_grant_with_no_price_is_read_as_free() -> None:
    envelope = sign_document("grant", grant_body(dataclasses.replace(GRANT, price=None)), OWNER)
    assert verify_grant(envelope, owner_id="own_1", owner_key=OWNER.public).price is None


def test_a_price_is_written_as_the_rule_reads_it() -> None:
    # 5E-8 as Decimal's str() would write it: the rule reads only plain numerals.
    tiny = Price(PriceUnit.BYTE, PRICE.amount.scaleb(-6), "EUR")
    grant = dataclasses.replace(GRANT, price=tiny)
    body = grant_body(grant)
    assert body["price"]["amount"] == "0.00000005"
    envelope = sign_document("grant", body, OWNER)
    assert verify_grant(envelope, owner_id="own_1", owner_key=OWNER.public) == grant

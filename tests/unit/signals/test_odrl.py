"""TDM Policies, the TDMRep profile of ODRL 2.2: Offers read and written, and grants
written as Agreements (TDMRep Community Group Final Report §sec-policy; ODRL
Information Model 2.2)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.errors import InputError
from consentry.signals import Reservation, odrl
from consentry.signals.odrl import (
    CATEGORY_IRI,
    CONSENTRY_PROFILE,
    TDMREP_PROFILE,
    read_odrl_policy,
    write_odrl_agreement,
    write_odrl_offer,
)
from consentry.signals.tdmrep import TDM_CATEGORIES
from consentry.terms import Category, Conditions, Permission, Price, PriceUnit, Terms

VECTORS = Path(__file__).parents[2] / "vectors" / "signals" / "odrl"
ALLOW, DENY, LICENSE = Permission.ALLOW, Permission.DENY, Permission.LICENSE
PLACE = "https://provider.com/policies/policy.json"


def _said(reservation: Reservation) -> dict[Category, Permission]:
    return {c: p for c in Category if (p := reservation.permission(c)) is not None}


def _all(permission: Permission) -> dict[Category, Permission]:
    return dict.fromkeys(sorted(TDM_CATEGORIES, key=list(Category).index), permission)


def _policy(**changes: Any) -> dict[str, Any]:
    policy: dict[str, Any] = {
        "@context": ["http://www.w3.org/ns/odrl.jsonld", "http://www.w3.org/ns/tdmrep.jsonld"],
        "@type": "Offer",
        "profile": TDMREP_PROFILE,
        "uid": "https://provider.com/policies/1",
        "assigner": {"uid": "https://provider.com"},
        "permission": [{"action": "tdm:mine", "duty": [{"action": "obtainConsent"}]}],
    }
    policy.update(changes)
    return policy


def _read(policy: dict[str, Any]) -> Reservation:
    return read_odrl_policy(json.dumps(policy), place=PLACE)


def _compensate(
    amount: Any, unit: str = "http://dbpedia.org/resource/Euro", per: str | None = None
) -> dict[str, Any]:
    refinement = [
        {"leftOperand": "payAmount", "operator": "eq", "rightOperand": amount, "unit": unit}
    ]
    if per is not None:
        refinement.append({"leftOperand": "unitOfCount", "operator": "eq", "rightOperand": per})
    return {"action": [{"rdf:value": {"@id": "odrl:compensate"}, "refinement": refinement}]}


def test_exports() -> None:
    assert odrl.__all__ == [
        "CATEGORY_IRI",
        "CONSENTRY_PROFILE",
        "ODRL_CONTEXT",
        "TDMREP_CONTEXT",
        "TDMREP_PROFILE",
        "read_odrl_policy",
        "write_odrl_agreement",
        "write_odrl_offer",
    ]


# -- the specifications' own examples ---------------------------------------------------


def test_full_example_1_asks_consent_before_mining() -> None:
    # §sec-policy-examples: "the rightsholder requires TDM Actors to contact him for
    # obtaining licensing rights".
    reservation = read_odrl_policy((VECTORS / "full-example-1.json").read_bytes(), place=PLACE)
    assert _said(reservation) == _all(LICENSE)
    assert not reservation.problems
    statement = reservation.statements[0]
    assert statement.licence == "https://provider.com/policies/1"
    assert statement.label == "permission tdm:mine duty obtainConsent"
    assert statement.price is None


def test_full_example_2_as_published_is_not_json() -> None:
    reservation = read_odrl_policy(
        (VECTORS / "full-example-2.json").read_text("utf-8"), place=PLACE
    )
    (problem,) = reservation.problems
    assert "is not JSON" in problem.message
    assert all(reservation.reserves(c) for c in Category)


def test_full_example_2_mended_asks_a_fee_of_non_research_miners() -> None:
    # "non-research Actors from any country can mine its content if they agree to pay".
    text = (VECTORS / "full-example-2.json").read_text("utf-8")
    mended = text.replace('"mailto:contact@provider.com",\n', '"mailto:contact@provider.com"\n')
    reservation = read_odrl_policy(mended, place=PLACE)
    assert not reservation.problems
    assert _said(reservation) == _all(LICENSE)
    label = reservation.statements[0].label
    assert "duty compensate" in label and "(purpose eq 'tdm:non-research')" in label


def test_odrl_example_15_names_a_profile_a_tdm_reader_must_stop_at() -> None:
    # ODRL IM #profile-conformance: an unrecognised profile "MUST stop processing".
    reservation = read_odrl_policy(
        (VECTORS / "odrl-im-example-15.json").read_text("utf-8"), place=PLACE
    )
    (problem,) = reservation.problems
    assert "profile" in problem.message and "not understood" in problem.message
    assert not reservation.statements


# -- reading ----------------------------------------------------------------------------


def test_compensate_carries_the_price_and_unit() -> None:
    rule = {
        "action": "tdm:mine",
        "duty": [_compensate({"@value": "0.05", "@type": "xsd:decimal"}, per="1k-tokens")],
    }
    reservation = _read(_policy(permission=[rule]))
    assert {s.price for s in reservation.statements} == {
        Price(PriceUnit.THOUSAND_TOKENS, Decimal("0.05"), "EUR")
    }


def test_a_plain_amount_and_currency_code_are_read_per_work() -> None:
    rule = {"action": "mine", "duty": [_compensate(2.5, unit="USD")]}
    (price,) = {s.price for s in _read(_policy(permission=[rule])).statements}
    assert price == Price(PriceUnit.WORK, Decimal("2.5"), "USD")


def test_prohibition_denies() -> None:
    reservation = _read(_policy(permission=[], prohibition=[{"action": "tdm:mine"}]))
    assert _said(reservation) == _all(DENY)
    assert any('no "permission"' in p.message for p in reservation.problems)


def test_purpose_of_consentry_categories_narrows_the_offer() -> None:
    constraint = {
        "leftOperand": "purpose",
        "operator": "isAnyOf",
        "rightOperand": [{"@id": CATEGORY_IRI + "train-ai"}, {"@id": CATEGORY_IRI + "ai-input"}],
    }
    rule = {"action": "tdm:mine", "constraint": [constraint], "duty": [{"action": "obtainConsent"}]}
    reservation = _read(_policy(profile=[TDMREP_PROFILE, CONSENTRY_PROFILE], permission=[rule]))
    assert _said(reservation) == {
        Category.TRAIN_AI: LICENSE,
        Category.TRAIN_OTHER: DENY,
        Category.AI_INPUT: LICENSE,
        Category.DATA_MINING: DENY,
    }


@pytest.mark.parametrize(
    ("policy", "says"),
    [
        (_policy(**{"@type": "Agreement"}), "a TDM Policy is an Offer"),
        (_policy(**{"@context": "https://schema.org"}), "is not an ODRL policy"),
        (_policy(profile="https://example.org/profile"), "not understood"),
        (_policy(permission=[{"action": "play"}]), "is not tdm:mine"),
        (
            _policy(permission=[{"action": "tdm:mine", "duty": [_compensate("1E+5")]}]),
            "the amount must be",
        ),
        (
            _policy(permission=[{"action": "tdm:mine", "duty": [_compensate("-1")]}]),
            "the amount must be",
        ),
        (
            _policy(
                permission=[
                    {"action": "tdm:mine", "duty": [_compensate("5", unit="https://x.org/euro")]}
                ]
            ),
            "the currency must be",
        ),
        (
            _policy(
                permission=[
                    {
                        "action": "tdm:mine",
                        "constraint": [
                            {
                                "leftOperand": "purpose",
                                "operator": "eq",
                                "rightOperand": "tdm:whatever",
                            }
                        ],
                    }
                ]
            ),
            "purpose 'tdm:whatever'",
        ),
        (_policy(permission=["tdm:mine"]), "not a JSON object"),
    ],
)
def test_bad_policies_are_problems_never_allows(policy: dict[str, Any], says: str) -> None:
    reservation = _read(policy)
    assert any(says in p.message for p in reservation.problems), reservation.problems
    assert all(reservation.reserves(c) for c in Category)
    assert ALLOW not in {s.permission for s in reservation.statements}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{", "is not JSON"),
        ("[" * 100_000, "is not JSON"),
        ("[]", "not an ODRL policy"),
        (" " * (2 << 20), "over"),
    ],
)
def test_unreadable_documents_are_problems(text: str, says: str) -> None:
    (problem,) = read_odrl_policy(text, place=PLACE).problems
    assert says in problem.message


# -- writing ----------------------------------------------------------------------------


def _terms(price: Price | None = None, **categories: Permission) -> Terms:
    return Terms(
        MappingProxyType({Category(k.replace("_", "-")): v for k, v in categories.items()}), price
    )


def test_offer_with_a_price_is_a_tdmrep_policy() -> None:
    price = Price(PriceUnit.WORK, Decimal("0.05"), "EUR")
    rendering = write_odrl_offer(
        _terms(price, train_ai=LICENSE, train_other=LICENSE, ai_input=LICENSE, data_mining=LICENSE),
        uid="https://provider.com/policies/1",
        assigner="https://provider.com",
        assigner_name="Provider",
        licensing_url="https://provider.com/tdm/licensing.html",
    )
    policy = json.loads(rendering.text)
    assert policy["@context"] == [
        "http://www.w3.org/ns/odrl.jsonld",
        "http://www.w3.org/ns/tdmrep.jsonld",
    ]
    assert policy["@type"] == "Offer" and policy["profile"] == TDMREP_PROFILE
    assert policy["assigner"] == {
        "uid": "https://provider.com",
        "vcard:fn": "Provider",
        "vcard:hasURL": "https://provider.com/tdm/licensing.html",
    }
    (rule,) = policy["permission"]
    assert rule["action"] == "tdm:mine" and "constraint" not in rule
    (duty,) = rule["duty"]
    refinement = duty["action"][0]["refinement"]
    assert refinement[0]["rightOperand"] == {"@value": "0.05", "@type": "xsd:decimal"}
    assert refinement[0]["unit"] == "http://dbpedia.org/resource/Euro"
    read = read_odrl_policy(rendering.text, place=PLACE)
    assert {s.price for s in read.statements if s.permission is LICENSE} == {price}


def test_an_offer_of_nothing_is_refused() -> None:
    with pytest.raises(InputError, match="deny every TDM use"):
        write_odrl_offer(
            _terms(train_ai=DENY, train_other=DENY, ai_input=DENY, data_mining=DENY),
            uid="u",
            assigner="a",
        )


_PRICES = st.none() | st.builds(
    Price,
    st.sampled_from(list(PriceUnit)),
    st.sampled_from([Decimal("0.05"), Decimal("7"), Decimal("0.00000001")]),
    st.sampled_from(["EUR", "USD", "SEK"]),
)
_TERMS = st.builds(
    Terms,
    st.dictionaries(st.sampled_from(list(Category)), st.sampled_from(list(Permission))).map(
        MappingProxyType
    ),
    _PRICES,
    st.sampled_from([Conditions(), Conditions(share_alike=True)]),
).filter(lambda t: any(t.permission(c) is not DENY for c in TDM_CATEGORIES))


@given(_TERMS)
def test_offer_round_trip_keeps_what_the_profile_can_say(terms: Terms) -> None:
    rendering = write_odrl_offer(terms, uid="https://x.org/policies/1", assigner="https://x.org")
    read = read_odrl_policy(rendering.text, place=PLACE)
    assert not read.problems
    for category in Category:
        wanted, got = terms.permission(category), read.permission(category)
        if category not in TDM_CATEGORIES:
            assert got is None and any(u.startswith(f"{category.value}:") for u in rendering.unsaid)
        elif wanted is ALLOW:
            assert got is LICENSE and any(
                u.startswith(f"{category.value}:") for u in rendering.unsaid
            )
        else:
            assert got is wanted
    if terms.price is not None:
        assert {s.price for s in read.statements if s.permission is LICENSE} == {terms.price}
    if terms.conditions.to_json():
        assert any(u.startswith("conditions:") for u in rendering.unsaid)


def test_agreement_from_a_grant() -> None:
    price = Price(PriceUnit.THOUSAND_TOKENS, Decimal("0.40"), "EUR")
    rendering = write_odrl_agreement(
        grant_id="grt_abc",
        owner_id="own_1",
        licensee_id="lic_2",
        targets=["wrk_b", "wrk_a"],
        purposes=[Category.TRAIN_AI],
        not_before=datetime(2026, 1, 1, tzinfo=UTC),
        not_after=date(2027, 1, 1),
        price=price,
    )
    agreement = json.loads(rendering.text)
    assert agreement["@type"] == "Agreement"
    assert agreement["uid"] == "urn:consentry:grt_abc"
    assert agreement["assigner"] == "urn:consentry:own_1"
    assert agreement["assignee"] == "urn:consentry:lic_2"
    assert agreement["profile"] == [TDMREP_PROFILE, CONSENTRY_PROFILE]
    (rule,) = agreement["permission"]
    assert rule["target"] == ["urn:consentry:wrk_b", "urn:consentry:wrk_a"]
    assert rule["action"] == "tdm:mine"
    assert rule["constraint"] == [
        {
            "leftOperand": "purpose",
            "operator": "isAnyOf",
            "rightOperand": [{"@id": CATEGORY_IRI + "train-ai"}],
        },
        {
            "leftOperand": "dateTime",
            "operator": "gteq",
            "rightOperand": {"@value": "2026-01-01T00:00:00.000000Z", "@type": "xsd:dateTime"},
        },
        {
            "leftOperand": "dateTime",
            "operator": "lt",
            "rightOperand": {"@value": "2027-01-01", "@type": "xsd:date"},
        },
    ]
    (duty,) = rule["duty"]
    assert duty["compensatedParty"] == "urn:consentry:own_1"
    refinement = duty["action"][0]["refinement"]
    assert refinement == [
        {
            "leftOperand": "payAmount",
            "operator": "eq",
            "rightOperand": {"@value": "0.40", "@type": "xsd:decimal"},
            "unit": "http://dbpedia.org/resource/Euro",
        },
        {"leftOperand": "unitOfCount", "operator": "eq", "rightOperand": "1k-tokens"},
    ]


def test_agreement_beyond_mining_uses_odrl_use() -> None:
    rendering = write_odrl_agreement(
        grant_id="grt_1",
        owner_id="own_1",
        licensee_id="lic_1",
        targets=["col_1"],
        purposes=[Category.PUBLISH_OUTPUT, Category.TRAIN_AI],
    )
    (rule,) = json.loads(rendering.text)["permission"]
    assert rule["action"] == "use" and rule["target"] == "urn:consentry:col_1"
    assert "duty" not in rule


@pytest.mark.parametrize(("targets", "purposes"), [([], [Category.TRAIN_AI]), (["wrk_1"], [])])
def test_agreement_needs_a_target_and_a_purpose(
    targets: list[str], purposes: list[Category]
) -> None:
    with pytest.raises(InputError, match="at least one target and one purpose"):
        write_odrl_agreement(
            grant_id="g", owner_id="o", licensee_id="l", targets=targets, purposes=purposes
        )

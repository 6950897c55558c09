from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.errors import TermsError
from consentry.terms import (
    DEFAULT_TERMS,
    Category,
    Permission,
    PriceUnit,
    Terms,
    category_for_label,
    resolve_terms,
    terms_schema,
)

FULL = {
    "version": 1,
    "categories": {"train-ai": "license", "search": "allow", "data-mining": "deny"},
    "price": {"per": "1k-tokens", "amount": "0.0125", "currency": "EUR"},
    "conditions": {
        "attribution": "© Ada",
        "share_alike": True,
        "non_commercial": False,
        "expires": "2030-01-31",
        "max_excerpt_chars": 300,
    },
}


def test_the_shipped_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(terms_schema())


def test_a_full_document_is_read_exactly() -> None:
    terms = Terms.from_json(FULL)
    assert terms.permission(Category.TRAIN_AI) is Permission.LICENSE
    assert terms.permission(Category.SEARCH) is Permission.ALLOW
    assert terms.price is not None
    assert terms.price.amount == Decimal("0.0125") and terms.price.unit is PriceUnit.THOUSAND_TOKENS
    assert terms.conditions.expires == date(2030, 1, 31)
    assert terms.to_json() == FULL


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"version": 1, "categories": {"train-ai": "maybe"}},
            r"categories\.train-ai: 'maybe' is not one of",
        ),
        (
            {"version": 1, "categories": {"train-genai": "deny"}},
            r"categories: Additional properties",
        ),
        (
            {"version": 1, "price": {"per": "work", "amount": "1.5"}},
            r"price: 'currency' is a required",
        ),
        (
            {"version": 1, "price": {"per": "work", "amount": "-1", "currency": "EUR"}},
            r"price\.amount",
        ),
        (
            {"version": 1, "price": {"per": "work", "amount": 1.5, "currency": "EUR"}},
            r"price\.amount: 1\.5 is not of type 'string'",
        ),
        (
            {"version": 1, "conditions": {"expires": "2030-02-31"}},
            r"conditions\.expires: '2030-02-31' is not a date",
        ),
        ({"version": 2}, r"version: 1 was expected"),
        ({}, r"\(document\): 'version' is a required"),
    ],
)
def test_schema_errors_name_the_field(document: dict[str, Any], message: str) -> None:
    with pytest.raises(TermsError, match=rf"^terms\.json: {message}"):
        Terms.from_json(document, source="terms.json")


def test_default_terms_need_a_licence_for_every_use() -> None:
    assert all(DEFAULT_TERMS.permission(c) is Permission.LICENSE for c in Category)


def test_the_most_specific_layer_wins_field_by_field() -> None:
    owner = Terms.from_json(FULL)
    collection = Terms.from_json({"version": 1, "categories": {"search": "deny"}})
    work = Terms.from_json(
        {"version": 1, "categories": {"train-ai": "allow"}, "conditions": {"max_excerpt_chars": 50}}
    )
    effective = resolve_terms([owner, collection, work])
    assert effective.permission(Category.TRAIN_AI) is Permission.ALLOW
    assert effective.permission(Category.SEARCH) is Permission.DENY
    assert effective.permission(Category.DATA_MINING) is Permission.DENY
    assert effective.permission(Category.AI_INPUT) is Permission.LICENSE
    assert effective.price == owner.price
    assert effective.conditions.max_excerpt_chars == 50
    assert effective.conditions.attribution == "© Ada"


permissions = st.sampled_from([p.value for p in Permission])
documents = st.fixed_dictionaries(
    {"version": st.just(1)},
    optional={
        "categories": st.dictionaries(st.sampled_from([c.value for c in Category]), permissions),
        "conditions": st.fixed_dictionaries(
            {},
            optional={
                "attribution": st.text(min_size=1, max_size=20),
                "non_commercial": st.booleans(),
                "max_excerpt_chars": st.integers(0, 10_000),
            },
        ),
    },
)


@given(documents)
def test_terms_round_trip_through_json(document: dict[str, Any]) -> None:
    terms = Terms.from_json(document)
    assert Terms.from_json(terms.to_json()) == terms


@given(st.lists(documents, max_size=4))
def test_resolution_never_leaves_a_category_unset(layers: list[dict[str, Any]]) -> None:
    effective = resolve_terms([Terms.from_json(d) for d in layers])
    assert set(effective.categories) == set(Category)


@pytest.mark.parametrize(
    ("label", "category", "outdated"),
    [
        ("train-ai", Category.TRAIN_AI, False),
        ("cawg.ai_generative_training", Category.TRAIN_AI, False),
        ("ai-train", Category.TRAIN_AI, False),
        ("cawg.ai_inference", Category.AI_INPUT, False),
        ("tdm-reservation", Category.DATA_MINING, False),
        ("train-genai", Category.TRAIN_AI, True),
        ("ai-use", Category.AI_INPUT, True),
        ("genai", Category.TRAIN_AI, True),
        ("inference", Category.AI_INPUT, True),
        # Labels of several categories have no one category to name.
        ("all", None, False),
        ("bots", None, False),
        ("tdm", None, False),
        ("nonsense", None, False),
    ],
)
def test_outside_labels_map_to_categories(
    label: str, category: Category | None, outdated: bool
) -> None:
    assert category_for_label(label) == (category, outdated)


def test_outdated_labels_agree_with_the_signal_reader() -> None:
    from consentry.signals.aipref import AIPREF_LABELS
    from consentry.terms.vocabulary import OUTDATED_AIPREF_LABELS

    for label, category in OUTDATED_AIPREF_LABELS.items():
        assert AIPREF_LABELS[label].covers == frozenset({category}), label
        assert AIPREF_LABELS[label].outdated, label

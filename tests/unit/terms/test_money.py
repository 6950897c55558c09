"""The amount rule (issue 20, "Bounded money"): one rule for every amount, the terms
schema's, and any amount it accepts is billed exactly, without a decimal error."""

from __future__ import annotations

import re
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow, Rounded, localcontext
from fractions import Fraction
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentry.errors import InputError, TermsError
from consentry.gate.royalties import UsedWork, royalty_for, royalty_totals
from consentry.terms import Price, PriceUnit, Terms, terms_schema
from consentry.terms.money import (
    AMOUNT_PATTERN,
    AMOUNT_RULE,
    CURRENCY_PATTERN,
    MAX_PLACES,
    MAX_WHOLE_DIGITS,
    amount_text,
    valid_amount,
)

LARGEST = "9" * MAX_WHOLE_DIGITS + "." + "9" * MAX_PLACES
amounts = st.from_regex(AMOUNT_PATTERN, fullmatch=True).filter(lambda t: "\n" not in t)
# Up to 10^18 - 1 of anything: what MONEY_CONTEXT's comment promises to bill exactly.
counts = st.integers(0, 10**18 - 1)


def _price_schema() -> dict[str, Any]:
    schema: dict[str, Any] = terms_schema()["properties"]["price"]["properties"]
    return schema


def test_the_terms_schema_states_the_same_rule() -> None:
    schema = _price_schema()
    assert schema["amount"] == {"type": "string", "pattern": AMOUNT_PATTERN}
    assert schema["currency"] == {"type": "string", "pattern": CURRENCY_PATTERN}


@given(st.text(alphabet="0123456789.-+eEnNaIfity ", max_size=30))
def test_the_schema_and_the_rule_accept_the_same_texts(text: str) -> None:
    by_schema = jsonschema.Draft202012Validator(_price_schema()["amount"]).is_valid(text)
    try:
        valid_amount(text, what="amount")
        by_rule = True
    except InputError:
        by_rule = False
    assert by_rule == by_schema


@pytest.mark.parametrize("text", ["0", "0.05", "12.50", "0.00000001", LARGEST])
def test_plain_amounts_within_the_bounds_are_accepted(text: str) -> None:
    assert valid_amount(text, what="amount") == Decimal(text)
    assert amount_text(Decimal(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "sNaN",
        "-NaN",
        "Infinity",
        "-Infinity",
        "inf",
        "-0",
        "-1",
        "+1",
        "1E+999999999",
        "1e3",
        "1E-8",
        "0.000000001",
        "1" + "0" * MAX_WHOLE_DIGITS,
        "01",
        ".5",
        "5.",
        " 1",
        "1 ",
        "0.5\n",
        "1_000",
        "1,5",
        "\u0661",  # ARABIC-INDIC DIGIT ONE: Decimal() reads it as 1
        "",
    ],
)
def test_anything_else_is_refused_with_one_sentence_naming_it(text: str) -> None:
    with pytest.raises(InputError) as refused:
        valid_amount(text, what=f"--offer {text!r}", example="'0.05 EUR'")
    message = str(refused.value)
    assert message == f"--offer {text!r}: the amount must be {AMOUNT_RULE}, e.g. '0.05 EUR'"
    assert "\n" not in message.replace(repr(text), "")


@pytest.mark.parametrize("value", [12, 0.5, None, True, ["1"], {"1": 1}])
def test_an_amount_that_is_not_text_is_refused(value: object) -> None:
    with pytest.raises(InputError, match="the amount must be"):
        valid_amount(value, what="amount")


@given(st.text(max_size=40) | st.decimals(allow_nan=True, allow_infinity=True).map(str))
def test_no_text_makes_the_rule_raise_anything_but_an_input_error(text: str) -> None:
    try:
        amount = valid_amount(text, what="amount")
    except InputError:
        return
    assert re.fullmatch(AMOUNT_PATTERN, amount_text(amount))


@given(st.decimals(allow_nan=True, allow_infinity=True))
def test_a_decimal_is_a_valid_amount_exactly_when_its_text_is(amount: Decimal) -> None:
    text = amount_text(amount)
    try:
        valid_amount(amount, what="amount")
        accepted = True
    except InputError:
        accepted = False
    assert accepted == (re.fullmatch(AMOUNT_PATTERN, text) is not None)


@pytest.mark.parametrize(
    "amount",
    ["NaN", "Infinity", "-0", "-0.01", "1E+999999999", "1E+15", "1E-9", "0E-9", "1E-999999999"],
)
def test_no_price_can_be_built_outside_the_rule(amount: str) -> None:
    with pytest.raises(InputError, match=r"^price '.*': the amount must be"):
        Price(PriceUnit.WORK, Decimal(amount), "EUR")


def test_a_price_built_from_a_decimal_is_written_as_the_rule_reads_it() -> None:
    assert Price(PriceUnit.BYTE, Decimal("1E-8"), "EUR").to_json()["amount"] == "0.00000001"
    assert Price(PriceUnit.WORK, Decimal("1E+3"), "EUR").to_json()["amount"] == "1000"
    assert Price(PriceUnit.WORK, Decimal("0.10"), "EUR").describe() == "0.10 EUR per work"


@pytest.mark.parametrize("currency", ["eur", "EURO", "E1R", "", "ÉUR"])
def test_a_price_in_no_currency_is_refused(currency: str) -> None:
    with pytest.raises(InputError, match="the currency must be three capital letters"):
        Price(PriceUnit.WORK, Decimal("1"), currency)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("0.05 EUR", r"^price: expected an object of per, amount and currency$"),
        ({"per": "work", "amount": "1"}, r"^price: expected an object"),
        ({"per": "work", "amount": "1", "currency": "EUR", "x": 1}, r"^price: expected"),
        ({"per": "page", "amount": "1", "currency": "EUR"}, r"^price\.per 'page' is not a"),
        ({"per": "work", "amount": "NaN", "currency": "EUR"}, r"^price\.amount 'NaN': the"),
        ({"per": "work", "amount": 5, "currency": "EUR"}, r"^price\.amount 5: the amount"),
        ({"per": "work", "amount": "1", "currency": 978}, r"^price\.currency 978: the"),
    ],
)
def test_a_price_read_from_json_is_held_to_the_rule(data: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Price.from_json(data)


def test_a_very_long_amount_is_not_repeated_whole_in_the_message() -> None:
    with pytest.raises(InputError) as refused:
        Price.from_json({"per": "work", "amount": "9" * 100_000, "currency": "EUR"})
    assert len(str(refused.value)) < 300


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NaN EUR", f"--offer 'NaN EUR': the amount must be {AMOUNT_RULE}, e.g. '0.05 EUR'"),
        ("0.05", "--offer '0.05': give an amount and a currency, e.g. '0.05 EUR'"),
        ("0.05 EUR x", "--offer '0.05 EUR x': give an amount and a currency, e.g. '0.05 EUR'"),
        (
            "0.05 EURO",
            "--offer '0.05 EURO': the currency must be three capital letters, e.g. 'EUR'",
        ),
    ],
)
def test_a_price_typed_on_the_command_line_is_refused_in_one_sentence(
    text: str, message: str
) -> None:
    with pytest.raises(InputError) as refused:
        Price.from_text(text, "work", option="--offer")
    assert str(refused.value) == message


def test_a_price_typed_on_the_command_line_takes_its_currency_in_any_case() -> None:
    price = Price.from_text("0.40 eur", "1k-tokens", option="--offer")
    assert price == Price(PriceUnit.THOUSAND_TOKENS, Decimal("0.40"), "EUR")
    with pytest.raises(InputError, match=r"^--per 'page' is not a price unit; use one of"):
        Price.from_text("0.40 EUR", "page", option="--offer")


def test_a_terms_file_with_an_amount_outside_the_rule_names_it_and_the_rule() -> None:
    document = {"version": 1, "price": {"per": "work", "amount": "NaN", "currency": "EUR"}}
    with pytest.raises(TermsError) as refused:
        Terms.from_json(document, source="terms.json")
    assert str(refused.value) == (
        f"terms.json: price.amount 'NaN': the amount must be {AMOUNT_RULE}, e.g. '0.05'"
    )
    # What the schema lets through in Python (its $ matches before a final newline),
    # the rule does not.
    document = {"version": 1, "price": {"per": "work", "amount": "0.5\n", "currency": "EUR"}}
    with pytest.raises(TermsError, match=r"price\.amount '0\.5\\n': the amount must be"):
        Terms.from_json(document, source="terms.json")


def _exact(units: Fraction, amount: Decimal) -> Fraction:
    return units * Fraction(amount)


@settings(max_examples=300)
@given(amounts, st.sampled_from(PriceUnit), counts, counts)
def test_any_amount_the_rule_accepts_is_billed_exactly(
    text: str, unit: PriceUnit, tokens: int, size: int
) -> None:
    price = Price(unit, valid_amount(text, what="amount"), "EUR")
    used = UsedWork("wrk_1", "own_1", "grt_1", price, items=1, bytes=size, tokens=tokens)
    # Whatever context the caller has set: billing keeps to its own.
    hostile = Context(prec=3, traps=[Inexact, Rounded, Overflow, InvalidOperation])
    with localcontext(hostile):
        royalty = royalty_for(used)
        assert royalty is not None
        totals = royalty_totals([royalty, royalty])
    units = {
        PriceUnit.WORK: Fraction(1),
        PriceUnit.THOUSAND_TOKENS: Fraction(tokens, 1000),
        PriceUnit.BYTE: Fraction(size),
    }[unit]
    assert Fraction(royalty.units) == units
    assert Fraction(royalty.amount) == _exact(units, price.amount)
    assert Fraction(totals["EUR"]) == 2 * _exact(units, price.amount)


def test_the_largest_amount_times_the_largest_count_is_billed_exactly() -> None:
    price = Price(PriceUnit.BYTE, Decimal(LARGEST), "EUR")
    used = UsedWork("wrk_1", "own_1", "grt_1", price, items=1, bytes=10**18 - 1)
    royalty = royalty_for(used)
    assert royalty is not None
    assert Fraction(royalty.amount) == Fraction(10**18 - 1) * Fraction(LARGEST)
    total = royalty_totals([royalty] * 1000)["EUR"]
    assert Fraction(total) == 1000 * Fraction(royalty.amount)


def test_an_amount_an_older_document_wrote_in_exponent_form_still_reads() -> None:
    # Before amounts were written plain, str(Decimal("0.0000001")) signed "1E-7".
    from consentry.terms import Price

    price = Price.from_json({"per": "byte", "amount": "1E-7", "currency": "EUR"}, what="grant")
    assert price.amount == Decimal("0.0000001")
    assert price.to_json()["amount"] == "0.0000001"
    for refused in ("1E-9", "1E+16", "1E+999999999", "NaN"):
        with pytest.raises(InputError, match="the amount must be"):
            Price.from_json({"per": "byte", "amount": refused, "currency": "EUR"}, what="grant")

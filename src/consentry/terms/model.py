"""The terms document (DESIGN.md §5.4) as typed values, and its inheritance."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

from consentry.errors import InputError, TermsError
from consentry.terms.money import amount_text, quoted, valid_amount, valid_currency

__all__ = [
    "DEFAULT_TERMS",
    "Category",
    "Conditions",
    "Permission",
    "Price",
    "PriceUnit",
    "Terms",
    "resolve_terms",
    "terms_schema",
]


class Category(StrEnum):
    TRAIN_AI = "train-ai"
    TRAIN_OTHER = "train-other"
    AI_INPUT = "ai-input"
    SEARCH = "search"
    DATA_MINING = "data-mining"
    PUBLISH_OUTPUT = "publish-output"


class Permission(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    LICENSE = "license"


class PriceUnit(StrEnum):
    WORK = "work"
    THOUSAND_TOKENS = "1k-tokens"
    BYTE = "byte"


@dataclass(frozen=True, slots=True)
class Price:
    """An amount of a currency per unit of use. Every one obeys the amount rule
    (``consentry.terms.money``): constructing one that does not raises ``InputError``,
    so no price can reach a bill that it could overflow."""

    unit: PriceUnit
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        what = f"price {quoted(f'{amount_text(self.amount)} {self.currency}')}"
        valid_amount(self.amount, what=what, example="'0.05 EUR'")
        valid_currency(self.currency, what=what)

    def to_json(self) -> dict[str, str]:
        return {
            "per": self.unit.value,
            "amount": amount_text(self.amount),
            "currency": self.currency,
        }

    @classmethod
    def from_json(cls, data: Any, *, what: str = "price") -> Price:
        """The price a JSON object ``{"per", "amount", "currency"}`` states, its amount
        given as text. Raises ``InputError`` naming ``what`` and the offending field."""
        if not isinstance(data, dict) or set(data) != {"per", "amount", "currency"}:
            raise InputError(f"{what}: expected an object of per, amount and currency")
        try:
            unit = PriceUnit(data["per"])
        except ValueError:
            raise InputError(f"{what}.per {quoted(data['per'])} {_UNITS}") from None
        written = data["amount"]
        if isinstance(written, str) and _EXPONENT.fullmatch(written):
            # Written so before amounts were plain (``str`` of a small Decimal: "1E-7"):
            # read for what it is, under the same bounds.
            written = Decimal(written)
        amount = valid_amount(written, what=f"{what}.amount {quoted(data['amount'])}")
        currency = valid_currency(
            data["currency"], what=f"{what}.currency {quoted(data['currency'])}"
        )
        return cls(unit, amount, currency)

    @classmethod
    def from_text(cls, text: str, per: str, *, option: str) -> Price:
        """``'12.50 EUR'`` per ``per``, as typed on a command line (the currency in any
        case). Raises ``InputError`` naming ``option`` and its value, with the fix."""
        what = f"{option} {quoted(text)}"
        parts = text.split()
        if len(parts) != 2:
            raise InputError(f"{what}: give an amount and a currency, e.g. '0.05 EUR'")
        amount = valid_amount(parts[0], what=what, example="'0.05 EUR'")
        currency = valid_currency(parts[1].upper(), what=what)
        try:
            unit = PriceUnit(per)
        except ValueError:
            raise InputError(f"--per {quoted(per)} {_UNITS}") from None
        return cls(unit, amount, currency)

    def describe(self) -> str:
        return f"{amount_text(self.amount)} {self.currency} per {self.unit.value}"


# A decimal in exponent form, as older documents may hold one.
_EXPONENT = re.compile(r"[0-9]+(?:\.[0-9]+)?E[+-]?[0-9]{1,3}")
_UNITS = "is not a price unit; use one of " + ", ".join(u.value for u in PriceUnit)


@dataclass(frozen=True, slots=True)
class Conditions:
    attribution: str | None = None
    share_alike: bool | None = None
    non_commercial: bool | None = None
    expires: date | None = None
    max_excerpt_chars: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.attribution is not None:
            out["attribution"] = self.attribution
        if self.share_alike is not None:
            out["share_alike"] = self.share_alike
        if self.non_commercial is not None:
            out["non_commercial"] = self.non_commercial
        if self.expires is not None:
            out["expires"] = self.expires.isoformat()
        if self.max_excerpt_chars is not None:
            out["max_excerpt_chars"] = self.max_excerpt_chars
        return out

    def over(self, base: Conditions) -> Conditions:
        """These conditions, each unset one taken from ``base``."""
        return Conditions(
            attribution=base.attribution if self.attribution is None else self.attribution,
            share_alike=base.share_alike if self.share_alike is None else self.share_alike,
            non_commercial=(
                base.non_commercial if self.non_commercial is None else self.non_commercial
            ),
            expires=base.expires if self.expires is None else self.expires,
            max_excerpt_chars=(
                base.max_excerpt_chars if self.max_excerpt_chars is None else self.max_excerpt_chars
            ),
        )


@functools.cache
def terms_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) shipped with the package."""
    text = resources.files("consentry.terms").joinpath("terms.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator() -> Draft202012Validator:
    # Imported when terms are first read: jsonschema costs a command that reads none
    # (listing parties, printing the log key) a tenth of its start-up.
    from jsonschema import Draft202012Validator  # noqa: PLC0415

    return Draft202012Validator(terms_schema())


def _field_path(error: ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "(document)"


def _price(raw: Any, *, source: str) -> Price:
    try:
        return Price.from_json(raw, what=f"{source}: price")
    except InputError as exc:
        raise TermsError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class Terms:
    """A terms document. Fields left out are inherited (``resolve_terms``)."""

    categories: Mapping[Category, Permission] = field(default_factory=lambda: MappingProxyType({}))
    price: Price | None = None
    conditions: Conditions = field(default_factory=Conditions)

    @classmethod
    def from_json(cls, document: Any, *, source: str = "terms") -> Terms:
        """Validate ``document`` against the schema and build terms.

        Raises ``TermsError`` naming the first offending field, e.g.
        ``terms.json: categories.train-ai: 'maybe' is not one of ['allow', 'deny', 'license']``.
        """
        validator = _validator()
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            if list(first.absolute_path)[:1] == ["price"] and first.validator == "pattern":
                # The amount rule's own sentence says what an amount may be; the
                # schema's would only quote its pattern.
                _price(document["price"], source=source)
            raise TermsError(f"{source}: {_field_path(first)}: {first.message}")
        categories = {
            Category(name): Permission(value)
            for name, value in document.get("categories", {}).items()
        }
        price = _price(document["price"], source=source) if "price" in document else None
        raw_conditions = document.get("conditions", {})
        try:
            expires = (
                date.fromisoformat(raw_conditions["expires"])
                if "expires" in raw_conditions
                else None
            )
        except ValueError as exc:
            raise TermsError(
                f"{source}: conditions.expires: {raw_conditions['expires']!r} is not a date "
                "(use YYYY-MM-DD)"
            ) from exc
        conditions = Conditions(
            attribution=raw_conditions.get("attribution"),
            share_alike=raw_conditions.get("share_alike"),
            non_commercial=raw_conditions.get("non_commercial"),
            expires=expires,
            max_excerpt_chars=raw_conditions.get("max_excerpt_chars"),
        )
        return cls(MappingProxyType(categories), price, conditions)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": 1}
        if self.categories:
            out["categories"] = {
                c.value: self.categories[c].value for c in Category if c in self.categories
            }
        if self.price is not None:
            out["price"] = self.price.to_json()
        conditions = self.conditions.to_json()
        if conditions:
            out["conditions"] = conditions
        return out

    def over(self, base: Terms) -> Terms:
        """These terms, more specific, laid over ``base``: per category, per field."""
        return replace(
            self,
            categories=MappingProxyType({**base.categories, **self.categories}),
            price=self.price if self.price is not None else base.price,
            conditions=self.conditions.over(base.conditions),
        )

    def permission(self, category: Category) -> Permission:
        return self.categories.get(category, Permission.LICENSE)


DEFAULT_TERMS = Terms(MappingProxyType(dict.fromkeys(Category, Permission.LICENSE)))
"""consentry's default for a new owner: every AI use needs a licence."""


def resolve_terms(layers: Sequence[Terms | None]) -> Terms:
    """Effective terms from least to most specific layers (owner, collection, work)."""
    effective = DEFAULT_TERMS
    for layer in layers:
        if layer is not None:
            effective = layer.over(effective)
    return effective

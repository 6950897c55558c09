"""What a run owes, exactly: Decimal arithmetic from each grant's price model.

Every row satisfies ``amount = units x unit_price`` exactly, in the unit the row names:
``work`` counts works, ``byte`` bytes, and ``1k-tokens`` thousands of tokens, as an
exact decimal (6,113 tokens are 6.113 units). A work is billed for what of it the
admitted items reproduce (``UseBasis.share``), never for the same passage twice.

All of it runs in ``MONEY_CONTEXT``, not the caller's: every price obeys the amount
rule (``consentry.terms.money``), whose bounds make each product and total exact in
that context, so no decimal error can stop a run.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

from consentry.registry.documents import price_from_json
from consentry.terms import Price, PriceUnit
from consentry.terms.money import MONEY_CONTEXT

__all__ = [
    "ROYALTY_COLUMNS",
    "Royalty",
    "UsedWork",
    "royalties_csv",
    "royalty_for",
    "royalty_totals",
    "units_for",
    "used_from_json",
    "used_to_json",
]

ROYALTY_COLUMNS = (
    "owner",
    "owner_name",
    "work",
    "title",
    "grant",
    "units",
    "unit",
    "unit_price",
    "amount",
    "currency",
)


@dataclass(slots=True)
class UsedWork:
    """One registered work admitted in a run, under one grant, and how much of it:
    ``bytes`` and ``tokens`` are what the admitted items reproduce of it (each item's
    size times the share billed to this work, rounded down)."""

    work_id: str
    owner_id: str
    grant_id: str | None
    price: Price | None
    items: int = 0
    bytes: int = 0
    tokens: int = 0


@dataclass(frozen=True, slots=True)
class Royalty:
    owner_id: str
    work_id: str
    grant_id: str
    units: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal
    currency: str
    title: str = ""
    owner_name: str = ""


def units_for(used: UsedWork) -> Decimal:
    """Units in the grant's own measure, exactly: one per work, thousands of tokens
    (a decimal: 6,113 tokens are 6.113), or bytes.

    Tokens are whitespace-separated words: a count anyone can reproduce without a
    particular model's tokenizer.
    """
    if used.price is None:
        return Decimal(0)
    match used.price.unit:
        case PriceUnit.WORK:
            return Decimal(1)
        case PriceUnit.THOUSAND_TOKENS:
            with localcontext(MONEY_CONTEXT):
                return Decimal(used.tokens).scaleb(-3)
        case PriceUnit.BYTE:
            return Decimal(used.bytes)


def royalty_for(used: UsedWork, *, title: str = "", owner_name: str = "") -> Royalty | None:
    """The amount owed for ``used`` (``units x unit_price``, exact); None when its
    basis carries no price."""
    if used.price is None or used.grant_id is None:
        return None
    units = units_for(used)
    rate = used.price.amount
    with localcontext(MONEY_CONTEXT):
        amount = units * rate
    return Royalty(
        used.owner_id,
        used.work_id,
        used.grant_id,
        units,
        used.price.unit.value,
        rate,
        amount,
        used.price.currency,
        title,
        owner_name,
    )


def royalty_totals(rows: Iterable[Royalty]) -> dict[str, Decimal]:
    """What ``rows`` add up to, per currency, exactly (in ``MONEY_CONTEXT``), in the
    order each currency first appears."""
    totals: dict[str, Decimal] = {}
    with localcontext(MONEY_CONTEXT):
        for row in rows:
            totals[row.currency] = totals.get(row.currency, Decimal(0)) + row.amount
    return totals


def royalties_csv(rows: Iterable[Royalty]) -> str:
    """``ROYALTY_COLUMNS``, one line per work."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ROYALTY_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row.owner_id,
                row.owner_name,
                row.work_id,
                row.title,
                row.grant_id,
                row.units,
                row.unit,
                row.unit_price,
                row.amount,
                row.currency,
            ]
        )
    return buffer.getvalue()


def used_to_json(used: dict[str, UsedWork]) -> dict[str, Any]:
    """The works a run used, as its state keeps them."""
    return {
        w: {
            "owner": u.owner_id,
            "grant": u.grant_id,
            "price": u.price.to_json() if u.price else None,
            "items": u.items,
            "bytes": u.bytes,
            "tokens": u.tokens,
        }
        for w, u in used.items()
    }


def used_from_json(value: dict[str, Any]) -> dict[str, UsedWork]:
    """The works ``used_to_json`` wrote."""
    return {
        w: UsedWork(
            w,
            u["owner"],
            u["grant"],
            price_from_json(u["price"]),
            u["items"],
            u["bytes"],
            u["tokens"],
        )
        for w, u in value.items()
    }

"""What a run owes, exactly: Decimal arithmetic from each grant's price model."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from consentry.terms import Price, PriceUnit

__all__ = ["Royalty", "UsedWork", "royalties_csv", "royalty_for", "units_for"]


@dataclass(slots=True)
class UsedWork:
    """One registered work admitted in a run, under one grant, and how much of it."""

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
    units: int
    unit: str
    unit_price: Decimal
    amount: Decimal
    currency: str


def units_for(used: UsedWork) -> int:
    """Units in the grant's own measure: one per work, or tokens, or bytes.

    Tokens are whitespace-separated words of the admitted items that contain the work:
    a count anyone can reproduce without a particular model's tokenizer.
    """
    if used.price is None:
        return 0
    match used.price.unit:
        case PriceUnit.WORK:
            return 1
        case PriceUnit.THOUSAND_TOKENS:
            return used.tokens
        case PriceUnit.BYTE:
            return used.bytes


def royalty_for(used: UsedWork) -> Royalty | None:
    """The amount owed for ``used``; None when its basis carries no price."""
    if used.price is None or used.grant_id is None:
        return None
    units = units_for(used)
    rate = used.price.amount
    amount = rate * units / 1000 if used.price.unit is PriceUnit.THOUSAND_TOKENS else rate * units
    return Royalty(
        used.owner_id,
        used.work_id,
        used.grant_id,
        units,
        used.price.unit.value,
        rate,
        amount,
        used.price.currency,
    )


def royalties_csv(rows: Iterable[Royalty]) -> str:
    """``owner,work,grant,units,unit,unit_price,amount,currency``, one line per work."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["owner", "work", "grant", "units", "unit", "unit_price", "amount", "currency"])
    for row in rows:
        writer.writerow(
            [
                row.owner_id,
                row.work_id,
                row.grant_id,
                row.units,
                row.unit,
                row.unit_price,
                row.amount,
                row.currency,
            ]
        )
    return buffer.getvalue()

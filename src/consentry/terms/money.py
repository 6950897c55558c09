"""Amounts of money: what a price may be, checked in one place, and billed exactly.

An amount is a plain decimal numeral, zero or more, with at most ``MAX_WHOLE_DIGITS``
digits before the point and ``MAX_PLACES`` after; a currency is three capital letters.
This is the terms schema's ``price`` rule (``terms.schema.json`` carries the same two
patterns, and a test holds them equal). Every way an amount enters goes through
``valid_amount``: a terms file, ``--offer`` and ``--price``, and every signed document
read back, so that no price is ever built from ``NaN``, ``Infinity``, ``-0``, an
exponent or a numeral too long to bill.

Why bounded: ``1E+999999999`` is a valid ``Decimal``; a grant carrying it passed every
signature check and then stopped each run of its licensee with ``decimal.Overflow``.
"""

from __future__ import annotations

import re
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)

from consentry.errors import InputError

__all__ = [
    "AMOUNT_PATTERN",
    "AMOUNT_RULE",
    "CURRENCY_PATTERN",
    "MAX_PLACES",
    "MAX_WHOLE_DIGITS",
    "MONEY_CONTEXT",
    "amount_text",
    "quoted",
    "valid_amount",
    "valid_currency",
]

MAX_WHOLE_DIGITS = 15
"""Digits before the point: amounts stay below 10^15 of a currency's unit."""

MAX_PLACES = 8
"""Digits after the point: a hundred-millionth, room for prices per byte."""

AMOUNT_PATTERN = rf"^(0|[1-9][0-9]{{0,{MAX_WHOLE_DIGITS - 1}}})(\.[0-9]{{1,{MAX_PLACES}}})?$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
_AMOUNT = re.compile(AMOUNT_PATTERN)
_CURRENCY = re.compile(CURRENCY_PATTERN)

AMOUNT_RULE = (
    f"a plain decimal number, zero or more, of at most {MAX_WHOLE_DIGITS} digits "
    f"before the point and {MAX_PLACES} after"
)

# Billing is exact inside this context, whatever the caller's context says. A valid
# amount has at most 15 + 8 = 23 significant digits; a count of works, bytes or tokens
# below 10^18 has at most 18 (thousands of tokens keep them all, three after the
# point). One line, units x unit price, thus has at most 41 digits, and a total of up
# to 10^19 such lines at most 60: every result fits the precision, so nothing is ever
# rounded, and exponents stay within -11 and +33, far inside Emin and Emax, so nothing
# overflows. Inexact is trapped all the same: should a count ever exceed those bounds,
# a bill fails loudly rather than being rounded silently.
MONEY_CONTEXT = Context(
    prec=60,
    rounding=ROUND_HALF_EVEN,
    Emin=-999_999,
    Emax=999_999,
    capitals=1,
    clamp=0,
    flags=[],
    traps=[InvalidOperation, DivisionByZero, Overflow, Inexact],
)


def quoted(value: object, *, limit: int = 40) -> str:
    """``repr(value)``, cut to ``limit`` characters: an untrusted value named in a
    message must not make the message as long as itself."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def amount_text(amount: Decimal) -> str:
    """The canonical text of ``amount``: a plain numeral where the amount may be one
    (``0.00000001``, not ``1E-8``), else ``str`` (``NaN``, ``1E+999999999``), which the
    rule refuses. Never expands an exponent beyond the rule's bounds."""
    if (
        amount.is_finite()
        and amount.adjusted() < MAX_WHOLE_DIGITS
        and int(amount.as_tuple().exponent) >= -MAX_PLACES
    ):
        return format(amount, "f")
    return str(amount)


def valid_amount(value: object, *, what: str, example: str = "'0.05'") -> Decimal:
    """``value`` as a ``Decimal`` when it is an amount the rule allows.

    Text must be written as the rule says (``'0.40'``, not ``'4E-1'`` or ``' 0.40'``); a
    ``Decimal`` must have such a text (``amount_text``). Raises ``InputError`` starting
    with ``what`` (which should name the input), saying what an amount may be and
    giving ``example``.
    """
    text = amount_text(value) if isinstance(value, Decimal) else value
    if not isinstance(text, str) or _AMOUNT.fullmatch(text) is None:
        raise InputError(f"{what}: the amount must be {AMOUNT_RULE}, e.g. {example}")
    return value if isinstance(value, Decimal) else Decimal(text)


def valid_currency(value: object, *, what: str) -> str:
    """``value`` when it is a currency code: three capital letters, e.g. ``EUR``.

    Raises ``InputError`` starting with ``what``."""
    if not isinstance(value, str) or _CURRENCY.fullmatch(value) is None:
        raise InputError(f"{what}: the currency must be three capital letters, e.g. 'EUR'")
    return value

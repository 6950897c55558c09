"""What every command shares: the registry, the key store, and printing records."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from rich.console import Console

from consentry.crypto import FileKeyStore, KeyPair
from consentry.errors import InputError
from consentry.registry import Registry, format_time, parse_time
from consentry.settings import Settings
from consentry.terms import Category, Price, PriceUnit

__all__ = [
    "CliState",
    "err",
    "out",
    "parse_category",
    "parse_price",
    "parse_until",
    "print_json",
    "registry_session",
    "state",
]

# Piped or captured output is for reading later: wide enough that ids are never cut.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False)


@dataclass
class CliState:
    debug: bool = False


state = CliState()


def settings() -> Settings:
    return Settings.from_env()


def key_store() -> FileKeyStore:
    return FileKeyStore(settings().keys_dir)


def load_key(party_id: str) -> KeyPair:
    return key_store().load(party_id)


@contextmanager
def registry_session() -> Iterator[Registry]:
    registry = Registry.open(settings())
    try:
        yield registry
    finally:
        registry.close()


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, frozenset | set):
        return sorted(value)
    raise TypeError(f"cannot print {type(value).__name__} as JSON")


def print_json(record: dict[str, Any]) -> None:
    """One JSON object on one line of standard output."""
    sys.stdout.write(json.dumps(record, default=_default, ensure_ascii=False) + "\n")


def parse_category(text: str) -> Category:
    try:
        return Category(text)
    except ValueError:
        names = ", ".join(c.value for c in Category)
        raise InputError(f"--purpose {text!r} is not a use category; use one of {names}") from None


def parse_price(text: str, per: str, *, option: str) -> Price:
    """'12.50 EUR' (per ``per``) as a Price."""
    parts = text.split()
    if len(parts) != 2 or len(parts[1]) != 3 or not parts[1].isalpha():
        raise InputError(f"{option} {text!r} must be an amount and a currency, e.g. '12.50 EUR'")
    try:
        amount = Decimal(parts[0])
    except InvalidOperation:
        raise InputError(f"{option} amount {parts[0]!r} is not a decimal number") from None
    if amount < 0 or not amount.is_finite():
        raise InputError(f"{option} amount must be zero or more, got {parts[0]}")
    try:
        unit = PriceUnit(per)
    except ValueError:
        units = ", ".join(u.value for u in PriceUnit)
        raise InputError(f"--per {per!r} is not a price unit; use one of {units}") from None
    return Price(unit, amount, parts[1].upper())


def parse_until(text: str | None, *, option: str = "--until") -> datetime | None:
    return None if text is None else parse_time(text, what=option)

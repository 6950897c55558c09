"""Time as signed documents carry it: UTC, RFC 3339 with a Z, to the microsecond."""

from __future__ import annotations

from datetime import UTC, datetime

from consentry.errors import InputError
from consentry.replay import fixed_moment

__all__ = ["format_time", "parse_time", "utc_now"]


def utc_now() -> datetime:
    """Now; inside a replay (``consentry.replay``), the moment it fixes."""
    fixed = fixed_moment()
    return datetime.now(UTC) if fixed is None else fixed


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a Z, to the microsecond: the form signed documents carry."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str, *, what: str) -> datetime:
    """Parse an RFC 3339 time or a plain date (midnight UTC); naive times are UTC.

    Raises ``InputError`` naming ``what`` when ``text`` is neither."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"{what} {text!r} is not a date or time; use YYYY-MM-DD") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

"""The period a page's query asks for (earnings, statements): ``since`` and ``until``
as dates, ``until`` inclusive, this month by default, ``all`` for an open end."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta

from consentry.clock import utc_now
from consentry.errors import InputError

__all__ = ["Period", "asked_period", "moments", "period_of", "this_month"]

Period = tuple[date | None, date | None]


def this_month(now: datetime) -> tuple[date, date]:
    first = now.date().replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _day(text: str | None, field: str) -> date | None:
    if not text or text == "all":
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{text!r} is not a date; write it as YYYY-MM-DD", field=field) from None


def period_of(since: str | None, until: str | None) -> Period:
    """``InputError`` (naming the field) for a date that is not one, or a period
    that ends before it begins."""
    if since is None and until is None:
        return this_month(utc_now())
    first, last = _day(since, "since"), _day(until, "until")
    if first is not None and last is not None and first > last:
        raise InputError("the period's first day must come before its last", field="since")
    return first, last


def asked_period(since: str | None, until: str | None) -> tuple[Period, dict[str, str]]:
    """The period a page's query asks for, or this month with the sentence saying what
    is wrong with the query, by the field it concerns (for the page to show beside it)."""
    try:
        return period_of(since, until), {}
    except InputError as error:
        return this_month(utc_now()), {error.field or "since": str(error)}


def moments(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """The period as the moments it starts and ends (the end exclusive), in UTC."""
    since = None if first is None else datetime(first.year, first.month, first.day, tzinfo=UTC)
    until = (
        None
        if last is None
        else datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    )
    return since, until

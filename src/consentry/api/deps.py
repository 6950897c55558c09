"""What routes ask for: the worker's service, the request's verified sender, a page."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request

from consentry.api.auth import Caller, read_caller
from consentry.api.service import Service
from consentry.crypto import PublicKey
from consentry.errors import InputError

__all__ = ["Limit", "NewPartyCaller", "Served", "Signed", "page"]


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


async def _caller(request: Request) -> Caller:
    return await read_caller(request, _service(request))


def _brought_key(body: bytes) -> PublicKey | None:
    try:
        return PublicKey.from_hex(str(json.loads(body)["public_key"]))
    except (ValueError, KeyError, TypeError, InputError):
        return None


async def _new_party_caller(request: Request) -> Caller:
    return await read_caller(request, _service(request), new_key=_brought_key)


Served = Annotated[Service, Depends(_service)]
Signed = Annotated[Caller, Depends(_caller)]
NewPartyCaller = Annotated[Caller, Depends(_new_party_caller)]
Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]
Cursor = Annotated[str | None, Query(max_length=200, description="From a page's `next`.")]

_T = TypeVar("_T")


def _open_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InputError(
            f"cursor {cursor!r} is not one this registry gave; start again without it"
        ) from None


def cursor_for(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode("utf-8")).decode("ascii").rstrip("=")


def keyset_page(
    fetch: Callable[[str | None, int], Sequence[_T]],
    *,
    key: Callable[[_T], str],
    cursor: str | None,
    limit: int,
    render: Callable[[_T], dict[str, Any]],
) -> dict[str, Any]:
    """One page read from where the cursor points: ``fetch(after, n)`` gives at most
    ``n`` items after the one whose key is ``after`` (from the first when None)."""
    after = None if cursor is None else _open_cursor(cursor)
    items = list(fetch(after, limit + 1))
    chosen = items[:limit]
    return {
        "items": [render(item) for item in chosen],
        "next": cursor_for(key(chosen[-1])) if len(items) > limit else None,
    }


def page(
    items: Sequence[_T],
    *,
    key: Callable[[_T], str],
    cursor: str | None,
    limit: int,
    render: Callable[[_T], dict[str, Any]],
) -> dict[str, Any]:
    """One page of ``items`` (in the order given, each with a unique ``key``), after the
    item the cursor names; ``next`` names the last item of this page if more follow."""
    start = 0
    if cursor is not None:
        after = _open_cursor(cursor)
        keys = [key(item) for item in items]
        if after not in keys:
            raise InputError(
                f"cursor {cursor!r} names nothing in this list; start again without it"
            )
        start = keys.index(after) + 1
    chosen = items[start : start + limit]
    more = start + limit < len(items)
    return {
        "items": [render(item) for item in chosen],
        "next": cursor_for(key(chosen[-1])) if more and chosen else None,
    }

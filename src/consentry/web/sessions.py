"""Who is looking at a page: the browser (by a random cookie that keys its CSRF token),
and the account signed in on it, if any. Every form carries the CSRF token; a form
posted without it, or with another browser's, is refused before it is read further."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from consentry import app
from consentry.api.service import Service
from consentry.app.served import ServedWorkspace
from consentry.errors import PermissionDeniedError
from consentry.registry import Account, Actor, PartyKind

__all__ = [
    "BROWSER_COOKIE",
    "SESSION_COOKIE",
    "CheckedForm",
    "Creator",
    "FormRefusedError",
    "Lab",
    "Member",
    "Scripted",
    "SignInNeeded",
    "Viewer",
    "Visit",
    "checked_form",
    "forget_session",
    "remember_browser",
    "remember_session",
    "visit_of",
]

SESSION_COOKIE = "consentry_session"
BROWSER_COOKIE = "consentry_browser"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


class SignInNeeded(Exception):  # noqa: N818 (a redirect, not an error)
    """The page is an account's: the browser is sent to sign in (or to make its key)."""

    def __init__(self, to: str) -> None:
        super().__init__(to)
        self.to = to


class FormRefusedError(PermissionDeniedError):
    """A form posted without this browser's CSRF token (answered 403, not as a page
    that is not the viewer's)."""


@dataclass(frozen=True, slots=True)
class Visit:
    """One page request: the service, the browser's CSRF token, the account signed in."""

    service: Service
    browser: str
    new_browser: bool
    csrf: str
    account: Account | None
    session_token: str | None
    # The account's party, once it has proved its key.
    actor: Actor | None

    def reading(self) -> ServedWorkspace:
        """What this visit may read: the account's party's objects, or what is public."""
        actor = self.actor
        return self.service.public() if actor is None else self.service.reading_as(actor)

    @property
    def member(self) -> Account:
        """The account of a page that needs one (``Member``, ``Creator``, ``Lab``)."""
        if self.account is None:
            raise SignInNeeded("/sign-in")
        return self.account

    @property
    def party(self) -> Actor:
        """The party of a page that needs one (``Creator``, ``Lab``)."""
        if self.actor is None:
            raise SignInNeeded("/account/key")
        return self.actor


def _csrf(service: Service, browser: str) -> str:
    return hmac.new(service.pages_key, b"csrf\n" + browser.encode(), hashlib.sha256).hexdigest()


def visit_of(request: Request) -> Visit:
    """The visit a page request is (read once, kept on the request)."""
    known = getattr(request.state, "visit", None)
    if isinstance(known, Visit):
        return known
    service: Service = request.app.state.service
    browser = request.cookies.get(BROWSER_COOKIE, "")
    new_browser = not (16 <= len(browser) <= 100)
    if new_browser:
        browser = secrets.token_urlsafe(24)
    token = request.cookies.get(SESSION_COOKIE)
    public = service.public()
    account = app.account_of_session(public, token)
    visit = Visit(
        service,
        browser,
        new_browser,
        _csrf(service, browser),
        account,
        token if account is not None else None,
        None if account is None else app.account_actor(public, account),
    )
    request.state.visit = visit
    return visit


def _member(request: Request) -> Visit:
    visit = visit_of(request)
    if visit.account is None:
        raise SignInNeeded(f"/sign-in?next={request.url.path}")
    return visit


def _party_of(role: PartyKind) -> object:
    def member_of_role(request: Request) -> Visit:
        visit = _member(request)
        account = visit.member
        if account.role is not role:
            raise PermissionDeniedError("this page is another kind of account's")
        if account.party_id is None:
            raise SignInNeeded("/account/key")
        return visit

    return member_of_role


Viewer = Annotated[Visit, Depends(visit_of)]
Member = Annotated[Visit, Depends(_member)]
Creator = Annotated[Visit, Depends(_party_of(PartyKind.OWNER))]
Lab = Annotated[Visit, Depends(_party_of(PartyKind.LICENSEE))]


async def checked_form(request: Request) -> FormData:
    """The form posted, once its CSRF token (a field, or the header a script sends) is
    this browser's; ``FormRefusedError`` otherwise, and nothing in it is acted on."""
    visit = visit_of(request)
    form = await request.form()
    sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if visit.new_browser or not hmac.compare_digest(str(sent), visit.csrf):
        raise FormRefusedError(
            "this form did not come from this site's page, or the page is too old; reload "
            "the page and send it again"
        )
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def checked_script(request: Request) -> Visit:
    """A script's request to a page's endpoint, once the CSRF header it sends is this
    browser's (the page gave it in its ``csrf-token`` meta element)."""
    visit = visit_of(request)
    sent = request.headers.get(CSRF_HEADER, "")
    if visit.new_browser or not hmac.compare_digest(sent, visit.csrf):
        raise FormRefusedError(
            "this request did not come from this site's page, or the page is too old; "
            "reload the page and try again"
        )
    return visit


Scripted = Annotated[Visit, Depends(checked_script)]


def remember_browser(response: Response, visit: Visit) -> None:
    if visit.new_browser:
        response.set_cookie(
            BROWSER_COOKIE, visit.browser, httponly=True, secure=True, samesite="lax"
        )


def remember_session(response: Response, signed_in: app.SignedIn) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.token,
        expires=signed_in.expires_at,
        httponly=True,
        secure=True,
        samesite="lax",
    )


def forget_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, secure=True, samesite="lax")

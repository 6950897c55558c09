"""Signing up, in and out, and the key page: where a browser makes, imports or
restores its party's key and proves to the account that it holds it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from consentry import app
from consentry.api.auth import read_caller
from consentry.errors import (
    ConsentryError,
    InputError,
    PermissionDeniedError,
    RateLimitedError,
    StateConflictError,
)
from consentry.registry import PartyKind
from consentry.web.sessions import (
    CheckedForm,
    Member,
    Scripted,
    Viewer,
    forget_session,
    remember_session,
)
from consentry.web.templating import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

ROLES = {"creator": PartyKind.OWNER, "lab": PartyKind.LICENSEE}
# Where each role's pages begin.
HOME = {PartyKind.OWNER: "/creator", PartyKind.LICENSEE: "/lab"}


def _next(target: str | None, fallback: str) -> str:
    """Only a path on this site: a sign-in link cannot send anyone elsewhere."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return fallback


def _address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _home_of(visit: Viewer) -> str:
    account = visit.account
    if account is None:
        return "/"
    return HOME[account.role] if account.party_id else "/account/key"


@router.get("/")
def home(request: Request, visit: Viewer) -> Response:
    if visit.account is not None:
        return RedirectResponse(_home_of(visit), status_code=303)
    return render(request, "home.html", {"title": "Consent for AI training data"})


@router.get("/sign-up")
def sign_up_page(request: Request, visit: Viewer, role: str = "creator") -> Response:
    return _sign_up_form(request, role if role in ROLES else "creator", {}, {})


def _sign_up_form(
    request: Request, role: str, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    return render(
        request,
        "sign_up.html",
        {"title": "Sign up", "role": role, "values": values, "errors": errors},
        status_code=status,
    )


@router.post("/sign-up")
def sign_up(request: Request, visit: Viewer, form: CheckedForm) -> Response:
    values = {name: str(form.get(name, "")) for name in ("email", "name", "role")}
    role = values["role"] if values["role"] in ROLES else "creator"
    password = str(form.get("password", ""))
    try:
        # Each sign-up hashes a password (64 MiB of memory): as few as signing in.
        request.app.state.sign_in_limiter.take(_address(request))
        signed_in = app.sign_up(
            visit.service.public(), values["email"], values["name"], ROLES[role], password
        )
    except InputError as error:
        return _sign_up_form(request, role, values, {error.field or "email": str(error)}, 400)
    except StateConflictError as error:
        return _sign_up_form(request, role, values, {"email": str(error)}, 409)
    except RateLimitedError as error:
        return _sign_up_form(request, role, values, {"email": str(error)}, 429)
    response = RedirectResponse("/account/key", status_code=303)
    remember_session(response, signed_in)
    return response


@router.get("/sign-in")
def sign_in_page(request: Request, visit: Viewer, next: str | None = None) -> Response:
    return render(
        request,
        "sign_in.html",
        {"title": "Sign in", "next": _next(next, ""), "values": {}, "errors": {}},
    )


@router.post("/sign-in")
def sign_in(request: Request, visit: Viewer, form: CheckedForm) -> Response:
    email = str(form.get("email", ""))
    target = _next(str(form.get("next", "")), "")
    limiter = request.app.state.sign_in_limiter
    try:
        limiter.take(_address(request))
        signed_in = app.sign_in(visit.service.public(), email, str(form.get("password", "")))
    except ConsentryError as error:
        return render(
            request,
            "sign_in.html",
            {
                "title": "Sign in",
                "next": target,
                "values": {"email": email},
                "errors": {"password": str(error)},
            },
            status_code=429 if isinstance(error, RateLimitedError) else 400,
        )
    fallback = HOME[signed_in.account.role] if signed_in.account.party_id else "/account/key"
    response = RedirectResponse(_next(target, fallback), status_code=303)
    remember_session(response, signed_in)
    return response


@router.post("/sign-out")
def sign_out(request: Request, visit: Viewer, form: CheckedForm) -> Response:
    if visit.session_token is not None:
        app.sign_out(visit.service.public(), visit.session_token)
    response = RedirectResponse("/", status_code=303)
    forget_session(response)
    return response


@router.get("/account/key")
def key_page(request: Request, visit: Member) -> Response:
    account = visit.member
    party = None if visit.actor is None else visit.service.public().party(visit.actor.party_id)
    return render(
        request,
        "account_key.html",
        {
            "title": "Your signing key",
            "party": party,
            "role": account.role.value,
            "invite_only": visit.service.options.invite_only,
        },
    )


@router.get("/account/party")
def account_party(visit: Viewer) -> JSONResponse:
    """The account signed in and its party's key id, for the pages' scripts: which key
    this browser keeps is the one to sign with (a browser may keep several accounts')."""
    account = visit.account
    if account is None:
        raise PermissionDeniedError("sign in first; your key is kept for your account")
    known = _account_json(account.to_json())
    known["key_id"] = None if visit.actor is None else visit.actor.key.key_id
    return JSONResponse(known)


@router.post("/account/party")
async def link_party(request: Request, visit: Scripted) -> JSONResponse:
    """The request is signed (RFC 9421) with the party's key: that signature, verified
    as the API verifies one, is the proof that this browser holds the key."""
    account = visit.account
    if account is None:
        raise InputError("sign in first; the key is linked to the account signed in")
    caller = await read_caller(request, visit.service)
    linked = app.link_party(visit.service.public(), account, caller.require())
    return JSONResponse(_account_json(linked.to_json()), status_code=201)


def _account_json(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in ("id", "name", "role", "party_id")}

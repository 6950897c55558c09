"""Passkeys on the pages: adding one to the account signed in, and signing in with
one. Each ceremony's challenge waits in a short-lived cookie, bound by an HMAC to this
browser and to the moment it was made, so that an answer is accepted only from the
browser that was asked, within five minutes, and once (the registry keeps each
challenge answered as it keeps a signed request's nonce)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from consentry.app.passkeys import (
    Ceremony,
    enrol_passkey,
    passkey_enrolment,
    passkey_sign_in,
    passkeys_of,
    sign_in_with_passkey,
)
from consentry.errors import InputError
from consentry.web.routes.accounts import HOME
from consentry.web.sessions import Member, Scripted, Visit, remember_session
from consentry.web.templating import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_COOKIE = "consentry_passkey"
_LASTS = 300
_MAX_ANSWER = 64 * 1024


def _site(request: Request) -> tuple[str, str]:
    """This site as WebAuthn names it: the relying party id (the host name) and the
    origin the browser reports."""
    url = request.url
    return url.hostname or "localhost", f"{url.scheme}://{url.netloc}"


def _seal(visit: Visit, purpose: str, challenge: bytes, issued: int) -> str:
    mac = hmac.new(
        visit.service.pages_key,
        f"passkey\n{purpose}\n{visit.browser}\n{issued}\n".encode() + challenge,
        hashlib.sha256,
    ).hexdigest()
    return f"{base64.urlsafe_b64encode(challenge).decode('ascii')}.{issued}.{mac}"


def _challenge(request: Request, visit: Visit, purpose: str) -> bytes:
    refused = InputError(
        "this passkey request has expired or did not start in this browser; press the "
        "passkey button again"
    )
    sealed = request.cookies.get(_COOKIE, "")
    encoded, _, rest = sealed.partition(".")
    issued_text = rest.partition(".")[0]
    try:
        challenge = base64.urlsafe_b64decode(encoded)
        issued = int(issued_text)
    except (binascii.Error, ValueError):
        raise refused from None
    fresh = 0 <= time.time() - issued <= _LASTS
    if not challenge or not fresh:
        raise refused
    if not hmac.compare_digest(_seal(visit, purpose, challenge, issued), sealed):
        raise refused
    return challenge


def _asked(ceremony: Ceremony, visit: Visit, purpose: str) -> Response:
    response = Response(ceremony.options, media_type="application/json")
    response.set_cookie(
        _COOKIE,
        _seal(visit, purpose, ceremony.challenge, int(time.time())),
        max_age=_LASTS,
        httponly=True,
        secure=True,
        samesite="strict",
    )
    return response


async def _answer(request: Request) -> str:
    body = await request.body()
    if len(body) > _MAX_ANSWER:
        raise InputError("the passkey's answer is too large to be one; try again")
    return body.decode("utf-8", "replace")


@router.get("/account/passkeys")
def passkeys_page(request: Request, visit: Member) -> Response:
    keys = passkeys_of(visit.service.public(), visit.member)
    return render(request, "account_passkeys.html", {"title": "Passkeys", "passkeys": keys})


@router.post("/account/passkeys/options")
def enrolment_options(request: Request, visit: Scripted) -> Response:
    rp_id, _ = _site(request)
    ceremony = passkey_enrolment(visit.service.public(), visit.member, rp_id=rp_id)
    return _asked(ceremony, visit, "enrol")


@router.post("/account/passkeys")
async def add_passkey(request: Request, visit: Scripted) -> Response:
    rp_id, origin = _site(request)
    challenge = _challenge(request, visit, "enrol")
    enrol_passkey(
        visit.service.public(),
        visit.member,
        await _answer(request),
        challenge=challenge,
        rp_id=rp_id,
        origin=origin,
    )
    response = JSONResponse({"added": True}, status_code=201)
    response.delete_cookie(_COOKIE, httponly=True, secure=True, samesite="strict")
    return response


@router.post("/sign-in/passkey/options")
def sign_in_options(request: Request, visit: Scripted) -> Response:
    rp_id, _ = _site(request)
    return _asked(passkey_sign_in(rp_id=rp_id), visit, "sign-in")


@router.post("/sign-in/passkey")
async def sign_in(request: Request, visit: Scripted) -> Response:
    rp_id, origin = _site(request)
    challenge = _challenge(request, visit, "sign-in")
    signed_in = sign_in_with_passkey(
        visit.service.public(),
        await _answer(request),
        challenge=challenge,
        rp_id=rp_id,
        origin=origin,
    )
    account = signed_in.account
    to = HOME[account.role] if account.party_id else "/account/key"
    response = JSONResponse({"to": to}, status_code=201)
    remember_session(response, signed_in)
    response.delete_cookie(_COOKIE, httponly=True, secure=True, samesite="strict")
    return response

"""Signing up, signing in and out of the registry's pages, and proving which party an
account is. A password opens the pages; it never signs anything: the party's key,
held in the browser, signs every change, and the account only names the party whose
key it proved it holds."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from consentry.app.workspace import Workspace
from consentry.clock import utc_now
from consentry.crypto import PublicKey
from consentry.errors import InputError, PermissionDeniedError
from consentry.registry import Account, Actor, PartyKind
from consentry.registry.accounts import LOCKED_FOR

__all__ = [
    "MIN_PASSWORD",
    "SESSION_LASTS",
    "SignedIn",
    "account_actor",
    "account_of_session",
    "link_party",
    "open_session",
    "sign_in",
    "sign_out",
    "sign_up",
]

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
SESSION_LASTS = timedelta(days=14)
# An address as people type it: something, an @, a domain with a dot. Whether it
# reaches anyone is not the registry's to know.
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s.]{2,63}")
# argon2id with the parameters RFC 9106 §4 recommends where memory is scarce
# (64 MiB, 3 passes, 4 lanes), which argon2-cffi uses by default.
_HASHER = PasswordHasher()
# Checked against when no account has the address, so that a wrong address takes as
# long as a wrong password and the answer does not say which it was.
_NOBODY = _HASHER.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A browser signed in: the session's token goes into its cookie, and only there."""

    account: Account
    token: str
    expires_at: datetime


def _email(address: str) -> str:
    email = address.strip().lower()
    if not _EMAIL.fullmatch(email):
        raise InputError(
            f"{address.strip()!r} is not an e-mail address; write it as name@example.org",
            field="email",
        )
    return email


def sign_up(ws: Workspace, email: str, name: str, role: PartyKind, password: str) -> SignedIn:
    """A new account for a creator (owner) or a lab (licensee), signed in at once."""
    address = _email(email)
    shown = " ".join(name.split())
    if not shown or len(shown) > 200:
        raise InputError("write the name others will see, from 1 to 200 characters", field="name")
    if len(password) < MIN_PASSWORD:
        raise InputError(
            f"the password has {len(password)} characters; choose one of at least "
            f"{MIN_PASSWORD} (a few words you will remember are good)",
            field="password",
        )
    if len(password) > MAX_PASSWORD:
        raise InputError(
            f"the password is over {MAX_PASSWORD} characters; choose a shorter one",
            field="password",
        )
    account = ws.registry.accounts.create(address, shown, role, _HASHER.hash(password))
    return open_session(ws, account)


def sign_in(ws: Workspace, email: str, password: str, *, now: datetime | None = None) -> SignedIn:
    """Check the password; ``PermissionDeniedError`` otherwise, in the same words and
    after the same work whether the address is unknown, the password wrong, or the
    account resting after too many wrong passwords: the answer says nothing of which
    addresses have an account."""
    at = now or utc_now()
    refused = PermissionDeniedError(
        "that e-mail address and password do not match an account here, or the account "
        f"rests for {int(LOCKED_FOR.total_seconds() // 60)} minutes after too many wrong "
        "passwords; check both and try again later, or use a passkey"
    )
    try:
        address = _email(email)
    except InputError:
        raise refused from None
    found = ws.registry.accounts.credentials(address)
    if found is None or (found.locked_until is not None and found.locked_until > at):
        _matches(_NOBODY, password)
        raise refused
    if not _matches(found.password_hash, password):
        ws.registry.accounts.note_failed_signin(found.account.id, at)
        raise refused
    rehashed = _HASHER.hash(password) if _HASHER.check_needs_rehash(found.password_hash) else None
    ws.registry.accounts.note_signin(found.account.id, rehashed)
    return open_session(ws, found.account)


def _matches(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password[:MAX_PASSWORD])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def open_session(ws: Workspace, account: Account) -> SignedIn:
    """A new signed-in session for ``account``, once it proved who it is."""
    token = secrets.token_urlsafe(32)
    expires_at = utc_now() + SESSION_LASTS
    ws.registry.accounts.open_session(account.id, token, expires_at)
    return SignedIn(account, token, expires_at)


def account_of_session(ws: Workspace, token: str | None) -> Account | None:
    """The account a session cookie signs in, or ``None``."""
    if not token or len(token) > 100:
        return None
    return ws.registry.accounts.session_account(token, utc_now())


def sign_out(ws: Workspace, token: str) -> None:
    ws.registry.accounts.close_session(token, utc_now())


def account_actor(ws: Workspace, account: Account) -> Actor | None:
    """The party an account holds, as the ``Actor`` its pages read as; ``None`` until
    the account has proved a key."""
    if account.party_id is None:
        return None
    party = ws.registry.parties.get(account.party_id, account.role)
    return Actor(party.id, party.kind, PublicKey.from_hex(party.public_key))


def link_party(ws: Workspace, account: Account, actor: Actor) -> Account:
    """Name ``actor`` as the account's party. ``actor`` is the party whose key signed
    the request asking for it: that signature is the proof the account holds the key."""
    if actor.kind is not account.role:
        raise PermissionDeniedError(
            f"this account is a {_ROLE[account.role]}'s, and {actor.party_id} is a "
            f"{_ROLE[actor.kind]}'s party; use the key of your {_ROLE[account.role]} party"
        )
    return ws.registry.accounts.link_party(account.id, actor.party_id)


_ROLE = {PartyKind.OWNER: "creator", PartyKind.LICENSEE: "lab"}

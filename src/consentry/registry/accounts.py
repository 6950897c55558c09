"""Accounts on the registry's pages and the browsers signed in to them.

An account is how a person signs in; it is not a party and grants nothing. It names the
party whose key it proved it holds (by a request signed with that key), and every
change that party makes is still signed with that key in the browser. The registry
keeps a password's argon2id hash and a session token's SHA-256, never either secret.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, delete, select, update

from consentry.clock import format_time, utc_now
from consentry.errors import NotFoundError, StateConflictError
from consentry.ids import IdKind, new_id
from consentry.registry._context import RegistryContext
from consentry.registry.records import PartyKind
from consentry.store.models import AccountRow, PasskeyRow, WebSessionRow

__all__ = ["LOCKED_FOR", "Account", "Accounts", "Credentials", "Passkey", "session_digest"]

# After this many wrong passwords in a row, an account refuses sign-in for a while.
LOCK_AFTER = 5
LOCKED_FOR = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Account:
    """Who is signed in: the role chosen at sign-up and, once proved, their party."""

    id: str
    email: str
    name: str
    role: PartyKind
    party_id: str | None
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "role": self.role.value,
            "party_id": self.party_id,
            "created_at": format_time(self.created_at),
        }


@dataclass(frozen=True, slots=True)
class Credentials:
    """What signing in checks a password against; never rendered."""

    account: Account
    password_hash: str
    locked_until: datetime | None


@dataclass(frozen=True, slots=True)
class Passkey:
    """A passkey an account signs in with (its credential id is base64url)."""

    credential_id: str
    account_id: str
    public_key: bytes
    sign_count: int
    created_at: datetime
    last_used_at: datetime | None


def _passkey(row: PasskeyRow) -> Passkey:
    return Passkey(
        row.credential_id,
        row.account_id,
        row.public_key,
        row.sign_count,
        row.created_at,
        row.last_used_at,
    )


def session_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _account(row: AccountRow) -> Account:
    return Account(row.id, row.email, row.name, PartyKind(row.role), row.party_id, row.created_at)


class Accounts:
    def __init__(self, context: RegistryContext) -> None:
        self._context = context

    def create(self, email: str, name: str, role: PartyKind, password_hash: str) -> Account:
        """A new account; ``StateConflictError`` when the e-mail address has one."""
        if self.credentials(email) is not None:
            raise self._taken(email)
        row = AccountRow(
            id=new_id(IdKind.ACCOUNT),
            email=email,
            name=name,
            role=role.value,
            password_hash=password_hash,
            party_id=None,
            created_at=utc_now(),
            failed_signins=0,
            locked_until=None,
        )
        try:
            with self._context.transaction() as session:
                session.add(row)
        except StateConflictError:
            raise self._taken(email) from None  # another sign-up took it meanwhile
        return _account(row)

    @staticmethod
    def _taken(email: str) -> StateConflictError:
        return StateConflictError(
            f"{email} already has an account here; sign in, or sign up with another address"
        )

    def credentials(self, email: str) -> Credentials | None:
        with self._context.reading() as session:
            row = session.scalar(select(AccountRow).where(AccountRow.email == email))
            if row is None:
                return None
            return Credentials(_account(row), row.password_hash, row.locked_until)

    def get(self, account_id: str) -> Account:
        with self._context.reading() as session:
            row = session.get(AccountRow, account_id)
            if row is None:
                raise NotFoundError(f"no account {account_id}")
            return _account(row)

    def of_party(self, party_id: str) -> Account | None:
        with self._context.reading() as session:
            row = session.scalar(select(AccountRow).where(AccountRow.party_id == party_id))
            return None if row is None else _account(row)

    def note_failed_signin(self, account_id: str, now: datetime) -> None:
        """Count a wrong password; the ``LOCK_AFTER``-th in a row locks the account for
        ``LOCKED_FOR``. One statement, so racing guesses are all counted."""
        with self._context.transaction() as session:
            session.execute(
                update(AccountRow)
                .where(AccountRow.id == account_id)
                .values(failed_signins=AccountRow.failed_signins + 1)
            )
            row = session.get(AccountRow, account_id)
            if row is not None and row.failed_signins >= LOCK_AFTER:
                row.failed_signins = 0
                row.locked_until = now + LOCKED_FOR

    def note_signin(self, account_id: str, password_hash: str | None = None) -> None:
        """A right password: the count of wrong ones starts again (and a hash made with
        older parameters is replaced)."""
        values: dict[str, Any] = {"failed_signins": 0, "locked_until": None}
        if password_hash is not None:
            values["password_hash"] = password_hash
        with self._context.transaction() as session:
            session.execute(update(AccountRow).where(AccountRow.id == account_id).values(values))

    def link_party(self, account_id: str, party_id: str) -> Account:
        """Name the party this account proved it holds; once, and only a party no
        other account names."""
        if (holder := self.of_party(party_id)) is not None and holder.id != account_id:
            raise StateConflictError(f"party {party_id} is already another account's")
        with self._context.transaction() as session:
            linked: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                update(AccountRow)
                .where(AccountRow.id == account_id, AccountRow.party_id.is_(None))
                .values(party_id=party_id)
            )
        account = self.get(account_id)
        if linked.rowcount != 1 and account.party_id != party_id:
            raise StateConflictError(
                f"this account already holds party {account.party_id}; an account holds one"
            )
        return account

    def open_session(self, account_id: str, token: str, expires_at: datetime) -> None:
        with self._context.transaction() as session:
            session.add(
                WebSessionRow(
                    digest=session_digest(token),
                    account_id=account_id,
                    created_at=utc_now(),
                    expires_at=expires_at,
                )
            )

    def session_account(self, token: str, now: datetime) -> Account | None:
        """The account a session token signs in, while it has not expired."""
        with self._context.reading() as session:
            row = session.get(WebSessionRow, session_digest(token))
            if row is None or row.expires_at <= now:
                return None
            account = session.get(AccountRow, row.account_id)
            return None if account is None else _account(account)

    def close_session(self, token: str, now: datetime) -> None:
        """Sign this browser out, and forget every session that has expired."""
        with self._context.transaction() as session:
            session.execute(
                delete(WebSessionRow).where(WebSessionRow.digest == session_digest(token))
            )
            session.execute(delete(WebSessionRow).where(WebSessionRow.expires_at <= now))

    # -- passkeys -----------------------------------------------------------------------

    def add_passkey(
        self, account_id: str, credential_id: str, public_key: bytes, sign_count: int
    ) -> Passkey:
        row = PasskeyRow(
            credential_id=credential_id,
            account_id=account_id,
            public_key=public_key,
            sign_count=sign_count,
            created_at=utc_now(),
            last_used_at=None,
        )
        try:
            with self._context.transaction() as session:
                session.add(row)
        except StateConflictError:
            raise StateConflictError(
                "this passkey is already registered here; sign in with it"
            ) from None
        return _passkey(row)

    def passkeys_of(self, account_id: str) -> list[Passkey]:
        with self._context.reading() as session:
            rows = session.scalars(
                select(PasskeyRow)
                .where(PasskeyRow.account_id == account_id)
                .order_by(PasskeyRow.created_at)
            )
            return [_passkey(row) for row in rows]

    def passkey(self, credential_id: str) -> Passkey | None:
        with self._context.reading() as session:
            row = session.get(PasskeyRow, credential_id)
            return None if row is None else _passkey(row)

    def note_passkey_use(self, credential_id: str, seen_count: int, new_count: int) -> bool:
        """Record a sign-in with the passkey: its count moves from ``seen_count`` to
        ``new_count`` only if no other sign-in moved it first (one statement)."""
        with self._context.transaction() as session:
            moved: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                update(PasskeyRow)
                .where(
                    PasskeyRow.credential_id == credential_id,
                    PasskeyRow.sign_count == seen_count,
                )
                .values(sign_count=new_count, last_used_at=utc_now())
            )
        return moved.rowcount == 1

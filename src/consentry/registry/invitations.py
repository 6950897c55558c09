"""Spending an invitation to register, in the transaction that registers the party."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from consentry.errors import PermissionDeniedError
from consentry.store.models import InvitationRow

__all__ = ["spend_invitation", "token_digest"]


def token_digest(token: str) -> str:
    """What the registry keeps of an invitation: its token's SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def spend_invitation(session: Session, token: str | None, party_id: str, now: datetime) -> None:
    """Mark the invitation used by ``party_id``; ``PermissionDeniedError`` when there is
    none, or it is unknown, used or expired. One statement, so two parties racing for
    one invitation cannot both have it."""
    refused = PermissionDeniedError(
        "this registry registers invited parties only, and the invitation given is "
        "missing, unknown, used or expired; ask the registry's operator for one"
    )
    if not token:
        raise refused
    spent: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(InvitationRow)
        .where(
            InvitationRow.digest == token_digest(token),
            InvitationRow.used_by.is_(None),
            InvitationRow.expires_at > now,
        )
        .values(used_by=party_id, used_at=now)
    )
    if spent.rowcount != 1:
        raise refused

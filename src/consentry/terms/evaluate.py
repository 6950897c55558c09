"""``may_use``: may this licensee use this work for this purpose now? Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from consentry.terms.model import Category, Permission, Terms

__all__ = ["Basis", "Permit", "UseDecision", "may_use", "permit_problem"]


class Basis(StrEnum):
    TERMS = "terms"
    GRANT = "grant"


@dataclass(frozen=True, slots=True)
class Permit:
    """What a verified grant allows, reduced to what the decision needs.

    The registry builds permits only from grants whose signature, licensee and scope it
    has already checked; ``may_use`` then checks purpose and time.
    """

    grant_id: str
    purposes: frozenset[Category]
    not_before: datetime
    not_after: datetime | None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class UseDecision:
    allowed: bool
    reason: str
    basis: Basis | None = None
    grant_id: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "allowed": self.allowed,
            "reason": self.reason,
            "basis": None if self.basis is None else self.basis.value,
            "grant_id": self.grant_id,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UseDecision:
        basis = data.get("basis")
        grant = data.get("grant_id")
        return cls(
            allowed=bool(data["allowed"]),
            reason=str(data["reason"]),
            basis=None if basis is None else Basis(basis),
            grant_id=None if grant is None else str(grant),
        )


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def permit_problem(permit: Permit, purpose: Category, at: datetime) -> str | None:
    """Why ``permit`` does not allow ``purpose`` at ``at``, or None when it does."""
    if purpose not in permit.purposes:
        return f"grant {permit.grant_id} does not cover {purpose}"
    if at < permit.not_before:
        return f"grant {permit.grant_id} starts {_when(permit.not_before)}"
    if permit.not_after is not None and at >= permit.not_after:
        return f"grant {permit.grant_id} expired {_when(permit.not_after)}"
    if permit.revoked_at is not None and at >= permit.revoked_at:
        return f"grant {permit.grant_id} was revoked {_when(permit.revoked_at)}"
    return None


def may_use(
    terms: Terms,
    purpose: Category,
    *,
    at: datetime,
    commercial: bool = True,
    permits: Sequence[Permit] = (),
) -> UseDecision:
    """Decide one use of one work under its effective ``terms`` and the licensee's permits.

    A grant in force for the purpose allows the use whatever the public terms say: the
    owner signed it. Otherwise the terms decide: ``allow`` (unless expired, or
    non-commercial only and the use is commercial), ``deny``, or ``license`` (a grant is
    needed and none is in force). The reason says which, and why each permit failed.
    """
    problems: list[str] = []
    for permit in permits:
        problem = permit_problem(permit, purpose, at)
        if problem is None:
            return UseDecision(
                True, f"grant {permit.grant_id} covers {purpose}", Basis.GRANT, permit.grant_id
            )
        problems.append(problem)
    suffix = f" ({'; '.join(problems)})" if problems else ""
    conditions = terms.conditions
    match terms.permission(purpose):
        case Permission.ALLOW:
            if conditions.expires is not None and at.date() > conditions.expires:
                return UseDecision(
                    False,
                    f"the terms allowed {purpose} until {conditions.expires.isoformat()}; "
                    f"a licence is needed now{suffix}",
                )
            if conditions.non_commercial and commercial:
                return UseDecision(
                    False, f"the terms allow {purpose} for non-commercial use only{suffix}"
                )
            return UseDecision(True, f"the terms allow {purpose}", Basis.TERMS)
        case Permission.DENY:
            return UseDecision(False, f"the terms deny {purpose}{suffix}")
        case Permission.LICENSE:
            return UseDecision(
                False, f"{purpose} needs a licence from the owner and none is in force{suffix}"
            )

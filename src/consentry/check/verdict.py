"""The verdict on one finding: the owner's ``publish-output`` terms and the user's
grants, applied to how much of the work the output reproduces. Pure."""

from __future__ import annotations

from datetime import datetime

from consentry.check.model import Verdict, WorkNotice
from consentry.terms import Category, may_use

__all__ = ["verdict_for"]


def verdict_for(
    notice: WorkNotice,
    length: int,
    *,
    at: datetime,
    commercial: bool = True,
    grant_id: str | None = None,
    licensee_id: str | None = None,
) -> tuple[Verdict, str]:
    """(verdict, reason) for publishing ``length`` normalised characters of the work.

    A grant in force for ``publish-output`` licenses it whatever the terms say (the
    owner signed it). Otherwise the terms decide: ``allow`` is clear, or needs the
    attribution text, and is blocked past the maximum excerpt length; ``deny`` and
    ``license`` block it, with the command that asks the owner: a command that runs as
    printed, so it names the licensee (``licensee_id``, or a placeholder to fill in).
    """
    if grant_id is not None:
        return Verdict.LICENSED, f"your grant {grant_id} covers publishing output"
    decision = may_use(notice.terms, Category.PUBLISH_OUTPUT, at=at, commercial=commercial)
    if not decision.allowed:
        return Verdict.BLOCKED, (
            f"{decision.reason}; ask {notice.owner_name} with 'consentry license request "
            f"--work {notice.work_id} --licensee {licensee_id or 'LICENSEE_ID'} "
            "--purpose publish-output'"
        )
    conditions = notice.terms.conditions
    if conditions.max_excerpt_chars is not None and length > conditions.max_excerpt_chars:
        return Verdict.BLOCKED, (
            f"reproduces {length} characters of the work; its terms allow excerpts of at "
            f"most {conditions.max_excerpt_chars}"
        )
    if conditions.attribution:
        return Verdict.ATTRIBUTE, "the terms allow publishing it with the owner's attribution"
    return Verdict.CLEAR, "the terms allow publishing it"

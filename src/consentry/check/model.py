"""What a publication check finds and concludes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from consentry.index import MatchKind
from consentry.terms import DEFAULT_TERMS, Terms

__all__ = ["CheckReport", "Finding", "Verdict", "WorkNotice"]


class Verdict(StrEnum):
    """What the owner's terms and the user's grants say about publishing a finding."""

    CLEAR = "clear"  # the terms allow publishing it, no conditions
    ATTRIBUTE = "attribute"  # allowed with the owner's attribution text
    LICENSED = "licensed"  # the user holds a grant that covers publishing it
    BLOCKED = "blocked"  # the terms do not allow it (or not this much of it)


@dataclass(frozen=True, slots=True)
class WorkNotice:
    """What a verdict needs to know of a registered work, and nothing of its content:
    who owns it, the name they go by, and their terms."""

    work_id: str
    owner_id: str
    owner_name: str
    terms: Terms

    @classmethod
    def unknown(cls, work_id: str, owner_id: str) -> WorkNotice:
        """A work the lookup knows but the notices do not: default terms (a licence
        needed for every use), so it is never called clear."""
        return cls(work_id, owner_id, owner_id, DEFAULT_TERMS)

    def to_json(self) -> dict[str, Any]:
        return {
            "work_id": self.work_id,
            "owner_id": self.owner_id,
            "owner_name": self.owner_name,
            "terms": self.terms.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorkNotice:
        return cls(
            str(data["work_id"]),
            str(data["owner_id"]),
            str(data["owner_name"]),
            Terms.from_json(data["terms"], source=f"terms of {data['work_id']}"),
        )


@dataclass(frozen=True, slots=True)
class Finding:
    """One registered work the output reproduces.

    ``spans`` are ``[start, end)`` character offsets in the output as given, where the
    evidence is (for excerpts: the matched fingerprint windows, merged; a copy extends
    at most a few dozen characters past them); ``length`` is the longest span in
    normalised characters, what the terms' maximum excerpt length is compared with.
    """

    work_id: str
    owner_id: str
    owner_name: str
    kind: MatchKind
    score: float
    spans: tuple[tuple[int, int], ...]
    length: int
    verdict: Verdict
    reason: str
    attribution: str | None = None
    grant_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "work_id": self.work_id,
            "owner_id": self.owner_id,
            "owner_name": self.owner_name,
            "match": self.kind.value,
            "score": self.score,
            "spans": [{"start": s, "end": e, "length": e - s} for s, e in self.spans],
            "length": self.length,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "attribution": self.attribution,
            "grant_id": self.grant_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        return cls(
            work_id=str(data["work_id"]),
            owner_id=str(data["owner_id"]),
            owner_name=str(data["owner_name"]),
            kind=MatchKind(data["match"]),
            score=float(data["score"]),
            spans=tuple((int(s["start"]), int(s["end"])) for s in data["spans"]),
            length=int(data["length"]),
            verdict=Verdict(data["verdict"]),
            reason=str(data["reason"]),
            attribution=None if data.get("attribution") is None else str(data["attribution"]),
            grant_id=None if data.get("grant_id") is None else str(data["grant_id"]),
        )


@dataclass(frozen=True, slots=True)
class CheckReport:
    """The findings for one output; publishable unless one of them is blocked."""

    name: str
    findings: tuple[Finding, ...]

    @property
    def publishable(self) -> bool:
        return all(f.verdict is not Verdict.BLOCKED for f in self.findings)

    @property
    def verdict(self) -> Verdict:
        """The output's verdict: the strictest of its findings' (clear when none)."""
        order = [Verdict.BLOCKED, Verdict.ATTRIBUTE, Verdict.LICENSED, Verdict.CLEAR]
        found = {f.verdict for f in self.findings}
        return next((v for v in order if v in found), Verdict.CLEAR)

    def attributions(self) -> list[str]:
        """The attribution texts to publish with the output, ready to paste."""
        return [
            f.attribution for f in self.findings if f.verdict is Verdict.ATTRIBUTE and f.attribution
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "publishable": self.publishable,
            "verdict": self.verdict.value,
            "findings": [f.to_json() for f in self.findings],
            "attributions": self.attributions(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckReport:
        """A report from its ``to_json`` form (the verdict is recomputed, not read)."""
        return cls(str(data["name"]), tuple(Finding.from_json(f) for f in data["findings"]))

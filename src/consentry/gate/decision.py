"""What the gate decided about one item, and why (DESIGN.md §5.3)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from consentry._records import quick_init

__all__ = ["BasisKind", "Decision", "Outcome", "Reason", "UseBasis"]


class Outcome(StrEnum):
    ADMITTED = "admitted"
    REJECTED = "rejected"


class BasisKind(StrEnum):
    GRANT = "grant"
    TERMS = "terms"
    OPEN_LICENCE = "open-licence"
    OWN_DATA = "own-data"
    OPT_OUT = "opt-out"


@quick_init
@dataclass(frozen=True, slots=True)
class UseBasis:
    """Why an item (or one registered work inside it) may go in."""

    kind: BasisKind
    work_id: str | None = None
    owner_id: str | None = None
    grant_id: str | None = None
    licence: str | None = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value}
        for name in ("work_id", "owner_id", "grant_id", "licence"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.detail:
            out["detail"] = self.detail
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UseBasis:
        def optional(name: str) -> str | None:
            return None if data.get(name) is None else str(data[name])

        return cls(
            BasisKind(data["kind"]),
            work_id=optional("work_id"),
            owner_id=optional("owner_id"),
            grant_id=optional("grant_id"),
            licence=optional("licence"),
            detail=str(data.get("detail", "")),
        )


@quick_init
@dataclass(frozen=True, slots=True)
class Reason:
    """Why an item was rejected. ``match`` is exact, near, excerpt, image, signal,
    unregistered or unreadable; the first five name the evidence."""

    match: str
    message: str
    work_id: str | None = None
    owner_id: str | None = None
    score: float | None = None
    spans: tuple[tuple[int, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"match": self.match}
        if self.work_id is not None:
            out.update(
                work_id=self.work_id,
                owner_id=self.owner_id,
                score=self.score,
                spans=[list(s) for s in self.spans],
            )
        out["message"] = self.message
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reason:
        work_id = data.get("work_id")
        if work_id is None:
            return cls(str(data["match"]), str(data["message"]))
        score = data.get("score")
        return cls(
            str(data["match"]),
            str(data["message"]),
            work_id=str(work_id),
            owner_id=None if data.get("owner_id") is None else str(data["owner_id"]),
            score=None if score is None else float(score),
            spans=tuple((int(a), int(b)) for a, b in data.get("spans", ())),
        )


@quick_init
@dataclass(frozen=True, slots=True)
class Decision:
    item_id: str
    outcome: Outcome
    bases: tuple[UseBasis, ...] = ()
    reasons: tuple[Reason, ...] = ()

    @property
    def admitted(self) -> bool:
        return self.outcome is Outcome.ADMITTED

    def to_json(self) -> dict[str, Any]:
        """The line written for this item: ``{"id", "decision", "basis" | "reasons"}``."""
        out: dict[str, Any] = {"id": self.item_id, "decision": self.outcome.value}
        if self.admitted:
            out["basis"] = [b.to_json() for b in self.bases]
        else:
            out["reasons"] = [r.to_json() for r in self.reasons]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decision:
        """A decision from its output line (``to_json``'s form)."""
        outcome = Outcome(data["decision"])
        if outcome is Outcome.ADMITTED:
            bases = tuple(UseBasis.from_json(b) for b in data.get("basis", ()))
            return cls(str(data["id"]), outcome, bases=bases)
        reasons = tuple(Reason.from_json(r) for r in data.get("reasons", ()))
        return cls(str(data["id"]), outcome, reasons=reasons)

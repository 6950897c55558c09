"""What the gate decided about one item, and why (DESIGN.md §5.3)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
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
    """Why an item (or one registered work inside it) may go in.

    For a registered work: ``match`` and ``spans`` are the evidence it covers (offsets
    in the item's normalised stream; a whole copy's span is the whole stream), and
    ``share`` the part of the item billed to this basis, from 0 to 1: what the item
    reproduces of this work and no basis before it already covers (see royalties).
    """

    kind: BasisKind
    work_id: str | None = None
    owner_id: str | None = None
    grant_id: str | None = None
    licence: str | None = None
    detail: str = ""
    match: str | None = None
    spans: tuple[tuple[int, int], ...] = ()
    share: Fraction = Fraction(0)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value}
        for name in ("work_id", "owner_id", "grant_id", "licence"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.detail:
            out["detail"] = self.detail
        if self.match is not None:
            out["match"] = self.match
            out["spans"] = [list(s) for s in self.spans]
            out["share"] = str(self.share)
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
            match=optional("match"),
            spans=tuple((int(a), int(b)) for a, b in data.get("spans", ())),
            share=Fraction(str(data.get("share", "0"))),
        )


@quick_init
@dataclass(frozen=True, slots=True)
class Reason:
    """One match the decision weighed, or why an item was rejected. ``match`` is exact,
    near, excerpt, image, signal, unregistered or unreadable; the first five name the
    evidence.

    A match is listed whether or not a basis covers it: ``covered`` says it does (the
    work's own consent, or another work's basis over the same spans), and a match that
    is not covered keeps the spans no basis covers in ``uncovered``. Only uncovered
    matches reject an item.
    """

    match: str
    message: str
    work_id: str | None = None
    owner_id: str | None = None
    score: float | None = None
    spans: tuple[tuple[int, int], ...] = ()
    covered: bool = False
    uncovered: tuple[tuple[int, int], ...] = ()
    # A reservation signal's reason (match "signal"): the kind of signal, where it was
    # read, and the category it reserves.
    signal: str | None = None
    place: str | None = None
    category: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"match": self.match}
        if self.signal is not None:
            out.update(signal=self.signal, source=self.place, category=self.category)
        if self.work_id is not None:
            out.update(
                work_id=self.work_id,
                owner_id=self.owner_id,
                score=self.score,
                spans=[list(s) for s in self.spans],
                covered=self.covered,
            )
            if not self.covered:
                out["uncovered"] = [list(s) for s in self.uncovered]
        out["message"] = self.message
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reason:
        work_id = data.get("work_id")
        if data.get("signal") is not None:
            return cls(
                str(data["match"]),
                str(data["message"]),
                signal=str(data["signal"]),
                place=str(data.get("source") or ""),
                category=str(data.get("category") or ""),
            )
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
            covered=bool(data.get("covered", False)),
            uncovered=tuple((int(a), int(b)) for a, b in data.get("uncovered", ())),
        )


@quick_init
@dataclass(frozen=True, slots=True)
class Decision:
    item_id: str
    outcome: Outcome
    bases: tuple[UseBasis, ...] = ()
    reasons: tuple[Reason, ...] = ()
    # Reservation signals the item carries, reported beside a decision they did not
    # make (consent-only mode decides on consent alone).
    signals: tuple[Reason, ...] = ()

    @property
    def admitted(self) -> bool:
        return self.outcome is Outcome.ADMITTED

    @property
    def rejecting(self) -> tuple[Reason, ...]:
        """The reasons that reject the item: those no basis covers."""
        return tuple(r for r in self.reasons if not r.covered)

    def to_json(self) -> dict[str, Any]:
        """The line written for this item: ``{"id", "decision", "basis" | "reasons"}``;
        an admitted item also lists, in ``reasons``, the matches another work's basis
        covers."""
        out: dict[str, Any] = {"id": self.item_id, "decision": self.outcome.value}
        if self.admitted:
            out["basis"] = [b.to_json() for b in self.bases]
            if self.reasons:
                out["reasons"] = [r.to_json() for r in self.reasons]
        else:
            out["reasons"] = [r.to_json() for r in self.reasons]
        if self.signals:
            out["signals"] = [r.to_json() for r in self.signals]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decision:
        """A decision from its output line (``to_json``'s form)."""
        outcome = Outcome(data["decision"])
        signals = tuple(Reason.from_json(r) for r in data.get("signals", ()))
        if outcome is Outcome.ADMITTED:
            bases = tuple(UseBasis.from_json(b) for b in data.get("basis", ()))
            covered = tuple(Reason.from_json(r) for r in data.get("reasons", ()))
            return cls(str(data["id"]), outcome, bases=bases, reasons=covered, signals=signals)
        reasons = tuple(Reason.from_json(r) for r in data.get("reasons", ()))
        return cls(str(data["id"]), outcome, reasons=reasons, signals=signals)

"""``Gate``: decide each item, for pipelines that call it directly.

gate = Gate(index=index, consent=RegistryConsent(...), policy=GatePolicy())
decision = gate.decide({"id": "a", "text": "..."})
decisions = gate.decide_many(rows)  # looked up together: the fast way for many
admitted = gate.filter(dataset_rows)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from consentry.errors import InputError
from consentry.fingerprint import (
    ContentFingerprint,
    ContentKind,
    FingerprintParams,
    image_query,
    text_prints_many,
)
from consentry.gate.consent import ConsentOracle
from consentry.gate.decision import BasisKind, Decision, Outcome, Reason, UseBasis
from consentry.gate.item import Item, item_from_mapping
from consentry.gate.policy import GateMode, GatePolicy, reservation_signal
from consentry.index import Match, MatchIndex, MatchKind
from consentry.terms import Basis, Price, UseDecision

__all__ = ["CHUNK", "Gate"]

# Items looked up together, their matched works' consent read together: large enough
# that per-call costs vanish, small enough that a pipeline holds few records.
CHUNK = 256

# Each kind's name, looked up rather than read through the enum per match.
_KIND_NAMES = {kind: kind.value for kind in MatchKind}


@dataclass
class Gate:
    """Consent enforced per item: every registered work an item reproduces needs a
    basis, and an unregistered item needs one the policy accepts."""

    index: MatchIndex
    consent: ConsentOracle
    policy: GatePolicy = field(default_factory=GatePolicy)
    params: FingerprintParams = field(default_factory=FingerprintParams)

    def decide(self, record: Item | Mapping[str, Any]) -> Decision:
        return self.decide_many([record])[0]

    def decide_many(self, records: Sequence[Item | Mapping[str, Any]]) -> list[Decision]:
        """``decide`` for each of ``records``, as a run decides a chunk: their matches
        found together and their works' consent read together, where one record at a
        time pays each lookup's fixed cost per record."""
        items = [r if isinstance(r, Item) else item_from_mapping(r, source="api") for r in records]
        found = self.find_many(items)
        self.prepare(found)
        return [self.conclude(item, f) for item, f in zip(items, found, strict=True)]

    def find(self, item: Item) -> list[Match] | str:
        """The registered works ``item`` reproduces, or why it cannot be read. Needs
        only the index, so it can run in a worker process."""
        return self.find_many([item])[0]

    def find_many(self, items: Sequence[Item]) -> list[list[Match] | str]:
        """``find`` for each of ``items``, text items looked up together (a run does
        this per chunk: one index lookup per kind for the chunk, not per item)."""
        found: list[list[Match] | str] = []
        texts: list[int] = []
        for item in items:
            if item.unreadable is not None:
                found.append(item.unreadable)
            elif item.image is not None:
                found.append(self._find_image(item))
            else:
                texts.append(len(found))
                found.append([])
        prints = text_prints_many([self._named_text(items[k]) for k in texts], self.params)
        for k, matches in zip(texts, self.index.match_many(prints), strict=True):
            found[k] = matches
        return found

    @staticmethod
    def _named_text(item: Item) -> tuple[str, str]:
        assert item.text is not None  # noqa: S101 - readable items carry text or an image
        # Items are text unless their name says code; a JSON Lines id is rarely a file
        # name. Code is also compared as plain text, against every work's text.
        return str(item.metadata.get("path") or item.id), item.text

    def _find_image(self, item: Item) -> list[Match] | str:
        try:
            printed, variants, keypoints = self._image_fingerprint(item)
        except InputError as exc:
            return str(exc)
        return self.index.match(printed, pdq_variants=variants, keypoints=keypoints)

    def conclude(self, item: Item, found: list[Match] | str) -> Decision:
        """The decision from what ``find`` returned: consent for each matched work, or
        a basis for an unregistered item."""
        if isinstance(found, str):
            return Decision(item.id, Outcome.REJECTED, reasons=(Reason("unreadable", found),))
        if found:
            return self._registered(item, found)
        return self._unregistered(item)

    def prepare(self, found: Iterable[list[Match] | str]) -> None:
        """Load consent for every work that several ``find`` results name, in one
        batch, before they are concluded one by one (a run does this per chunk)."""
        self.consent.decide(
            list(dict.fromkeys(m.work_id for f in found if not isinstance(f, str) for m in f))
        )

    def filter(
        self, records: Iterable[Item | Mapping[str, Any]], *, chunk: int = CHUNK
    ) -> Iterator[Item | Mapping[str, Any]]:
        """Only what may go in, unchanged and in order; decided ``chunk`` records at a
        time (``decide_many``), so at most that many are held."""
        if chunk < 1:
            raise InputError(f"filter chunk must be at least 1 record, got {chunk}")
        stream = iter(records)
        while batch := list(islice(stream, chunk)):
            for record, decision in zip(batch, self.decide_many(batch), strict=True):
                if decision.admitted:
                    yield record

    def price_of(self, basis: UseBasis) -> Price | None:
        """The price a basis carries: its grant's; None for terms, licences, own data."""
        return self.consent.price_of(basis.grant_id) if basis.grant_id else None

    def _image_fingerprint(
        self, item: Item
    ) -> tuple[ContentFingerprint, list[bytes], tuple[bytes, ...]]:
        assert item.image is not None  # noqa: S101 - called for image items only
        name = str(item.metadata.get("path") or item.id)
        query = image_query(item.image, name=name)
        printed = ContentFingerprint(
            kind=ContentKind.IMAGE,
            media_type=query.media_type,
            size=len(item.image),
            digest=query.digest,
            stream_length=0,
            minhash=b"",
            excerpts=b"",
            title=name,
            pdq=query.orientations[0],
            pdq_quality=query.pdq_quality,
            params_version=self.params.version,
        )
        return printed, list(query.orientations[1:]), query.keypoints

    def _registered(self, item: Item, matches: list[Match]) -> Decision:
        bases: list[UseBasis] = []
        reasons: list[Reason] = []
        answers = self.consent.decide([m.work_id for m in matches])
        for match in matches:
            answer = answers.get(match.work_id) or UseDecision(False, "no consent answer")
            if answer.allowed:
                kind = BasisKind.GRANT if answer.basis is Basis.GRANT else BasisKind.TERMS
                bases.append(
                    UseBasis(
                        kind, match.work_id, match.owner_id, answer.grant_id, detail=answer.reason
                    )
                )
            else:
                reasons.append(
                    Reason(
                        _KIND_NAMES[match.kind],
                        answer.reason,
                        match.work_id,
                        match.owner_id,
                        match.score,
                        match.spans,
                    )
                )
        if reasons:
            return Decision(item.id, Outcome.REJECTED, reasons=tuple(reasons))
        return Decision(item.id, Outcome.ADMITTED, bases=tuple(bases))

    def _unregistered(self, item: Item) -> Decision:
        if (licence := self.policy.open_licence(item.metadata)) is not None:
            return Decision(
                item.id,
                Outcome.ADMITTED,
                bases=(UseBasis(BasisKind.OPEN_LICENCE, licence=licence),),
            )
        if (source := self.policy.own_data(item.metadata)) is not None:
            return Decision(
                item.id, Outcome.ADMITTED, bases=(UseBasis(BasisKind.OWN_DATA, detail=source),)
            )
        match self.policy.mode:
            case GateMode.OPT_OUT:
                signal = reservation_signal(item.metadata)
                if signal is not None:
                    return Decision(
                        item.id,
                        Outcome.REJECTED,
                        reasons=(Reason("signal", f"rights reserved: {signal}"),),
                    )
                return Decision(
                    item.id,
                    Outcome.ADMITTED,
                    bases=(UseBasis(BasisKind.OPT_OUT, detail="no reservation signal"),),
                )
            case GateMode.CONSENT_ONLY:
                declared = item.metadata.get("license")
                why = (
                    f"declared licence {declared!r} is not one the policy accepts"
                    if declared
                    else "no open licence declared and not the licensee's own data"
                )
                return Decision(
                    item.id,
                    Outcome.REJECTED,
                    reasons=(
                        Reason("unregistered", f"unregistered item with no accepted basis: {why}"),
                    ),
                )

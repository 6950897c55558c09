"""``Gate``: decide each item, for pipelines that call it directly.

gate = Gate(index=index, consent=RegistryConsent(...), policy=GatePolicy())
decision = gate.decide({"id": "a", "text": "..."})
decisions = gate.decide_many(rows)  # looked up together: the fast way for many
admitted = gate.filter(dataset_rows)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from consentry.check.spans import evidence_floor, merge_evidence, merge_spans
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
from consentry.gate.item import CHUNK_BYTES, Item, chunked, held_bytes, item_from_mapping
from consentry.gate.policy import GateMode, GatePolicy
from consentry.gate.reservations import SiteSignals, item_reservation
from consentry.index import Match, Matcher, MatchKind
from consentry.signals import Reservation
from consentry.terms import Basis, Category, Permission, Price, UseDecision

__all__ = ["CHUNK", "DEFAULT_MIN_SPAN", "Evidence", "Gate"]

# The shortest reproduced run, in normalised characters, that is evidence of copying:
# the same default as the publication check's ``--min-span``.
DEFAULT_MIN_SPAN = 200

# Items looked up together, their matched works' consent read together: large enough
# that per-call costs vanish, small enough that a pipeline holds few records.
CHUNK = 256

# Each kind's name, looked up rather than read through the enum per match.
_KIND_NAMES = {kind: kind.value for kind in MatchKind}
_NO_ANSWER = UseDecision(False, "no consent answer")
# Billed the whole item: the item is the work, or nearly.
_WHOLE = (MatchKind.EXACT, MatchKind.NEAR, MatchKind.IMAGE)
# Covering every span: only an item that is the work (the same normalised text, or
# the same picture) holds nothing but the work. A near copy differs somewhere, so it
# covers no other work's spans.
_ALL = (MatchKind.EXACT, MatchKind.IMAGE)


@dataclass(frozen=True, slots=True)
class Evidence(Match):
    """A match as the gate weighs it: which of the item's fingerprinted streams it was
    found in (a code item has its code stream and its plain text) and that stream's
    length in normalised characters, so spans can be compared and billed."""

    stream: int = 0
    length: int = 0


def _subtract(
    spans: Sequence[tuple[int, int]], cover: Sequence[tuple[int, int]]
) -> list[tuple[int, int]]:
    """What of ``spans`` (sorted, disjoint) lies outside ``cover`` (sorted, disjoint)."""
    left: list[tuple[int, int]] = []
    for start, end in spans:
        at = start
        for a, b in cover:
            if b <= at:
                continue
            if a >= end:
                break
            if a > at:
                left.append((at, a))
            at = max(at, b)
            if at >= end:
                break
        if at < end:
            left.append((at, end))
    return left


def _length(spans: Iterable[tuple[int, int]]) -> int:
    return sum(end - start for start, end in spans)


@dataclass
class Gate:
    """Consent enforced per item: every registered work an item reproduces needs a
    basis, and an unregistered item needs one the policy accepts."""

    # A MatchIndex, or a ShardedIndex whose shards other processes may hold.
    index: Matcher
    consent: ConsentOracle
    policy: GatePolicy = field(default_factory=GatePolicy)
    params: FingerprintParams = field(default_factory=FingerprintParams)
    # The one evidence rule of the gate and the check (``evidence_floor``): an excerpt
    # needs a merged evidence span this long to name a work.
    min_span: int = DEFAULT_MIN_SPAN
    # The signal files of the corpus's sites (robots.txt, tdmrep.json, ai.txt), held
    # locally: an item's URL is checked against its site's.
    site_signals: SiteSignals | None = None

    def __post_init__(self) -> None:
        self._floor = evidence_floor(self.min_span, self.params.winnow)

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
        """``find`` for each of ``items``, looked up together (a run does this per
        chunk: one index lookup per kind for the chunk's texts, and one for its
        images, not per item)."""
        found: list[list[Match] | str] = [
            [] if item.unreadable is None else item.unreadable for item in items
        ]
        readable = [k for k, item in enumerate(items) if item.unreadable is None]
        images = [k for k in readable if items[k].image is not None]
        texts = [k for k in readable if items[k].image is None]
        for k, pictured in zip(images, self._find_images([items[k] for k in images]), strict=True):
            found[k] = pictured
        for k, matches in zip(texts, self._find_texts([items[k] for k in texts]), strict=True):
            found[k] = matches
        return found

    def _find_texts(self, items: Sequence[Item]) -> list[list[Match]]:
        prints = text_prints_many([self._named_text(item) for item in items], self.params)
        # Each stream looked up on its own (the index flattens them anyway), so each
        # match knows the stream its spans are in.
        streams = [stream for item_prints in prints for stream in item_prints]
        per_stream = self.index.match_many([[stream] for stream in streams])
        winnow, floor = self.params.winnow, self._floor
        found: list[list[Match]] = []
        at = 0
        for item_prints in prints:
            mine: dict[str, Match] = {}
            for number, stream in enumerate(item_prints):
                length = stream.length
                for m in per_stream[at + number]:
                    if m.work_id in mine:
                        continue  # the strongest evidence per work, first stream first
                    if m.kind is MatchKind.EXCERPT:
                        spans = merge_evidence(m.spans, winnow)
                        if max(end - start for start, end in spans) < floor:
                            continue  # shorter than the evidence rule: not a copy
                    else:
                        # A text exact or near match is the whole stream.
                        spans = [(0, length)]
                    mine[m.work_id] = Evidence(
                        m.work_id, m.owner_id, m.kind, m.score, tuple(spans), number, length
                    )
            at += len(item_prints)
            found.append(list(mine.values()))
        return found

    def _find_images(self, items: Sequence[Item]) -> list[list[Match] | str]:
        """What each image item reproduces, or why it cannot be read; looked up
        together, so an index whose shards are held elsewhere answers the chunk's
        images in one round trip per kind of lookup."""
        found: list[list[Match] | str] = []
        looked_up: list[int] = []
        pictures = []
        for item in items:
            try:
                pictures.append(self._image_fingerprint(item))
            except InputError as exc:
                found.append(str(exc))
                continue
            looked_up.append(len(found))
            found.append([])
        if pictures:
            for k, matches in zip(looked_up, self.index.match_images(pictures), strict=True):
                found[k] = matches
        return found

    @staticmethod
    def _named_text(item: Item) -> tuple[str, str]:
        assert item.text is not None  # noqa: S101 - readable items carry text or an image
        # Items are text unless their name says code; a JSON Lines id is rarely a file
        # name. Code is also compared as plain text, against every work's text.
        return item.name, item.text

    def conclude(self, item: Item, found: list[Match] | str) -> Decision:
        """The decision from what ``find`` returned: consent for each matched work, or
        a basis for an unregistered item."""
        if isinstance(found, str):
            return Decision(item.id, Outcome.REJECTED, reasons=(Reason("unreadable", found),))
        decision = self._registered(item, found) if found else self._unregistered(item)
        return self._with_signals(item, decision)

    def _with_signals(self, item: Item, decision: Decision) -> Decision:
        """``decision`` weighed against the reservation signals ``item`` carries for the
        run's purpose. In opt-out mode a reservation rejects the item unless every
        basis it was admitted on is the owner's own word for this licensee (a grant)
        or the licensee's own data; in consent-only mode, which decides on consent
        alone, the signals are reported beside the decision."""
        reservation = item_reservation(item, self.site_signals).for_agent(self.policy.agent)
        if not reservation:
            return decision
        reasons = _signal_reasons(reservation, self.policy.purpose)
        if not reasons:
            return decision
        if self.policy.mode is GateMode.CONSENT_ONLY or (
            decision.admitted and all(b.kind in _OWN_WORD for b in decision.bases)
        ):
            return replace(decision, signals=reasons)
        if decision.admitted:
            return Decision(item.id, Outcome.REJECTED, reasons=(*reasons, *decision.reasons))
        return replace(decision, reasons=(*decision.reasons, *reasons))

    def prepare(self, found: Iterable[list[Match] | str]) -> None:
        """Load consent for every work that several ``find`` results name, in one
        batch, before they are concluded one by one (a run does this per chunk)."""
        self.consent.decide(
            list(dict.fromkeys(m.work_id for f in found if not isinstance(f, str) for m in f))
        )

    def filter(
        self, records: Iterable[Item | Mapping[str, Any]], *, chunk: int = CHUNK
    ) -> Iterator[Item | Mapping[str, Any]]:
        """Only what may go in, unchanged and in order; decided ``chunk`` records (and
        at most ``CHUNK_BYTES`` of their content) at a time (``decide_many``), so at
        most that many are held."""
        if chunk < 1:
            raise InputError(f"filter chunk must be at least 1 record, got {chunk}")
        for batch in chunked(records, held=_content_bytes, max_items=chunk, max_bytes=CHUNK_BYTES):
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
        name = item.name
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
        """Decide span by span: the item is admitted when every matched span is covered
        by a basis for some work that contains it, and rejected with the spans no basis
        covers otherwise. Every match is listed, covered or not."""
        answers = self.consent.decide([m.work_id for m in matches])
        allowed: list[tuple[Match, UseDecision]] = []
        refused: list[tuple[Match, UseDecision]] = []
        for match in matches:
            answer = answers.get(match.work_id) or _NO_ANSWER
            (allowed if answer.allowed else refused).append((match, answer))
        # An exact copy under a basis covers the whole item; other matches their spans.
        whole = next((m for m, _ in allowed if m.kind in _ALL), None)
        cover: dict[int, list[tuple[int, int]]] = {}
        if whole is None:
            for m, _ in allowed:
                if m.kind is MatchKind.EXCERPT:
                    cover.setdefault(_stream(m), []).extend(m.spans)
            cover = {stream: merge_spans(spans) for stream, spans in cover.items()}
        reasons: list[Reason] = []
        rejected = False
        for m, answer in refused:
            if whole is not None:
                left: list[tuple[int, int]] = []
                by = whole.work_id
            elif m.kind is MatchKind.IMAGE or not m.spans:
                left, by = list(m.spans) or [(0, 0)], ""
            else:
                left = _subtract(m.spans, cover.get(_stream(m), []))
                by = ", ".join(w.work_id for w, _ in allowed if _stream(w) == _stream(m))
            if left:
                rejected = True
                message = answer.reason
            else:
                message = f"covered by the basis for {by} ({answer.reason})"
            reasons.append(
                Reason(
                    _KIND_NAMES[m.kind],
                    message,
                    m.work_id,
                    m.owner_id,
                    m.score,
                    m.spans,
                    not left,
                    () if m.kind is MatchKind.IMAGE else tuple(left),
                )
            )
        if rejected:
            # The works with a basis are listed too, so the licensee sees all of it.
            covered = [
                Reason(
                    _KIND_NAMES[m.kind],
                    f"allowed: {answer.reason}",
                    m.work_id,
                    m.owner_id,
                    m.score,
                    m.spans,
                    True,
                )
                for m, answer in allowed
            ]
            return Decision(item.id, Outcome.REJECTED, reasons=(*covered, *reasons))
        return Decision(
            item.id, Outcome.ADMITTED, bases=self._bases(allowed), reasons=tuple(reasons)
        )

    @staticmethod
    def _bases(allowed: list[tuple[Match, UseDecision]]) -> tuple[UseBasis, ...]:
        """A basis per allowed work, each billed the part of the item it reproduces that
        no basis before it covers: a whole copy first (the whole item), then excerpts
        by evidence. The shares add up to at most 1, whatever the streams."""
        order = sorted(allowed, key=lambda pair: pair[0].kind not in _WHOLE)
        remaining = Fraction(1)
        billed: dict[int, list[tuple[int, int]]] = {}
        bases = []
        for m, answer in order:
            if not remaining:
                share = Fraction(0)
            elif m.kind in _WHOLE:
                share = remaining
            else:
                stream = _stream(m)
                done = billed.get(stream, [])
                new = _length(_subtract(m.spans, done))
                share = min(Fraction(new, max(_stream_length(m), 1)), remaining)
                billed[stream] = merge_spans([*done, *m.spans])
            remaining -= share
            kind = BasisKind.GRANT if answer.basis is Basis.GRANT else BasisKind.TERMS
            bases.append(
                UseBasis(
                    kind,
                    m.work_id,
                    m.owner_id,
                    answer.grant_id,
                    None,
                    answer.reason,
                    _KIND_NAMES[m.kind],
                    m.spans,
                    share,
                )
            )
        return tuple(bases)

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
                # Admitted unless a reservation signal says otherwise (``_with_signals``).
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


# Bases that a reservation signal does not overrule: the owner's grant to this licensee
# is its own word, more specific than any signal; the licensee's own data is its own.
_OWN_WORD = frozenset({BasisKind.GRANT, BasisKind.OWN_DATA})


def _signal_reasons(reservation: Reservation, purpose: Category) -> tuple[Reason, ...]:
    """A ``signal`` reason for each statement that reserves ``purpose`` (denies it, or
    reserves it for licensing) and for each signal that could not be read, which
    reserves every purpose: an unreadable reservation is never taken as an allow."""
    reasons = [
        Reason(
            "signal",
            f"rights reserved: {s.describe()}",
            signal=s.source.signal.value,
            place=s.source.place,
            category=purpose.value,
        )
        for s in reservation.about(purpose)
        if s.permission is not Permission.ALLOW
    ]
    reasons.extend(
        Reason(
            "signal",
            f"rights reserved: an unreadable signal is taken as reserving {purpose.value}: "
            f"{p.describe()}",
            signal=p.source.signal.value,
            place=p.source.place,
            category=purpose.value,
        )
        for p in reservation.problems
    )
    return tuple(reasons)


def _content_bytes(record: Item | Mapping[str, Any]) -> int:
    """What a record holds, for bounding a chunk: an item's footprint, a mapping's text
    or image (its other fields are small beside them)."""
    if isinstance(record, Item):
        return held_bytes(record)
    content = record.get("text") or record.get("image") or ""
    return len(content) if isinstance(content, str | bytes) else 0


def _stream(match: Match) -> int:
    return match.stream if isinstance(match, Evidence) else 0


def _stream_length(match: Match) -> int:
    if isinstance(match, Evidence):
        return match.length
    return max((end for _, end in match.spans), default=0)

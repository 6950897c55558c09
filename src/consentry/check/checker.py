"""``Checker``: does this output reproduce a registered work, and may it be published?

The same fingerprints the registry keeps are taken of the output (its plain text, and
for code its renaming-resistant token stream), looked up in the registry's match index
or in an offline sketch, and each registered work found gets a verdict from its
owner's terms and the user's grants. Matches shorter than ``min_span`` normalised
characters are not findings: common phrases and shared boilerplate are not copying.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from consentry.check.model import CheckReport, Finding, WorkNotice
from consentry.check.offline import SketchNotices
from consentry.check.spans import (
    Origins,
    evidence_floor,
    merge_evidence,
    output_spans,
    plain_origins,
)
from consentry.check.verdict import verdict_for
from consentry.clock import utc_now
from consentry.errors import InputError
from consentry.fingerprint import (
    CodeLanguage,
    ContentKind,
    FingerprintParams,
    code_language,
    detect_kind,
    image_query,
    language_for,
    text_prints,
)
from consentry.fingerprint.code import code_stream_origins
from consentry.index import Lookup, Match, MatchKind, Sketch
from consentry.log.note import NoteVerifier

__all__ = ["Checker", "NoticeSource"]


class NoticeSource(Protocol):
    """What verdicts need, for all of an output's findings at once: each work's
    notice, and the user's grants (work id to grant id) that cover publishing it."""

    def notices(self, work_ids: Sequence[str]) -> Mapping[str, WorkNotice]: ...

    def grants(self, work_ids: Sequence[str]) -> Mapping[str, str]: ...


@dataclass
class Checker:
    """Checks outputs against ``lookup`` (the match index or an offline sketch);
    verdicts from ``notices``."""

    lookup: Lookup
    notices: NoticeSource
    min_span: int = 200
    params: FingerprintParams = field(default_factory=FingerprintParams)
    at: datetime | None = None
    commercial: bool = True
    # Named in the command a blocked finding suggests (``license request --licensee``).
    licensee_id: str | None = None

    @classmethod
    def offline(cls, sketch: Path, log_key: str, **options: Any) -> Checker:
        """A checker over the sketch file ``sketch``, verified with the registry's log
        verifier key ``log_key`` (``name+keyid+key``); no database, no network."""
        try:
            data = sketch.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read sketch {sketch} ({exc.strerror})") from exc
        loaded = Sketch.from_bytes(data, NoteVerifier.from_vkey(log_key), source=str(sketch))
        return cls(loaded, SketchNotices(loaded), **options)

    def __post_init__(self) -> None:
        # Raises InputError for a min_span below one character.
        evidence_floor(self.min_span, self.params.winnow)

    @property
    def _evidence_floor(self) -> int:
        # The one evidence rule the gate applies too (``evidence_floor``).
        return evidence_floor(self.min_span, self.params.winnow)

    def check_text(self, text: str, *, name: str = "output.txt") -> CheckReport:
        """Findings for a text output (code too, when ``name`` says so)."""
        if "\x00" in text:
            raise InputError(f"{name} holds NUL characters: it is binary, not text")
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InputError(
                    f"{name} holds an unpaired surrogate at character {exc.start}, which is "
                    "not Unicode text; pass the output as decoded UTF-8"
                ) from None
        prints = text_prints(name, text, self.params)
        language = code_language(name, text)
        found: dict[str, tuple[Match, list[tuple[int, int]], int]] = {}
        for number, stream in enumerate(prints):
            is_code = language is not None and number == 0
            origins: Origins | None = None
            for match in self.lookup.match_prints([stream]):
                # A text exact or near match is the whole stream; an image label is
                # never given to text.
                spans = list(match.spans) or [(0, stream.length)]
                merged = merge_evidence(spans, self.params.winnow)
                longest = max(end - start for start, end in merged)
                if match.kind is MatchKind.EXCERPT and longest < self._evidence_floor:
                    continue
                if origins is None:
                    origins = self._origins(text, is_code, language)
                placed = output_spans(merged, origins)
                kept = found.get(match.work_id)
                if kept is None or longest > kept[2]:
                    found[match.work_id] = (match, placed, longest)
        return self._report(name, list(found.values()))

    def check_code(self, source: str, *, name: str) -> CheckReport:
        """Findings for code: ``name`` (a file name) says the language."""
        if language_for(posixpath.basename(name)) is None:
            raise InputError(
                f"{name}: no known programming language for this file name; "
                "give a name with its extension (e.g. main.py)"
            )
        return self.check_text(source, name=name)

    def check_bytes(self, data: bytes, *, name: str) -> CheckReport:
        """Findings for a file's bytes: an image, or UTF-8 text (code when ``name``
        says so). Raises ``InputError`` for other binary data."""
        kind = detect_kind(name, data[:8192])
        if kind is ContentKind.IMAGE:
            return self.check_image(data, name=name)
        if kind is ContentKind.BINARY:
            raise InputError(f"{name} is binary data, not text, code or an image")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{name} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"
            ) from exc
        return self.check_text(text, name=name)

    def check_image(self, data: bytes, *, name: str = "output.png") -> CheckReport:
        """Findings for an image: the same pixels, a perceptual-hash match in any flip
        or rotation, or a crop, rescale or mirror image found by its keypoints."""
        query = image_query(data, name=name)
        matches = self.lookup.match_image(
            query.digest, query.orientations, keypoints=query.keypoints
        )
        return self._report(name, [(m, [], 0) for m in matches])

    @staticmethod
    def _origins(text: str, is_code: bool, language: CodeLanguage | None) -> Origins:
        if is_code and language is not None:
            return code_stream_origins(text, language)[2]
        return plain_origins(text)

    def _report(
        self, name: str, found: list[tuple[Match, list[tuple[int, int]], int]]
    ) -> CheckReport:
        at = self.at or utc_now()
        ids = [match.work_id for match, _, _ in found]
        notices = self.notices.notices(ids) if ids else {}
        grants = self.notices.grants(ids) if ids else {}
        findings = []
        for match, spans, longest in found:
            # A work in the index but gone from the registry (or the sketch): nothing
            # says it may be published, so it is never called clear.
            notice = notices.get(match.work_id) or WorkNotice.unknown(match.work_id, match.owner_id)
            grant = grants.get(match.work_id)
            verdict, reason = verdict_for(
                notice,
                longest,
                at=at,
                commercial=self.commercial,
                grant_id=grant,
                licensee_id=self.licensee_id,
            )
            findings.append(
                Finding(
                    work_id=match.work_id,
                    owner_id=match.owner_id,
                    owner_name=notice.owner_name,
                    kind=match.kind,
                    score=match.score,
                    spans=tuple(spans),
                    length=longest,
                    verdict=verdict,
                    reason=reason,
                    attribution=notice.terms.conditions.attribution,
                    grant_id=grant,
                )
            )
        findings.sort(key=lambda f: (f.spans[0][0] if f.spans else -1, f.work_id))
        return CheckReport(name, tuple(findings))

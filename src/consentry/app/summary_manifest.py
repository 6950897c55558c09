"""A training manifest's figures as a public summary reads them: its counts, its
admitted content by basis, its crawled domains, its honoured reservations, its works.

Pure: a manifest body (already verified against its licensee's key and found on the
log) in, typed figures out. A body whose figures do not add up is refused: a licensee
may sign a wrong sum, and a public summary must not repeat one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from consentry.errors import InputError
from consentry.log.note import Checkpoint

__all__ = ["DomainLine", "LoggedManifest", "ManifestFigures", "RecordedDomains", "WorkLine"]


@dataclass(frozen=True, slots=True)
class DomainLine:
    """One crawled domain of admitted content: how many items, how many bytes."""

    domain: str
    items: int
    bytes: int


@dataclass(frozen=True, slots=True)
class RecordedDomains:
    """What a manifest records of its admitted items' domains: how many there were,
    the items and bytes with a URL, and its largest domains (``top``), which is every
    domain when ``complete``."""

    count: int
    items: int
    bytes: int
    top: tuple[DomainLine, ...]

    @property
    def complete(self) -> bool:
        return len(self.top) >= self.count


@dataclass(frozen=True, slots=True)
class WorkLine:
    """A registered work the run admitted: who owns it and under which grant, if any."""

    work_id: str
    owner_id: str
    grant_id: str | None
    tokens: int


def _count(value: Any, where: str) -> int:
    # bool is an int to Python, never a count to a reader.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{where} is not a count ({value!r}); the manifest is malformed")
    return value


def _counts(value: Any, where: str) -> Mapping[str, int]:
    if not isinstance(value, Mapping):
        raise InputError(f"{where} is not an object of counts; the manifest is malformed")
    return MappingProxyType({str(k): _count(v, f"{where}.{k}") for k, v in value.items()})


def _domains(value: Any, where: str) -> RecordedDomains:
    if not isinstance(value, Mapping) or not isinstance(value.get("top"), list):
        raise InputError(f"{where} is not a domain list; the manifest is malformed")
    top = []
    for n, line in enumerate(value["top"]):
        if not isinstance(line, Mapping) or not isinstance(line.get("domain"), str):
            raise InputError(f"{where}.top[{n}] names no domain; the manifest is malformed")
        top.append(
            DomainLine(
                line["domain"],
                _count(line.get("items"), f"{where}.top[{n}].items"),
                _count(line.get("bytes"), f"{where}.top[{n}].bytes"),
            )
        )
    listed_items = sum(d.items for d in top)
    recorded = RecordedDomains(
        _count(value.get("count"), f"{where}.count"),
        _count(value.get("items", listed_items), f"{where}.items"),
        _count(value.get("bytes", sum(d.bytes for d in top)), f"{where}.bytes"),
        tuple(top),
    )
    if len(top) > recorded.count or listed_items > recorded.items:
        raise InputError(
            f"{where} lists more than it counts ({len(top)} of {recorded.count} domains, "
            f"{listed_items} of {recorded.items} items); the manifest does not reconcile"
        )
    return recorded


@dataclass(frozen=True, slots=True)
class ManifestFigures:
    """A manifest's figures. ``None`` for what the manifest does not record: a run made
    before manifests recorded their sources and reservations."""

    items: int
    admitted: int
    rejected: int
    admitted_by_basis: Mapping[str, int] | None
    admitted_bytes_by_basis: Mapping[str, int] | None
    domains: RecordedDomains | None
    honoured: Mapping[str, int] | None
    reported: Mapping[str, int] | None
    works: tuple[WorkLine, ...]
    royalties: Mapping[str, Decimal]

    @classmethod
    def from_body(cls, body: Mapping[str, Any], *, where: str) -> ManifestFigures:
        """The figures of ``body``. Raises ``InputError`` for a field that is not the
        shape a gate run writes, or figures that do not add up."""
        counts = body.get("counts")
        if not isinstance(counts, Mapping):
            raise InputError(f"{where}: the manifest has no counts; write it with 'gate run'")
        items = _count(counts.get("items"), f"{where}: counts.items")
        admitted = _count(counts.get("admitted"), f"{where}: counts.admitted")
        rejected = _count(counts.get("rejected"), f"{where}: counts.rejected")
        if admitted + rejected != items:
            raise InputError(
                f"{where}: the manifest counts {items} items but {admitted} admitted and "
                f"{rejected} rejected; it does not reconcile"
            )
        sources = body.get("sources")
        by_basis = bytes_by_basis = None
        domains = None
        if sources is not None:
            if not isinstance(sources, Mapping):
                raise InputError(f"{where}: the manifest's sources is not an object")
            by_basis = _counts(sources.get("admitted_by_basis"), f"{where}: admitted_by_basis")
            bytes_by_basis = _counts(
                sources.get("admitted_bytes_by_basis"), f"{where}: admitted_bytes_by_basis"
            )
            domains = _domains(sources.get("domains"), f"{where}: sources.domains")
            if sum(by_basis.values()) != admitted:
                raise InputError(
                    f"{where}: the manifest admits {admitted} items but its bases add up to "
                    f"{sum(by_basis.values())}; it does not reconcile"
                )
            if domains.items > admitted:
                raise InputError(
                    f"{where}: the manifest's domains hold {domains.items} items of "
                    f"{admitted} admitted; it does not reconcile"
                )
        reservations = body.get("reservations")
        honoured = reported = None
        if reservations is not None:
            if not isinstance(reservations, Mapping):
                raise InputError(f"{where}: the manifest's reservations is not an object")
            honoured = _counts(reservations.get("honoured"), f"{where}: reservations.honoured")
            reported = _counts(reservations.get("reported"), f"{where}: reservations.reported")
        return cls(
            items,
            admitted,
            rejected,
            by_basis,
            bytes_by_basis,
            domains,
            honoured,
            reported,
            _works(body.get("works", []), where),
            _royalties(body.get("royalties_total", {}), where),
        )


def _works(value: Any, where: str) -> tuple[WorkLine, ...]:
    if not isinstance(value, list):
        raise InputError(f"{where}: the manifest's works is not a list")
    works = []
    for n, work in enumerate(value):
        if not isinstance(work, Mapping) or not isinstance(work.get("work_id"), str):
            raise InputError(f"{where}: works[{n}] names no work; the manifest is malformed")
        grant = work.get("grant_id")
        works.append(
            WorkLine(
                work["work_id"],
                str(work.get("owner_id", "")),
                grant if isinstance(grant, str) and grant else None,
                _count(work.get("tokens", 0), f"{where}: works[{n}].tokens"),
            )
        )
    return tuple(works)


def _royalties(value: Any, where: str) -> Mapping[str, Decimal]:
    if not isinstance(value, Mapping):
        raise InputError(f"{where}: the manifest's royalties_total is not an object")
    try:
        return MappingProxyType({str(c): Decimal(str(t)) for c, t in value.items()})
    except InvalidOperation:
        raise InputError(f"{where}: a royalty total is not a decimal amount") from None


@dataclass(frozen=True, slots=True)
class LoggedManifest:
    """A manifest file its licensee's registered key verifies, as the log records it:
    the entry at ``log_index`` (recorded at ``recorded_at``), proven to be in the tree
    of ``checkpoint`` by ``proof`` (a c2sp.org/tlog-proof any holder of the log's key
    checks). ``digest``: SHA-256 of the body's canonical JSON."""

    file: str
    body: Mapping[str, Any]
    digest: str
    licensee_name: str
    log_index: int
    recorded_at: datetime
    checkpoint: Checkpoint
    proof: str

    @property
    def run_id(self) -> str:
        return str(self.body["run_id"])

    @property
    def licensee_id(self) -> str:
        return str(self.body.get("licensee", ""))

    def figures(self) -> ManifestFigures:
        return ManifestFigures.from_body(self.body, where=f"{self.file} (run {self.run_id})")

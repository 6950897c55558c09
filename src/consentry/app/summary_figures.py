"""A public summary's figures, added up over the manifests of the runs a model was
trained on, each figure naming the runs it came from and the runs whose manifests do
not record it: an older manifest's missing figure is said to be missing, never shown
as a zero.

Pure: ``LoggedManifest`` values in (verified and found on the log by
``consentry.app.summary``), a ``TrainingContentSummary`` out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from consentry.app.summary_declaration import ProviderDeclaration
from consentry.app.summary_manifest import LoggedManifest, ManifestFigures

__all__ = [
    "BASES",
    "DomainList",
    "DomainShare",
    "Figure",
    "SourceRun",
    "TrainingContentSummary",
    "Unavailable",
    "aggregate",
]

# The bases a gate admits an item on (consentry.gate's BasisKind), in the order the
# summary names them; a basis a manifest names beyond these is shown too.
BASES = ("grant", "terms", "open-licence", "opt-out", "own-data")

# Template, section 2.3: the top 10% of all domain names by the size of the content
# scraped; for SMEs, the top 5% or 1,000 domain names, whichever is lower. A share is
# rounded up: the template asks for at least that tenth (or twentieth).
_SHARE, _SME_SHARE, _SME_CAP = 10, 5, 1_000


@dataclass(frozen=True, slots=True)
class Figure:
    """A number the summary states, and each run's own figure it comes from
    (``by_run``, in the runs' order); ``unavailable``: the runs whose manifests do not
    record it, which the number leaves out. A count of distinct things (works, owners)
    is over all runs, so its runs' figures may add up to more."""

    value: int
    by_run: tuple[tuple[str, int], ...]
    unavailable: tuple[str, ...] = ()

    @property
    def runs(self) -> tuple[str, ...]:
        return tuple(run for run, _ in self.by_run)

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "runs": list(self.runs),
            "by_run": dict(self.by_run),
            "unavailable_for": list(self.unavailable),
        }


def _sum(
    figures: Sequence[tuple[str, ManifestFigures]], pick: Callable[[ManifestFigures], int | None]
) -> Figure:
    picked = [(run, pick(f)) for run, f in figures]
    by_run = tuple((run, v) for run, v in picked if v is not None)
    return Figure(sum(v for _, v in by_run), by_run, tuple(run for run, v in picked if v is None))


@dataclass(frozen=True, slots=True)
class DomainShare:
    """One domain in the summary's list: its admitted items and bytes over ``runs``."""

    domain: str
    items: int
    bytes: int
    runs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DomainList:
    """Section 2.3's domain names: ``listed`` are the largest by admitted bytes, as many
    as ``rule`` asks of ``total`` domains. ``total_exact`` and ``ranking_exact`` are
    False when a manifest names only its own largest domains (``partial``): a domain
    it leaves out may then be larger over all runs than one listed here, and the total
    is the most there can be (so the list errs on the long side)."""

    rule: str
    total: int
    total_exact: bool
    wanted: int
    listed: tuple[DomainShare, ...]
    items: Figure
    bytes: Figure
    partial: tuple[str, ...]

    @property
    def ranking_exact(self) -> bool:
        return not self.partial


def _share_of(total: int, percent: int) -> int:
    """``percent`` of ``total``, rounded up, in integers (no float to round wrongly)."""
    return -(-total * percent // 100)


def _domain_list(figures: Sequence[tuple[str, ManifestFigures]], *, sme: bool) -> DomainList:
    sizes: dict[str, list[int]] = {}
    runs: dict[str, list[str]] = {}
    unlisted = 0
    partial = []
    for run, f in figures:
        if f.domains is None:
            continue
        for line in f.domains.top:
            size = sizes.setdefault(line.domain, [0, 0])
            size[0] += line.items
            size[1] += line.bytes
            runs.setdefault(line.domain, []).append(run)
        if not f.domains.complete:
            partial.append(run)
            unlisted += f.domains.count - len(f.domains.top)
    total = len(sizes) + unlisted
    if sme:
        wanted = min(_share_of(total, _SME_SHARE), _SME_CAP)
        rule = f"top {_SME_SHARE}% or {_SME_CAP:,} domain names, whichever is lower (SME)"
    else:
        wanted = _share_of(total, _SHARE)
        rule = f"top {_SHARE}% of all domain names"
    ranked = sorted(sizes.items(), key=lambda pair: (-pair[1][1], pair[0]))
    listed = tuple(DomainShare(d, n, b, tuple(runs[d])) for d, (n, b) in ranked[:wanted])
    return DomainList(
        rule=f"{rule}, by the size of admitted content",
        total=total,
        total_exact=not partial,
        wanted=wanted,
        listed=listed,
        items=_sum(figures, lambda f: None if f.domains is None else f.domains.items),
        bytes=_sum(figures, lambda f: None if f.domains is None else f.domains.bytes),
        partial=tuple(partial),
    )


@dataclass(frozen=True, slots=True)
class SourceRun:
    """One run the summary rests on, as its appendix lists it: which manifest, where on
    the log, and its own counts, so that every figure can be traced to the runs and log
    entries it adds up."""

    ref: str
    manifest: LoggedManifest
    figures: ManifestFigures

    @property
    def run_id(self) -> str:
        return self.manifest.run_id

    def field(self, name: str) -> str:
        return str(self.manifest.body.get(name, ""))


@dataclass(frozen=True, slots=True)
class Unavailable:
    """Figures a run's manifest does not record, and why."""

    run_id: str
    figures: tuple[str, ...]
    why: str


@dataclass(frozen=True, slots=True)
class TrainingContentSummary:
    """A public summary of training content: the provider's declaration, and the
    figures of the runs' manifests (admitted content by basis and by crawled domain,
    registered works, reservations honoured), each traceable to its runs (``sources``,
    in the order given)."""

    declaration: ProviderDeclaration
    generated_at: datetime
    sources: tuple[SourceRun, ...]
    items: Figure
    admitted: Figure
    rejected: Figure
    admitted_bytes: Figure
    admitted_by_basis: Mapping[str, Figure]
    admitted_bytes_by_basis: Mapping[str, Figure]
    works: Figure
    owners: Figure
    grants: Figure
    work_tokens: Figure
    royalties: Mapping[str, Decimal]
    domains: DomainList
    honoured: Mapping[str, Figure]
    reported: Mapping[str, Figure]
    runs_by_mode: Mapping[str, tuple[str, ...]]
    runs_by_purpose: Mapping[str, tuple[str, ...]]
    unavailable: tuple[Unavailable, ...]

    @property
    def run_ids(self) -> tuple[str, ...]:
        return tuple(s.run_id for s in self.sources)

    @property
    def refs(self) -> Mapping[str, str]:
        """Each run's short reference in the appendix (``S1``...), by run id."""
        return {s.run_id: s.ref for s in self.sources}

    @property
    def first_started(self) -> str:
        return min((s.field("started_at") for s in self.sources), default="")

    @property
    def last_finished(self) -> str:
        return max((s.field("finished_at") for s in self.sources), default="")


def _distinct(
    figures: Sequence[tuple[str, ManifestFigures]], key: Callable[[ManifestFigures], set[str]]
) -> Figure:
    seen: set[str] = set()
    by_run = []
    for run, f in figures:
        own = key(f)
        seen |= own
        by_run.append((run, len(own)))
    return Figure(len(seen), tuple(by_run))


def _by_key(
    figures: Sequence[tuple[str, ManifestFigures]],
    pick: Callable[[ManifestFigures], Mapping[str, int] | None],
    keys: Sequence[str] = (),
) -> Mapping[str, Figure]:
    """A figure per key of the counts ``pick`` reads (``keys`` first, always shown)."""
    names = list(keys)
    for _, f in figures:
        names += sorted(k for k in (pick(f) or {}) if k not in names)

    def count_of(name: str) -> Callable[[ManifestFigures], int | None]:
        def count(f: ManifestFigures) -> int | None:
            counts = pick(f)
            return None if counts is None else counts.get(name, 0)

        return count

    return MappingProxyType({name: _sum(figures, count_of(name)) for name in names})


def _unavailable(run_id: str, f: ManifestFigures) -> Unavailable | None:
    figures: list[str] = []
    fields: list[str] = []
    if f.admitted_by_basis is None:
        figures += ["admitted items and bytes by basis", "crawled domains"]
        fields.append("sources")
    if f.honoured is None:
        figures.append("reservations honoured and reported")
        fields.append("reservations")
    if not figures:
        return None
    why = f"its manifest records no {' or '.join(fields)} (written before manifests did)"
    return Unavailable(run_id, tuple(figures), why)


def _admitted_bytes(f: ManifestFigures) -> int | None:
    by_basis = f.admitted_bytes_by_basis
    return None if by_basis is None else sum(by_basis.values())


def aggregate(
    manifests: Sequence[LoggedManifest],
    declaration: ProviderDeclaration,
    *,
    generated_at: datetime,
) -> TrainingContentSummary:
    """The summary of ``manifests`` (each verified and on the log), in the order given.
    Raises ``InputError`` for a manifest whose figures do not add up."""
    sources = tuple(SourceRun(f"S{n}", m, m.figures()) for n, m in enumerate(manifests, start=1))
    figures = [(s.run_id, s.figures) for s in sources]
    totals: dict[str, Decimal] = {}
    for _, f in figures:
        for currency, amount in f.royalties.items():
            totals[currency] = totals.get(currency, Decimal(0)) + amount
    modes: dict[str, list[str]] = {}
    purposes: dict[str, list[str]] = {}
    for s in sources:
        modes.setdefault(s.field("mode"), []).append(s.run_id)
        purposes.setdefault(s.field("purpose"), []).append(s.run_id)
    missing = (_unavailable(run, f) for run, f in figures)
    return TrainingContentSummary(
        declaration=declaration,
        generated_at=generated_at,
        sources=sources,
        items=_sum(figures, lambda f: f.items),
        admitted=_sum(figures, lambda f: f.admitted),
        rejected=_sum(figures, lambda f: f.rejected),
        admitted_bytes=_sum(figures, _admitted_bytes),
        admitted_by_basis=_by_key(figures, lambda f: f.admitted_by_basis, BASES),
        admitted_bytes_by_basis=_by_key(figures, lambda f: f.admitted_bytes_by_basis, BASES),
        works=_distinct(figures, lambda f: {w.work_id for w in f.works}),
        owners=_distinct(figures, lambda f: {w.owner_id for w in f.works}),
        grants=_distinct(figures, lambda f: {w.grant_id for w in f.works if w.grant_id}),
        work_tokens=_sum(figures, lambda f: sum(w.tokens for w in f.works)),
        royalties=MappingProxyType(dict(sorted(totals.items()))),
        domains=_domain_list(figures, sme=declaration.sme),
        honoured=_by_key(figures, lambda f: f.honoured),
        reported=_by_key(figures, lambda f: f.reported),
        runs_by_mode=MappingProxyType({k: tuple(v) for k, v in sorted(modes.items())}),
        runs_by_purpose=MappingProxyType({k: tuple(v) for k, v in sorted(purposes.items())}),
        unavailable=tuple(u for u in missing if u is not None),
    )

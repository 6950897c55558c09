"""``consentry signals import``: what a site's files say, read from disk or fetched
from the site, proposed as terms for its owner to review.

A source is one of:

- a FILE, recognised by its name or its content: robots.txt, tdmrep.json, ai.txt, an
  RSL licence, a ``_headers`` file, an HTML page, an image or its XMP sidecar, an EPUB,
  a PDF or a TDMRep ODRL policy;
- a DIR, a static site's root: its robots.txt, ``.well-known/tdmrep.json``, ai.txt and
  ``_headers``, the RSL licences robots.txt points to on the site itself, and every page,
  image, XMP sidecar and publication, each path asked of the site's files;
- a URL (http or https): the answer for it (headers, and its body when HTML), the
  site's robots.txt, tdmrep.json and ai.txt, and the RSL licences on the site.

The proposal is what the signals say together (``Reservation.to_terms``): per category
the most restrictive statement about any path read, every source kept beside it. It is
only a proposal: nothing is published until the owner sets it with ``consentry terms
set``. A file that could not be read is listed with its reason, and one that could not
be parsed shows its problems: neither is taken as an allow.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from consentry.app._signal_fetch import (
    TIMEOUT_SECONDS,
    Refusal,
    Response,
    SiteFetcher,
    open_client,
    same_site,
)
from consentry.app._signal_sources import (
    MAX_FILES,
    MAX_TEXT_BYTES,
    SITE_KINDS,
    TEXT_KINDS,
    Site,
    SiteFile,
    SourceKind,
    content_reservation,
    file_under,
    kind_of_file,
    kind_of_response,
    parse_site_file,
    read_local,
    response_reservation,
    signal_of,
    unique,
    url_paths,
    walk_site,
)
from consentry.errors import InputError
from consentry.signals import Problem, Reservation, Signal, Source, Statement
from consentry.terms import Category, Permission, Terms

__all__ = [
    "MAX_FILES",
    "ImportedSignals",
    "Proposal",
    "ReadStatus",
    "SourceKind",
    "SourceRead",
    "import_signals",
    "save_proposed_terms",
]

MAX_LICENCES = 8
"""The robots.txt ``License`` URLs read at most; a site needs one."""
# RFC 9309 §2.2.1: a product token; crawlers' names carry digits and dots in practice.
_AGENT = re.compile(r"[A-Za-z0-9_.-]+")
_NOTHING = Reservation()


class ReadStatus(StrEnum):
    READ = "read"
    ABSENT = "absent"  # the file is not there (or answered 404): it says nothing
    REFUSED = "refused"  # there, but not read: the reason says why


@dataclass(frozen=True, slots=True)
class SourceRead:
    """One file or URL an import looked at: what it is, whether it was read, why not,
    and the kinds of signal found in it."""

    place: str
    kind: SourceKind
    status: ReadStatus
    reason: str | None = None
    signals: frozenset[Signal] = frozenset()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "place": self.place,
            "kind": self.kind.value,
            "status": self.status.value,
            "signals": sorted(s.value for s in self.signals),
        }
        if self.reason is not None:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True, slots=True)
class Proposal:
    """What the signals propose for one category, and the statement that decides it;
    ``permission`` None when no signal speaks of it (the category is inherited)."""

    category: Category
    permission: Permission | None
    deciding: Statement | None

    def to_json(self) -> dict[str, Any]:
        return {
            "category": self.category.value,
            "permission": None if self.permission is None else self.permission.value,
            "deciding": None if self.deciding is None else self.deciding.to_json(),
        }


@dataclass(frozen=True, slots=True)
class ImportedSignals:
    """An import: every source looked at, what they say together (``reservation``,
    the statements binding ``agent``), the terms that proposes, and notes on what the
    import did not look at."""

    source: str
    agent: str | None
    read: tuple[SourceRead, ...]
    reservation: Reservation
    terms: Terms
    notes: tuple[str, ...] = ()

    def proposals(self) -> tuple[Proposal, ...]:
        """One per category, in ``Category`` order."""
        return tuple(
            Proposal(c, self.reservation.permission(c), self.reservation.deciding(c))
            for c in Category
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "agent": self.agent,
            "read": [r.to_json() for r in self.read],
            "terms": self.terms.to_json(),
            "proposals": [p.to_json() for p in self.proposals()],
            **self.reservation.to_json(),
            "notes": list(self.notes),
        }


@dataclass(slots=True)
class _Findings:
    """What an import has found so far: the sources looked at, in order, and what each
    said (``said[i]`` is ``read[i]``'s), so that the first source to say the most
    restrictive thing decides."""

    read: list[SourceRead] = field(default_factory=list)
    said: list[Reservation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _pending: list[tuple[int, SiteFile]] = field(default_factory=list)

    def _add(self, entry: SourceRead, said: Reservation = _NOTHING) -> None:
        self.read.append(entry)
        self.said.append(said)

    def found(self, place: str, kind: SourceKind, said: Reservation) -> None:
        self._add(SourceRead(place, kind, ReadStatus.READ, signals=said.signals()), said)

    def absent(self, place: str, kind: SourceKind) -> None:
        self._add(SourceRead(place, kind, ReadStatus.ABSENT))

    def refused(self, place: str, kind: SourceKind, reason: str, *, reserves: bool = True) -> None:
        """A source not read. Unless something else already speaks for it
        (``reserves=False``), its reason is a problem: what it says is not known."""
        problem = Problem(Source(signal_of(kind), place), reason)
        said = Reservation(problems=(problem,)) if reserves else _NOTHING
        self._add(SourceRead(place, kind, ReadStatus.REFUSED, reason), said)

    def site_file(self, site: Site, entry: SiteFile) -> None:
        """A site file read: listed now, in the order sources were looked at; what it
        says is known once every path has been asked (``site``)."""
        site.files.append(entry)
        self._pending.append((len(self.read), entry))
        self._add(SourceRead(entry.place, entry.kind, ReadStatus.READ))

    def site(self) -> None:
        for index, entry in self._pending:
            said = entry.reservation()
            self.read[index] = replace(self.read[index], signals=said.signals())
            self.said[index] = said
        self._pending.clear()

    def result(self, source: str, agent: str | None) -> ImportedSignals:
        merged = unique(Reservation.merge(self.said)).for_agent(agent)
        return ImportedSignals(
            source, agent, tuple(self.read), merged, merged.to_terms(), tuple(self.notes)
        )


def import_signals(
    source: str,
    *,
    agent: str | None = None,
    site: str | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> ImportedSignals:
    """Read ``source`` (an http(s) URL, a file or a folder) into proposed terms.

    ``agent`` is the crawler whose robots.txt groups and meta tags are read (None:
    every crawler's bind, the most restrictive of them). ``site`` is the address a
    folder is published at, so that robots.txt ``License`` URLs on it are read from
    the folder. ``timeout`` bounds each request of a URL import, in seconds. Raises
    ``InputError`` for a source, agent or site that cannot be used."""
    if agent is not None and not _AGENT.fullmatch(agent):
        raise InputError(
            f"--agent {agent!r} is not a user-agent token; give one word, e.g. GPTBot",
            field="agent",
        )
    text = source.strip()
    if "://" in text:
        return _import_url(_site_url(text, what="the source"), agent, timeout)
    path = Path(text)
    if text and path.is_dir():
        origin = None if site is None else _origin(_site_url(site, what="--site"))
        return _import_dir(path, agent, origin)
    if text and path.is_file():
        return _import_file(path, agent)
    raise InputError(
        f"{source!r} is neither a file nor a folder that exists, nor an http(s) URL; give "
        "a site's folder, one of its signal files, or its address such as https://example.com/",
        field="source",
    )


def save_proposed_terms(imported: ImportedSignals, path: Path, *, force: bool = False) -> Path:
    """Write the proposed terms to ``path`` as a terms file (``consentry terms set
    --file`` reads it). Raises ``InputError`` when ``path`` exists and ``force`` is
    not given, or it cannot be written."""
    if path.exists() and not force:
        raise InputError(
            f"{path} already exists; pass --force to replace it, or choose another --out",
            field="out",
        )
    try:
        path.write_text(json.dumps(imported.terms.to_json(), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the terms file {path} ({exc.strerror})") from exc
    return path


def _site_url(text: str, *, what: str) -> str:
    try:
        parts = urlsplit(text)
        valid = parts.scheme.lower() in {"http", "https"} and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid:
        raise InputError(
            f"{what} {text!r} is not an http(s) URL with a host; give one such as "
            "https://example.com/",
            field="site" if what == "--site" else "source",
        )
    return text


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc}"


# -- a file -------------------------------------------------------------------------


def _import_file(path: Path, agent: str | None) -> ImportedSignals:
    place = str(path)
    data = read_local(path)
    if isinstance(data, Refusal):
        raise InputError(f"{place} {data.reason}", field="source")
    kind = kind_of_file(path.name, data)
    if kind is None:
        raise InputError(
            f"{place} is not a signal file consentry reads; give robots.txt, tdmrep.json, "
            "ai.txt, _headers, an RSL licence, an HTML page, an image, an XMP sidecar, an "
            "EPUB, a PDF or "
            "an ODRL policy, or the site's folder",
            field="source",
        )
    findings = _Findings()
    if kind in TEXT_KINDS and len(data) > MAX_TEXT_BYTES:
        findings.refused(place, kind, _too_big(len(data)))
    elif kind in SITE_KINDS:
        entry = SiteFile(place, kind, parse_site_file(kind, data, place))
        findings.found(place, kind, entry.whole(agent))
        if kind is SourceKind.ROBOTS_TXT:
            findings.notes.append(
                f"{place} was asked about the site's root, /; import the site's folder "
                "or address to ask it about each page, and to read the licences it names"
            )
    else:
        findings.found(place, kind, content_reservation(kind, data, place))
    return findings.result(place, agent)


def _too_big(size: int) -> str:
    return (
        f"is {size:,} bytes, over the {MAX_TEXT_BYTES:,} a signal file may be, so it "
        "was not read; keep it shorter"
    )


# -- a folder -----------------------------------------------------------------------

_DIR_SITE_FILES = (
    (SourceKind.ROBOTS_TXT, "robots.txt"),
    (SourceKind.TDMREP_JSON, ".well-known/tdmrep.json"),
    (SourceKind.AI_TXT, "ai.txt"),
    (SourceKind.HEADERS_FILE, "_headers"),
)


def _import_dir(root: Path, agent: str | None, origin: str | None) -> ImportedSignals:
    findings = _Findings()
    site = Site(agent=agent, origin=origin or "")
    for kind, name in _DIR_SITE_FILES:
        _read_dir_site_file(root / name, kind, site, findings)
    _read_dir_licences(root, site, findings)
    files, truncated = walk_site(root)
    if truncated:
        findings.notes.append(
            f"{root} has more than {MAX_FILES:,} files; only the first {MAX_FILES:,}, folder "
            "by folder, were read, so signals on the others are not in the proposal"
        )
    site.ask("/")
    for path in files:
        relative = path.relative_to(root).as_posix()
        for url_path in url_paths(relative):
            site.ask(url_path)
        content = kind_of_file(path.name, None, content_only=True)
        if content is not None:
            _read_page(path, content, findings)
    findings.site()
    return findings.result(str(root), agent)


def _read_dir_site_file(path: Path, kind: SourceKind, site: Site, findings: _Findings) -> None:
    place = str(path)
    if not path.is_file():
        findings.absent(place, kind)
        return
    data = read_local(path, limit=MAX_TEXT_BYTES)
    if isinstance(data, Refusal):
        findings.refused(place, kind, data.reason)
        return
    findings.site_file(site, SiteFile(place, kind, parse_site_file(kind, data, place)))


def _read_dir_licences(root: Path, site: Site, findings: _Findings) -> None:
    for url in _licences(site, findings):
        if not site.origin:
            reason = (
                "the folder's address is not known, so this licence cannot be found in it; "
                "give --site with the address the folder is published at"
            )
            findings.refused(url, SourceKind.RSL, reason, reserves=False)
        elif not same_site(url, site.origin):
            reason = f"the licence is on another host than {site.origin}; it was not fetched"
            findings.refused(url, SourceKind.RSL, reason, reserves=False)
        else:
            _read_dir_licence(root, url, site, findings)


def _read_dir_licence(root: Path, url: str, site: Site, findings: _Findings) -> None:
    path = file_under(root, urlsplit(url).path)
    if path is None or not path.is_file():
        findings.absent(url if path is None else str(path), SourceKind.RSL)
        return
    data = read_local(path, limit=MAX_TEXT_BYTES)
    if isinstance(data, Refusal):
        findings.refused(str(path), SourceKind.RSL, data.reason)
        return
    parsed = parse_site_file(SourceKind.RSL, data, str(path))
    findings.site_file(site, SiteFile(str(path), SourceKind.RSL, parsed))
    site.read_licences.add(url)


def _licences(site: Site, findings: _Findings) -> Iterator[str]:
    """The robots.txt ``License`` URLs to read, at most ``MAX_LICENCES`` of them."""
    urls = site.licence_urls()
    for url in urls[MAX_LICENCES:]:
        reason = f"robots.txt names more than {MAX_LICENCES} licences; only the first were read"
        findings.refused(url, SourceKind.RSL, reason, reserves=False)
    yield from urls[:MAX_LICENCES]


def _read_page(path: Path, kind: SourceKind, findings: _Findings) -> None:
    place = str(path)
    data = read_local(path, limit=MAX_TEXT_BYTES if kind in TEXT_KINDS else None)
    if isinstance(data, Refusal):
        findings.refused(place, kind, data.reason)
        return
    findings.found(place, kind, content_reservation(kind, data, place))


# -- a URL --------------------------------------------------------------------------

_URL_SITE_FILES = (
    (SourceKind.ROBOTS_TXT, "/robots.txt"),
    (SourceKind.TDMREP_JSON, "/.well-known/tdmrep.json"),
    (SourceKind.AI_TXT, "/ai.txt"),
)


def _import_url(url: str, agent: str | None, timeout: float) -> ImportedSignals:
    origin = _origin(url)
    findings = _Findings()
    site = Site(agent=agent, origin=origin)
    with open_client(timeout=timeout) as client:
        fetcher = SiteFetcher(origin, client=client)
        for kind, path in _URL_SITE_FILES:
            answer = _fetched(fetcher, origin + path, kind, findings)
            if answer is not None:
                parsed = parse_site_file(kind, answer.body, answer.url)
                findings.site_file(site, SiteFile(answer.url, kind, parsed))
        for licence in _licences(site, findings):
            if not same_site(licence, origin):
                reason = f"the licence is on another host than {origin}; it was not fetched"
                findings.refused(licence, SourceKind.RSL, reason, reserves=False)
                continue
            answer = _fetched(fetcher, licence, SourceKind.RSL, findings)
            if answer is not None:
                parsed = parse_site_file(SourceKind.RSL, answer.body, licence)
                findings.site_file(site, SiteFile(licence, SourceKind.RSL, parsed))
                site.read_licences.add(licence)
        page = _fetched(fetcher, url, SourceKind.HTTP_RESPONSE, findings)
    site.ask("/")
    # The page is asked about where it was asked for and where a redirect led.
    for address in (url,) if page is None else (url, page.url):
        parts = urlsplit(address)
        site.ask((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
    findings.site()
    if page is not None:
        kind = kind_of_response(page)
        findings.found(page.url, kind, response_reservation(page, kind))
    return findings.result(url, agent)


def _fetched(
    fetcher: SiteFetcher, url: str, kind: SourceKind, findings: _Findings
) -> Response | None:
    """The answer for ``url`` when it has a body to read; otherwise None, with the
    source listed as absent (404, 410) or refused (anything else, with the reason)."""
    answer = fetcher.get(url)
    if isinstance(answer, Refusal):
        findings.refused(url, kind, answer.reason)
        return None
    if answer.status in {404, 410}:
        findings.absent(url, kind)
        return None
    if not 200 <= answer.status < 300:
        reason = f"answered HTTP {answer.status}"
        if kind is SourceKind.ROBOTS_TXT and answer.status >= 500:
            # RFC 9309 §2.3.1.4: an unreachable robots.txt means the whole site is disallowed.
            reason += ", which RFC 9309 reads as disallowing the whole site"
        findings.refused(url, kind, reason)
        return None
    return answer

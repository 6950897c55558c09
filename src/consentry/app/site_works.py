"""Registering a static site: each page as the text a crawl of it shows, each image as
an image, and the reservation signals found on each recorded beside its work.

A page is registered as its visible text exactly as the gate reads a crawled page
(``html_text_and_meta``), so a crawl of the published page matches the registered
work. The site's own signal files (robots.txt, tdmrep.json, ai.txt) are read as the
gate reads a mirror's, under the host of ``base_url`` (a placeholder host without one),
and merged with each page's meta tags and each image's embedded metadata.
"""

from __future__ import annotations

import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from consentry.app._headers_file import HeadersFile
from consentry.app.works import interrupted_registration, set_catalogue_terms
from consentry.app.workspace import Workspace
from consentry.crypto import Signer
from consentry.errors import InputError
from consentry.fingerprint import ContentKind, fingerprint_bytes, fingerprint_text
from consentry.gate.readers.warc import html_text_and_meta
from consentry.gate.reservations import MAX_SITE_FILE_BYTES, SITE_FILES, SiteSignals
from consentry.interrupts import start_worker
from consentry.registry import (
    FileFingerprint,
    PartyKind,
    Registration,
    RegistrationStatus,
    TargetKind,
)
from consentry.registry.catalogue import (
    DEFAULT_MAX_BYTES,
    FileProblem,
    read_catalogue_file,
    refusal,
)
from consentry.signals import Reservation
from consentry.signals.html import MediaKind, read_html
from consentry.signals.readers import read_headers, read_image
from consentry.signals.tdmrep import read_tdmrep_meta
from consentry.terms import Terms
from consentry.warmup import warm_up

__all__ = ["RegisteredSite", "SiteRegistration", "register_site"]

# A host no one can hold (RFC 2606 §2), named in each site file's place when the
# creator does not say where the site is published.
PLACEHOLDER_HOST = "site.invalid"
_PAGES = frozenset({".html", ".htm", ".xhtml"})
_IMAGES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp"})
_ASSETS = {
    ".css": "a stylesheet",
    ".js": "a script",
    ".mjs": "a script",
    ".map": "a source map",
    ".woff": "a font",
    ".woff2": "a font",
    ".ttf": "a font",
    ".otf": "a font",
    ".eot": "a font",
}
# The static host's header rules (Netlify and Cloudflare Pages), a signal file too.
_HEADERS_FILE = "/_headers"
_RSL_NAMESPACE = b"https://rslstandard.org/rsl"
# Recorded (and reported) a batch at a time, as registrations commit.
_BATCH = 500


@dataclass(frozen=True, slots=True)
class SiteRegistration:
    """One page or image registered: what happened to it, what the signals on it say
    (its own and its site's), and whether its terms were set from them."""

    registration: Registration
    reservation: Reservation
    terms_adopted: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            **self.registration.to_json(),
            "signals": self.reservation.to_json(),
            "terms_adopted": self.terms_adopted,
        }


@dataclass(slots=True)
class RegisteredSite:
    """What registering a site did: files seen, outcomes counted, problems by file, and
    how many works carried signals (and had their terms set from them)."""

    files: int
    host: str
    tally: Counter[str] = field(default_factory=Counter)
    problems: list[FileProblem] = field(default_factory=list)

    @property
    def failed(self) -> list[FileProblem]:
        """Files that could not be used; files skipped by rule (a signal file, a
        stylesheet, a page with too little text) are reported but are no failure."""
        return [problem for problem in self.problems if not problem.refused]

    def summary(self) -> str:
        counts = ", ".join(
            f"{self.tally[s]} {s}" for s in ("registered", "existing", "disputed", "skipped")
        )
        if self.problems:
            refused = len(self.problems) - len(self.failed)
            counts += f" ({refused} not works, {len(self.failed)} failed)"
        said = f"; signals found on {self.tally['signals']} work(s)"
        if self.tally["adopted"]:
            said += f", terms set from them on {self.tally['adopted']}"
        return f"{self.files} file(s): {counts}{said}"


@dataclass(frozen=True, slots=True)
class _Read:
    """A page or image fingerprinted, and the signals it carries itself."""

    file: FileFingerprint
    reservation: Reservation


@dataclass(frozen=True, slots=True)
class _SiteFile:
    location: Path
    path: str
    page: bool


def register_site(
    ws: Workspace,
    folder: Path,
    *,
    owner_id: str,
    collection: str | None = None,
    base_url: str | None = None,
    adopt_signals: bool = False,
    terms: Terms | None = None,
    workers: int = 1,
    max_bytes: int = DEFAULT_MAX_BYTES,
    on_start: Callable[[int], None] | None = None,
    on_fingerprinted: Callable[[int], None] | None = None,
    on_file: Callable[[SiteRegistration | FileProblem], None] | None = None,
) -> RegisteredSite:
    """Register the static site built in ``folder`` for ``owner_id``, signed with the
    owner's key: its pages (as their visible text, titled by their ``<title>``, at
    their path on the site) and images, each with the signals found on it recorded.
    ``adopt_signals``: also set each work's terms from its signals, where they say
    something. ``terms``, ``on_start``, ``on_fingerprinted`` and ``on_file`` as for
    ``register_works``; every file that is not registered is reported with why.

    Raises ``InputError`` for a folder that is not one, a ``base_url`` that is not an
    http(s) URL, or a served registry (which does not take the signals yet)."""
    host, prefix = _where(ws, folder, base_url)
    signer = ws.signer(owner_id, PartyKind.OWNER)
    root = folder.resolve()
    files = _site_files(root)
    site = _Site.read(root, host, prefix)
    warm_up()
    done = RegisteredSite(len(files), host)
    if on_start is not None:
        on_start(len(files))

    def report(result: SiteRegistration | FileProblem) -> None:
        if isinstance(result, FileProblem):
            done.problems.append(result)
            done.tally["skipped"] += 1
        else:
            done.tally[result.registration.status.value] += 1
            done.tally["signals"] += bool(result.reservation)
            done.tally["adopted"] += result.terms_adopted
        if on_file is not None:
            on_file(result)

    found: deque[Reservation] = deque()

    def fingerprints() -> Iterator[FileFingerprint]:
        for result in _read_all(files, workers=workers, max_bytes=max_bytes):
            if on_fingerprinted is not None:
                on_fingerprinted(
                    0 if isinstance(result, FileProblem) else result.file.fingerprint.size
                )
            if isinstance(result, FileProblem):
                report(result)
                continue
            found.append(result.reservation | site.reservation(result.file))
            yield result.file

    registry = ws.registry
    held: list[tuple[Registration, Reservation]] = []

    def settle() -> None:
        """Record the held registrations' signals (and terms), then report them."""
        mine = {r.work.id: said for r, said in held if r.status is not RegistrationStatus.DISPUTED}
        registry.works.signals.record(owner_id, signer, mine)
        adopted = _adopt(ws, owner_id, signer, mine) if adopt_signals else set()
        for registration, said in held:
            report(SiteRegistration(registration, said, registration.work.id in adopted))
        held.clear()

    try:
        for registration in registry.works.register(
            owner_id, signer, fingerprints(), collection=collection
        ):
            held.append((registration, found.popleft()))
            if len(held) >= _BATCH:
                settle()
        settle()
    except KeyboardInterrupt:
        # What was reported is saved with its signals; a rerun finds those works as
        # existing, records their signals again, and registers the rest.
        raise interrupted_registration(done.tally, done.files) from None
    if terms is not None:
        set_catalogue_terms(ws, owner_id, signer, collection, terms)
    return done


def _where(ws: Workspace, folder: Path, base_url: str | None) -> tuple[str, str]:
    """The host the site's files are read under and the URL prefix of its pages, once
    the inputs are checked."""
    if ws.settings.registry_url:
        raise InputError(
            "--site records the signals found on each page, which a served registry does "
            "not take yet; unset CONSENTRY_REGISTRY to register the site in a local registry"
        )
    if not folder.is_dir():
        raise InputError(f"--site {folder} is not a folder; name the folder the site is built in")
    return _base(base_url)


def _adopt(ws: Workspace, owner_id: str, signer: Signer, found: dict[str, Reservation]) -> set[str]:
    """Set each work's own terms to what its signals state, where they state something;
    a work whose terms already say exactly that gets no new version (a rerun changes
    nothing). Returns the works whose terms say it now."""
    adopted: set[str] = set()
    for work_id, said in found.items():
        terms = said.to_terms()
        if not terms.categories:
            continue
        layers = ws.registry.terms.effective(work_id).layers
        own = next((la.terms for la in layers if la.target_kind is TargetKind.WORK), None)
        if own is None or own.to_json() != terms.to_json():
            ws.registry.terms.set(work_id, owner_id, signer, terms)
        adopted.add(work_id)
    return adopted


def _base(base_url: str | None) -> tuple[str, str]:
    """The host the site's files are read under and the URL prefix of its pages."""
    if base_url is None:
        return PLACEHOLDER_HOST, f"https://{PLACEHOLDER_HOST}"
    try:
        parts = urlsplit(base_url)
        host = (parts.hostname or "").lower()
    except ValueError:
        host, parts = "", urlsplit("")
    if parts.scheme not in {"http", "https"} or not host:
        raise InputError(
            f"--base-url {base_url!r} is not an http(s) URL with a host; give where the site "
            "is published, e.g. https://example.org"
        )
    return host, f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _site_files(root: Path) -> list[tuple[Path, str]]:
    """Every file of the site (location, its path on the site), in a stable order.
    Hidden folders hold tooling (.git), not the site, except the well-known folder."""
    found: list[tuple[Path, str]] = []
    for top, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") or d == ".well-known")
        for name in sorted(names):
            location = Path(top) / name
            found.append((location, "/" + location.relative_to(root).as_posix()))
    return found


@dataclass(frozen=True, slots=True)
class _Site:
    """The site's signal files: robots.txt, tdmrep.json and ai.txt under ``host``, read
    as the gate reads a mirror's, and the static host's ``_headers`` rules."""

    files: SiteSignals
    headers: HeadersFile | None
    prefix: str

    @classmethod
    def read(cls, root: Path, host: str, prefix: str) -> _Site:
        files = {
            (host, name): text
            for name, place in SITE_FILES.items()
            if (text := _signal_file(root / place.lstrip("/"))) is not None
        }
        rules = _signal_file(root / _HEADERS_FILE.lstrip("/"))
        headers = None if rules is None else HeadersFile.parse(rules, place=_HEADERS_FILE)
        return cls(SiteSignals(files), headers, prefix)

    def reservation(self, file: FileFingerprint) -> Reservation:
        """What the site's files say of ``file``: its URL's rules, and the headers the
        host serves it with."""
        said = self.files.reservation(self.prefix + file.path)
        if self.headers is None:
            return said
        served: dict[str, str] = {}
        for header in self.headers.headers_for(file.path):
            # Repeated fields are one comma-separated list (RFC 9110 §5.3), as the
            # gate keeps a crawled response's.
            name = header.name.lower()
            served[name] = header.value if name not in served else f"{served[name]}, {header.value}"
        image = file.fingerprint.kind is ContentKind.IMAGE
        kind = MediaKind.IMAGE if image else MediaKind.TEXT
        from_host = read_headers(served, kind=kind) if served else Reservation()
        return said | from_host | Reservation((), self.headers.problems)


def _signal_file(location: Path) -> str | None:
    if not location.is_file():
        return None
    try:
        with location.open("rb") as handle:
            raw = handle.read(MAX_SITE_FILE_BYTES)
    except OSError as exc:
        # Its signals cannot be ruled out, so nothing is registered without them.
        raise InputError(
            f"{location} cannot be read ({exc.strerror}); check its permissions"
        ) from exc
    return raw.decode("utf-8", "replace")


def _skipped(location: Path, path: str) -> FileProblem | None:
    """Why the file at ``path`` is no work of the site (a signal file, an asset,
    anything not a page or an image), or None for a page or an image."""
    suffix = PurePosixPath(path).suffix.lower()
    if path in SITE_FILES.values() or path == _HEADERS_FILE or path.startswith("/.well-known/"):
        why = f"{path} is one of the site's signal files, read for its signals, not a work"
    elif suffix == ".xml" and _is_rsl(location):
        why = f"{path} is an RSL licence document, a signal file, not a work"
    elif suffix in _ASSETS:
        why = f"{path} is {_ASSETS[suffix]}, not a page or an image"
    elif suffix in _PAGES or suffix in _IMAGES:
        return None
    else:
        why = (
            f"{path} is not a page or an image; register it with "
            "'consentry work register PATH' if it is a work"
        )
    return FileProblem(path, why, refused=True)


def _is_rsl(location: Path) -> bool:
    try:
        with location.open("rb") as handle:
            return _RSL_NAMESPACE in handle.read(4096)
    except OSError:
        return False


def _read_all(
    files: Iterable[tuple[Path, str]], *, workers: int, max_bytes: int
) -> Iterator[_Read | FileProblem]:
    """Each file's result in the files' order whatever ``workers`` is: skipped files
    at once, pages and images read (in worker processes when ``workers`` > 1)."""
    if workers <= 1:
        for location, path in files:
            yield _skipped(location, path) or _read_one(str(location), path, max_bytes)
        return
    in_flight: deque[tuple[Future[_Read | FileProblem] | FileProblem, str]] = deque()
    # Enough files ahead of the oldest unfinished one to keep every worker busy.
    limit = workers * 16
    with ProcessPoolExecutor(
        max_workers=workers, initializer=start_worker, initargs=(os.getpid(),)
    ) as pool:
        for location, path in files:
            if len(in_flight) >= limit:
                yield _result(*in_flight.popleft())
            skipped = _skipped(location, path)
            job = skipped or pool.submit(_read_one, str(location), path, max_bytes)
            in_flight.append((job, path))
        while in_flight:
            yield _result(*in_flight.popleft())


def _result(job: Future[_Read | FileProblem] | FileProblem, path: str) -> _Read | FileProblem:
    if isinstance(job, FileProblem):
        return job
    try:
        return job.result()
    except Exception as exc:
        return FileProblem(path, f"{path} could not be read ({exc!r})")


def _read_one(location: str, path: str, max_bytes: int) -> _Read | FileProblem:
    """A page or image of the site, fingerprinted, with the signals it carries."""
    data = read_catalogue_file(location, path, max_bytes)
    if isinstance(data, FileProblem):
        return data
    if PurePosixPath(path).suffix.lower() in _PAGES:
        return _page(path, data)
    return _image(path, data)


def _page(path: str, data: bytes) -> _Read | FileProblem:
    try:
        # As the gate reads a page served without a charset.
        html = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return FileProblem(
            path,
            f"{path} is not UTF-8 (bad byte at offset {exc.start}); save the page as UTF-8 "
            "and register the site again",
        )
    text, _ = html_text_and_meta(html)
    printed = replace(fingerprint_text(path, text, size=len(data)), title=_title(html) or path)
    refused = refusal(path, printed)
    if refused is not None:
        return refused
    page = read_html(html, place=path)
    said = page.reservation(kind=MediaKind.TEXT)
    meta = page.as_mapping()
    if "tdm-reservation" in meta or "tdm-policy" in meta:
        said |= read_tdmrep_meta(meta, place=f'{path} <meta name="tdm-reservation">')
    return _Read(FileFingerprint(path, printed), said)


def _image(path: str, data: bytes) -> _Read | FileProblem:
    try:
        printed = fingerprint_bytes(path, data)
    except InputError as exc:
        return FileProblem(path, str(exc))
    return _Read(FileFingerprint(path, printed), read_image(data))


class _TitleParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.state = "before"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and self.state == "before":
            self.state = "in"

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self.state == "in":
            self.state = "after"

    def handle_data(self, data: str) -> None:
        if self.state == "in":
            self.parts.append(data)


def _title(html: str) -> str:
    """The page's first ``<title>``, whitespace collapsed (a work's title holds 200
    characters); empty when it has none."""
    parser = _TitleParser()
    try:
        parser.feed(html)
        parser.close()
    except AssertionError:  # the standard parser gives up on some markup so
        pass
    return " ".join("".join(parser.parts).split())[:200]

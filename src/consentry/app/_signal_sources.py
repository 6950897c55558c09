"""What ``consentry signals import`` reads, by kind of source: recognising a file,
handing its bytes to the reader ``consentry.signals`` has for it, and asking a site's
files (robots.txt, tdmrep.json, ai.txt, RSL licences, ``_headers``) about each path.

Pure but for ``read_local``, which reads one file from disk within a size limit, and
``walk_site`` and ``file_under``, which look at a site's folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from urllib.parse import quote, unquote

from consentry.app._headers_file import HeaderLine, HeadersFile
from consentry.app._signal_fetch import Refusal, Response
from consentry.signals import Problem, Reservation, Signal, Source, Statement
from consentry.signals.aitxt import AiTxt
from consentry.signals.html import read_html
from consentry.signals.odrl import read_odrl_policy
from consentry.signals.publications import read_epub, read_pdf
from consentry.signals.readers import read_headers, read_image
from consentry.signals.robots import RobotsTxt
from consentry.signals.rsl import RslDocument, read_rsl
from consentry.signals.tdmrep import TdmrepJson, read_tdmrep_meta
from consentry.signals.xmp import read_data_mining

__all__ = [
    "MAX_BINARY_BYTES",
    "MAX_FILES",
    "MAX_TEXT_BYTES",
    "SITE_KINDS",
    "TEXT_KINDS",
    "Site",
    "SiteFile",
    "SourceKind",
    "content_reservation",
    "file_under",
    "headers_reservation",
    "kind_of_file",
    "kind_of_response",
    "parse_site_file",
    "read_local",
    "response_reservation",
    "signal_of",
    "unique",
    "url_paths",
    "walk_site",
]

MAX_TEXT_BYTES = 1 << 20
"""A text signal file (or page) larger than this is refused unread: no site needs a
megabyte of rules, and a page's meta tags are at its top."""
MAX_BINARY_BYTES = 64 << 20
"""An image or publication larger than this is refused unread."""


class SourceKind(StrEnum):
    """What a source is, which decides the reader it goes to."""

    ROBOTS_TXT = "robots.txt"
    TDMREP_JSON = "tdmrep.json"
    AI_TXT = "ai.txt"
    RSL = "rsl"
    HEADERS_FILE = "_headers"
    HTTP_RESPONSE = "http-response"
    HTML = "html"
    IMAGE = "image"
    EPUB = "epub"
    PDF = "pdf"
    ODRL = "odrl"
    XMP = "xmp"  # an image's XMP sidecar (photo.xmp beside photo.jpg)


SITE_KINDS = frozenset(
    {
        SourceKind.ROBOTS_TXT,
        SourceKind.TDMREP_JSON,
        SourceKind.AI_TXT,
        SourceKind.RSL,
        SourceKind.HEADERS_FILE,
    }
)
"""The kinds that speak of a site's paths rather than of themselves."""
TEXT_KINDS = SITE_KINDS | {SourceKind.HTML, SourceKind.ODRL, SourceKind.XMP}

# The signal a source's problem is filed under when the source itself cannot be read.
_SIGNAL = {
    SourceKind.ROBOTS_TXT: Signal.ROBOTS_AGENT,
    SourceKind.TDMREP_JSON: Signal.TDMREP_JSON,
    SourceKind.AI_TXT: Signal.AI_TXT,
    SourceKind.RSL: Signal.RSL,
    SourceKind.HEADERS_FILE: Signal.CONTENT_USAGE_HEADER,
    SourceKind.HTTP_RESPONSE: Signal.CONTENT_USAGE_HEADER,
    SourceKind.HTML: Signal.ROBOTS_META,
    SourceKind.IMAGE: Signal.CAWG,
    SourceKind.EPUB: Signal.TDMREP_EPUB,
    SourceKind.PDF: Signal.TDMREP_PDF,
    SourceKind.ODRL: Signal.TDMREP_JSON,
    SourceKind.XMP: Signal.IPTC,
}


def signal_of(kind: SourceKind) -> Signal:
    return _SIGNAL[kind]


# -- recognising a source -----------------------------------------------------------

_SUFFIXES = {
    ".html": SourceKind.HTML,
    ".htm": SourceKind.HTML,
    ".xhtml": SourceKind.HTML,
    ".epub": SourceKind.EPUB,
    ".pdf": SourceKind.PDF,
    ".xmp": SourceKind.XMP,
    **dict.fromkeys(
        (".png", ".jpg", ".jpeg", ".webp", ".gif", ".tif", ".tiff", ".avif", ".heic", ".heif"),
        SourceKind.IMAGE,
    ),
}
_NAMES = (
    ("robots.txt", SourceKind.ROBOTS_TXT),
    ("tdmrep.json", SourceKind.TDMREP_JSON),
    ("ai.txt", SourceKind.AI_TXT),
)
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")
_EPUB_MAGIC = b"PK\x03\x04"
_EPUB_MIMETYPE = b"mimetypeapplication/epub+zip"  # OCF 3.3 §4.2.4: first, uncompressed


def kind_of_file(name: str, data: bytes | None, *, content_only: bool = False) -> SourceKind | None:
    """What a file is, by its name, else (given ``data``) by its content; None when it
    is none of the sources an import reads. With ``content_only``, only the kinds a
    folder holds as its content (pages, images, publications) are recognised."""
    lower = name.lower()
    if not content_only:
        for wanted, kind in _NAMES:
            # A saved copy is often named after its site: example.org.robots.txt.
            if lower == wanted or lower.endswith(("." + wanted, "-" + wanted, "_" + wanted)):
                return kind
        if lower == "_headers":
            return SourceKind.HEADERS_FILE
    suffix = Path(lower).suffix
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    if content_only or data is None:
        return None
    return _kind_of_content(suffix, data)


def _binary_kind(data: bytes) -> SourceKind | None:
    """A PDF, an image or an EPUB, by the bytes each format starts with."""
    if data.startswith(b"%PDF-"):
        return SourceKind.PDF
    riff_webp = data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    heif = data[4:8] == b"ftyp" and data[8:12] in {b"avif", b"avis", b"heic", b"heix", b"mif1"}
    if data.startswith(_IMAGE_MAGIC) or riff_webp or heif:
        return SourceKind.IMAGE
    if data.startswith(_EPUB_MAGIC) and data[30:58] == _EPUB_MIMETYPE:
        return SourceKind.EPUB
    return None


def _kind_of_content(suffix: str, data: bytes) -> SourceKind | None:
    binary = _binary_kind(data)
    if binary is not None:
        return binary
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return SourceKind.HTML
    if suffix in {".xml", ".rsl"} or (head.startswith(b"<") and b"<rsl" in data[:65536]):
        return SourceKind.RSL
    if suffix in {".json", ".jsonld"} or head.startswith((b"[", b"{")):
        # tdmrep.json is an array of rules (TDMRep §sec-tdm-file); a policy, an object.
        return SourceKind.ODRL if head.startswith(b"{") else SourceKind.TDMREP_JSON
    return None


def kind_of_response(response: Response) -> SourceKind:
    """An answer whose body is a page is read as one; any other for its headers."""
    if response.content_type in {"text/html", "application/xhtml+xml"}:
        return SourceKind.HTML
    return SourceKind.HTTP_RESPONSE


def read_local(path: Path, *, limit: int | None = MAX_BINARY_BYTES) -> bytes | Refusal:
    """The bytes of ``path``, or why they were not read (over ``limit``, unreadable)."""
    cap = MAX_BINARY_BYTES if limit is None else limit
    try:
        size = path.stat().st_size
        if size > cap:
            return Refusal(_too_big(size, cap))
        with path.open("rb") as file:
            data = file.read(cap + 1)  # a file that grew since stat() is still bounded
    except OSError as exc:
        return Refusal(f"cannot be read ({exc.strerror or exc})")
    return Refusal(_too_big(len(data), cap)) if len(data) > cap else data


def _too_big(size: int, limit: int) -> str:
    return (
        f"is {size:,} bytes, over the {limit:,} read of such a file, so it was not read; "
        "keep it shorter"
    )


# -- what a source says of itself ---------------------------------------------------


def placed(reservation: Reservation, where: str) -> Reservation:
    """``reservation`` with ``of WHERE`` after each source's place, for readers that
    name only the field they read (``HTTP header Content-Usage of https://...``)."""

    def moved(source: Source) -> Source:
        return Source(source.signal, f"{source.place} of {where}")

    return Reservation(
        tuple(replace(s, source=moved(s.source)) for s in reservation.statements),
        tuple(replace(p, source=moved(p.source)) for p in reservation.problems),
    )


def content_reservation(kind: SourceKind, data: bytes, place: str) -> Reservation:
    """What a page, image, XMP sidecar, publication or policy says of itself. Every directive
    binds whatever the media (``noimageai`` included): a proposal for the owner's
    terms takes the most restrictive, and the label says what a directive covers."""
    match kind:
        case SourceKind.HTML:
            page = read_html(data, place=place)
            tdm = read_tdmrep_meta(
                page.as_mapping(), place=f'{place} <meta name="tdm-reservation">'
            )
            return page.reservation() | tdm
        case SourceKind.IMAGE:
            return placed(read_image(data), place)
        case SourceKind.EPUB:
            return read_epub(data, place=place)
        case SourceKind.PDF:
            return read_pdf(data, place=place)
        case SourceKind.ODRL:
            return read_odrl_policy(data, place=place)
        case SourceKind.XMP:
            return read_data_mining(data, place=place)
        case _:
            raise ValueError(f"{kind.value} is read as a site file, not as content")


_TDM = ("tdm-reservation", "tdm-policy")


def headers_reservation(headers: Iterable[HeaderLine], place: str) -> Reservation:
    """What response headers say, read by ``read_headers``: repeated fields joined with
    commas (RFC 9110 §5.3), but each X-Robots-Tag field read apart, as an agent prefix
    in one must not reach into the next. Each statement's place names the lines."""
    by_name: dict[str, list[HeaderLine]] = {}
    for header in headers:
        by_name.setdefault(header.name.lower(), []).append(header)
    found: list[Reservation] = []
    usage = by_name.get("content-usage", [])
    if usage:
        joined = {"content-usage": ", ".join(h.value for h in usage)}
        found.append(placed(read_headers(joined), _lines(usage, place)))
    tdm = [h for name in _TDM for h in by_name.get(name, [])]
    if tdm:
        fields = {n: ", ".join(h.value for h in by_name[n]) for n in _TDM if n in by_name}
        found.append(placed(read_headers(fields), _lines(tdm, place)))
    for header in by_name.get("x-robots-tag", []):
        found.append(placed(read_headers({"x-robots-tag": header.value}), _lines([header], place)))
    return Reservation.merge(found)


def _lines(headers: Sequence[HeaderLine], place: str) -> str:
    numbers = sorted({h.line for h in headers if h.line})
    if not numbers:
        return place
    return f"{place} line{'s' if len(numbers) > 1 else ''} {', '.join(map(str, numbers))}"


def response_reservation(response: Response, kind: SourceKind) -> Reservation:
    """What an HTTP answer says: its headers, and its body when it is a page."""
    headers = headers_reservation((HeaderLine(k, v) for k, v in response.fields), response.url)
    if kind is SourceKind.HTML:
        return headers | content_reservation(kind, response.body, response.url)
    return headers


# -- a site's files -----------------------------------------------------------------

SiteParsed = RobotsTxt | TdmrepJson | AiTxt | RslDocument | HeadersFile


def parse_site_file(kind: SourceKind, data: bytes, place: str) -> SiteParsed:
    """A site file parsed by its reader; none raises on input."""
    match kind:
        case SourceKind.ROBOTS_TXT:
            return RobotsTxt.parse(data.decode("utf-8", "replace"), place=place)
        case SourceKind.TDMREP_JSON:
            return TdmrepJson.parse(data, place=place)
        case SourceKind.AI_TXT:
            return AiTxt.parse(data, place=place)
        case SourceKind.RSL:
            return read_rsl(data, place=place)
        case SourceKind.HEADERS_FILE:
            return HeadersFile.parse(data, place=place)
        case _:
            raise ValueError(f"{kind.value} is content, not a site file")


def unique(reservation: Reservation) -> Reservation:
    """Each statement and problem once: a site file says the same of many paths."""
    return Reservation(
        tuple(dict.fromkeys(reservation.statements)), tuple(dict.fromkeys(reservation.problems))
    )


@dataclass(slots=True)
class SiteFile:
    """One of a site's files, parsed, and what it has said of the paths asked, each
    statement and problem once (a site file says the same of many paths)."""

    place: str
    kind: SourceKind
    parsed: SiteParsed
    _statements: dict[Statement, None] = field(default_factory=dict)
    _problems: dict[Problem, None] = field(default_factory=dict)

    def said(self, reservation: Reservation) -> None:
        self._statements.update(dict.fromkeys(reservation.statements))
        self._problems.update(dict.fromkeys(reservation.problems))

    def reservation(self) -> Reservation:
        return Reservation(tuple(self._statements), tuple(self._problems))

    def whole(self, agent: str | None) -> Reservation:
        """What the file says read alone, with no site around it: robots.txt, tdmrep.json
        and ai.txt of the site's root, an RSL document's every entry, a ``_headers``
        file's every rule."""
        parsed = self.parsed
        match parsed:
            case RobotsTxt():
                return parsed.reservation("/", agent)
            case TdmrepJson() | AiTxt():
                return parsed.reservation("/")
            case RslDocument():
                entries = [Reservation(problems=parsed.problems)]
                return Reservation.merge(entries + [c.reservation for c in parsed.contents])
            case HeadersFile():
                rules = [headers_reservation(r.headers, parsed.place) for r in parsed.rules]
                return Reservation.merge([Reservation(problems=parsed.problems), *rules])


@dataclass(slots=True)
class Site:
    """A site's files, asked about its paths on behalf of ``agent``. ``origin``
    (``https://example.org``) makes paths URLs for RSL entries that name their host;
    ``read_licences`` are the robots.txt ``License`` URLs whose documents were read,
    which speak in place of the pointer's "reserved for licensing"."""

    agent: str | None = None
    origin: str = ""
    files: list[SiteFile] = field(default_factory=list)
    read_licences: set[str] = field(default_factory=set)
    _asked: set[str] = field(default_factory=set)
    _headers: dict[tuple[str, tuple[HeaderLine, ...]], Reservation] = field(default_factory=dict)

    def licence_urls(self) -> list[str]:
        """The ``License`` URLs of the site's robots.txt, once each."""
        urls = (u for f in self.files if isinstance(f.parsed, RobotsTxt) for u in f.parsed.licences)
        return list(dict.fromkeys(urls))

    def ask(self, path: str) -> None:
        """Ask every file what it says of ``path`` (a URL path with its query)."""
        if path in self._asked:
            return
        self._asked.add(path)
        for entry in self.files:
            entry.said(self._at(entry.parsed, path))

    def _at(self, parsed: SiteParsed, path: str) -> Reservation:
        match parsed:
            case RobotsTxt():
                said = parsed.reservation(path, self.agent)
                kept = tuple(
                    s
                    for s in said.statements
                    if not (s.source.signal is Signal.RSL and s.licence in self.read_licences)
                )
                return Reservation(kept, said.problems)
            case TdmrepJson() | AiTxt():
                return parsed.reservation(path)
            case RslDocument():
                return parsed.reservation(self.origin + path if self.origin else path)
            case HeadersFile():
                lines = parsed.headers_for(path)
                key = (parsed.place, lines)
                if key not in self._headers:
                    said = headers_reservation(lines, parsed.place)
                    self._headers[key] = Reservation(
                        said.statements, parsed.problems + said.problems
                    )
                return self._headers[key]


# -- a site's folder ----------------------------------------------------------------

MAX_FILES = 10_000
"""The files of a folder read at most, folder by folder in name order; a note says
when there were more."""


def file_under(root: Path, url_path: str) -> Path | None:
    """The file under ``root`` a URL path names; None when it would leave ``root``
    (``..``, or a link out of it)."""
    relative = unquote(url_path).lstrip("/")
    candidate = root / relative
    inside = candidate.resolve().is_relative_to(root.resolve())
    return candidate if inside else None


def walk_site(root: Path) -> tuple[list[Path], bool]:
    """The files under ``root``, folder by folder in name order, but hidden folders other than
    ``.well-known`` and links that lead out of it; at most ``MAX_FILES``."""
    top = root.resolve()
    found: list[Path] = []
    for folder, folders, names in os.walk(root):
        folders[:] = sorted(f for f in folders if not f.startswith(".") or f == ".well-known")
        for name in sorted(names):
            path = Path(folder, name)
            if path.is_symlink() and not path.resolve().is_relative_to(top):
                continue  # a link out of the site is not the site's
            if len(found) == MAX_FILES:
                return found, True
            found.append(path)
    return found, False


def url_paths(relative: str) -> tuple[str, ...]:
    """The URL paths a static host serves a file at: its own, and its folder's for an
    index page."""
    own = "/" + quote(relative)
    folder, _, name = relative.rpartition("/")
    if name.lower() in {"index.html", "index.htm"}:
        return (own, "/" + quote(folder + "/") if folder else "/")
    return (own,)

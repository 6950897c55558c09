"""The reservation signals an item carries: its own (HTTP headers, HTML meta tags,
metadata embedded in an image) and its site's (robots.txt, tdmrep.json, ai.txt), the
site's files read from a local mirror or from the corpus's own WARC, never fetched.

The readers are ``consentry.signals``'; this module only finds their input on an item.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from consentry.gate.item import Item
from consentry.signals import Reservation

__all__ = ["SITE_FILES", "SiteSignals", "item_reservation"]

# A site's signal files, by the name a mirror keeps them under, at their place on the
# site: robots.txt (RFC 9309 §2.3), TDMRep's well-known file (TDMRep §3.3), ai.txt.
SITE_FILES: Mapping[str, str] = {
    "robots.txt": "/robots.txt",
    "tdmrep.json": "/.well-known/tdmrep.json",
    "ai.txt": "/ai.txt",
}
_NONE = Reservation()
# A signal file larger than this is not one: read no further (RFC 9309 §2.5 asks
# crawlers to parse at least 500 KiB of a robots.txt).
MAX_SITE_FILE_BYTES = 1 << 20


@dataclass(slots=True)
class SiteSignals:
    """Each site's signal files as text, by (host, file name), each parsed on first use."""

    files: dict[tuple[str, str], str] = field(default_factory=dict)
    _parsed: dict[tuple[str, str], Any] = field(default_factory=dict)

    @classmethod
    def from_mirror(cls, folder: Path) -> SiteSignals:
        """The files a mirror holds: ``folder/<host>/robots.txt``,
        ``folder/<host>/.well-known/tdmrep.json`` and ``folder/<host>/ai.txt``."""
        files: dict[tuple[str, str], str] = {}
        if folder.is_dir():
            for site in sorted(p for p in folder.iterdir() if p.is_dir()):
                for name, place in SITE_FILES.items():
                    path = site / place.lstrip("/")
                    if path.is_file():
                        raw = path.read_bytes()[:MAX_SITE_FILE_BYTES]
                        files[(site.name.lower(), name)] = raw.decode("utf-8", "replace")
        return cls(files)

    @classmethod
    def from_responses(cls, responses: Iterable[tuple[str, bytes]]) -> SiteSignals:
        """The signal files among ``responses`` (URL, body): those whose URL is one's
        place on its site; the first response for a file wins."""
        files: dict[tuple[str, str], str] = {}
        places = {place: name for name, place in SITE_FILES.items()}
        for url, body in responses:
            host, path = _host_and_path(url)
            name = places.get(path.split("?", 1)[0]) if host else None
            if name is not None and (host, name) not in files:
                files[(host, name)] = body[:MAX_SITE_FILE_BYTES].decode("utf-8", "replace")
        return cls(files)

    def __bool__(self) -> bool:
        return bool(self.files)

    def hosts(self) -> Iterator[str]:
        yield from sorted({host for host, _ in self.files})

    def reservation(self, url: str) -> Reservation:
        """What the site's files say about ``url``."""
        host, path = _host_and_path(url)
        if not host:
            return _NONE
        found = [self._read(host, name, path) for name in SITE_FILES if (host, name) in self.files]
        return Reservation.merge(found) if found else _NONE

    def _read(self, host: str, name: str, path: str) -> Reservation:
        key = (host, name)
        parsed = self._parsed.get(key)
        if parsed is None:
            parsed = self._parsed[key] = _parse_site_file(name, self.files[key], host)
        result: Reservation = parsed.reservation(path)
        return result


def _parse_site_file(name: str, text: str, host: str) -> Any:
    from consentry.signals.aitxt import AiTxt  # noqa: PLC0415 - loaded for site files only
    from consentry.signals.robots import RobotsTxt  # noqa: PLC0415
    from consentry.signals.tdmrep import TdmrepJson  # noqa: PLC0415

    place = f"https://{host}{SITE_FILES[name]}"
    if name == "robots.txt":
        return RobotsTxt.parse(text, place=place)
    if name == "tdmrep.json":
        return TdmrepJson.parse(text, place=place)
    return AiTxt.parse(text, place=place)


def _host_and_path(url: str) -> tuple[str, str]:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return "", ""
    path = parts.path or "/"
    return host, f"{path}?{parts.query}" if parts.query else path


def item_reservation(item: Item, site: SiteSignals | None = None) -> Reservation:
    """Every signal ``item`` carries: its HTTP headers' and meta tags' (as the corpus
    readers keep them in ``metadata.http_headers`` and ``metadata.html_meta``), its
    image's embedded metadata, and its site's files for its ``metadata.url``."""
    metadata = item.metadata
    headers = _text_mapping(metadata.get("http_headers"))
    meta = _text_mapping(metadata.get("html_meta"))
    url = metadata.get("url")
    if not headers and not meta and item.image is None and not (site and isinstance(url, str)):
        return _NONE
    from consentry.signals.html import MediaKind  # noqa: PLC0415 - for items with signals
    from consentry.signals.readers import read_headers, read_image, read_meta  # noqa: PLC0415

    kind = MediaKind.IMAGE if item.image is not None else MediaKind.TEXT
    found: list[Reservation] = []
    if headers:
        found.append(read_headers(headers, kind=kind))
    if meta:
        found.append(read_meta(meta, kind=kind))
    if item.image is not None:
        found.append(read_image(item.image))
    if site and isinstance(url, str):
        found.append(site.reservation(url))
    return Reservation.merge(found)


def _text_mapping(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k).lower(): str(v) for k, v in value.items() if isinstance(v, str | int)}

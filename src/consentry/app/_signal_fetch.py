"""Fetching a site's signal files over HTTP for ``consentry signals import URL``: one
site only, bounded in time and size.

What it defends against: the site is the owner's, but what answers may not be. A
redirect is followed only while it stays on the site's host (and port), so an import
never reaches a host the user did not name; a body is read as a stream and dropped
past ``MAX_BODY_BYTES`` (counted after decompression, so a small compressed answer
cannot inflate without bound); every request has a timeout.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from consentry import __version__

__all__ = ["MAX_BODY_BYTES", "Refusal", "Response", "SiteFetcher", "open_client", "same_site"]

# The size a signal file is refused past (as ``consentry.gate.reservations`` reads a
# mirror's); RFC 9309 §2.5 asks crawlers to parse at least 500 KiB of a robots.txt.
MAX_BODY_BYTES = 1 << 20
TIMEOUT_SECONDS = 10.0
MAX_REDIRECTS = 5
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Response:
    """A final answer: its URL (after redirects on the site), status, header fields
    (names lower-cased, each field apart, in order) and body (empty unless 2xx)."""

    url: str
    status: int
    fields: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def values(self, name: str) -> tuple[str, ...]:
        wanted = name.lower()
        return tuple(value for key, value in self.fields if key == wanted)

    @property
    def content_type(self) -> str:
        found = self.values("content-type")
        return found[0].split(";", 1)[0].strip().lower() if found else ""


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why no answer was read: one sentence."""

    reason: str


def _origin(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    return (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(parts.scheme)


def same_site(url: str, site: str) -> bool:
    """Whether ``url`` is on ``site``'s host and port (http and https alike: a site
    moving its visitors to https stays itself)."""
    try:
        host, port = _origin(url)
        site_host, site_port = _origin(site)
        scheme = urlsplit(url).scheme
    except ValueError:
        return False
    if scheme not in _DEFAULT_PORTS or host != site_host:
        return False
    upgraded = port in _DEFAULT_PORTS.values() and site_port in _DEFAULT_PORTS.values()
    return port == site_port or upgraded


def open_client(*, timeout: float = TIMEOUT_SECONDS) -> httpx.Client:
    """The client an import uses: redirects are followed by ``SiteFetcher``, one at a
    time, so that each is checked against the site."""
    return httpx.Client(
        follow_redirects=False,
        timeout=httpx.Timeout(timeout),
        headers={"User-Agent": f"consentry/{__version__} (signals import)"},
    )


class SiteFetcher:
    """GETs URLs on one site; never raises for what the network or the server does."""

    def __init__(self, site: str, *, client: httpx.Client, limit: int = MAX_BODY_BYTES) -> None:
        self.site = site
        self.client = client
        self.limit = limit

    def get(self, url: str) -> Response | Refusal:
        """The answer for ``url``, following redirects that stay on the site."""
        for _ in range(MAX_REDIRECTS + 1):
            if not same_site(url, self.site):
                return Refusal(f"{url} is not on {self.site}, so it was not fetched")
            answer = self._once(url)
            if isinstance(answer, Refusal) or answer.status not in {301, 302, 303, 307, 308}:
                return answer
            location = answer.values("location")
            if not location:
                return Refusal(f"{url} answered {answer.status} with no Location to follow")
            target = urljoin(url, location[0])
            if not same_site(target, self.site):
                return Refusal(
                    f"{url} redirects to {target}, off the site's host, which is not followed"
                )
            url = target
        return Refusal(f"{url} redirected more than {MAX_REDIRECTS} times; not followed")

    def _once(self, url: str) -> Response | Refusal:
        try:
            with self.client.stream("GET", url) as answer:
                fields = tuple((k.lower(), v) for k, v in answer.headers.multi_items())
                if not answer.is_success:
                    return Response(url, answer.status_code, fields)
                body = self._body(answer.headers, answer.iter_bytes())
                if body is None:
                    return Refusal(
                        f"{url} is over {self.limit:,} bytes, more than any signal file "
                        "needs; it was not read"
                    )
                return Response(url, answer.status_code, fields, body)
        except httpx.TimeoutException:
            return Refusal(f"{url} did not answer within {self.client.timeout.read:g} seconds")
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            return Refusal(f"{url} could not be fetched ({type(exc).__name__}: {exc})")

    def _body(self, headers: Mapping[str, str], chunks: Iterator[bytes]) -> bytes | None:
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            return None
        read = bytearray()
        for chunk in chunks:
            read += chunk
            if len(read) > self.limit:
                return None
        return bytes(read)

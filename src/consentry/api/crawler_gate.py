"""A creator's own site as an RSL resource server (RSL 1.0 §6, the Crawler
Authorization Protocol): ``CrawlerGate`` wraps any ASGI application, and an AI
crawler is served only with a licence token its licence server says is active for the
page (``Authorization: License <token>``, §6.2).

A request is a crawler's when its ``User-Agent`` names a known AI crawler (the package's
list, ``consentry/signals/ai_crawlers.json``, or the ``agents`` configured) or when it
presents a ``License`` credential. Every other request passes untouched. A crawler is
answered, per §6.3:

- 401 ``invalid_request`` without a licence token (402 when the site's licence is paid:
  ``paid``, as §6.3.1 answers a crawler that has acquired no licence of a paid one);
- 401 ``invalid_token`` for a token the licence server does not say is active
  (unknown, expired, or its grant revoked or ended);
- 403 ``insufficient_scope`` when the token does not license this page, or not the use
  that crawler makes of what it fetches;
- 503 ``server_error`` when the licence server cannot be asked;

each with ``WWW-Authenticate: License error=..., error_description=...`` (§6.3.2) and
``Link: <licence>; rel="license"; type="application/rsl+xml"`` (§6.3.3), the pointer to
the site's RSL licence, which is also on every page a licensed crawler is served.
The licence document and ``/robots.txt`` stay open: that is where a crawler learns the
terms.

CAP verifies a licence, not who the crawler is (§6): a token is a bearer credential,
good for whoever holds it until it expires or its grant ends.
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consentry.api.licence_introspection import IntrospectionUnavailableError, Introspector
from consentry.errors import ConfigurationError
from consentry.signals.crawlers import ai_crawlers

__all__ = [
    "Crawler",
    "CrawlerAuthorizer",
    "CrawlerGate",
    "GateConfig",
    "Verdict",
    "known_crawlers",
    "refuse",
    "respond",
]

_RSL_TYPE = "application/rsl+xml"
# RFC 9110 §11.2: a token68 credential, as the Bearer-like License scheme carries.
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_MAX_TOKEN = 512


@dataclass(frozen=True, slots=True)
class Crawler:
    """A crawler's robots.txt product token and the consentry categories its operator
    uses what it fetches for (empty when not known)."""

    token: str
    categories: frozenset[str] = frozenset()


@functools.cache
def known_crawlers() -> tuple[Crawler, ...]:
    """The AI crawlers of the package's list (``consentry.signals.ai_crawlers``)."""
    return tuple(Crawler(c.token, frozenset(c.categories)) for c in ai_crawlers())


class _Matcher:
    """Finds the crawler a User-Agent names: a product token as a word of its own
    (letters and digits do not continue it), any case; the longest wins."""

    def __init__(self, crawlers: Sequence[Crawler]) -> None:
        self._by_token = {c.token.lower(): c for c in crawlers}
        tokens = sorted(self._by_token, key=len, reverse=True)
        alternatives = "|".join(re.escape(t) for t in tokens) or r"(?!)"
        self._pattern = re.compile(
            rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])", re.IGNORECASE
        )

    def match(self, user_agent: str) -> Crawler | None:
        found = self._pattern.search(user_agent)
        return None if found is None else self._by_token[found[0].lower()]


def _origin(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"{what} {url!r} is not an absolute http(s) URL; give one")
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True, slots=True)
class GateConfig:
    """How a site gates AI crawlers.

    ``site``: the site's origin as crawlers reach it (``https://example.com``; the URL
    of each page asked about is built on it, never on the request's Host header, which
    a crawler writes). ``licence``: the URL of the site's RSL licence document.
    ``server``: its licence server, the ``server`` of the licence's ``<content>``
    (``https://registry.example/rsl/OWNER_ID``). ``client_id`` and ``client_secret``:
    the owner's client credentials for it. ``agents``: the User-Agent product tokens
    that are AI crawlers (None: the package's list). ``paid``: the licence asks a
    payment (402 without a token). ``cache_seconds``: how long an introspection answer
    is kept (never past the token's expiry; 0: not kept). ``open_paths``: paths served
    to crawlers without a token, besides the licence document."""

    site: str
    licence: str
    server: str
    client_id: str
    client_secret: str = field(repr=False)
    agents: tuple[str, ...] | None = None
    paid: bool = False
    cache_seconds: float = 5.0
    timeout: float = 5.0
    open_paths: tuple[str, ...] = ("/robots.txt",)

    def __post_init__(self) -> None:
        parts = urlsplit(self.site)
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ConfigurationError(
                f"site {self.site!r} is not an origin; give its scheme and host alone, "
                "as https://example.com"
            )
        object.__setattr__(self, "site", _origin(self.site, "site").lower())
        _origin(self.licence, "licence")
        _origin(self.server, "server")
        if not self.client_id or not self.client_secret:
            raise ConfigurationError(
                "the gate needs the owner's client credentials for the licence server; get "
                "them with a request signed by the owner's key: POST /v1/olp/credentials"
            )
        if self.cache_seconds < 0 or self.timeout <= 0:
            raise ConfigurationError("cache_seconds must be 0 or more, and timeout above 0")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> GateConfig:
        """From ``CONSENTRY_RSL_SITE``, ``_LICENCE``, ``_SERVER``, ``_CLIENT_ID``,
        ``_CLIENT_SECRET``, and optionally ``_AGENTS`` (comma-separated), ``_PAID`` (1)
        and ``_CACHE_SECONDS``."""

        def need(name: str) -> str:
            value = env.get(f"CONSENTRY_RSL_{name}", "").strip()
            if not value:
                raise ConfigurationError(f"set CONSENTRY_RSL_{name} for the crawler gate")
            return value

        agents = env.get("CONSENTRY_RSL_AGENTS", "").strip()
        try:
            cache = float(env.get("CONSENTRY_RSL_CACHE_SECONDS", "5"))
        except ValueError:
            raise ConfigurationError("CONSENTRY_RSL_CACHE_SECONDS is not a number") from None
        return cls(
            site=need("SITE"),
            licence=need("LICENCE"),
            server=need("SERVER"),
            client_id=need("CLIENT_ID"),
            client_secret=need("CLIENT_SECRET"),
            agents=tuple(a.strip() for a in agents.split(",") if a.strip()) or None,
            paid=env.get("CONSENTRY_RSL_PAID", "0") == "1",
            cache_seconds=cache,
        )

    @property
    def link(self) -> str:
        """§6.3.3: the Link to the governing licence."""
        return f'<{self.licence}>; rel="license"; type="{_RSL_TYPE}"'


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the gate does with a request: ``status`` 200 lets it through (``crawler``:
    a licensed crawler's, whose answer carries the licence's Link); any other is the
    CAP refusal, with its ``error`` code and one-sentence ``description``."""

    status: int
    crawler: bool = False
    error: str | None = None
    description: str = ""

    @property
    def allowed(self) -> bool:
        return self.status == 200

    def headers(self, config: GateConfig) -> list[tuple[str, str]]:
        """The refusal's headers (§6.3.2, §6.3.3); a licensed crawler's Link."""
        if self.allowed:
            return [("Link", config.link)] if self.crawler else []
        challenge = f"License error={_quoted(self.error or 'invalid_request')}"
        if self.description:
            challenge += f", error_description={_quoted(self.description)}"
        headers = [
            ("WWW-Authenticate", challenge),
            ("Link", config.link),
            ("Cache-Control", "no-store"),
        ]
        if self.status == 503:
            headers.append(("Retry-After", "5"))
        return headers


_PASS = Verdict(200)
_LICENSED = Verdict(200, crawler=True)


class CrawlerAuthorizer:
    """The CAP decision for one request, which the middleware and the proxy endpoint
    (``consentry.api.auth_request``) share."""

    def __init__(
        self, config: GateConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        if config.agents is None:
            crawlers = known_crawlers()
            if not crawlers:
                raise ConfigurationError(
                    "this package ships no list of AI crawlers; pass the gate its agents"
                )
        else:
            known = {c.token.lower(): c for c in known_crawlers()}
            crawlers = tuple(known.get(a.lower(), Crawler(a)) for a in config.agents)
        self._crawlers = _Matcher(crawlers)
        licence = urlsplit(config.licence)
        same_site = _origin(config.licence, "licence").lower() == config.site
        self._open = frozenset(config.open_paths) | ({licence.path} if same_site else set())
        self._introspector = Introspector(
            config.server,
            client_id=config.client_id,
            client_secret=config.client_secret,
            cache_seconds=config.cache_seconds,
            timeout=config.timeout,
            transport=transport,
        )

    async def decide(
        self, target: str, user_agent: str | None, authorization: str | None
    ) -> Verdict:
        """The verdict on a request for ``target`` (its path and query, as sent)."""
        crawler = self._crawlers.match(user_agent or "")
        scheme, _, credential = (authorization or "").strip().partition(" ")
        presented = scheme.lower() == "license"
        parts = urlsplit(target)
        path = parts.path or "/"
        if (crawler is None and not presented) or path in self._open:
            return _PASS
        if not presented:
            return Verdict(
                402 if self.config.paid else 401,
                error="invalid_request",
                description=f"this content is licensed under RSL; obtain a licence token from "
                f"{self.config.server}/token and send it as Authorization: License <token>",
            )
        page = self.config.site + path + (f"?{parts.query}" if parts.query else "")
        return await self._judge(credential.strip(), page, crawler)

    async def _judge(self, credential: str, page: str, crawler: Crawler | None) -> Verdict:
        if len(credential) > _MAX_TOKEN or not _TOKEN68.fullmatch(credential):
            return Verdict(401, error="invalid_token", description="the licence token is malformed")
        try:
            answer = await self._introspector.answer(credential, page)
        except IntrospectionUnavailableError:
            return Verdict(
                503, error="server_error", description="the licence server cannot be asked; retry"
            )
        if not answer.live(time.time()) or answer.owner not in (None, self.config.client_id):
            return Verdict(
                401,
                error="invalid_token",
                description=f"the licence token is expired, revoked or unknown; obtain a new one "
                f"from {self.config.server}/token",
            )
        if not answer.permitted:
            return Verdict(
                403, error="insufficient_scope", description=answer.reason or "not this page"
            )
        if crawler is not None and not crawler.categories <= answer.scope:
            missing = " ".join(sorted(crawler.categories - answer.scope))
            return Verdict(
                403,
                error="insufficient_scope",
                description=f"the licence token does not license {missing}, which "
                f"{crawler.token} uses what it fetches for",
            )
        return _LICENSED

    async def aclose(self) -> None:
        await self._introspector.aclose()


def _target(scope: Scope) -> str:
    raw: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    query: bytes = scope.get("query_string", b"")
    return raw.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")


async def respond(
    send: Send, status: int, headers: Sequence[tuple[str, str]], body: bytes = b""
) -> None:
    """Send a whole response: ``status``, ``headers`` and ``body``."""
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    raw.append((b"content-length", str(len(body)).encode("ascii")))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def refuse(
    send: Send,
    verdict: Verdict,
    config: GateConfig,
    *,
    status: int | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> None:
    """Send ``verdict``'s refusal, a one-sentence plain-text body (with ``status`` in
    place of its own and ``extra`` headers, where given)."""
    headers = [*verdict.headers(config), *extra, ("Content-Type", "text/plain; charset=utf-8")]
    await respond(send, status or verdict.status, headers, (verdict.description + "\n").encode())


class CrawlerGate:
    """ASGI middleware: ``app`` as the site serves it, with AI crawlers held to RSL
    CAP (see the module's docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        config: GateConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.app = app
        self.config = config
        self.authorizer = CrawlerAuthorizer(config, transport=transport)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._closing(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        verdict = await self.authorizer.decide(
            _target(scope), headers.get("user-agent"), headers.get("authorization")
        )
        if not verdict.allowed:
            await refuse(send, verdict, self.config)
            return
        if not verdict.crawler:
            await self.app(scope, receive, send)
            return
        link = self.config.link.encode("latin-1")

        async def linked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"link", link)]}
            await send(message)

        await self.app(scope, receive, linked)

    def _closing(self, send: Send) -> Send:
        async def closing(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await self.authorizer.aclose()
            await send(message)

        return closing

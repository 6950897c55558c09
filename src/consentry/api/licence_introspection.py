"""A resource server's questions to an RSL licence server (RSL 1.0 §5.5, RFC 7662):
is this licence token active, and does it permit this asset? Answers are kept a few
seconds, never past the token's own expiry, so that a crawl of many pages asks once and
a revocation still takes hold within those seconds.

Tokens are secrets: the cache is keyed by their SHA-256, and none is ever logged.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import httpx

from consentry.errors import ConsentryError

__all__ = ["IntrospectionUnavailableError", "Introspector", "TokenAnswer"]

_log = logging.getLogger("consentry.gate")


class IntrospectionUnavailableError(ConsentryError):
    """The licence server could not be asked, or did not answer as RFC 7662 does."""


@dataclass(frozen=True, slots=True)
class TokenAnswer:
    """What the licence server said of one token for one asset: ``active`` and, for an
    active one, whether it ``permitted`` the asset, its ``scope`` (the categories it
    licenses), its expiry (``exp``, seconds since the epoch) and whose grant it is on."""

    active: bool
    permitted: bool = False
    scope: frozenset[str] = frozenset()
    exp: float = 0.0
    owner: str | None = None
    reason: str | None = None

    def live(self, now: float) -> bool:
        """Active and not yet expired at ``now`` (seconds since the epoch)."""
        return self.active and now < self.exp

    @classmethod
    def from_json(cls, data: Any) -> TokenAnswer:
        """An RFC 7662 §2.2 answer; ``IntrospectionUnavailableError`` for anything else."""
        if not isinstance(data, dict) or not isinstance(data.get("active"), bool):
            raise IntrospectionUnavailableError("the licence server's answer has no 'active'")
        if not data["active"]:
            return cls(active=False)
        exp, scope = data.get("exp"), data.get("scope", "")
        if not isinstance(exp, int) or not isinstance(scope, str):
            # An active token without an expiry is not one this gate can cache or trust.
            raise IntrospectionUnavailableError("the licence server's answer has no 'exp'")
        reason = data.get("reason")
        return cls(
            active=True,
            permitted=data.get("permitted") is True,
            scope=frozenset(scope.split()),
            exp=float(exp),
            owner=str(data["owner_id"]) if isinstance(data.get("owner_id"), str) else None,
            reason=reason if isinstance(reason, str) else None,
        )


class Introspector:
    """Asks ``server``'s introspection endpoint with the site's client credentials
    (RSL 1.0 §5.3, HTTP Basic), and keeps each answer ``cache_seconds`` at most."""

    def __init__(
        self,
        server: str,
        *,
        client_id: str,
        client_secret: str,
        cache_seconds: float = 5.0,
        timeout: float = 5.0,
        max_entries: int = 10_000,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._endpoint = server.rstrip("/") + "/introspect"
        self._auth = httpx.BasicAuth(client_id, client_secret)
        self._cache_seconds = cache_seconds
        self._timeout = timeout
        self._max = max_entries
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._kept: OrderedDict[tuple[str, str], tuple[TokenAnswer, float]] = OrderedDict()

    async def answer(self, token: str, resource: str) -> TokenAnswer:
        """The licence server's answer for ``token`` and the asset at ``resource``.

        Raises ``IntrospectionUnavailableError`` when it cannot be reached or refuses
        the site's credentials (the operator's log says which, never with the token)."""
        key = (hashlib.sha256(token.encode("utf-8")).hexdigest(), resource)
        now = time.monotonic()
        kept = self._kept.get(key)
        if kept is not None and now < kept[1]:
            self._kept.move_to_end(key)
            return kept[0]
        answer = await self._ask(token, resource)
        # Kept for a few seconds, and never past the moment the token itself expires.
        ttl = self._cache_seconds
        if answer.active:
            ttl = min(ttl, answer.exp - time.time())
        if ttl > 0:
            self._kept[key] = (answer, now + ttl)
            self._kept.move_to_end(key)
            while len(self._kept) > self._max:
                self._kept.popitem(last=False)
        else:
            self._kept.pop(key, None)
        return answer

    async def _ask(self, token: str, resource: str) -> TokenAnswer:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, transport=self._transport)
        try:
            response = await self._client.post(
                self._endpoint,
                data={"token": token, "resource": resource},
                auth=self._auth,
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            _log.error("the licence server %s cannot be reached: %s", self._endpoint, exc)
            raise IntrospectionUnavailableError("the licence server cannot be reached") from None
        if response.status_code != 200:
            _log.error(
                "the licence server %s answered introspection with %d: %s",
                self._endpoint,
                response.status_code,
                response.text[:300],
            )
            raise IntrospectionUnavailableError("the licence server refused to introspect")
        try:
            return TokenAnswer.from_json(response.json())
        except ValueError:
            raise IntrospectionUnavailableError("the licence server's answer is not JSON") from None

    async def aclose(self) -> None:
        """Close the connections to the licence server."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

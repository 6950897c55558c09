"""What one server worker holds: the registry it opened, the secret its signing rounds
are keyed by, the rate limits, and the options it was served with."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from consentry.api.limits import RateLimiter
from consentry.app import Workspace
from consentry.app.served import ChangeSigning, ServedWorkspace
from consentry.errors import KeyStoreError
from consentry.registry import Actor, Registry
from consentry.settings import Settings

__all__ = ["DEFAULT_MAX_BODY", "Service", "ServiceOptions", "service_secret"]

DEFAULT_MAX_BODY = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    """How the registry is served. Rates are requests a second (0: no limit).
    ``checkpoint_every``: seconds between checks that the log has grown, to sign it (0:
    never); ``witnesses``: each ``'URL VKEY'``, asked to cosign every checkpoint, of
    which ``quorum`` (default all) must."""

    invite_only: bool = False
    max_body: int = DEFAULT_MAX_BODY
    rate_per_key: float = 50.0
    burst_per_key: int = 500
    rate_per_address: float = 100.0
    burst_per_address: int = 1000
    checkpoint_every: float = 2.0
    # A snapshot copies the registry's public tables: a few a minute per key, not 50 a
    # second (0 with ``rate_per_key`` 0: no limit).
    snapshots_per_minute: float = 6.0
    burst_of_snapshots: int = 6
    witnesses: tuple[str, ...] = ()
    quorum: int | None = None


@dataclass(slots=True)
class Service:
    settings: Settings
    options: ServiceOptions
    registry: Registry
    signing: ChangeSigning
    # What the pages key their CSRF tokens by: every worker derives the same.
    pages_key: bytes = b""
    per_key: RateLimiter = field(init=False)
    per_address: RateLimiter = field(init=False)
    snapshots: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        if not self.pages_key:
            # Never an empty key anyone could compute tokens with: one of this process's
            # own (its workers then disagree; ``open`` gives them all the same).
            self.pages_key = secrets.token_bytes(32)
        o = self.options
        self.per_key = RateLimiter(o.rate_per_key, o.burst_per_key, "key")
        self.per_address = RateLimiter(o.rate_per_address, o.burst_per_address, "address")
        snapshot_rate = o.snapshots_per_minute / 60 if o.rate_per_key > 0 else 0
        self.snapshots = RateLimiter(snapshot_rate, o.burst_of_snapshots, "key")

    @classmethod
    def open(cls, settings: Settings, options: ServiceOptions) -> Service:
        operator = Workspace(settings)
        registry = operator.registry
        secret = service_secret(settings.home)
        pages_key = hmac.new(secret, b"consentry pages", hashlib.sha256).digest()
        return cls(settings, options, registry, ChangeSigning(secret), pages_key)

    def public(self) -> ServedWorkspace:
        """The workspace of an unsigned request: it reads only what is public."""
        return ServedWorkspace(self.settings, self.registry, None)

    def reading_as(self, actor: Actor) -> ServedWorkspace:
        """The workspace of a signed read: it acts for ``actor`` and signs nothing."""
        return ServedWorkspace(self.settings, self.registry, actor)

    def close(self) -> None:
        self.registry.close()


def service_secret(home: Path) -> bytes:
    """The secret the service's signing rounds are keyed by, in the operator's home
    (``keys/service.secret``, mode 0600), made on first use; every worker reads the same."""
    path = home / "keys" / "service.secret"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as made:
            made.write(secrets.token_hex(32))
    if path.stat().st_mode & 0o077:
        raise KeyStoreError(f"{path} can be read by others; restrict it with: chmod 600 {path}")
    text = path.read_text("ascii").strip()
    if len(text) < 64:
        raise KeyStoreError(f"{path} is not a service secret; remove it and serve again")
    return bytes.fromhex(text)

"""``init``: make (or upgrade) a registry and give its log an identity, once.

The log's key is minted only where no registry recorded one: a second machine's
``init`` against the same database reuses the identity the first recorded and mints
nothing, so every machine verifies the same log.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from consentry.app.log import adopt_local_log_key, log_origin
from consentry.app.workspace import LOG_KEY, Workspace
from consentry.crypto import KeyPair
from consentry.errors import ConfigurationError
from consentry.log import NoteVerifier
from consentry.registry import Registry
from consentry.store import current_revision, open_engine

__all__ = ["Initialised", "init"]


@dataclass(frozen=True, slots=True)
class Initialised:
    """What ``init`` found or made. ``log_key_file``: where the log's private key is,
    when this home holds it (the operator's); ``None`` on any other machine."""

    database_url: str
    home: Path
    created: bool
    log: NoteVerifier
    log_key_file: Path | None

    def to_json(self) -> dict[str, object]:
        return {
            "database": self.database_url,
            "home": str(self.home),
            "created": self.created,
            "log_key_id": self.log.public.key_id,
            "log_vkey": self.log.vkey(),
            "log_key_file": None if self.log_key_file is None else str(self.log_key_file),
        }


def init(ws: Workspace) -> Initialised:
    """Create the registry at the workspace's database, or upgrade it in place, and
    record the log's identity if none is recorded.

    Raises ``ConfigurationError`` for a registry whose log was signed by a key it never
    recorded, when this home does not hold that key: a new one would fork the log."""
    url = ws.settings.database_url
    engine = open_engine(url)
    try:
        existed = current_revision(engine) is not None
    finally:
        engine.dispose()
    ws.close()
    Registry.create(url).close()
    log = ws.registry.log
    identity = log.identity() or adopt_local_log_key(ws)
    if identity is None:
        if log.latest() is not None:
            raise ConfigurationError(
                f"the registry at {url} has a signed log but records no log key; run "
                "'consentry init' once in the home that holds its key (the operator's)"
            )
        key = KeyPair.generate()
        ws.operator_keys.save(LOG_KEY, key)
        identity = log.adopt_identity(NoteVerifier(log_origin(key.public), key.public))
        if identity.public != key.public:
            # Another machine's init recorded its key first: the one minted here is
            # not the log's and must not be mistaken for it.
            ws.log_key_file.unlink()
    held = _local_log_key(ws)
    return Initialised(
        database_url=url,
        home=ws.settings.home,
        created=not existed,
        log=identity,
        log_key_file=None if held is None or held.public != identity.public else ws.log_key_file,
    )


def _local_log_key(ws: Workspace) -> KeyPair | None:
    return ws.operator_keys.load(LOG_KEY) if ws.operator_keys.has(LOG_KEY) else None

"""``Workspace``: one party's view of one registry, and the keys this machine holds.

Every use case in ``consentry.app`` runs in a workspace. It opens the registry on first
use and turns a party id into that party's ``Signer`` only when the party's own key
folder (``$CONSENTRY_KEYS``) holds its key: holding the private key is what proves,
on this machine, that the caller is the party. The registry's home holds only the log
key, which only the operator needs.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Self

from sqlalchemy.engine import make_url

from consentry.crypto import FileKeyStore, Signer
from consentry.errors import KeyStoreError
from consentry.registry import Actor, Party, PartyKind, Registry
from consentry.settings import Settings, shown

__all__ = ["LOG_KEY", "Workspace"]

LOG_KEY = "log"


class Workspace:
    """Where the registry is, and which parties' keys this machine holds.

    Use as a context manager: the registry it opened is closed on exit."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.party_keys = FileKeyStore(settings.keys_dir)
        self.operator_keys = FileKeyStore(settings.home / "keys")
        self._registry: Registry | None = None

    @classmethod
    def from_env(cls) -> Workspace:
        return cls(Settings.from_env())

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def registry(self) -> Registry:
        """The registry, opened (and its schema upgraded) on first use.

        Raises ``ConfigurationError`` when none was initialised there."""
        if self._registry is None:
            self._registry = Registry.open(self.settings)
        return self._registry

    def registry_at_hand(self) -> bool:
        """Whether a registry may be here to open: a database URL was given, or the
        home's SQLite file exists. Looking must not create one (opening SQLite would
        make its folder and file)."""
        url = make_url(self.settings.database_url)
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return True
        return Path(url.database).exists()

    def close(self) -> None:
        if self._registry is not None:
            self._registry.close()
            self._registry = None

    # -- parties ------------------------------------------------------------------------

    def party(self, party_id: str, kind: PartyKind | None = None) -> Party:
        """The registered party ``party_id`` names (of ``kind``, when given);
        ``NotFoundError`` ("no such owner") when the registry has none, ``InputError``
        when it is not a party id."""
        return self.registry.parties.get(party_id, kind or PartyKind.of(party_id))

    def signer(self, party_id: str, kind: PartyKind | None = None) -> Signer:
        """The party's own key, read from this machine's key folder.

        Raises ``NotFoundError`` for a party the registry does not know, and
        ``KeyStoreError`` naming the party and where its key is expected when this
        machine does not hold it (or holds another key under its name)."""
        party = self.party(party_id, kind)
        store = self.party_keys
        if not store.has(party_id):
            raise KeyStoreError(
                f"this machine holds no key for {party.kind.value} {party_id} "
                f"({party.name!r}): expected {shown(store.path(party_id))}; act from the key "
                f"folder where it was created (set CONSENTRY_KEYS to it){self._moved(party_id)}"
            )
        key = store.load(party_id)
        if key.public.key_id != party.key_id:
            raise KeyStoreError(
                f"{shown(store.path(party_id))} holds key {key.public.key_id}, which does not "
                f"belong to {party.kind.value} {party_id} (its key is {party.key_id}); "
                "restore that party's own key file"
            )
        return key

    def actor(self, party_id: str, kind: PartyKind | None = None) -> Actor:
        """The party as the services see it: its id and the key this machine proved it
        holds by reading the private half."""
        key = self.signer(party_id, kind)
        return Actor(party_id, kind or PartyKind.of(party_id), key.public)

    def _moved(self, party_id: str) -> str:
        # Before party keys had their own folder they sat beside the log key.
        old = self.operator_keys.path(party_id)
        if old.exists():
            return f"; an older consentry kept it in {old}: move it to {self.party_keys.folder}"
        return ""

    @property
    def log_key_file(self) -> Path:
        return self.operator_keys.path(LOG_KEY)

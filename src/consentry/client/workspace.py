"""``RemoteWorkspace``: a ``Workspace`` whose registry is served elsewhere."""

from __future__ import annotations

import os

from consentry.app import Workspace
from consentry.client.http import RegistryClient
from consentry.client.registry import Keyring, RemoteRegistry
from consentry.crypto import Signer
from consentry.errors import ConfigurationError
from consentry.registry import PartyKind, Registry
from consentry.settings import Settings

__all__ = ["RemoteWorkspace"]


class RemoteWorkspace(Workspace):
    """This machine's keys, and a registry at ``settings.registry_url``."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        if not settings.registry_url:
            raise ConfigurationError("no registry URL; set CONSENTRY_REGISTRY=http://host:port")
        self.keyring = Keyring()
        self.client = RegistryClient(settings.registry_url)
        self._remote = RemoteRegistry(
            self.client, self.keyring, invitation=os.environ.get("CONSENTRY_INVITATION")
        )

    @property
    def registry(self) -> Registry:
        return self._remote

    def registry_at_hand(self) -> bool:
        return True

    def signer(self, party_id: str, kind: PartyKind | None = None) -> Signer:
        key = super().signer(party_id, kind)
        self.keyring.add(key)
        return key

    def close(self) -> None:
        self.client.close()

"""``LicenceServer``: the RSL licence server's services (tokens and client credentials)
over an open registry's database, one per registry."""

from __future__ import annotations

import threading
import weakref

from consentry.registry._context import RegistryContext
from consentry.registry.licence_tokens import LicenceTokens
from consentry.registry.olp_clients import OlpClients
from consentry.registry.service import Registry
from consentry.store import session_factory

__all__ = ["LicenceServer"]

_SERVERS: weakref.WeakKeyDictionary[Registry, LicenceServer] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


class LicenceServer:
    """Licence tokens and OLP client credentials on ``registry``'s database."""

    def __init__(self, registry: Registry) -> None:
        context = RegistryContext(session_factory(registry.engine))
        self.tokens = LicenceTokens(context)
        self.clients = OlpClients(context)

    @classmethod
    def of(cls, registry: Registry) -> LicenceServer:
        """The one licence server of ``registry``, made on first use."""
        with _LOCK:
            server = _SERVERS.get(registry)
            if server is None:
                server = _SERVERS[registry] = cls(registry)
            return server

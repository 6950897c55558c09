"""``Registry``: the one entry point adapters (CLI, API, pages) call."""

from __future__ import annotations

from sqlalchemy import Engine

from consentry.errors import ConfigurationError
from consentry.registry._context import RegistryContext
from consentry.registry.access import Access
from consentry.registry.accounts import Accounts
from consentry.registry.licensing import Licensing
from consentry.registry.parties import Parties
from consentry.registry.runs import Runs
from consentry.registry.snapshot import Snapshots
from consentry.registry.terms_service import TermsService
from consentry.registry.transparency import TransparencyLog
from consentry.registry.works import Works
from consentry.settings import Settings
from consentry.store import (
    SCHEMA_REVISION,
    current_revision,
    migrate,
    open_engine,
    session_factory,
)

__all__ = ["Registry"]


class Registry:
    """Owners, licensees, works, terms, licences and the log over one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        context = RegistryContext(session_factory(engine))
        self.parties = Parties(context)
        self.works = Works(context)
        self.terms = TermsService(context)
        self.licensing = Licensing(context, self.works, self.terms)
        self.runs = Runs(context)
        self.log = TransparencyLog(context)
        self.access = Access(context)
        self.accounts = Accounts(context)
        self.snapshots = Snapshots(context)

    @classmethod
    def create(cls, url: str) -> Registry:
        """Open ``url`` and migrate it to the newest schema (``consentry init``)."""
        engine = open_engine(url)
        migrate(engine)
        return cls(engine)

    @classmethod
    def open(cls, settings: Settings) -> Registry:
        """Open an initialised registry; upgrades an older schema in place.

        Raises ``ConfigurationError`` when no registry has been initialised there.
        """
        engine = open_engine(settings.database_url)
        revision = current_revision(engine)
        if revision is None:
            engine.dispose()
            raise ConfigurationError(
                f"no registry at {settings.database_url}; run 'consentry init' first "
                "(or set CONSENTRY_HOME / CONSENTRY_DATABASE_URL)"
            )
        if revision != SCHEMA_REVISION:
            migrate(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

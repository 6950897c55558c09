"""Opening the registry database and bringing its schema to the latest migration."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from consentry.errors import ConfigurationError, StorageError

__all__ = ["current_revision", "head_revision", "migrate", "open_engine", "session_factory"]


def _enable_sqlite_rules(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Foreign keys are off by default in SQLite; WAL lets readers run beside a writer.
    # FULL: a commit is on disk before it returns, so a checkpoint the log has signed
    # and handed out never names entries a power cut could take back.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def open_engine(url: str, **options: Any) -> Engine:
    """An engine for ``url`` (any SQLAlchemy URL); SQLite folders are created.

    Raises ``ConfigurationError`` for a URL SQLAlchemy cannot use.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(
            f"database URL {url!r} is not a SQLAlchemy URL; "
            "use e.g. sqlite:///path/registry.db or postgresql+psycopg://user@host/db"
        ) from exc
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(parsed, **options)
    except (ArgumentError, ImportError) as exc:
        raise ConfigurationError(
            f"cannot open database {parsed.render_as_string(hide_password=True)}: {exc}; "
            "for PostgreSQL install consentry[postgres]"
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _enable_sqlite_rules)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _alembic_config() -> Config:
    config = Config()
    location = resources.files("consentry.store").joinpath("migrations")
    config.set_main_option("script_location", str(location))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:
        raise StorageError("the package ships no migrations; reinstall consentry")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine) -> None:
    """Upgrade the database to the newest schema; a no-op when it is already there."""
    config = _alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise StorageError(
            f"cannot reach database {engine.url.render_as_string(hide_password=True)}: "
            f"{exc.orig}; check that it is running and the URL is right"
        ) from exc
    except SQLAlchemyError as exc:
        raise StorageError(f"migrating the registry database failed: {exc}") from exc

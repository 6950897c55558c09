"""Opening the registry database and bringing its schema to the latest migration."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from consentry.errors import ConfigurationError, StorageError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "SCHEMA_REVISION",
    "current_revision",
    "head_revision",
    "migrate",
    "open_engine",
    "session_factory",
]

# The newest migration, written here so that opening a registry reads one row instead of
# loading Alembic and parsing every migration script (a test holds it to the scripts).
SCHEMA_REVISION = "0009"


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
    from alembic.config import Config  # noqa: PLC0415 - only migrating needs Alembic

    config = Config()
    location = resources.files("consentry.store").joinpath("migrations")
    config.set_main_option("script_location", str(location))
    return config


def head_revision() -> str:
    """The newest migration the package ships, read from its scripts."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - only migrating needs it

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:
        raise StorageError("the package ships no migrations; reinstall consentry")
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at; ``None`` for one never initialised."""
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            versions = connection.execute(text("SELECT version_num FROM alembic_version"))
            found = [str(v) for (v,) in versions]
    except OperationalError as exc:
        raise StorageError(
            f"cannot reach database {engine.url.render_as_string(hide_password=True)}: "
            f"{exc.orig}; check that it is running and the URL is right"
        ) from exc
    return found[0] if len(found) == 1 else None


def migrate(engine: Engine) -> None:
    """Upgrade the database to the newest schema; a no-op when it is already there."""
    from alembic import command  # noqa: PLC0415 - only migrating needs Alembic

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

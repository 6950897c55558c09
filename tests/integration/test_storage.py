"""The schema: migrations reach the models exactly, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from consentry.errors import ConfigurationError, StorageError
from consentry.registry import Registry
from consentry.settings import Settings
from consentry.store import (
    SCHEMA_REVISION,
    Base,
    current_revision,
    head_revision,
    migrate,
    open_engine,
)
from consentry.store.engine import _alembic_config


def test_an_empty_database_migrates_to_head_and_matches_the_models(engine: Engine) -> None:
    assert current_revision(engine) is None
    migrate(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    tables = set(inspect(engine).get_table_names())
    expected = {
        "owners",
        "licensees",
        "public_keys",
        "works",
        "fingerprints",
        "collections",
        "terms",
        "license_requests",
        "grants",
        "revocations",
        "events",
        "disputes",
    }
    assert expected <= tables


def test_migrating_twice_is_a_no_op(engine: Engine) -> None:
    migrate(engine)
    migrate(engine)
    assert current_revision(engine) == head_revision()


def test_downgrade_to_nothing_and_back(engine: Engine) -> None:
    migrate(engine)
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert "works" not in inspect(engine).get_table_names()
    migrate(engine)
    assert "works" in inspect(engine).get_table_names()


def test_events_are_append_only_in_the_database_itself(engine: Engine) -> None:
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO events"
                " (kind, actor_id, subject_id, created_at, body, key_id, signature)"
                " VALUES ('x', 'a', 's', CURRENT_TIMESTAMP, '{}', 'k', 'sig')"
            )
        )
    for statement in ("UPDATE events SET kind = 'y'", "DELETE FROM events"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT kind FROM events")).scalar_one() == "x"


def test_opening_a_registry_that_was_never_initialised_says_what_to_run(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path, database_url=f"sqlite:///{tmp_path / 'none.db'}", keys_dir=tmp_path / "k"
    )
    with pytest.raises(ConfigurationError, match="run 'consentry init' first"):
        Registry.open(settings)


def test_a_bad_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="not a SQLAlchemy URL"):
        open_engine("not a url at all")


def test_an_unreachable_database_is_reported_with_what_to_check() -> None:
    engine = open_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    with pytest.raises(StorageError, match="check that it is running"):
        migrate(engine)


def test_the_schema_revision_a_registry_is_opened_at_is_the_newest_migration() -> None:
    # Registry.open compares with SCHEMA_REVISION so as not to load every script.
    assert head_revision() == SCHEMA_REVISION

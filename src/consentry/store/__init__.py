"""Persistence: SQLAlchemy models, Alembic migrations, SQLite by default, PostgreSQL."""

from consentry.store.engine import (
    SCHEMA_REVISION,
    current_revision,
    head_revision,
    migrate,
    open_engine,
    session_factory,
)
from consentry.store.models import Base

__all__ = [
    "SCHEMA_REVISION",
    "Base",
    "current_revision",
    "head_revision",
    "migrate",
    "open_engine",
    "session_factory",
]

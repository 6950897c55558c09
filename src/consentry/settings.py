"""Where the registry lives: ``$CONSENTRY_HOME`` and ``$CONSENTRY_DATABASE_URL``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings"]


@dataclass(frozen=True, slots=True)
class Settings:
    home: Path
    database_url: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the environment: home defaults to ``./.consentry``, the database to SQLite
        inside it."""
        env = os.environ if environ is None else environ
        home = Path(env.get("CONSENTRY_HOME") or ".consentry")
        url = env.get("CONSENTRY_DATABASE_URL") or f"sqlite:///{home / 'registry.db'}"
        return cls(home=home, database_url=url)

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

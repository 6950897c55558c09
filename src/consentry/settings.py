"""Where things live: the registry (``$CONSENTRY_HOME``, ``$CONSENTRY_DATABASE_URL``)
and the acting party's own keys (``$CONSENTRY_KEYS``), which are never the registry's."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings", "shown"]


@dataclass(frozen=True, slots=True)
class Settings:
    """``home``: the registry operator's folder (the SQLite file, the index, the log
    key). ``keys_dir``: this party's own private keys, apart from any registry."""

    home: Path
    database_url: str
    keys_dir: Path
    # A registry served over HTTP (``consentry serve`` elsewhere), when this machine is
    # a client of one rather than holding the registry itself.
    registry_url: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the environment: home defaults to ``./.consentry``, the database to
        SQLite inside it, the party's keys to ``~/.config/consentry/keys``."""
        env = os.environ if environ is None else environ
        home = Path(env.get("CONSENTRY_HOME") or ".consentry")
        url = env.get("CONSENTRY_DATABASE_URL") or f"sqlite:///{home / 'registry.db'}"
        keys = env.get("CONSENTRY_KEYS")
        keys_dir = Path(keys) if keys else _config_home(env) / "consentry" / "keys"
        remote = env.get("CONSENTRY_REGISTRY") or None
        return cls(home=home, database_url=url, keys_dir=keys_dir, registry_url=remote)

    @property
    def log_key_file(self) -> Path:
        """The log's private key: only the operator's home holds it."""
        return self.home / "keys" / "log.key"


def _config_home(env: Mapping[str, str]) -> Path:
    configured = env.get("XDG_CONFIG_HOME")
    return Path(configured) if configured else Path.home() / ".config"


def shown(path: Path) -> str:
    """A path as a user would type it: under their home folder, starting with ``~``."""
    try:
        return f"~/{path.absolute().relative_to(Path.home())}"
    except (ValueError, RuntimeError):
        return str(path)

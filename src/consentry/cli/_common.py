"""What every command shares: the workspace, printing records, parsing options.

Kept light: a command imports what it needs when it runs, so ``--help`` and small
commands start without loading the database layer or the native kernels."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.console import Console

from consentry.errors import InputError

if TYPE_CHECKING:
    from consentry.app import Workspace
    from consentry.client import RemoteWorkspace
    from consentry.gate import GateMode
    from consentry.settings import Settings
    from consentry.terms import Category

__all__ = [
    "CliState",
    "cli_settings",
    "err",
    "out",
    "parse_category",
    "parse_mode",
    "parse_until",
    "print_json",
    "remote_workspace",
    "state",
    "workspace",
]

# Piped or captured output is for reading later: wide enough that ids are never cut.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False)


@dataclass
class CliState:
    debug: bool = False
    registry_url: str | None = None


state = CliState()


def cli_settings() -> Settings:
    """The environment's settings, with the registry ``--registry`` names, if given."""
    from dataclasses import replace

    from consentry.settings import Settings

    settings = Settings.from_env()
    if state.registry_url:
        return replace(settings, registry_url=state.registry_url)
    return settings


@contextmanager
def workspace() -> Iterator[Workspace]:
    """The workspace the environment names (a served registry when
    ``$CONSENTRY_REGISTRY`` is set); its registry is closed afterwards."""
    settings = cli_settings()
    if settings.registry_url:
        from consentry.client import RemoteWorkspace

        with RemoteWorkspace(settings) as remote:
            yield remote
        return
    from consentry.app import Workspace

    with Workspace(settings) as ws:
        yield ws


@contextmanager
def remote_workspace() -> Iterator[RemoteWorkspace]:
    """The served registry ``$CONSENTRY_REGISTRY`` names; ``ConfigurationError`` when
    none is named (the command needs one)."""
    from consentry.client import RemoteWorkspace
    from consentry.errors import ConfigurationError

    settings = cli_settings()
    if not settings.registry_url:
        raise ConfigurationError(
            "this command talks to a served registry: set CONSENTRY_REGISTRY=http://host:port"
        )
    with RemoteWorkspace(settings) as remote:
        yield remote


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        from consentry.clock import format_time

        return format_time(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, frozenset | set):
        return sorted(value)
    raise TypeError(f"cannot print {type(value).__name__} as JSON")


def print_json(record: dict[str, Any]) -> None:
    """One JSON object on one line of standard output."""
    sys.stdout.write(json.dumps(record, default=_default, ensure_ascii=False) + "\n")


def parse_category(text: str) -> Category:
    from consentry.terms import Category

    try:
        return Category(text)
    except ValueError:
        names = ", ".join(c.value for c in Category)
        raise InputError(f"--purpose {text!r} is not a use category; use one of {names}") from None


def parse_mode(text: str) -> GateMode:
    from consentry.gate.policy import GateMode

    try:
        return GateMode(text)
    except ValueError:
        raise InputError(f"--mode {text!r} is not consent-only or opt-out") from None


def parse_until(text: str | None, *, option: str = "--until") -> datetime | None:
    from consentry.clock import parse_time

    return None if text is None else parse_time(text, what=option)

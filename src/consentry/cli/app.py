"""The ``consentry`` command: parses, calls the application layer, prints. Nothing else."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any, cast

import typer
from typer.core import TyperGroup

from consentry import __version__
from consentry.cli._common import out, print_json, state, workspace

__all__ = ["app"]

# Every command: the module that defines it and its name there, in the order --help
# lists them. A command's module is imported when the command runs (or a listing of
# every command is asked for), so a command pays for its own options and imports, not
# for every other command's.
_COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("consentry.cli.check", "check"),
    "summary": ("consentry.cli.summary", "summary"),
    "demo": ("consentry.cli.demo", "demo"),
    "serve": ("consentry.cli.serve", "serve"),
    "invite": ("consentry.cli.serve", "invite"),
    "status": ("consentry.cli.serve", "status"),
    "init": (__name__, "init"),
    "owner": ("consentry.cli.parties", "owner_app"),
    "licensee": ("consentry.cli.parties", "licensee_app"),
    "work": ("consentry.cli.works", "work_app"),
    "terms": ("consentry.cli.terms", "terms_app"),
    "license": ("consentry.cli.license", "license_app"),
    "gate": ("consentry.cli.gate", "gate_app"),
    "manifest": ("consentry.cli.manifest", "manifest_app"),
    "log": ("consentry.cli.log", "log_app"),
    "usage": ("consentry.cli.log", "usage_app"),
    "royalties": ("consentry.cli.royalties", "royalties_app"),
    "witness": ("consentry.cli.witness", "witness_app"),
    "sketch": ("consentry.cli.check", "sketch_app"),
    "signals": ("consentry.cli.signals", "signals_app"),
}


def _made(name: str) -> Any:
    """Command ``name`` as Click runs it, made as typer makes a subcommand."""
    module, attribute = _COMMANDS[name]
    command = getattr(importlib.import_module(module), attribute)
    holder = typer.Typer(add_completion=False)
    holder.callback()(_nothing)  # a group: ``name`` is made as its subcommand
    if isinstance(command, typer.Typer):
        holder.add_typer(command, name=name)
    else:
        holder.command(name)(command)
    return cast(TyperGroup, typer.main.get_command(holder)).commands[name]


def _nothing() -> None:
    """Nothing."""


class _Commands(MutableMapping[str, Any]):
    """The root's commands by name; listing their names imports nothing, and each is
    made when first asked for."""

    def __init__(self, made: Mapping[str, Any]) -> None:
        self._made = dict(made)

    def __getitem__(self, name: str) -> Any:
        if name not in self._made:
            if name not in _COMMANDS:
                raise KeyError(name)
            self._made[name] = _made(name)
        return self._made[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._made[name] = command

    def __delitem__(self, name: str) -> None:
        del self._made[name]

    def __iter__(self) -> Iterator[str]:
        yield from _COMMANDS
        yield from (name for name in self._made if name not in _COMMANDS)

    def __len__(self) -> int:
        return len(_COMMANDS) + sum(1 for name in self._made if name not in _COMMANDS)

    def __contains__(self, name: object) -> bool:
        return name in _COMMANDS or name in self._made


class _Root(TyperGroup):
    """``consentry``: its commands made as they are needed."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.commands = _Commands(self.commands)


app = typer.Typer(
    name="consentry",
    help="Consent at ingestion, accountability at publication: register works, set terms, "
    "license them, and keep a signed record of every change.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=_Root,
)


def _version(value: bool) -> None:
    if value:
        out.print(f"consentry {__version__}")
        raise typer.Exit


@app.callback()
def root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    registry: str | None = typer.Option(
        None,
        "--registry",
        help="A served registry's URL (as CONSENTRY_REGISTRY): act on it from this machine.",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Registry at $CONSENTRY_HOME (default ./.consentry) or $CONSENTRY_DATABASE_URL, or
    served at $CONSENTRY_REGISTRY (--registry); this party's own keys in $CONSENTRY_KEYS
    (default ~/.config/consentry/keys)."""
    state.debug = debug
    state.registry_url = registry


@app.command("init")
def init(as_json: bool = typer.Option(False, "--json", help="Print the result as JSON.")) -> None:
    """Create (or upgrade) the registry database; give its log a key, once.

    Against a registry another machine initialised, the log key it recorded is kept and
    no second one is made."""
    from consentry import app as application

    with workspace() as ws:
        done = application.init(ws)
    if as_json:
        print_json(done.to_json())
        return
    verb = "created" if done.created else "up to date"
    out.print(f"registry {verb}: {done.database_url}")
    if done.log_key_file is not None:
        out.print(f"log key {done.log.public.key_id} in {done.log_key_file}")
    else:
        out.print(
            f"log key {done.log.public.key_id} is held by the registry's operator "
            "(this home verifies the log; it does not sign it)"
        )

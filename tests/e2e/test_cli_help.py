"""Every command's ``--help`` reads as a command line does: flags without a value, an
argument as its upper-case name (``FILES...``), a value as ``TEXT``, ``PATH``, ``INTEGER``.

typer 0.27 began printing ``<str>``, ``<bool>``, ``<int range>`` and ``{files}`` in their
place; these tests fail if any command's help shows them again."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from typer.main import get_command

from consentry.cli.app import app
from tests.e2e.conftest import Cli

# A type label in angle brackets, as typer >= 0.27 prints one. Help text of our own may
# still name a part in brackets ("consentry.witness/<key id>").
_TYPE_LABEL = re.compile(
    r"<(?:bool|str|text|int|integer|float|path|file|dir|uuid|datetime|choice|list\[|tuple\[)"
    r"[^<>\n]*>",
    re.IGNORECASE,
)
_BRACES = re.compile(r"\{[^{}\n]*\}")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _paths(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _paths(sub, (*path, name))


COMMAND_PATHS = list(_paths(get_command(app)))


def _help(cli: Cli, *path: str) -> str:
    # A fixed width, so that rows wrap the same on every terminal.
    wide = Cli(cli.home, keys=cli.keys, env={"COLUMNS": "100"})
    return _ANSI.sub("", wide(*path, "--help").stdout)


def test_the_walk_finds_the_whole_tree() -> None:
    assert () in COMMAND_PATHS
    for path in [("check",), ("gate", "run"), ("royalties", "statement"), ("log", "verify")]:
        assert path in COMMAND_PATHS
    assert len(COMMAND_PATHS) > 40


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=lambda p: " ".join(("consentry", *p)))
def test_help_shows_no_placeholders(cli: Cli, path: tuple[str, ...]) -> None:
    shown = _help(cli, *path)
    usage = [line.strip() for line in shown.splitlines() if line.strip().startswith("Usage:")]
    assert usage, f"no usage line in:\n{shown}"
    assert usage[0].startswith(" ".join(("Usage: consentry", *path, "[OPTIONS]"))), usage[0]
    assert not _BRACES.search(usage[0]), usage[0]
    assert not _TYPE_LABEL.search(shown), shown


def test_help_shows_conventional_metavars(cli: Cli) -> None:
    check = _help(cli, "check")
    assert "Usage: consentry check [OPTIONS] FILES..." in check
    assert re.search(r"--min-span\s+INTEGER\s", check)
    assert re.search(r"--sketch\s+PATH\s", check)
    assert re.search(r"--name\s+TEXT\s", check)
    assert re.search(r"--json\s+Print one JSON report", check)  # a flag takes no value

    gate = _help(cli, "gate", "run")
    assert "Usage: consentry gate run [OPTIONS] CORPUS" in gate
    assert re.search(r"--workers\s+INTEGER RANGE \[x>=1\]\s", gate)
    assert re.search(r"--resume\s+Finish an interrupted run", gate)

    statement = _help(cli, "royalties", "statement")
    assert "Usage: consentry royalties statement [OPTIONS] [MANIFESTS]..." in statement

"""``consentry signals import SOURCE``: a site's signals, read into proposed terms."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from consentry.cli._common import out, print_json

if TYPE_CHECKING:
    from consentry.app.signal_import import ImportedSignals, SourceRead
    from consentry.signals import Statement

__all__ = ["import_signals_command"]

# A folder's pages with nothing to say are counted, not listed one per line.
_QUIET_LISTED = 20
_AGENTS_SHOWN = 3


def import_signals_command(
    source: str = typer.Argument(
        ...,
        help="A site's address (http:// or https://), its folder, or one signal file.",
    ),
    agent: str | None = typer.Option(
        None,
        "--agent",
        help="The crawler whose robots.txt group and meta tags to read (e.g. GPTBot); "
        "default: every crawler's, the most restrictive.",
    ),
    site: str | None = typer.Option(
        None,
        "--site",
        help="For a folder: the address it is published at, so that robots.txt "
        "License: URLs on it are read from the folder.",
    ),
    out_file: Path | None = typer.Option(
        None, "--out", help="Write the proposed terms to this terms JSON file."
    ),
    force: bool = typer.Option(False, "--force", help="Replace the --out file if it exists."),
    timeout: float = typer.Option(
        10.0, "--timeout", min=0.1, help="For an address: seconds to wait for each answer."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Read a site's files (robots.txt, tdmrep.json, ai.txt, RSL, _headers, pages) into
    proposed terms, for the owner to review before setting them."""
    from consentry.app.signal_import import import_signals, save_proposed_terms

    imported = import_signals(source, agent=agent, site=site, timeout=timeout)
    written = None if out_file is None else save_proposed_terms(imported, out_file, force=force)
    if as_json:
        record = imported.to_json()
        record["out"] = None if written is None else str(written)
        print_json(record)
        return
    _render(imported, written)


def _render(imported: ImportedSignals, written: Path | None) -> None:
    whom = "every crawler" if imported.agent is None else imported.agent
    out.print(f"proposed terms from {escape(imported.source)} (as read for {escape(whom)})")
    _proposals(imported)
    _sources(imported.read)
    _statements(imported.reservation.statements)
    problems = imported.reservation.problems
    if problems:
        out.print(f"\n[red]problems[/red] ({len(problems)}; each reserves every use until fixed)")
        for problem in problems:
            out.print(f"  {escape(problem.describe())}")
    for note in imported.notes:
        out.print(f"\nnote: {escape(note)}")
    if written is None:
        step = "write them to a file with --out FILE, review it"
    else:
        out.print(f"\nwrote the proposed terms to {escape(str(written))}")
        step = f"review {escape(str(written))}"
    file = "FILE" if written is None else escape(str(written))
    out.print(
        f"\nThese terms are a proposal, not yet published: {step} (a category no signal "
        "speaks of is left out, to be inherited), then publish it with "
        f"consentry terms set OWNER --owner OWNER --file {file}"
    )


def _proposals(imported: ImportedSignals) -> None:
    from rich.table import Table

    table = Table("use", "proposed", "decided by")
    for proposal in imported.proposals():
        if proposal.permission is None or proposal.deciding is None:
            table.add_row(proposal.category.value, "—", "no signal speaks of it (inherited)")
            continue
        deciding = proposal.deciding
        who = f" to {deciding.agent}" if deciding.agent else ""
        table.add_row(
            proposal.category.value,
            proposal.permission.value,
            escape(f'{deciding.source.describe()}{who} ("{deciding.label}")'),
        )
    out.print(table)


def _sources(read: Iterable[SourceRead]) -> None:
    from consentry.app.signal_import import ReadStatus

    entries = list(read)

    def is_quiet(entry: SourceRead) -> bool:
        return entry.status is ReadStatus.READ and not entry.signals

    quiet = sum(1 for r in entries if is_quiet(r))
    shown = [r for r in entries if quiet <= _QUIET_LISTED or not is_quiet(r)]
    out.print("\nsources")
    for entry in shown:
        colour = {"read": "green", "absent": "dim", "refused": "red"}[entry.status.value]
        signals = ", ".join(sorted(s.value for s in entry.signals)) or "no signals"
        detail = entry.reason if entry.status is ReadStatus.REFUSED else signals
        if entry.status is ReadStatus.ABSENT:
            detail = "not there"
        out.print(
            f"  [{colour}]{entry.status.value:<8}[/{colour}] {entry.kind.value:<14} "
            f"{escape(entry.place)}  [dim]{escape(detail or '')}[/dim]"
        )
    if quiet > _QUIET_LISTED:
        out.print(f"  ... and {quiet:,} more files read, with no signals of their own")


def _statements(statements: Iterable[Statement]) -> None:
    from consentry.signals import Source

    # A robots.txt rule read for every crawler says the same to each group that names
    # one: said once, with the crawlers counted.
    by_source: dict[Source, dict[tuple[str, str, str, bool], list[str | None]]] = {}
    for s in statements:
        said = by_source.setdefault(s.source, {})
        key = (s.category.value, s.permission.value, s.label, s.outdated)
        said.setdefault(key, []).append(s.agent)
    if not by_source:
        out.print("\nno signal states anything about AI use")
        return
    out.print("\nstatements, by source")
    for source, said in by_source.items():
        out.print(f"  {escape(source.describe())}")
        for (category, permission, label, outdated), agents in said.items():
            old = " [yellow](outdated label)[/yellow]" if outdated else ""
            out.print(f'    {category} {permission}{_addressed(agents)}: "{escape(label)}"{old}')


def _addressed(agents: list[str | None]) -> str:
    named = [a for a in agents if a is not None]
    if not named:
        return ""
    shown = ", ".join(named[:_AGENTS_SHOWN]) + (", ..." if len(named) > _AGENTS_SHOWN else "")
    whom = named[0] if len(named) == 1 else f"{len(named)} crawlers ({shown})"
    prefix = " to every crawler, and" if None in agents else ""
    return escape(f"{prefix} to {whom}")

"""``consentry work register`` and ``consentry work list``."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from consentry.cli._common import err, load_key, out, print_json, registry_session
from consentry.cli.terms import load_terms_file
from consentry.registry import (
    DEFAULT_MAX_BYTES,
    FileFingerprint,
    FileProblem,
    Registration,
    RegistrationStatus,
    discover_files,
    fingerprint_files,
    format_time,
)

__all__ = ["work_app"]

work_app = typer.Typer(help="Register and list works.", no_args_is_help=True)


def _registration_record(result: Registration) -> dict[str, object]:
    record: dict[str, object] = {
        "status": result.status.value,
        "id": result.work.id,
        "path": result.path,
        "kind": result.work.kind,
        "media_type": result.work.media_type,
        "size": result.work.size,
        "digest": result.work.digest,
    }
    if result.status is RegistrationStatus.DISPUTED:
        record["registered_by"] = result.work.owner_id
        record["dispute_id"] = result.dispute_id
    return record


def _line(result: Registration | FileProblem) -> str:
    if isinstance(result, FileProblem):
        return f"[red]skipped   [/red] {'-':<20} {result.message}"
    status = result.status.value
    if result.status is RegistrationStatus.DISPUTED:
        return (
            f"[yellow]{status:<10}[/yellow] {result.work.id:<20} {result.path}  "
            f"(already registered by {result.work.owner_id}; dispute {result.dispute_id})"
        )
    colour = "green" if result.status is RegistrationStatus.REGISTERED else "dim"
    return (
        f"[{colour}]{status:<10}[/{colour}] {result.work.id:<20} {result.path}  "
        f"[dim]{result.work.kind}, {result.work.size:,} B[/dim]"
    )


@work_app.command("register")
def register(
    paths: list[Path] = typer.Argument(
        ..., help="Files and folders (recursive; git: tracked only)."
    ),
    owner: str = typer.Option(..., "--owner", help="Owner id (own_...); its key signs."),
    collection: str | None = typer.Option(None, "--collection", help="Collection name."),
    terms_file: Path | None = typer.Option(
        None, "--terms", help="Terms JSON to set on the collection (or the owner without one)."
    ),
    workers: int = typer.Option(os.cpu_count() or 1, "--workers", min=1, help="Processes."),
    max_bytes: int = typer.Option(DEFAULT_MAX_BYTES, "--max-bytes", min=1, help="Largest file."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON record per file."),
) -> None:
    """Fingerprint files locally and register them; one line per file.

    The content never leaves this machine: only fingerprints and metadata are stored.
    Exit status 1 when any file was skipped (each is reported with the reason).
    """
    key = load_key(owner)
    terms = load_terms_file(terms_file) if terms_file else None
    files = discover_files(paths)
    tally: Counter[str] = Counter()
    with registry_session() as registry:
        problems: list[FileProblem] = []

        def fingerprints(progress: Progress, task: TaskID) -> Iterator[FileFingerprint]:
            for result in fingerprint_files(files, workers=workers, max_bytes=max_bytes):
                progress.advance(task)
                if isinstance(result, FileProblem):
                    problems.append(result)
                    _emit(result, as_json)
                    tally["skipped"] += 1
                else:
                    yield result

        with Progress(
            TextColumn("fingerprinting"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as progress:
            task = progress.add_task("files", total=len(files))
            for result in registry.works.register(
                owner, key, fingerprints(progress, task), collection=collection
            ):
                tally[result.status.value] += 1
                _emit(result, as_json)
        if terms is not None:
            target = registry.works.find_collection(owner, collection).id if collection else owner
            registry.terms.set(target, owner, key, terms)
    if not as_json:
        summary = ", ".join(
            f"{tally[s]} {s}" for s in ("registered", "existing", "disputed", "skipped")
        )
        out.print(f"[bold]{len(files)} file(s):[/bold] {summary}")
    if problems:
        raise typer.Exit(1)


def _emit(result: Registration | FileProblem, as_json: bool) -> None:
    if as_json:
        if isinstance(result, FileProblem):
            print_json({"status": "skipped", "path": result.path, "error": result.message})
        else:
            print_json(_registration_record(result))
    else:
        out.print(_line(result))


@work_app.command("list")
def list_works(
    owner: str | None = typer.Option(None, "--owner", help="Only this owner's works."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON record per work."),
) -> None:
    """List registered works."""
    with registry_session() as registry:
        works = registry.works.all(owner_id=owner, limit=limit)
    if as_json:
        for work in works:
            print_json(
                {
                    "id": work.id,
                    "owner_id": work.owner_id,
                    "collection_id": work.collection_id,
                    "path": work.path,
                    "title": work.title,
                    "kind": work.kind,
                    "media_type": work.media_type,
                    "size": work.size,
                    "spdx": work.spdx,
                    "digest": work.digest,
                    "registered_at": format_time(work.created_at),
                }
            )
        return
    table = Table("id", "owner", "path", "kind", "size", "licence")
    for work in works:
        table.add_row(
            work.id, work.owner_id, work.path, work.kind, f"{work.size:,}", work.spdx or ""
        )
    out.print(table)
    out.print(f"{len(works)} work(s)")

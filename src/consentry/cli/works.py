"""``consentry work register`` and ``consentry work list``."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from consentry.cli._common import err, out, print_json, workspace
from consentry.errors import InputError

if TYPE_CHECKING:
    from rich.progress import Progress

    from consentry.app.site_works import RegisteredSite, SiteRegistration
    from consentry.app.works import RegisteredCatalogue
    from consentry.registry import Registration
    from consentry.registry.catalogue import FileProblem
    from consentry.terms import Terms

__all__ = ["work_app"]

work_app = typer.Typer(help="Register and list works.", no_args_is_help=True)


def _line(result: Registration | FileProblem) -> str:
    from consentry.registry import RegistrationStatus
    from consentry.registry.catalogue import FileProblem

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


def _emit(result: Registration | FileProblem, as_json: bool) -> None:
    from consentry.registry.catalogue import FileProblem

    if not as_json:
        out.print(_line(result))
    elif isinstance(result, FileProblem):
        print_json({"status": "skipped", "path": result.path, "error": result.message})
    else:
        print_json(result.to_json())


def _progress() -> Progress:
    """The bar ``work register`` shows on a terminal: files and megabytes read."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("fingerprinting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[mb]:,.1f} MB at {task.fields[rate]:,.1f} MB/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def _advancing(progress: Progress) -> tuple[Callable[[int], None], Callable[[int], None]]:
    """``on_start(files)`` and ``on_fingerprinted(bytes)`` moving ``progress``."""
    task = progress.add_task("files", total=None, mb=0.0, rate=0.0)
    read = [0]
    started = time.monotonic()

    def on_fingerprinted(size: int) -> None:
        # Files are saved a batch at a time; the bar moves as each one is read.
        read[0] += size
        mb = read[0] / 1e6
        progress.update(task, advance=1, mb=mb, rate=mb / max(time.monotonic() - started, 1e-9))

    return (lambda files: progress.update(task, total=files)), on_fingerprinted


@work_app.command("register")
def register(
    paths: list[Path] | None = typer.Argument(
        None, help="Files and folders (recursive; git: tracked only)."
    ),
    owner: str | None = typer.Option(
        None,
        "--owner",
        help="Owner id (own_...); its key signs. Needed to register, not with --export.",
    ),
    collection: str | None = typer.Option(None, "--collection", help="Collection name."),
    terms_file: Path | None = typer.Option(
        None, "--terms", help="Terms JSON to set on the collection (or the owner without one)."
    ),
    export: str | None = typer.Option(
        None,
        "--export",
        metavar="FILE",
        help=(
            "Register nothing: write the fingerprints to FILE (- for standard output), one "
            "record a line, to upload on the registry's upload page. Needs no registry "
            "and no key."
        ),
    ),
    force: bool = typer.Option(False, "--force", help="With --export: replace FILE."),
    workers: int = typer.Option(
        os.cpu_count() or 1,
        "--workers",
        min=1,
        help="Fingerprinting processes (default: one per core).",
    ),
    max_bytes: int | None = typer.Option(
        None, "--max-bytes", min=1, help="Largest file, in bytes (default 32 MiB)."
    ),
    site: Path | None = typer.Option(
        None,
        "--site",
        metavar="DIR",
        help=(
            "Register the static site built in DIR instead of PATHS: its pages (as their "
            "visible text) and images, each with the signals found on it recorded."
        ),
    ),
    base_url: str | None = typer.Option(
        None,
        "--base-url",
        metavar="URL",
        help="With --site: where the site is published (its robots.txt is that host's).",
    ),
    adopt_signals: bool = typer.Option(
        False,
        "--adopt-signals",
        help="With --site: set each work's terms from its signals, where they say something.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON record per file."),
) -> None:
    """Fingerprint files locally and register them; one line per file.

    The content never leaves this machine: only fingerprints and metadata are stored.
    Every skipped file is reported with the reason. Exit status 1 when any file
    failed (unreadable, too large, not UTF-8, binary, a corrupt image); files refused
    for too little content (empty, blank, only comments) are no failure.

    With --export FILE nothing is registered: the fingerprints are written to FILE
    (never over an existing one without --force) for the upload page to register with
    your key. Interrupted, it is finished by running the same command again.

    With --site DIR the static site built in DIR is registered: each page as its
    visible text (as a crawl of it reads), titled by its <title>, at its path on the
    site, and each image; the site's signal files and assets are skipped. The signals
    found on each (its meta tags, an image's metadata, the site's robots.txt,
    tdmrep.json and ai.txt) are recorded with the work and shown under its line.
    """
    sizes = {} if max_bytes is None else {"max_bytes": max_bytes}
    if site is None:
        for given, name in ((base_url, "--base-url"), (adopt_signals or None, "--adopt-signals")):
            if given is not None:
                raise InputError(f"{name} is for registering a site: add --site DIR")
        if not paths:
            raise InputError("name the files and folders to register, or a site with --site DIR")
    elif paths:
        raise InputError(
            f"--site registers one site; register {paths[0]} with a command of its own"
        )
    elif export is not None:
        raise InputError("--export writes files' fingerprints; register a site without it")
    if export is not None:
        _export(paths or [], export, owner, collection, terms_file, force, workers, sizes, as_json)
        return
    if owner is None:
        raise InputError(
            "--owner: name the owner whose key signs (own_...), or write a fingerprint "
            "file to upload with --export FILE"
        )
    if force:
        raise InputError("--force replaces an --export file; registering replaces nothing")

    from consentry.app import load_terms_file, register_works

    terms = load_terms_file(terms_file) if terms_file else None
    progress = _progress()
    if site is not None:
        _register_site(
            site,
            owner,
            collection=collection,
            base_url=base_url,
            adopt_signals=adopt_signals,
            terms=terms,
            workers=workers,
            sizes=sizes,
            progress=progress,
            as_json=as_json,
        )
        return
    on_start, on_fingerprinted = _advancing(progress)

    def on_file(result: Registration | FileProblem) -> None:
        _emit(result, as_json)

    with workspace() as ws, progress:
        done = register_works(
            ws,
            paths or [],
            owner_id=owner,
            collection=collection,
            terms=terms,
            workers=workers,
            **sizes,
            on_start=on_start,
            on_fingerprinted=on_fingerprinted,
            on_file=on_file,
        )
    _finished(done, as_json)


def _register_site(
    site: Path,
    owner: str,
    *,
    collection: str | None,
    base_url: str | None,
    adopt_signals: bool,
    terms: Terms | None,
    workers: int,
    sizes: dict[str, int],
    progress: Progress,
    as_json: bool,
) -> None:
    """``work register --site``: one line per file, and a dim one naming what the
    signals on it reserve."""
    from consentry.app import register_site
    from consentry.app.site_works import SiteRegistration

    on_start, on_fingerprinted = _advancing(progress)

    def on_file(result: SiteRegistration | FileProblem) -> None:
        if not isinstance(result, SiteRegistration):
            _emit(result, as_json)
        elif as_json:
            print_json(result.to_json())
        else:
            out.print(_line(result.registration))
            if result.reservation:
                out.print(f"{'':<10} [dim]{escape(_signals_said(result))}[/dim]")

    with workspace() as ws, progress:
        done = register_site(
            ws,
            site,
            owner_id=owner,
            collection=collection,
            base_url=base_url,
            adopt_signals=adopt_signals,
            terms=terms,
            workers=workers,
            **sizes,
            on_start=on_start,
            on_fingerprinted=on_fingerprinted,
            on_file=on_file,
        )
    _finished(done, as_json)


def _finished(done: RegisteredCatalogue | RegisteredSite, as_json: bool) -> None:
    """The registration's last line, and exit status 1 when any file failed."""
    if not as_json:
        out.print(f"[bold]{done.summary().replace(':', ':[/bold]', 1)}")
    if done.failed:
        raise typer.Exit(1)


def _signals_said(result: SiteRegistration) -> str:
    """``signals: train-ai deny (robots-meta), data-mining deny (tdmrep-json)``: the
    deciding signal of each category the signals reserve."""
    from consentry.terms import Category, Permission

    said = result.reservation
    reserved = []
    for category in Category:
        deciding = said.deciding(category)
        if deciding is not None and deciding.permission is not Permission.ALLOW:
            reserved.append(
                f"{category.value} {deciding.permission.value} ({deciding.source.signal.value})"
            )
    if said.problems:
        unread = sorted({p.source.signal.value for p in said.problems})
        reserved.append(
            f"{len(said.problems)} unreadable ({', '.join(unread)}): every use reserved"
        )
    text = ", ".join(reserved) if reserved else "none reserves a use"
    if result.terms_adopted:
        text += "; the work's terms say so"
    return f"signals: {text}"


def _export(
    paths: list[Path],
    export: str,
    owner: str | None,
    collection: str | None,
    terms_file: Path | None,
    force: bool,
    workers: int,
    sizes: dict[str, int],
    as_json: bool,
) -> None:
    """``work register --export``: the fingerprints written, nothing registered."""
    from consentry.app.exporting import export_works
    from consentry.registry import FileFingerprint
    from consentry.registry.catalogue import FileProblem

    # The upload page registers the file with the key in the browser, into the
    # collection chosen there: an option that would sign or place works means nothing.
    for given, name in ((owner, "--owner"), (collection, "--collection"), (terms_file, "--terms")):
        if given is not None:
            raise InputError(
                f"{name} is for registering; --export only writes fingerprints (the upload "
                "page registers them with your key, in the collection you choose there)"
            )
    to_stdout = export == "-"
    if to_stdout and as_json:
        raise InputError("--json cannot share standard output with --export -; name a FILE")
    # With --export -, standard output is the fingerprint file; the rest goes to stderr.
    said = err if to_stdout else out

    def on_file(result: FileFingerprint | FileProblem) -> None:
        if isinstance(result, FileProblem):
            if as_json:
                print_json({"status": "skipped", "path": result.path, "error": result.message})
            else:
                said.print(f"[red]skipped   [/red] {escape(result.message)}")
            return
        fp = result.fingerprint
        if as_json:
            print_json({"status": "exported", "path": result.path, "kind": fp.kind.value,
                        "size": fp.size, "digest": fp.digest})  # fmt: skip
        else:
            said.print(
                f"[green]exported  [/green] {escape(result.path)}  "
                f"[dim]{fp.kind.value}, {fp.size:,} B[/dim]"
            )

    target = sys.stdout if to_stdout else Path(export)
    progress = _progress()
    on_start, on_fingerprinted = _advancing(progress)
    with progress:
        done = export_works(
            paths,
            target,
            force=force,
            workers=workers,
            **sizes,
            on_start=on_start,
            on_fingerprinted=on_fingerprinted,
            on_file=on_file,
        )
    if not as_json:
        said.print(f"[bold]{done.summary().replace(':', ':[/bold]', 1)}")
        if not to_stdout:
            said.print(
                f"Wrote {escape(export)}: upload it on your registry's Register works page "
                "(/creator/upload) to register these files with your key.",
                soft_wrap=True,
            )
    if done.failed:
        raise typer.Exit(1)


@work_app.command("list")
def list_works(
    owner: str | None = typer.Option(None, "--owner", help="Only this owner's works."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON record per work."),
) -> None:
    """List registered works."""
    from rich.table import Table

    from consentry import app

    with workspace() as ws:
        works = app.list_works(ws, owner_id=owner, limit=limit)
    if as_json:
        for work in works:
            print_json(work.to_json())
        return
    table = Table("id", "owner", "path", "kind", "size", "licence")
    for work in works:
        table.add_row(
            work.id, work.owner_id, work.path, work.kind, f"{work.size:,}", work.spdx or ""
        )
    out.print(table)
    out.print(f"{len(works)} work(s)")

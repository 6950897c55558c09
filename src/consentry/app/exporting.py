"""A fingerprint file: a catalogue fingerprinted on the creator's machine and written,
one ``FileFingerprint.to_json()`` record a line, for the creator to upload on the
registry's upload page (which registers it with the key in their browser). Nothing is
registered here and no registry is needed: the content never leaves the machine.

A file being written is ``FILE.partial`` until every file is in it, then renamed to
``FILE``; an interrupted export is finished by running the same command again, which
keeps the records written and appends the rest (as ``work register`` is finished)."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from consentry.app.remote_works import check_uploaded
from consentry.errors import InputError, WorkInterruptedError
from consentry.registry import FileFingerprint
from consentry.registry.catalogue import (
    DEFAULT_MAX_BYTES,
    CatalogueFile,
    FileProblem,
    discover_files,
    fingerprint_files,
)
from consentry.warmup import warm_up

__all__ = ["ExportedCatalogue", "export_record", "export_works", "partial_export"]


@dataclass(slots=True)
class ExportedCatalogue:
    """What one export did: files seen, records written (``kept``: written by an
    interrupted run before this one), problems by file."""

    files: int
    exported: int = 0
    kept: int = 0
    problems: list[FileProblem] = field(default_factory=list)

    @property
    def failed(self) -> list[FileProblem]:
        """Files that could not be used; files refused by rule (too little content)
        are reported but are no failure, as ``work register`` counts them."""
        return [problem for problem in self.problems if not problem.refused]

    def summary(self) -> str:
        text = f"{self.files} file(s): {self.exported + self.kept} exported"
        if self.kept:
            text += f" ({self.kept} by the interrupted run)"
        text += f", {len(self.problems)} skipped"
        refused = len(self.problems) - len(self.failed)
        if refused:
            text += f" ({refused} with too little content, {len(self.failed)} failed)"
        return text


def partial_export(target: Path) -> Path:
    """Where the export to ``target`` is written until it is complete."""
    return target.with_name(f"{target.name}.partial")


def export_record(item: FileFingerprint) -> str:
    """One line of a fingerprint file: the record a served registry takes for the file
    (``FileFingerprint.to_json``), as compact JSON, newline included."""
    return json.dumps(item.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n"


def export_works(
    paths: Sequence[Path],
    target: Path | TextIO,
    *,
    force: bool = False,
    workers: int = 1,
    max_bytes: int = DEFAULT_MAX_BYTES,
    on_start: Callable[[int], None] | None = None,
    on_fingerprinted: Callable[[int], None] | None = None,
    on_file: Callable[[FileFingerprint | FileProblem], None] | None = None,
) -> ExportedCatalogue:
    """Fingerprint the files under ``paths`` as ``work register`` does and write one
    record per file to ``target`` (a file, or a stream such as standard output);
    callbacks as ``register_works``'s. A file the registry would refuse is a problem,
    reported and not written, so the upload page never sends a batch it refuses.

    Raises ``InputError`` when ``target`` exists and ``force`` is not given, or its
    ``.partial`` holds what is not an interrupted export of these files, and
    ``WorkInterruptedError`` on Ctrl-C (what was written is kept for a rerun)."""
    if isinstance(target, Path):
        _may_write(target, force=force)
    files = discover_files(paths)
    warm_up()
    done = ExportedCatalogue(len(files))
    if not isinstance(target, Path):
        try:
            _write(files, target, done, workers, max_bytes, on_start, on_fingerprinted, on_file)
        except KeyboardInterrupt:
            raise WorkInterruptedError(
                f"interrupted: {done.exported:,} of {done.files:,} files written; run the "
                "command again to write them all"
            ) from None
        return done
    partial = partial_export(target)
    if force:
        partial.unlink(missing_ok=True)
    written = _written(partial, files)
    done.kept = sum(written.values())
    todo = [item for item in files if not _take(written, item.path)]
    try:
        with partial.open("a", encoding="utf-8", newline="\n") as handle:
            _write(todo, handle, done, workers, max_bytes, on_start, on_fingerprinted, on_file)
            handle.flush()
            os.fsync(handle.fileno())
    except KeyboardInterrupt:
        raise WorkInterruptedError(
            f"interrupted: {done.kept + done.exported:,} of {done.files:,} files written to "
            f"{partial}; run the same command again to write the rest (what was written "
            "is kept)"
        ) from None
    os.replace(partial, target)
    return done


def _may_write(target: Path, *, force: bool) -> None:
    if target.is_dir():
        raise InputError(f"--export {target} is a folder; name the file to write")
    if target.exists() and not force:
        raise InputError(
            f"--export {target} exists; pass --force to replace it, or name another file"
        )


def _take(written: Counter[str], path: str) -> bool:
    if written[path] <= 0:
        return False
    written[path] -= 1
    return True


def _written(partial: Path, files: Sequence[CatalogueFile]) -> Counter[str]:
    """The paths an interrupted export wrote to ``partial``, each as often as it was
    written; a last line cut short by the interruption is dropped from the file."""
    written: Counter[str] = Counter()
    if not partial.exists():
        return written
    data = partial.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        with partial.open("r+b") as handle:
            handle.truncate(len(complete))
    found = Counter(item.path for item in files)
    for number, line in enumerate(complete.decode("utf-8", "replace").splitlines(), 1):
        try:
            path = json.loads(line)["path"]
        except (ValueError, TypeError, KeyError):
            raise InputError(
                f"{partial} line {number} is not a record consentry wrote; delete the file "
                "or pass --force to start again"
            ) from None
        written[path] += 1
        if not isinstance(path, str) or written[path] > found[path]:
            raise InputError(
                f"{partial} holds fingerprints of {path!r}, which is not among the files "
                "named; name the same files as the interrupted run, or pass --force to "
                "start again"
            )
    return written


def _write(
    files: Sequence[CatalogueFile],
    handle: TextIO,
    done: ExportedCatalogue,
    workers: int,
    max_bytes: int,
    on_start: Callable[[int], None] | None,
    on_fingerprinted: Callable[[int], None] | None,
    on_file: Callable[[FileFingerprint | FileProblem], None] | None,
) -> None:
    if on_start is not None:
        on_start(len(files))
    for result in _checked(fingerprint_files(files, workers=workers, max_bytes=max_bytes)):
        if on_fingerprinted is not None:
            on_fingerprinted(0 if isinstance(result, FileProblem) else result.fingerprint.size)
        if isinstance(result, FileProblem):
            done.problems.append(result)
        else:
            # A line at a time, flushed: an interruption leaves whole records behind.
            handle.write(export_record(result))
            handle.flush()
            done.exported += 1
        if on_file is not None:
            on_file(result)


def _checked(
    results: Iterator[FileFingerprint | FileProblem],
) -> Iterator[FileFingerprint | FileProblem]:
    # The registry refuses a whole batch for one file it cannot take (a path with a
    # control character, say): such a file is reported here instead.
    for result in results:
        if isinstance(result, FileProblem):
            yield result
            continue
        try:
            check_uploaded(result, where=repr(result.path))
        except InputError as exc:
            yield FileProblem(result.path, f"{exc}; the registry would refuse it")
        else:
            yield result

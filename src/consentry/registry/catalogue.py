"""Finding a creator's files and fingerprinting them in parallel, on their machine.

Inside a git repository only tracked files count (build outputs and secrets in ignored
files never get registered). Fingerprinting runs in worker processes with a bounded
number of files in flight, so memory stays flat for catalogues of any size.
"""

from __future__ import annotations

import os
import subprocess
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from consentry.errors import InputError
from consentry.fingerprint import ContentFingerprint, ContentKind, fingerprint_bytes
from consentry.fingerprint.content import MIN_CONTENT
from consentry.interrupts import start_worker
from consentry.registry.works import FileFingerprint

__all__ = [
    "DEFAULT_MAX_BYTES",
    "CatalogueFile",
    "FileProblem",
    "discover_files",
    "fingerprint_files",
    "read_catalogue_file",
    "refusal",
]

DEFAULT_MAX_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class CatalogueFile:
    """A file to register: where it is, and the path recorded for it."""

    location: Path
    path: str


@dataclass(frozen=True, slots=True)
class FileProblem:
    """A file that was not registered, and one sentence saying why and what to do.

    ``refused``: the file was read and deliberately not registered (too little content
    to ever be shown copied), which is no failure; otherwise it could not be used
    (unreadable, over the size limit, not UTF-8, binary, a corrupt image)."""

    path: str
    message: str
    refused: bool = False


def _git_tracked(folder: Path) -> list[str] | None:
    """Tracked files under ``folder`` relative to it, or None outside a git work tree."""
    try:
        inside = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--is-inside-work-tree"],
            capture_output=True,
            text=True,
            check=False,
        )
        if inside.returncode != 0 or inside.stdout.strip() != "true":
            return None
        # A folder the enclosing repository ignores (a virtualenv, an installed
        # toolchain inside a checkout) is not part of that repository: walk it.
        ignored = subprocess.run(
            ["git", "-C", str(folder), "check-ignore", "-q", "."],
            capture_output=True,
            check=False,
        )
        if ignored.returncode == 0:
            return None
        listed = subprocess.run(
            ["git", "-C", str(folder), "ls-files", "-z", "--cached", "--", "."],
            capture_output=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    names = [n for n in listed.stdout.decode("utf-8", "surrogateescape").split("\0") if n]
    return sorted(names)


def _walk(folder: Path) -> list[str]:
    found: list[str] = []
    for root, dirs, files in os.walk(folder):
        # Hidden folders (.git, .venv, .cache) and bytecode caches hold tooling, not works.
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in sorted(files):
            found.append(os.path.relpath(os.path.join(root, name), folder))
    return found


def discover_files(paths: Sequence[Path]) -> list[CatalogueFile]:
    """Every file named or found under ``paths``, each once, in a stable order.

    Raises ``InputError`` for a path that does not exist.
    """
    seen: set[Path] = set()
    out: list[CatalogueFile] = []
    for given in paths:
        if not given.exists():
            raise InputError(f"{given} does not exist; check the path")
        if given.is_dir():
            base = given.resolve()
            names = _git_tracked(base)
            for name in names if names is not None else _walk(base):
                location = base / name
                if location.is_file() and location not in seen:
                    seen.add(location)
                    out.append(CatalogueFile(location, f"{base.name}/{name}"))
        else:
            location = given.resolve()
            if location not in seen:
                seen.add(location)
                out.append(CatalogueFile(location, given.name))
    return out


def read_catalogue_file(location: str, path: str, max_bytes: int) -> bytes | FileProblem:
    """The bytes of the file at ``location`` (``path`` as the creator named it), or why
    it cannot be registered: too large, unreadable, or empty."""
    try:
        size = os.stat(location).st_size
        if size > max_bytes:
            return FileProblem(
                path,
                f"{path} is {size:,} bytes, over the {max_bytes:,}-byte limit; "
                "raise --max-bytes or split it",
            )
        with open(location, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        return FileProblem(path, f"{path} cannot be read ({exc.strerror}); check its permissions")
    if not data:
        return FileProblem(path, f"{path} is empty; nothing to register", refused=True)
    return data


def _fingerprint_one(location: str, path: str, max_bytes: int) -> ContentFingerprint | FileProblem:
    data = read_catalogue_file(location, path, max_bytes)
    if isinstance(data, FileProblem):
        return data
    try:
        printed = fingerprint_bytes(path, data)
    except InputError as exc:
        return FileProblem(path, str(exc))
    return refusal(path, printed) or printed


def refusal(path: str, printed: ContentFingerprint) -> FileProblem | None:
    """Why the file at ``path``, fingerprinted as ``printed``, is refused by rule (a
    ``FileProblem`` with ``refused``), or ``None`` when it may be registered. Nothing is
    a copy of nothing: content that normalises to less than a match needs (the check's
    minimum span) can never be shown copied, and content that normalises to nothing
    would match every empty item."""
    length = printed.content_length
    if printed.kind is ContentKind.IMAGE or length is None or length >= MIN_CONTENT:
        return None
    what = "code, comments aside," if printed.kind is ContentKind.CODE else "text"
    return FileProblem(
        path,
        f"{path} has {length:,} characters of {what} once normalised, under the "
        f"{MIN_CONTENT} a copy must share to be found; nothing to register",
        refused=True,
    )


def fingerprint_files(
    files: Iterable[CatalogueFile],
    *,
    workers: int = 1,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Iterator[FileFingerprint | FileProblem]:
    """Fingerprint each file; yields a result per file, in the files' order whatever
    ``workers`` is (so which of two identical files registers first, and what is
    printed, is the same every time). Problems are results, not exceptions: the rest
    go on."""
    if workers <= 1:
        for item in files:
            yield _wrap(item.path, _fingerprint_one(str(item.location), item.path, max_bytes))
        return
    in_flight: deque[tuple[Future[ContentFingerprint | FileProblem], str]] = deque()
    # Files ahead of the oldest unfinished one: enough that a large file at the head
    # keeps the other workers busy.
    limit = workers * 16
    with ProcessPoolExecutor(
        max_workers=workers, initializer=start_worker, initargs=(os.getpid(),)
    ) as pool:
        for item in files:
            if len(in_flight) >= limit:
                yield _result(*in_flight.popleft())
            future = pool.submit(_fingerprint_one, str(item.location), item.path, max_bytes)
            in_flight.append((future, item.path))
        while in_flight:
            yield _result(*in_flight.popleft())


def _wrap(path: str, result: ContentFingerprint | FileProblem) -> FileFingerprint | FileProblem:
    return result if isinstance(result, FileProblem) else FileFingerprint(path, result)


def _result(
    future: Future[ContentFingerprint | FileProblem], path: str
) -> FileFingerprint | FileProblem:
    try:
        result = future.result()
    except Exception as exc:
        return FileProblem(path, f"{path} could not be fingerprinted ({exc!r})")
    return _wrap(path, result)

"""Registering a catalogue: files fingerprinted on this machine, fingerprints and
metadata registered under the owner's signature. The content never leaves."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from consentry.app.workspace import Workspace
from consentry.crypto import Signer
from consentry.errors import InputError, WorkInterruptedError
from consentry.registry import (
    Collection,
    FileFingerprint,
    Party,
    PartyKind,
    Registration,
    Work,
)
from consentry.registry.catalogue import (
    DEFAULT_MAX_BYTES,
    FileProblem,
    discover_files,
    fingerprint_files,
)
from consentry.terms import Terms
from consentry.warmup import warm_up

__all__ = [
    "FoundWork",
    "OwnedCollection",
    "RegisteredCatalogue",
    "collections_of",
    "count_works",
    "fingerprint_upload",
    "interrupted_registration",
    "list_works",
    "register_works",
    "search_owners",
    "search_works",
    "set_catalogue_terms",
    "titles_of",
]


@dataclass(slots=True)
class RegisteredCatalogue:
    """What one registration did: files seen, outcomes counted, problems by file."""

    files: int
    tally: Counter[str] = field(default_factory=Counter)
    problems: list[FileProblem] = field(default_factory=list)

    @property
    def failed(self) -> list[FileProblem]:
        """Files that could not be used (a failure); files refused by rule, such as
        those with too little content, are skipped and reported but are no failure."""
        return [problem for problem in self.problems if not problem.refused]

    def summary(self) -> str:
        counts = ", ".join(
            f"{self.tally[s]} {s}" for s in ("registered", "existing", "disputed", "skipped")
        )
        refused = len(self.problems) - len(self.failed)
        if refused:
            counts += f" ({refused} with too little content, {len(self.failed)} failed)"
        return f"{self.files} file(s): {counts}"


def register_works(
    ws: Workspace,
    paths: Sequence[Path],
    *,
    owner_id: str,
    collection: str | None = None,
    terms: Terms | None = None,
    workers: int = 1,
    max_bytes: int = DEFAULT_MAX_BYTES,
    on_start: Callable[[int], None] | None = None,
    on_fingerprinted: Callable[[int], None] | None = None,
    on_file: Callable[[Registration | FileProblem], None] | None = None,
) -> RegisteredCatalogue:
    """Fingerprint the files under ``paths`` here and register them for ``owner_id``,
    signed with the owner's key; ``terms``, when given, go on the collection (or the
    owner, without one). ``on_start(files)`` once the files are found,
    ``on_fingerprinted(bytes)`` as each file is read (before its batch is registered:
    progress), ``on_file`` for each outcome once it is saved. A file that cannot be read
    is a problem, not an error."""
    signer = ws.signer(owner_id, PartyKind.OWNER)
    files = discover_files(paths)
    # Compiled (or loaded from the cache) here, once, not by each worker in silence.
    warm_up()
    done = RegisteredCatalogue(len(files))
    if on_start is not None:
        on_start(len(files))

    def report(result: Registration | FileProblem) -> None:
        if isinstance(result, FileProblem):
            done.problems.append(result)
            done.tally["skipped"] += 1
        else:
            done.tally[result.status.value] += 1
        if on_file is not None:
            on_file(result)

    def fingerprints() -> Iterator[FileFingerprint]:
        for result in fingerprint_files(files, workers=workers, max_bytes=max_bytes):
            if on_fingerprinted is not None:
                read = 0 if isinstance(result, FileProblem) else result.fingerprint.size
                on_fingerprinted(read)
            if isinstance(result, FileProblem):
                report(result)
            else:
                yield result

    registry = ws.registry
    try:
        for registration in registry.works.register(
            owner_id, signer, fingerprints(), collection=collection
        ):
            report(registration)
    except KeyboardInterrupt:
        # Each batch commits before its files are reported, so what was reported is
        # saved; a rerun finds those as existing and registers the rest.
        raise interrupted_registration(done.tally, done.files) from None
    if terms is not None:
        set_catalogue_terms(ws, owner_id, signer, collection, terms)
    return done


def interrupted_registration(tally: Counter[str], files: int) -> WorkInterruptedError:
    """What a registration stopped by Ctrl-C says: what is saved, and how to finish."""
    saved = tally["registered"] + tally["existing"] + tally["disputed"]
    return WorkInterruptedError(
        f"interrupted: {saved:,} of {files:,} files registered and saved; run the same "
        "command again to register the rest (files already registered are kept)"
    )


def set_catalogue_terms(
    ws: Workspace, owner_id: str, signer: Signer, collection: str | None, terms: Terms
) -> None:
    """``--terms`` of a registration: on its collection, or the owner without one."""
    registry = ws.registry
    target = registry.works.find_collection(owner_id, collection).id if collection else owner_id
    registry.terms.set(target, owner_id, signer, terms)


def list_works(
    ws: Workspace,
    *,
    owner_id: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> list[Work]:
    """Registered works (their metadata is public), oldest first; ``after``: those
    registered after that work."""
    return ws.registry.works.all(owner_id=owner_id, limit=limit, after=after)


def count_works(ws: Workspace, *, owner_id: str) -> int:
    """How many works ``owner_id`` has registered (their metadata is public), counted
    by the database: a creator's dashboard must not read 10,000 rows to say 10,000."""
    return ws.registry.works.count(owner_id)


@dataclass(frozen=True, slots=True)
class OwnedCollection:
    """One of an owner's collections and how many works it holds."""

    collection: Collection
    works: int


def collections_of(ws: Workspace, *, owner_id: str) -> list[OwnedCollection]:
    """The owner's collections (public, as ``find_collection`` reads them), by name,
    each with the number of works in it."""
    return [OwnedCollection(c, works) for c, works in ws.registry.works.collections(owner_id)]


def fingerprint_upload(
    path: str, data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> FileFingerprint | FileProblem:
    """One uploaded file fingerprinted in memory, as ``consentry work register``
    fingerprints a file on the creator's machine: the same kernels, the same refusals
    (empty, too little content, too large, binary). Nothing of ``data`` is kept: the
    caller drops it, and only the fingerprints are returned."""
    from consentry.fingerprint import fingerprint_bytes  # noqa: PLC0415
    from consentry.registry.catalogue import refusal  # noqa: PLC0415

    if len(data) > max_bytes:
        return FileProblem(
            path, f"{path} is {len(data):,} bytes, over the {max_bytes:,}-byte limit; split it"
        )
    if not data:
        return FileProblem(path, f"{path} is empty; nothing to register", refused=True)
    try:
        printed = fingerprint_bytes(path, data)
    except InputError as exc:
        return FileProblem(path, str(exc))
    return refusal(path, printed) or FileFingerprint(path, printed)


@dataclass(frozen=True, slots=True)
class FoundWork:
    """A work found by a search, its owner's name, and the terms in force for it
    (``terms`` None and ``problem`` saying why where its terms do not verify)."""

    work: Work
    owner_name: str
    terms: Terms | None
    problem: str | None


def search_works(
    ws: Workspace,
    *,
    text: str = "",
    kind: str | None = None,
    owner_id: str | None = None,
    limit: int = 50,
    after: str | None = None,
) -> list[FoundWork]:
    """Works whose title, path or owner's name contains ``text``, of ``kind`` and
    ``owner_id`` when given, a page at a time (``after``: the last work of the page
    before), each with its owner's name and the terms in force for it (every layer
    verified against its owner's signature). Their metadata and terms are public."""
    found = ws.registry.works.search(
        text=text.strip(), kind=kind, owner_id=owner_id, limit=limit, after=after
    )
    refused: dict[str, str] = {}
    terms = ws.registry.terms.effective_for(
        [(w.id, w.owner_id, w.collection_id) for w in found], refused=refused
    )
    names = {
        o: ws.registry.parties.get(o, PartyKind.OWNER).name for o in {w.owner_id for w in found}
    }
    return [FoundWork(w, names[w.owner_id], terms.get(w.id), refused.get(w.id)) for w in found]


def search_owners(ws: Workspace, text: str, *, limit: int = 20) -> list[Party]:
    """Owners whose name contains ``text`` (any case), by name."""
    text = text.strip()
    if not text:
        return []
    return ws.registry.parties.search(PartyKind.OWNER, text, limit=limit)


def titles_of(ws: Workspace, work_ids: Sequence[str]) -> dict[str, str]:
    """Each work's title (its path where it has none), by id, for the works of
    ``work_ids`` that exist and verify against their owners' signatures."""
    found, _ = ws.registry.works.many_checked(list(work_ids))
    return {w.id: w.title or w.path for w in found}

"""Machine code ready before work starts, and a word on screen when it is not.

``warm_up`` makes sure that every kernel's machine code is in numba's disk cache, so
that parallel workers load it rather than compile it. ``compile_notice`` shows that
compilation is under way when it happens anyway: a fresh install where no warm-up ran.

Importing this module imports neither numba nor a kernel: the command line imports it
before it knows whether the command it runs needs either.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.abc
import importlib.util
import json
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status

    from consentry.fingerprint import ContentFingerprint
    from consentry.index import IndexedWork

__all__ = ["COMPILING", "compile_notice", "warm_up"]

COMPILING = "compiling native kernels (first run only; later runs start at once)…"

# The record, in ``consentry._jit.cache_folder()``, that a warm-up left every kernel's
# machine code on disk, and what that machine code depends on.
_READY = "kernels-ready.json"
_READY_VERSION = 1
_PACKAGE = Path(__file__).resolve().parent
_MACHINE_CODE = (".nbi", ".nbc")  # numba's index and data files


def warm_up() -> None:
    """Make sure that registering works, the gate (its worker processes too) and the
    publication check find every kernel's machine code, for every argument type they
    pass it, in numba's disk cache, so that nothing compiles once work has begun.

    A run's workers are started after this. Once a warm-up has left every kernel on
    disk, and nothing that machine code depends on has changed since (this package's
    sources, Python, numba, the processor, the cache files themselves), this only sets
    numba up to load machine code, which the workers inherit, and returns: each
    process then loads from the disk only the kernels it calls, when it first calls
    them (milliseconds each, where compiling one takes seconds). Otherwise it compiles,
    or loads, every kernel, and records that it did.
    """
    from consentry._jit import cache_folder  # noqa: PLC0415 - imports numba

    folder = cache_folder()
    ready = None if folder is None else folder / _READY
    if ready is not None and _is_ready(ready):
        _ready_to_load()
        return
    _load_every_kernel()
    if ready is not None:
        _record_ready(ready, _machine_code_files())


def _ready_to_load() -> None:
    """What numba does once per process before it loads its first machine code (find
    its extensions, set up its typing and lowering, a fifth of a second), done now: the
    workers a run starts next inherit it rather than each doing it again."""
    from numba.core import entrypoints  # noqa: PLC0415 - imported by now
    from numba.core.registry import cpu_target  # noqa: PLC0415

    entrypoints.init_all()  # type: ignore[no-untyped-call]  # numba ships no types
    cpu_target.target_context.refresh()


def _install() -> dict[str, Any]:
    """What numba's machine code on disk was made for: a change to any of it means a
    kernel may compile again."""
    import numba  # noqa: PLC0415 - imported by now
    import numpy  # noqa: PLC0415

    # llvmlite ships no types; numba is imported, and llvmlite with it.
    llvmlite: Any = importlib.import_module("llvmlite")
    binding: Any = importlib.import_module("llvmlite.binding")
    # As numba picks the processor it compiles for.
    cpu = os.environ.get("NUMBA_CPU_NAME") or binding.get_host_cpu_name()
    features = os.environ.get("NUMBA_CPU_FEATURES") or binding.get_host_cpu_features().flatten()
    return {
        "python": sys.version,
        "numba": numba.__version__,
        "llvmlite": llvmlite.__version__,
        "numpy": numpy.__version__,
        "cpu": cpu,
        "cpu_features": hashlib.sha256(features.encode()).hexdigest(),
        "numba_cache_dir": os.environ.get("NUMBA_CACHE_DIR", ""),
        "sources": _sources_digest(_PACKAGE),
    }


def _sources_digest(package: Path) -> str:
    """A digest of where, how large and how recent every module of ``package`` is:
    numba keys its machine code on a kernel's source, and a kernel may be added in
    any module."""
    modules = []
    for folder, folders, files in os.walk(package):
        folders[:] = [f for f in folders if f != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                status = os.stat(os.path.join(folder, name))
                modules.append(f"{folder}/{name}\0{status.st_mtime_ns}\0{status.st_size}")
    return hashlib.sha256("\n".join(sorted(modules)).encode()).hexdigest()


def _machine_code_files() -> list[Path]:
    """numba's cache files in the folders the kernels defined so far are cached in."""
    from consentry._jit import kernels  # noqa: PLC0415

    folders = {Path(kernel.stats.cache_path) for kernel in kernels()}
    return sorted(
        path for folder in folders for path in folder.iterdir() if path.suffix in _MACHINE_CODE
    )


def _file_states(paths: Iterable[Path]) -> dict[str, list[int]] | None:
    """Each file's modification time and size; None when one is missing."""
    states = {}
    for path in paths:
        try:
            status = path.stat()
        except OSError:
            return None
        states[str(path)] = [status.st_mtime_ns, status.st_size]
    return states


def _record_ready(ready: Path, machine_code: Iterable[Path]) -> None:
    """Record in ``ready`` that ``machine_code`` holds every kernel, for this install.
    Written whole or not at all; when the folder refuses it, the next warm-up runs in
    full again."""
    files = _file_states(machine_code)
    if files is None:  # removed while being listed: nothing to vouch for
        return
    from consentry._jit import write_whole  # noqa: PLC0415 - imports numba

    record = {"version": _READY_VERSION, "install": _install(), "machine_code": files}
    write_whole(ready, json.dumps(record, sort_keys=True).encode())


def _is_ready(ready: Path) -> bool:
    """Whether ``ready`` records that every kernel's machine code is on disk, for this
    install, and that machine code is as the record found it. Anything else (no
    record, a damaged or foreign one, a cache file changed or gone) is not ready."""
    try:
        text = ready.read_bytes()
        record = json.loads(text)
    except (OSError, ValueError, RecursionError):
        return False
    if not isinstance(record, dict) or record.get("version") != _READY_VERSION:
        return False
    files = record.get("machine_code")
    if not isinstance(files, dict) or not files:
        return False
    if record.get("install") != _install():
        return False
    return _file_states(Path(name) for name in files) == files


def _load_every_kernel() -> None:
    """Compile (or load from the disk cache) every kernel for every argument type that
    registering works, the gate and the publication check pass it.

    So this takes each path those commands take, on built-in samples: every way text
    reaches a kernel (ASCII, Unicode normalised character by character or in full, code
    tokenised natively or by Pygments, code told by its content where no name says
    what it is), and lookups in an index built in memory, memory-mapped from disk,
    read from disk unmapped, refreshed and compacted, one stream, one item and a chunk
    of items at a time, and in an offline sketch.
    """
    from consentry.fingerprint import (  # noqa: PLC0415
        code_language,
        fingerprint_text,
        text_prints,
        text_prints_many,
    )
    from consentry.fingerprint.code import code_stream_origins  # noqa: PLC0415
    from consentry.index import MatchIndex, Sketch  # noqa: PLC0415

    samples = _samples()
    # As registering fingerprints a file, and as the index takes the result.
    printed = [fingerprint_text(name, text) for name, text in samples]
    works = [_indexed(f"work-{number}", p) for number, p in enumerate(printed)]
    half = len(works) // 2
    built = MatchIndex.build(works[:half])
    built.add(works[half:])  # as a refresh adds a segment
    sketch = Sketch.build(
        works, [{"work_id": w.work_id, "owner_id": w.owner_id} for w in works], checkpoint=""
    )
    with tempfile.TemporaryDirectory(prefix="consentry-warm-up-") as folder:
        built.save(Path(folder))
        # As a run's workers and a check read the saved index (read-only arrays), as a
        # refresh adds to it, and as it is read without mapping.
        mapped = MatchIndex.load(Path(folder))
        refreshed = MatchIndex.load(Path(folder))
        refreshed.add(works[:1])
        unmapped = MatchIndex.load(Path(folder), mmap=False)
        for index in (built, mapped, refreshed, unmapped):
            for p in printed:
                index.match(p)  # stored prints: read-only arrays
            for name, text in samples:
                index.match_prints(text_prints(name, text))  # an item's streams together
            # As the gate decides one item, and a chunk of them.
            index.match_many(text_prints_many(samples[:1]))
            index.match_many(text_prints_many(samples))
        # As the publication check looks up an output: one stream at a time, and for
        # code, where in the source each token came from.
        for lookup in (built, mapped, sketch):
            for name, text in samples:
                for stream in text_prints(name, text):
                    lookup.match_prints([stream])
        for printed_file, (name, text) in zip(printed, samples, strict=True):
            if printed_file.kind.value == "code":
                language = code_language(name, text)
                assert language is not None  # noqa: S101 - fingerprinted as code
                code_stream_origins(text, language)
        # As a refresh past its segment limit merges what it loaded, and what it built.
        mapped.compact()
        built.compact()


def _indexed(work_id: str, printed: ContentFingerprint) -> IndexedWork:
    """A fingerprinted file as the registry hands it to the index."""
    from consentry.index import IndexedWork  # noqa: PLC0415

    view = printed.text_view
    return IndexedWork(
        work_id,
        "owner",
        printed.kind.value,
        printed.digest,
        printed.minhash,
        printed.excerpts,
        text_digest=view.digest if view else None,
        text_minhash=view.minhash if view else b"",
        text_excerpts=view.excerpts if view else b"",
    )


def _samples() -> list[tuple[str, str]]:
    """(file name, text) for each way text reaches a kernel."""
    prose = " ".join(
        f"Consent is enforced where data goes in, {n} times over, and owners are paid."
        for n in range(60)
    )
    code = "".join(f"def f{n}(x):\n    '''Doc.'''\n    return x * {n}  # note\n" for n in range(60))
    return [
        ("prose.txt", prose),  # ASCII
        ("accents.txt", prose.replace("a", "á")),  # normalised per character, to Unicode
        ("spaces.txt", prose.replace(" ", "\u00a0")),  # ... to ASCII
        ("combining.txt", prose.replace("e", "e\u0301")),  # normalised in full, to Unicode
        ("ligatures.txt", prose.replace("fi", "\ufb01")),  # ... to ASCII
        ("module.py", code),  # the native tokeniser, ASCII
        ("unicode.py", code.replace("x", "ñ")),  # ... Unicode
        ("program.f90", "program p\n  print *, 'Hello'\nend program p\n" * 60),  # Pygments
        # No name says it is code: its lines are counted to tell (ASCII here, the
        # Unicode texts above as code points).
        ("snippet.txt", code),
        ("short.txt", "Short."),
        ("empty.txt", ""),
    ]


@contextmanager
def compile_notice(console: Console) -> Iterator[None]:
    """Within this block, whenever numba compiles a kernel, ``console`` says so: a
    status line (``COMPILING``) on a terminal while compilation is under way, else that
    line printed once. Loading machine code from the cache is not compiling and shows
    nothing. Costs nothing until numba is imported: the listener is installed then."""
    notice = _Notice(console)
    with _once_imported("numba", notice.listen):
        try:
            yield
        finally:
            notice.close()


class _Notice:
    """Shows ``COMPILING`` from the start of an outermost compilation to its end (numba
    compiles what a kernel calls inside the kernel's own compilation)."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._lock = threading.Lock()
        self._depth = 0
        self._status: Status | None = None
        self._printed = False
        self._stop_listening: Callable[[], None] | None = None

    def listen(self) -> None:
        from numba.core import event  # noqa: PLC0415 - numba is imported by now

        notice = self

        class _Compiles(event.Listener):
            def on_start(self, _: event.Event) -> None:
                notice.started()

            def on_end(self, _: event.Event) -> None:
                notice.ended()

        listener = _Compiles()
        # numba's event functions carry no annotations.
        event.register("numba:compile", listener)  # type: ignore[no-untyped-call]

        def stop() -> None:
            event.unregister("numba:compile", listener)  # type: ignore[no-untyped-call]

        self._stop_listening = stop

    def started(self) -> None:
        with self._lock:
            self._depth += 1
            if self._depth > 1:
                return
            if self._console.is_terminal:
                from rich.errors import LiveError  # noqa: PLC0415 - rich is imported by now

                status = self._console.status(COMPILING)
                try:
                    status.start()
                except LiveError:  # rich before 14 shows one live display at a time
                    self._print_once()
                else:
                    self._status = status
            else:
                self._print_once()

    def ended(self) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                self._hide()

    def close(self) -> None:
        with self._lock:
            if self._stop_listening is not None:
                self._stop_listening()
                self._stop_listening = None
            self._hide()

    def _print_once(self) -> None:
        if not self._printed:
            self._console.print(COMPILING, markup=False, highlight=False)
            self._printed = True

    def _hide(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


@contextmanager
def _once_imported(module: str, then: Callable[[], None]) -> Iterator[None]:
    """Call ``then`` now when ``module`` is imported, else right after it is imported
    within this block."""
    if module in sys.modules:
        then()
        yield
        return
    finder = _AfterImport(module, then)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        with suppress(ValueError):  # already gone: the module was imported
            sys.meta_path.remove(finder)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds ``module`` as the other finders would, and has its loader call ``then``
    once the module has run (a post-import hook, in the import system's own terms)."""

    def __init__(self, module: str, then: Callable[[], None]) -> None:
        self._module = module
        self._then = then

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != self._module:
            return None
        sys.meta_path.remove(self)  # once; and the search below must not find this again
        spec = importlib.util.find_spec(fullname)
        if spec is not None and isinstance(spec.loader, importlib.abc.Loader):
            spec.loader = _ThenLoader(spec.loader, self._then)
        return spec


class _ThenLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader, then: Callable[[], None]) -> None:
        self._loader = loader
        self._then = then

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        # The module sees its own loader, as if this one had never been in between.
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        self._then()

"""The one way this project compiles a kernel: numba, machine code cached on disk.

What else this install derives once and keeps (the Unicode folding table, the record
that every kernel's machine code is on disk) is kept beside that machine code, in
``cache_folder()``: whoever can write there can already replace the machine code, so
nothing kept there is trusted further than that, and each file is checked on reading.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar, cast

import numba

__all__ = ["cache_folder", "inline", "jit", "kernels", "write_whole"]

_F = TypeVar("_F", bound=Callable[..., Any])
_PACKAGE = Path(__file__).resolve().parent
_KERNELS: list[Any] = []


@contextmanager
def _blas_left_out() -> Iterator[None]:
    """Within this block, scipy's BLAS cannot be imported; afterwards it can again.

    numba asks, as it first compiles or loads machine code, whether it can: only to
    choose how ``np.convolve`` and ``np.correlate`` multiply, which no kernel here
    calls, and importing ``scipy.linalg`` costs every process about 0.2 s of its start.
    A kernel that calls ``np.dot`` still gets BLAS: numba imports it for that call."""
    hidden = "scipy.linalg"
    if hidden in sys.modules:
        yield
        return
    sys.modules[hidden] = None  # type: ignore[assignment]  # None makes the import fail
    try:
        yield
    finally:
        if sys.modules.get(hidden, 0) is None:
            del sys.modules[hidden]


with _blas_left_out():
    # What numba imports when it first loads machine code; imported here while BLAS
    # is left out.
    import numba.np.arraymath


def jit(function: _F) -> _F:
    """Compile ``function`` to machine code (cached beside its module); mypy still sees
    its Python signature."""
    kernel = numba.njit(cache=True, nogil=True)(function)
    _KERNELS.append(kernel)
    return cast(_F, kernel)


def inline(function: _F) -> _F:
    """As ``jit``, and inlined into the kernels that call it."""
    kernel = numba.njit(cache=True, nogil=True, inline="always")(function)
    _KERNELS.append(kernel)
    return cast(_F, kernel)


def kernels() -> list[Any]:
    """Every kernel defined so far (numba dispatchers), in the order defined."""
    return list(_KERNELS)


def cache_folder() -> Path | None:
    """The folder this install keeps what it derives once in, made if missing; None
    when there is nowhere it may write.

    numba keeps machine code in ``$NUMBA_CACHE_DIR`` when that is set, else beside
    each module (``__pycache__``), else in the user's cache folder; this follows it:
    a folder of ``$NUMBA_CACHE_DIR`` named for this install, the package's own
    ``__pycache__``, or one in ``$XDG_CACHE_HOME`` (default ``~/.cache``)."""
    for folder in _cache_folders():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK | os.X_OK):
            return folder
    return None


def _cache_folders() -> Iterator[Path]:
    install = hashlib.sha256(str(_PACKAGE).encode()).hexdigest()[:16]
    if numba_cache := os.environ.get("NUMBA_CACHE_DIR"):
        yield Path(numba_cache) / f"consentry-{install}"
        return
    yield _PACKAGE / "__pycache__"
    if user := os.environ.get("XDG_CACHE_HOME"):
        yield Path(user) / "consentry" / install
        return
    try:
        yield Path.home() / ".cache" / "consentry" / install
    except RuntimeError:  # no home folder to be found
        return


def write_whole(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step: readers see the old file or the new
    one, never part of one (a process killed while writing leaves a stray temporary
    file, not a short one), and of two processes writing at once the last one wins
    whole. A folder that refuses it keeps what it had: what is kept here is rebuilt
    when missing."""
    made = None
    try:
        with tempfile.NamedTemporaryFile(
            dir=path.parent, prefix=f".{path.name}.", delete=False
        ) as out:
            made = Path(out.name)
            out.write(data)
        made.chmod(0o644)  # as numba's own files: a cache, not a secret
        os.replace(made, path)
    except OSError:
        if made is not None:
            with suppress(OSError):
                made.unlink()

"""The one way this project compiles a kernel: numba, machine code cached on disk."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

__all__ = ["inline", "jit"]

_F = TypeVar("_F", bound=Callable[..., Any])


def jit(function: _F) -> _F:
    """Compile ``function`` to machine code (cached beside its module); mypy still sees
    its Python signature."""
    return cast(_F, numba.njit(cache=True, nogil=True)(function))


def inline(function: _F) -> _F:
    """As ``jit``, and inlined into the kernels that call it."""
    return cast(_F, numba.njit(cache=True, nogil=True, inline="always")(function))

"""Environment variables set for a while and then put back as they were."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["restored_environment"]


@contextmanager
def restored_environment(*names: str, **values: str | None) -> Iterator[None]:
    """Within the block ``values`` are set (``None`` unsets one); after it, every
    variable in ``names`` and ``values`` is as it was before, whatever the block did."""
    saved = {name: os.environ.get(name) for name in (*names, *values)}
    for name, value in values.items():
        _put(name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            _put(name, value)


def _put(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value

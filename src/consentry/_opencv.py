"""OpenCV, loaded when an image is first fingerprinted or looked up, and loaded without
side effects: its loader prepends its own folders to ``PATH`` and
``LD_LIBRARY_PATH`` for the process's children, and consentry's children (``git``,
worker processes) must see the environment the user gave."""

from __future__ import annotations

import functools
from types import ModuleType

from consentry._environ import restored_environment

__all__ = ["opencv"]

_AMENDED = ("PATH", "LD_LIBRARY_PATH")


@functools.cache
def opencv() -> ModuleType:
    """The ``cv2`` module, with the environment as it was before importing it."""
    with restored_environment(*_AMENDED):
        import cv2  # noqa: PLC0415 - OpenCV's import costs a command that shows no image

        return cv2

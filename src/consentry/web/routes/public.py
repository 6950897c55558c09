"""The public pages: the log and its proofs, verifying a bundle, the check, certificates."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

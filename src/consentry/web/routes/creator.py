"""The creator's pages: dashboard, works, terms, requests, uses and earnings."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

"""The known AI crawlers: each one's robots.txt product token, its operator, and the
consentry categories (DESIGN.md §5.4) its operator uses what it fetches for.

The list is package data, ``ai_crawlers.json``, converted from the ai.robots.txt
project's ``robots.json`` (MIT licence); the file names its source, its date and how
each entry's categories were chosen.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources

from consentry.terms import Category

__all__ = ["AiCrawler", "ai_crawlers"]


@dataclass(frozen=True, slots=True)
class AiCrawler:
    """A crawler's robots.txt product token, who runs it, and the categories its
    operator uses what it fetches for."""

    token: str
    operator: str | None
    categories: tuple[Category, ...]
    purpose: str
    documentation: str | None = None


@functools.cache
def ai_crawlers() -> tuple[AiCrawler, ...]:
    """The known AI crawlers, from the package's ``ai_crawlers.json`` (converted from
    the ai.robots.txt project's list, MIT licence; the file names its source)."""
    text = resources.files("consentry.signals").joinpath("ai_crawlers.json").read_text("utf-8")
    return tuple(
        AiCrawler(
            token=entry["token"],
            operator=entry["operator"],
            categories=tuple(Category(c) for c in entry["categories"]),
            purpose=entry["purpose"],
            documentation=entry.get("documentation"),
        )
        for entry in json.loads(text)["crawlers"]
    )

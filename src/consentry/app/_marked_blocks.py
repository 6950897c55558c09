"""consentry's part of a file the owner also writes: one block between two marker
lines, replaced on each export and everything around it kept as it was.

Pure text functions; the export decides where each block goes.
"""

from __future__ import annotations

import re

__all__ = [
    "HEAD_BEGIN",
    "HEAD_END",
    "with_head_block",
    "with_line_block",
    "without_line_block",
]

_BEGIN = "BEGIN consentry signals (rewritten by consentry signals export)"
_END = "END consentry signals"
HEAD_BEGIN = f"<!-- {_BEGIN} -->"
HEAD_END = f"<!-- {_END} -->"
_LINE_BEGIN = f"# {_BEGIN}"
_LINE_END = f"# {_END}"


def with_line_block(existing: str, block: str, *, first: bool) -> str:
    """``existing`` (a ``#``-commented file: robots.txt, _headers) with ``block`` between
    the markers: in place of an earlier block, else first (``first``) or last.

    robots.txt wants it first: RSL's ``License`` record is global and belongs before
    the groups, and a group for the same agents elsewhere in the file is merged with
    ours by the crawler (RFC 9309 §2.2.1), so the owner's own rules still hold."""
    ours = f"{_LINE_BEGIN}\n{block.rstrip()}\n{_LINE_END}\n"
    kept = without_line_block(existing)
    if not kept.strip():
        return ours
    return f"{ours}\n{kept.lstrip(chr(10))}" if first else f"{kept.rstrip()}\n\n{ours}"


def without_line_block(text: str) -> str:
    """``text`` with consentry's block taken out: the owner's own lines."""
    return _without(text, re.escape(_LINE_BEGIN), re.escape(_LINE_END))


def with_head_block(html: str, block: str) -> str | None:
    """``html`` with ``block`` between the markers at the end of its ``<head>`` (in place
    of an earlier block); None when the page has no ``<head>`` to put it in."""
    ours = f"{HEAD_BEGIN}\n{block.rstrip()}\n{HEAD_END}\n"
    page = _without(html, re.escape(HEAD_BEGIN), re.escape(HEAD_END))
    closing = re.search(r"</head\s*>", page, re.IGNORECASE)
    if closing is not None:
        return f"{page[: closing.start()]}{ours}{page[closing.start() :]}"
    opening = re.search(r"<head(\s[^>]*)?>", page, re.IGNORECASE)
    if opening is None:
        return None
    return f"{page[: opening.end()]}\n{ours}{page[opening.end() :]}"


def _without(text: str, begin: str, end: str) -> str:
    return re.sub(rf"{begin}.*?{end}[ \t]*\r?\n?", "", text, flags=re.DOTALL)

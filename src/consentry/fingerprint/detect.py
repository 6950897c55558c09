"""What kind of content a file holds: text, code, image, or unusable binary."""

from __future__ import annotations

import mimetypes
import posixpath
import re
from collections.abc import Sequence
from enum import StrEnum
from itertools import accumulate

import numpy as np

from consentry.fingerprint._detect_native import CodeMarks, code_marks_many
from consentry.fingerprint.languages import language_for

__all__ = [
    "ContentKind",
    "code_families_by_content",
    "code_family_by_content",
    "declared_spdx",
    "detect_kind",
    "is_prose_name",
    "media_type_for",
    "names_no_kind",
]


class ContentKind(StrEnum):
    TEXT = "text"
    CODE = "code"
    IMAGE = "image"
    BINARY = "binary"


_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
# Prose and markup: fingerprinted as text even though lexers exist for them.
_PROSE_SUFFIXES = frozenset(
    {
        "",
        ".txt",
        ".text",
        ".md",
        ".markdown",
        ".rst",
        ".adoc",
        ".org",
        ".tex",
        ".html",
        ".htm",
        ".xml",
        ".csv",
        ".tsv",
        ".json",
        ".yaml",
        ".yml",
        ".toml",
        ".ini",
        ".cfg",
    }
)
# A suffix of digits is a version or a manual section (``LGPL-2.1``, ``GFDL-1.3``,
# ``ls.1``): Pygments reads the latter as groff, but neither is a program.
_NUMBERED = re.compile(r"\.\d+[a-z]*")
# Names that say nothing about the content: no suffix, or plain text. Corpus items are
# mostly named so (a JSON Lines id, a web page), and code among them is told by content.
_UNTOLD_SUFFIXES = frozenset({"", ".txt", ".text"})
_SPDX = re.compile(
    rb"SPDX-License-Identifier:\s*([A-Za-z0-9.+\-]+(?:\s+(?:AND|OR|WITH)\s+[A-Za-z0-9.+\-]+)*)"
)


def _image_type(head: bytes) -> str | None:
    for magic, media in _IMAGE_MAGIC:
        if head.startswith(magic):
            return media
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _looks_binary(head: bytes) -> bool:
    return b"\x00" in head


def detect_kind(name: str, head: bytes) -> ContentKind:
    """Classify a file from its name and its first bytes (8 KiB is plenty)."""
    if _image_type(head):
        return ContentKind.IMAGE
    if _looks_binary(head):
        return ContentKind.BINARY
    base = posixpath.basename(name)
    if is_prose_name(base) and not head.startswith(b"#!"):
        return ContentKind.TEXT
    if head.startswith(b"#!") or language_for(base) is not None:
        return ContentKind.CODE
    return ContentKind.TEXT


def is_prose_name(name: str) -> bool:
    """Whether a file called ``name`` is prose or markup by its suffix (or has none)."""
    suffix = posixpath.splitext(name)[1].lower()
    return suffix in _PROSE_SUFFIXES or _NUMBERED.fullmatch(suffix) is not None


def names_no_kind(name: str) -> bool:
    """Whether ``name`` says nothing of its content's kind (no suffix, ``.txt``, or a
    version number), so that the content decides whether it is code."""
    suffix = posixpath.splitext(posixpath.basename(name))[1].lower()
    return suffix in _UNTOLD_SUFFIXES or _NUMBERED.fullmatch(suffix) is not None


def media_type_for(name: str, kind: ContentKind, head: bytes) -> str:
    """A media type for the record: sniffed for images, by name otherwise."""
    if kind is ContentKind.IMAGE:
        return _image_type(head) or "application/octet-stream"
    guessed, _ = mimetypes.guess_type(name, strict=False)
    if guessed:
        return guessed
    return (
        "text/plain" if kind in (ContentKind.TEXT, ContentKind.CODE) else "application/octet-stream"
    )


def declared_spdx(head: bytes) -> str | None:
    """The SPDX licence expression a file declares in its first lines, if any."""
    match = _SPDX.search(head)
    return match.group(1).decode("ascii") if match else None


# -- code told by its content ---------------------------------------------------------
#
# Pygments' ``guess_lexer`` was measured for this and refused: on renamed standard-
# library modules it named Python 86 times in 100, at about 8 ms per item, and it named
# no prose as text (man pages and READMEs came back as GDScript, Carbon, Objective-C).
# What follows reads the first 4 KiB: a symbol density and a share of lines ending as
# code lines end decide whether it is code at all, then the shape of its lines decides
# the family, as the native tokeniser groups languages. The lines are counted by a
# kernel (``_detect_native``, which defines each line rule), one pass over each text's
# characters and one call for a chunk of texts; what the counts mean is decided here.
# ``bench/nameless_code.py`` measures it on renamed code and on prose.

_CONTENT_HEAD = 4096
# The family is told from the first lines only: its marks show at once.
_FAMILY_HEAD = 2048
_LEADING_DOCSTRING = re.compile(r'\s*[rRuU]?("""|\'\'\')')


def code_family_by_content(text: str) -> str | None:
    """The native tokeniser family (``python``, ``c``, ``php``, ``hash``, ``dash``,
    ``lisp``, ``erlang``) whose code ``text`` looks like, or None for prose, markup and
    anything unsure. Reads at most the first 4 KiB past a leading docstring."""
    return code_families_by_content([text])[0]


def code_families_by_content(texts: Sequence[str]) -> list[str | None]:
    """``code_family_by_content`` of each of ``texts``, the same answers, their lines
    counted in one kernel call (two where some are ASCII and some are not): a chunk of
    corpus items at a time, as the gate reads them."""
    heads = [_content_head(text) for text in texts]
    return [
        _family(marks, len(head)) for marks, head in zip(_code_marks(heads), heads, strict=True)
    ]


def _content_head(text: str) -> str:
    """The first 4 KiB of ``text`` past a leading docstring (a module's docstring is
    prose; the code starts after it)."""
    start = 0
    if (docstring := _LEADING_DOCSTRING.match(text)) is not None:
        close = text.find(docstring.group(1), docstring.end())
        start = close + 3 if close >= 0 else 0
    return text[start : start + _CONTENT_HEAD]


_NO_MARKS = CodeMarks._make([0] * len(CodeMarks._fields))


def _code_marks(heads: Sequence[str]) -> list[CodeMarks]:
    """The line counts (``_detect_native``) of each head: ASCII heads as bytes, the
    others as code points (the counts are the same either way)."""
    marks: list[CodeMarks] = [_NO_MARKS] * len(heads)
    narrow = [k for k, head in enumerate(heads) if head.isascii()]
    wide = [k for k, head in enumerate(heads) if not head.isascii()]
    for group, encoding, dtype in ((narrow, "ascii", np.uint8), (wide, "utf-32-le", np.uint32)):
        if not group:
            continue
        # A lone surrogate (JSON's "\ud800" decodes to one) is a code point like others.
        joined = "".join(heads[k] for k in group).encode(encoding, "surrogatepass")
        bounds = np.fromiter(accumulate((len(heads[k]) for k in group), initial=0), np.int64)
        rows = code_marks_many(np.frombuffer(joined, dtype), bounds, _FAMILY_HEAD).tolist()
        for k, row in zip(group, rows, strict=True):
            marks[k] = CodeMarks._make(row)
    return marks


def _family(marks: CodeMarks, length: int) -> str | None:
    """The family a head of ``length`` characters with these counts is code of: a
    symbol density and a share of lines ending as code lines end decide whether it is
    code at all, then the lines of its first 2 KiB that look like each family's."""
    if marks.symbols < 0.012 * length:
        return None
    lines = marks.lines - marks.blank_lines
    if lines < 5 or marks.roff_lines > lines * 0.1:
        return None  # a few lines say nothing; roff is a manual page
    # An opening tag or a module attribute names its language outright.
    if marks.php_tags:
        return "php"
    if marks.erlang_attributes:
        return "erlang"
    if marks.code_line_ends < lines * 0.15:
        return None
    scores = {
        # Python is what most code datasets hold most of; its lines are also the
        # likeliest to show another family's marks (a ``$`` in a string).
        "python": marks.python_lines * 1.5,
        # A C line that ends in a brace and opens with one counts twice, unless that
        # brace is all it holds.
        "c": marks.c_opens + marks.c_ends - marks.c_lone_braces,
        # A declaring word's first mark being a ``$`` name is one mark, not two.
        "hash": (marks.hash_lines + marks.hash_variables - marks.hash_declared_variables) * 0.7,
        "dash": marks.dash_lines,
        "lisp": marks.lisp_lines * 2,
    }
    best = max(scores, key=scores.__getitem__)
    first_lines = marks.family_lines - marks.family_blank_lines
    return best if scores[best] >= 0.03 * first_lines else None

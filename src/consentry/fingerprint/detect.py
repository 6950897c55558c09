"""What kind of content a file holds: text, code, image, or unusable binary."""

from __future__ import annotations

import mimetypes
import posixpath
import re
from enum import StrEnum

from consentry.fingerprint.languages import language_for

__all__ = [
    "ContentKind",
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
# code lines end decide whether it is code at all (prose exits after a few counts), then
# the shape of its lines decides the family, as the native tokeniser groups languages.
# ``bench/nameless_code.py`` measures it on renamed code and on prose.

_CONTENT_HEAD = 4096
# The family is told from the first lines only: its marks show at once, and each
# family's pattern costs a pass over the text (half of a gate's time per nameless code
# item when the passes read 4 KiB).
_FAMILY_HEAD = 2048
_SYMBOLS = "(){}[]=;:"
_BLANK = re.compile(r"^[ \t]*$", re.M)
_ROFF = re.compile(r"^\.(?:[A-Za-z]{1,3}|\\\")(?:\s|$)", re.M)
_CODE_LINE = re.compile(r"[,(\[{:;)\]}][ \t]*$", re.M)
_LEADING_DOCSTRING = re.compile(r'\s*[rRuU]?("""|\'\'\')')
_PYTHON_LINE = re.compile(
    r"^[ \t]*(?:(?:async[ \t]+)?def[ \t]+\w+[ \t]*\(|class[ \t]+\w+[ \t]*[(:]"
    r"|import[ \t]+[\w.]+[ \t]*(?:,|as\b|$)|from[ \t]+[\w.]+[ \t]+import\b"
    r"|(?:elif|if|while|for|with|except)\b[^\n]*:[ \t]*$|(?:try|else|finally)[ \t]*:"
    r"|return\b|raise\b|@\w)",
    re.M,
)
# A line of the C family ends in ``;``, ``{`` or ``}``, or opens with a brace (one that
# does both counts twice, unless that brace is all the line holds). Counted as three
# simple patterns, not one alternation, which the engine tries at every character.
_C_OPENS = re.compile(r"^[ \t]*[{}]", re.M)
_C_ENDS = re.compile(r"[;{}][ \t]*$", re.M)
_C_BRACE_LINE = re.compile(r"^[ \t]*[{}][ \t]*$", re.M)
_PHP = re.compile(r"<\?php\b")
_ERLANG = re.compile(r"^-(?:module|export|include|record|define)\(", re.M)
# Shell, Perl and Ruby lines: a block word alone, a declaring word, or a ``$name``
# (counted apart: a literal ``$`` is found fast; a declaring word's first mark being that
# ``$`` is one mark, not two).
_HASH_LINE = re.compile(
    r"^[ \t]*(?:fi|done|esac|then|do|end|else)[ \t]*$"
    r"|^[ \t]*(?:local|my|export|puts|require|use)[ \t]+\S",
    re.M,
)
_HASH_VARIABLE = re.compile(r"\$\{?\w")
_HASH_DECLARES_VARIABLE = re.compile(
    r"^[ \t]*(?:local|my|export|puts|require|use)[ \t]+\$\{?\w", re.M
)
_DASH_WORDS = ("select", "create", "insert", "delete", "function")
_LISP_OPENERS = ("(def", "(let", "(setq", "(lambda", "(ns")
_DASH_LINE = re.compile(
    r"^[ \t]*(?:select[ \t]|create[ \t]+table|insert[ \t]+into|delete[ \t]+from"
    r"|local[ \t]+function|function[ \t]+\w+[ \t]*\()",
    re.M | re.I,
)
_LISP_LINE = re.compile(r"^[ \t]*\((?:defun|defmacro|defvar|define|let|setq|lambda|ns)\b", re.M)


def _c_lines(text: str) -> int:
    """Marks of the C family: lines ending in ``;``, ``{`` or ``}``, and lines opening
    with a brace, a lone brace once."""
    if not any(mark in text for mark in ";{}"):
        return 0
    opens, ends = len(_C_OPENS.findall(text)), len(_C_ENDS.findall(text))
    return opens + ends - len(_C_BRACE_LINE.findall(text))


def _hash_marks(text: str) -> int:
    """Marks of the shell family: block words alone, declaring words, ``$`` names."""
    lines = len(_HASH_LINE.findall(text))
    if "$" not in text:
        return lines
    both = len(_HASH_DECLARES_VARIABLE.findall(text))
    return lines + len(_HASH_VARIABLE.findall(text)) - both


def code_family_by_content(text: str) -> str | None:
    """The native tokeniser family (``python``, ``c``, ``php``, ``hash``, ``dash``,
    ``lisp``, ``erlang``) whose code ``text`` looks like, or None for prose, markup and
    anything unsure. Reads at most the first 4 KiB past a leading docstring."""
    start = 0
    if (docstring := _LEADING_DOCSTRING.match(text)) is not None:
        # A module's docstring is prose; the code starts after it.
        close = text.find(docstring.group(1), docstring.end())
        start = close + 3 if close >= 0 else 0
    head = text[start : start + _CONTENT_HEAD]
    if sum(head.count(c) for c in _SYMBOLS) < 0.012 * len(head):
        return None
    lines = head.count("\n") + 1 - len(_BLANK.findall(head))
    if lines < 5 or len(_ROFF.findall(head)) > lines * 0.1:
        return None  # a few lines say nothing; roff is a manual page
    # An opening tag or a module attribute names its language outright.
    if _PHP.search(head):
        return "php"
    if _ERLANG.search(head):
        return "erlang"
    if len(_CODE_LINE.findall(head)) < lines * 0.15:
        return None
    first = head[:_FAMILY_HEAD]
    lowered = first.lower()
    scores = {
        # Python is what most code datasets hold most of; its lines are also the
        # likeliest to show another family's marks (a ``$`` in a string).
        "python": len(_PYTHON_LINE.findall(first)) * 1.5,
        "c": _c_lines(first),
        "hash": _hash_marks(first) * 0.7,
        # A family's pass is skipped where none of the words it needs appears.
        "dash": len(_DASH_LINE.findall(first)) if any(w in lowered for w in _DASH_WORDS) else 0,
        "lisp": len(_LISP_LINE.findall(first)) * 2 if any(o in first for o in _LISP_OPENERS) else 0,
    }
    best = max(scores, key=scores.__getitem__)
    first_lines = first.count("\n") + 1 - len(_BLANK.findall(first))
    return best if scores[best] >= 0.03 * first_lines else None

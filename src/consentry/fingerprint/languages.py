"""Which language a source file is in, and how its comments, literals and keywords look.

Common languages are tokenised natively, in one pass (``_native.code_tokens``), from a
small description of their family: comment markers, quote characters, keywords. Any
other language Pygments knows is lexed by Pygments. Which path a file takes depends only
on its name, so a work and a copy of it are always tokenised the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import numpy.typing as npt
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
from pygments.lexers.special import TextLexer
from pygments.util import ClassNotFound

from consentry.fingerprint import _native

__all__ = [
    "CodeLanguage",
    "Family",
    "family_language",
    "language_for",
    "language_named",
    "suffix_for_language",
]

_Arrays = tuple[Any, Any, Any, Any, Any, Any, Any, Any, Any, int]


@dataclass(frozen=True, slots=True)
class Family:
    """How one family of languages writes comments, literals and keywords."""

    name: str
    line_comments: tuple[str, ...]
    block_comments: tuple[tuple[str, str], ...] = ()
    quotes: str = "\"'"
    string_prefixes: str = ""
    keywords: frozenset[str] = frozenset()
    # Python: three quotes open a literal that may span lines; one that opens a line
    # is a docstring.
    triple_quotes: bool = False
    fold_case: bool = False
    # What ``_native.code_tokens`` takes, made on first use (``arrays``).
    _arrays: _Arrays | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def arrays(self) -> _Arrays:
        """What ``_native.code_tokens`` takes: comment markers and lengths, quotes,
        string prefixes, keyword keys in a table and the longest keyword's length.
        Made on first use, not when the family is defined: the keys come from a
        kernel, and importing this module must run none (that would load or compile
        machine code before any command has begun)."""
        arrays = self._arrays
        if arrays is None:
            arrays = self._made_arrays()
            object.__setattr__(self, "_arrays", arrays)
        return arrays

    def _made_arrays(self) -> _Arrays:
        def markers(texts: tuple[str, ...]) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
            table = np.zeros((len(texts), max([len(t) for t in texts] + [1])), dtype=np.uint32)
            for row, text in enumerate(texts):
                table[row, : len(text)] = [ord(c) for c in text]
            return table, np.array([len(t) for t in texts], dtype=np.int64)

        lines, line_lengths = markers(self.line_comments)
        opens, open_lengths = markers(tuple(o for o, _ in self.block_comments))
        closes, close_lengths = markers(tuple(c for _, c in self.block_comments))
        keys = [
            int(_native.word_key(np.array([ord(c) for c in word], dtype=np.uint32), self.fold_case))
            for word in self.keywords
        ]
        return (
            lines,
            line_lengths,
            opens,
            closes,
            open_lengths,
            close_lengths,
            np.array([ord(c) for c in self.quotes], dtype=np.uint32),
            np.array([ord(c) for c in self.string_prefixes], dtype=np.uint32),
            _native.keyword_table(keys),
            max((len(word) for word in self.keywords), default=0),
        )


_PYTHON_KEYWORDS = """False None True and as assert async await break class continue def del
elif else except finally for from global if import in is lambda nonlocal not or pass raise
return try while with yield self cls abs all any ascii bin bool breakpoint
bytearray bytes callable chr classmethod compile complex delattr dict dir divmod enumerate
eval exec filter float format frozenset getattr globals hasattr hash help hex id input int
isinstance issubclass iter len list locals map max memoryview min next object oct open ord
pow print property range repr reversed round set setattr slice sorted staticmethod str sum
super tuple type vars zip __import__ NotImplemented Ellipsis"""

_C_KEYWORDS = """auto break case char const continue default do double else enum extern float
for goto if inline int long register restrict return short signed sizeof static struct
switch typedef union unsigned void volatile while bool true false nullptr NULL class public
private protected virtual override template typename namespace using new delete this throw
try catch operator friend explicit mutable constexpr noexcept final abstract extends
implements interface package import instanceof super synchronized throws transient native
boolean byte var let const function typeof undefined null async await yield export from of
in as is get set func go chan defer fallthrough map range select type fn impl trait mut
pub use mod crate self Self match loop where dyn ref move unsafe string object sealed
internal readonly val fun when init guard protocol extension lazy weak echo foreach
elseif array include define ifdef ifndef endif pragma"""

_HASH_KEYWORDS = """if then else elif fi for while until do done case esac in function
return local export echo read exit def end class module begin rescue ensure unless yield
self nil true false and or not sub my our use package foreach last next require puts print
TRUE FALSE NULL library"""

_DASH_KEYWORDS = """select from where and or not insert into values update set delete create
table drop alter index primary key foreign references join inner left right outer on as
group by order having limit offset union all distinct null is in exists between like case
when then else end begin commit rollback view trigger function procedure returns return
declare int integer varchar text boolean date timestamp default unique check constraint
local if elseif for while do repeat until nil true false break goto module import data
type newtype class instance let of deriving"""

_LISP_KEYWORDS = "defun defmacro defvar let lambda if cond setq define quote nil t progn"

_ERLANG_KEYWORDS = "module export fun case of end if receive after when begin try catch"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


PYTHON = Family(
    "python",
    ("#",),
    string_prefixes="rRbBuUfF",
    keywords=_words(_PYTHON_KEYWORDS),
    triple_quotes=True,
)
C_LIKE = Family("c", ("//",), (("/*", "*/"),), quotes="\"'`", keywords=_words(_C_KEYWORDS))
PHP = Family("php", ("//", "#"), (("/*", "*/"),), quotes="\"'`", keywords=_words(_C_KEYWORDS))
HASH = Family("hash", ("#",), quotes="\"'`", keywords=_words(_HASH_KEYWORDS))
DASH = Family(
    "dash",
    ("--",),
    (("--[[", "]]"), ("{-", "-}"), ("/*", "*/")),
    keywords=_words(_DASH_KEYWORDS),
    fold_case=True,
)
LISP = Family("lisp", (";",), (("#|", "|#"),), quotes='"', keywords=_words(_LISP_KEYWORDS))
ERLANG = Family("erlang", ("%",), quotes="\"'", keywords=_words(_ERLANG_KEYWORDS))

_FAMILY_BY_SUFFIX: dict[str, Family] = {
    **dict.fromkeys((".py", ".pyw", ".pyi"), PYTHON),
    **dict.fromkeys(
        (
            ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx", ".java", ".js", ".mjs",
            ".cjs", ".jsx", ".ts", ".tsx", ".go", ".rs", ".cs", ".kt", ".kts", ".swift",
            ".scala", ".dart", ".groovy",
        ),
        C_LIKE,
    ),
    ".php": PHP,
    **dict.fromkeys((".sh", ".bash", ".zsh", ".rb", ".pl", ".pm", ".r", ".jl", ".tcl"), HASH),
    **dict.fromkeys((".sql", ".lua", ".hs", ".elm", ".adb", ".ads"), DASH),
    **dict.fromkeys((".lisp", ".el", ".clj", ".cljs", ".scm", ".rkt"), LISP),
    **dict.fromkeys((".erl", ".hrl"), ERLANG),
}  # fmt: skip
_FAMILY_BY_NAME = {
    "python": PYTHON, "python3": PYTHON, "sh": HASH, "bash": HASH, "zsh": HASH,
    "ruby": HASH, "perl": HASH, "node": C_LIKE, "php": PHP, "lua": DASH,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class CodeLanguage:
    """A language as the fingerprinter reads it: a native family, or a Pygments lexer
    for the languages the families do not cover."""

    name: str
    family: Family | None = None
    lexer: Lexer | None = None


def _language(family: Family | None, lexer: Callable[[], Lexer]) -> CodeLanguage | None:
    if family is not None:
        return CodeLanguage(family.name, family=family)
    try:
        found = lexer()
    except ClassNotFound:
        return None
    if isinstance(found, TextLexer):
        return None  # Pygments' lexer for plain text: prose, not code
    return CodeLanguage(found.name, lexer=found)


def language_for(filename: str) -> CodeLanguage | None:
    """The language of ``filename`` by its name, or None when it is not code."""
    suffix = PurePosixPath(filename).suffix.lower()
    if suffix in _FAMILY_BY_SUFFIX:
        return _family_language(suffix)
    return _lexer_language(filename)


@functools.cache
def _family_language(suffix: str) -> CodeLanguage:
    family = _FAMILY_BY_SUFFIX[suffix]
    return CodeLanguage(family.name, family=family)


# Bounded: a corpus names millions of files, and a cache per name would keep them all.
@functools.lru_cache(maxsize=4096)
def _lexer_language(filename: str) -> CodeLanguage | None:
    return _language(None, lambda: get_lexer_for_filename(filename, stripnl=False, ensurenl=False))


@functools.lru_cache(maxsize=256)
def language_named(name: str) -> CodeLanguage | None:
    """The language an interpreter name stands for (``#!/usr/bin/env python3``)."""
    return _language(
        _FAMILY_BY_NAME.get(name),
        lambda: get_lexer_by_name(name, stripnl=False, ensurenl=False),
    )


_FAMILIES = {family.name: family for family in (PYTHON, C_LIKE, PHP, HASH, DASH, LISP, ERLANG)}


@functools.cache
def family_language(name: str) -> CodeLanguage:
    """The natively tokenised language of the family called ``name`` (what
    ``detect.code_family_by_content`` answers). Raises ``KeyError`` for no family."""
    family = _FAMILIES[name]
    return CodeLanguage(family.name, family=family)


# How code datasets name languages (The Stack's ``lang``, GitHub's linguist names) where
# Pygments' own aliases do not say the same thing.
_SUFFIX_BY_LANGUAGE = {
    "python": ".py", "c": ".c", "c++": ".cpp", "cpp": ".cpp", "c#": ".cs", "csharp": ".cs",
    "java": ".java", "javascript": ".js", "js": ".js", "typescript": ".ts", "go": ".go",
    "rust": ".rs", "kotlin": ".kt", "swift": ".swift", "scala": ".scala", "dart": ".dart",
    "php": ".php", "shell": ".sh", "bash": ".sh", "sh": ".sh", "ruby": ".rb", "perl": ".pl",
    "r": ".r", "julia": ".jl", "sql": ".sql", "lua": ".lua", "haskell": ".hs",
    "emacs-lisp": ".el", "common-lisp": ".lisp", "clojure": ".clj", "scheme": ".scm",
    "racket": ".rkt", "erlang": ".erl",
}  # fmt: skip


@functools.lru_cache(maxsize=256)
def suffix_for_language(language: str) -> str | None:
    """A file suffix for a language as a dataset names it (``Python``, ``c++``), so a
    nameless item can be read as a file of that language; None when no lexer knows it."""
    key = language.strip().lower()
    if key in _SUFFIX_BY_LANGUAGE:
        return _SUFFIX_BY_LANGUAGE[key]
    try:
        lexer = get_lexer_by_name(key)
    except ClassNotFound:
        return None
    for pattern in lexer.filenames:
        if pattern.startswith("*.") and not any(c in pattern[2:] for c in "*?["):
            return pattern[1:]
    return None

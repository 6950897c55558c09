"""The marks of code in a text's first lines, counted by numba for many texts in one call.

``detect`` tells a nameless text's code family from a few counts of its lines; this
module counts them: one pass over each text's characters, then a look at each line's
two ends, a whole chunk of texts in one call. The counts were a dozen regular-expression
passes per text (two fifths of the gate's time); each rule below cites the expression it
came from, but the rule as written here is the definition, and the tests hold this
kernel to a plain reading of the rules (and to the old counts on real code and prose).

Terms every rule uses:

- *Lines*: a text is cut at each line feed, as ``str.split("\\n")`` cuts it (n line
  feeds make n + 1 lines, the last empty when the text ends with one). A carriage return
  that ends a line belongs to its line break, not to the line (CRLF text is read as LF
  text; the expressions missed every CRLF line's end).
- *Blanks* are spaces and tabs. A line's *indent* is the blanks it opens with, its
  *first mark* the character after them, its *last mark* its last character that is not
  a blank. A *blank line* holds blanks only (or nothing).
- *Whitespace* is what ``str.isspace`` accepts (the expressions' ``\\s``).
- A *word character* is an ASCII letter, digit or underscore, or any character beyond
  ASCII that is not whitespace: a little more than ``\\w`` (a non-ASCII punctuation
  mark counts too), so that identifiers in any script count the same as ASCII ones.
- A word *stands alone* where what follows it is not a word character, or the line (or
  the text) ends there: the expressions' ``\\b``.

Texts arrive as arrays of code points, ``uint8`` for ASCII text and ``uint32`` otherwise
(numba compiles one version for each); the counts do not depend on which carries them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from consentry._jit import inline as _inline
from consentry._jit import jit as _jit
from consentry.fingerprint._native import _is_unicode_space

__all__ = ["CodeMarks", "code_marks_many"]


class CodeMarks(NamedTuple):
    """One text's counts, in the order of a row of ``code_marks_many``'s answer. The
    first seven are over the whole text passed (detection's 4 KiB head), the rest over
    its first ``family_head`` characters (the 2 KiB the family is told from)."""

    symbols: int  # characters among ( ) { } [ ] = ; :
    lines: int
    blank_lines: int
    roff_lines: int  # ``_roff_line``
    code_line_ends: int  # lines whose last mark is one of , ( [ { : ; ) ] }
    php_tags: int  # ``<?php`` standing alone, anywhere in a line
    erlang_attributes: int  # ``_erlang_attribute``
    family_lines: int
    family_blank_lines: int
    python_lines: int  # ``_python_line``
    c_opens: int  # lines whose first mark is ``{`` or ``}``
    c_ends: int  # lines whose last mark is ``;``, ``{`` or ``}``
    c_lone_braces: int  # lines whose one mark is a single ``{`` or ``}``
    hash_lines: int  # ``_hash_line``
    hash_variables: int  # ``$`` then a word character, or ``${`` then one
    hash_declared_variables: int  # ``_hash_line`` by a declaring word, then a variable
    dash_lines: int  # ``_dash_line``
    lisp_lines: int  # ``_lisp_line``


# Where each count sits in a row (``CodeMarks``' order; a test holds the two together).
(
    SYMBOLS, LINES, BLANK_LINES, ROFF_LINES, CODE_LINE_ENDS, PHP_TAGS, ERLANG_ATTRIBUTES,
    FAMILY_LINES, FAMILY_BLANK_LINES, PYTHON_LINES, C_OPENS, C_ENDS, C_LONE_BRACES,
    HASH_LINES, HASH_VARIABLES, HASH_DECLARED_VARIABLES, DASH_LINES, LISP_LINES,
) = range(len(CodeMarks._fields))  # fmt: skip
_MARKS = len(CodeMarks._fields)

# What each ASCII character is, as bits.
_SYMBOL, _CODE_END, _C_END, _BRACE, _WORD, _BLANK, _LETTER = 1, 2, 4, 8, 16, 32, 64


def _ascii_classes() -> npt.NDArray[np.uint8]:
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    sets = (
        (_SYMBOL, "(){}[]=;:"),
        (_CODE_END, ",([{:;)]}"),
        (_C_END, ";{}"),
        (_BRACE, "{}"),
        (_WORD, "_0123456789" + letters),
        (_BLANK, " \t"),
        (_LETTER, letters),
    )
    table = np.zeros(128, dtype=np.uint8)
    for bit, characters in sets:
        for character in characters:
            table[ord(character)] |= bit
    return table


_ASCII = _ascii_classes()
_LF, _CR, _QUOTE, _DOLLAR, _LPAREN, _COMMA, _DASH, _DOT = 10, 13, 34, 36, 40, 44, 45, 46
_COLON, _LESS, _AT, _BACKSLASH, _LBRACE = 58, 60, 64, 92, 123

# Every rule opens with a word (after a line's indent, or after its ``(`` or ``-``):
# the line's first run of ASCII letters is looked up once, among these, and what it
# may open is a set of these bits. Words are matched in their case, except the SQL and
# Lua ones, matched in either.
_PY_ASYNC, _PY_DEF, _PY_CLASS, _PY_IMPORT, _PY_FROM = 1, 2, 4, 8, 16
_PY_BLOCK, _PY_SUITE, _PY_EXIT, _HASH_BLOCK, _HASH_DECLARE = 32, 64, 128, 256, 512
_DASH_SELECT, _DASH_PAIR, _DASH_FUNCTION, _LISP, _ERLANG = 1024, 2048, 4096, 8192, 16384
_EITHER_CASE = _DASH_SELECT | _DASH_PAIR | _DASH_FUNCTION
_OPENERS = {
    _PY_ASYNC: ("async",),
    _PY_DEF: ("def",),
    _PY_CLASS: ("class",),
    _PY_IMPORT: ("import",),
    _PY_FROM: ("from",),
    _PY_BLOCK: ("elif", "if", "while", "for", "with", "except"),
    _PY_SUITE: ("try", "else", "finally"),
    _PY_EXIT: ("return", "raise"),
    _HASH_BLOCK: ("fi", "done", "esac", "then", "do", "end", "else"),
    _HASH_DECLARE: ("local", "my", "export", "puts", "require", "use"),
    _DASH_SELECT: ("select",),
    _DASH_PAIR: ("create", "insert", "delete", "local"),
    _DASH_FUNCTION: ("function",),
    _LISP: ("defun", "defmacro", "defvar", "define", "let", "setq", "lambda", "ns"),
    _ERLANG: ("module", "export", "include", "record", "define"),
}
# The second word of a pair (``create table``): matched as a prefix (``create
# tablespace`` counts, as it did).
_PAIRED = {"create": "table", "insert": "into", "delete": "from", "local": "function"}
_LONGEST_OPENER = 8


def _key(word: str) -> int:
    """A word of at most eight ASCII letters as one number, its letters small."""
    key = 0
    for letter in word.lower():
        key = key << 8 | ord(letter)
    return key


def _opener_table() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Each opening word's key; and its bits with, beside them, its pair's second word
    (its letters, after its length)."""
    roles: dict[str, int] = {}
    for bit, words in _OPENERS.items():
        for word in words:
            roles[word] = roles.get(word, 0) | bit
    keys = np.array([_key(word) for word in roles], dtype=np.int64)
    rows = np.zeros((len(roles), 2 + _LONGEST_OPENER), dtype=np.int64)
    for row, (word, bits) in enumerate(roles.items()):
        second = _PAIRED.get(word, "")
        rows[row, : 2 + len(second)] = [bits, len(second), *map(ord, second)]
    return keys, rows


_OPENER_KEYS, _OPENER_ROWS = _opener_table()
_AS, _DEF, _IMPORT, _PHP = (
    np.array(list(map(ord, word)), np.int64) for word in ("as", "def", "import", "<?php")
)


# -- characters and words -----------------------------------------------------------


@_inline
def _is(c: Any, bit: int) -> bool:
    return bool(c < 128 and (_ASCII[c] & bit) != 0)


@_inline
def _is_word(c: Any) -> bool:
    if c < 128:
        return bool(_ASCII[c] & _WORD)
    return not _is_unicode_space(c)


@_inline
def _skip_blanks(cps: Any, p: int, end: int) -> int:
    while p < end and _is(cps[p], _BLANK):
        p += 1
    return p


@_inline
def _alone(cps: Any, p: int, end: int) -> bool:
    """Whether a word ending at ``p`` stands alone."""
    return p >= end or not _is_word(cps[p])


@_inline
def _starts(cps: Any, p: int, end: int, word: Any, fold: bool) -> bool:
    """Whether the letters ``word`` are at ``p`` (in either case, with ``fold``: a small
    ASCII letter ``w`` is matched by ``c | 32 == w`` and nothing else)."""
    if p + word.shape[0] > end:
        return False
    for k in range(word.shape[0]):
        c = cps[p + k]
        if (c | 32 if fold else c) != word[k]:
            return False
    return True


@_inline
def _after_name(cps: Any, p: int, end: int, dotted: bool) -> int:
    """One or more blanks at ``p``, a name (word characters, and full stops where
    ``dotted``) and any blanks: where they end; -1 where the line does not go so."""
    r = _skip_blanks(cps, p, end)
    s = r
    while s < end and (_is_word(cps[s]) or (dotted and cps[s] == _DOT)):
        s += 1
    if not p < r < s:  # no blank, or no name
        return -1
    return _skip_blanks(cps, s, end)


@_inline
def _opener(cps: Any, p: int, end: int) -> tuple[int, int, int]:
    """The run of ASCII letters at ``p``: where it ends, the row of the opening word it
    is (-1 for none) and what that word may open (0 for nothing; only what a word opens
    in either case, where the run holds a capital)."""
    q = p
    key = 0
    capitals = False
    while q < end and _is(cps[q], _LETTER) and q - p <= _LONGEST_OPENER:
        c = cps[q]
        key = key << 8 | (c | 32)
        capitals |= c < 97
        q += 1
    if q - p > _LONGEST_OPENER:
        return q, -1, 0
    for row in range(_OPENER_KEYS.shape[0]):
        if _OPENER_KEYS[row] == key:
            bits = _OPENER_ROWS[row, 0]
            return q, row, bits & _EITHER_CASE if capitals else bits
    return q, -1, 0


@_inline
def _is_variable(cps: Any, p: int, end: int) -> bool:
    """Whether the ``$`` at ``p`` opens a variable: a word character follows, or ``{``
    and a word character (``_HASH_VARIABLE``, ``\\$\\{?\\w``)."""
    q = p + 1
    if q < end and cps[q] == _LBRACE:
        q += 1
    return q < end and _is_word(cps[q])


# -- the line rules -----------------------------------------------------------------
#
# Each reads one line, which ends at ``end`` (before its line feed, and before the CR
# of a CRLF); ``a`` is where it begins, ``i`` its first mark, ``last`` its last mark,
# and ``w``, ``row`` and ``bits`` are what ``_opener`` found at its first mark. Where
# a rule came from a regular expression of ``detect`` before this kernel, it says
# which.


@_jit
def _roff_line(cps: Any, a: int, end: int) -> bool:
    """A roff request or comment: the line opens (unindented) with a full stop, then
    one to three ASCII letters or ``\\"``, then whitespace or the line's end
    (``^\\.(?:[A-Za-z]{1,3}|\\\\")(?:\\s|$)``)."""
    if end - a < 2 or cps[a] != _DOT:
        return False
    p = a + 1
    if cps[p] == _BACKSLASH and p + 1 < end and cps[p + 1] == _QUOTE:
        q = p + 2
    else:
        q = p
        while q < end and _is(cps[q], _LETTER):
            q += 1
        if q == p or q - p > 3:
            return False
    return q >= end or _is_unicode_space(cps[q])


@_jit
def _erlang_attribute(cps: Any, a: int, end: int) -> bool:
    """A module attribute: the line opens (unindented) with ``-``, then one of
    ``module`` ``export`` ``include`` ``record`` ``define``, then ``(``
    (``^-(?:module|export|include|record|define)\\(``)."""
    if end - a < 2 or cps[a] != _DASH:
        return False
    w, _, bits = _opener(cps, a + 1, end)
    return bits & _ERLANG != 0 and w < end and cps[w] == _LPAREN


@_jit
def _python_definition(cps: Any, w: int, bits: int, end: int) -> bool:
    """``def``, blanks, a name, blanks or none and ``(``, with ``async`` and blanks
    before it or not; ``class``, blanks, a name, blanks or none and ``(`` or ``:``."""
    if bits & _PY_ASYNC:
        p = _skip_blanks(cps, w, end)
        if p == w or not _starts(cps, p, end, _DEF, False):
            return False
        w, bits = p + 3, _PY_DEF
    q = _after_name(cps, w, end, False)
    if q < 0 or q >= end:
        return False
    return cps[q] == _LPAREN or (bits & _PY_CLASS != 0 and cps[q] == _COLON)


@_jit
def _python_import(cps: Any, w: int, bits: int, end: int) -> bool:
    """``import``, blanks and a dotted name (word characters and full stops), then
    blanks or none and ``,``, ``as`` standing alone, or the line's end; ``from``,
    blanks, a dotted name, blanks and ``import`` standing alone."""
    q = _after_name(cps, w, end, True)
    if q < 0:
        return False
    if bits & _PY_IMPORT:
        return (
            q == end
            or cps[q] == _COMMA
            or (_starts(cps, q, end, _AS, False) and _alone(cps, q + 2, end))
        )
    return (
        _is(cps[q - 1], _BLANK) and _starts(cps, q, end, _IMPORT, False) and _alone(cps, q + 6, end)
    )


@_jit
def _python_statement(cps: Any, w: int, bits: int, last: int, end: int) -> bool:
    """``try``, ``else`` or ``finally``, blanks or none, and ``:``; one of ``elif``
    ``if`` ``while`` ``for`` ``with`` ``except`` standing alone, in a line whose last
    mark is ``:``; ``return`` or ``raise`` standing alone."""
    if bits & _PY_SUITE:
        q = _skip_blanks(cps, w, end)
        return q < end and cps[q] == _COLON
    if bits & _PY_BLOCK:
        return _alone(cps, w, end) and cps[last] == _COLON
    return bits & _PY_EXIT != 0 and _alone(cps, w, end)


@_jit
def _python_line(cps: Any, w: int, bits: int, last: int, end: int) -> bool:
    """A Python line (``_PYTHON_LINE``): after its indent, a definition, an import or
    a statement of the rules above; or ``@`` and a word character (a decorator, told
    where the first mark is read)."""
    if bits & (_PY_ASYNC | _PY_DEF | _PY_CLASS):
        return _python_definition(cps, w, bits, end)
    if bits & (_PY_IMPORT | _PY_FROM):
        return _python_import(cps, w, bits, end)
    return _python_statement(cps, w, bits, last, end)


@_jit
def _hash_line(cps: Any, w: int, bits: int, last: int, end: int) -> int:
    """A shell, Perl or Ruby line: after its indent, one of ``fi`` ``done`` ``esac``
    ``then`` ``do`` ``end`` ``else`` and blanks only; or one of ``local`` ``my``
    ``export`` ``puts`` ``require`` ``use``, blanks and a character that is not
    whitespace (``_HASH_LINE``). 0 for none, 1 for a line, 2 for a declaring line
    whose character after the blanks opens a variable (``_is_variable``)."""
    if bits & _HASH_BLOCK and w == last + 1:
        return 1
    if bits & _HASH_DECLARE == 0 or w >= end or not _is(cps[w], _BLANK):
        return 0
    r = _skip_blanks(cps, w, end)
    if r >= end or _is_unicode_space(cps[r]):
        return 0
    return 2 if cps[r] == _DOLLAR and _is_variable(cps, r, end) else 1


@_jit
def _dash_line(cps: Any, w: int, row: int, bits: int, end: int) -> bool:
    """An SQL or Lua line, its words in either case of their ASCII letters: after its
    indent, ``select`` and a blank; ``create`` ``table``, ``insert`` ``into``,
    ``delete`` ``from`` or ``local`` ``function``, blanks between (the second word may
    go on: ``create tablespace``); ``function``, blanks, a name, blanks or none and
    ``(`` (``_DASH_LINE``)."""
    if bits & _DASH_SELECT:
        return w < end and _is(cps[w], _BLANK)
    if bits & _DASH_PAIR:
        q = _skip_blanks(cps, w, end)
        second = _OPENER_ROWS[row, 2 : 2 + _OPENER_ROWS[row, 1]]
        if q > w and _starts(cps, q, end, second, True):
            return True
    if bits & _DASH_FUNCTION:
        q = _after_name(cps, w, end, False)
        return q >= 0 and q < end and cps[q] == _LPAREN
    return False


@_jit
def _lisp_line(cps: Any, i: int, end: int) -> bool:
    """A Lisp form: after its indent, ``(`` and one of ``defun`` ``defmacro``
    ``defvar`` ``define`` ``let`` ``setq`` ``lambda`` ``ns`` standing alone
    (``_LISP_LINE``)."""
    w, _, bits = _opener(cps, i + 1, end)
    return bits & _LISP != 0 and _alone(cps, w, end)


# -- one line, one text, many texts --------------------------------------------------

_PYTHON = _PY_ASYNC | _PY_DEF | _PY_CLASS | _PY_IMPORT | _PY_FROM | _PY_BLOCK | _PY_SUITE | _PY_EXIT
_HASH = _HASH_BLOCK | _HASH_DECLARE


@_inline
def _content_end(cps: Any, a: int, b: int) -> int:
    """Where the line ``cps[a:b]`` (its line feed excluded) ends without the carriage
    return of a CRLF break."""
    return b - 1 if b > a and cps[b - 1] == _CR else b


@_inline
def _last_mark(cps: Any, i: int, end: int) -> int:
    last = end - 1
    while last > i and _is(cps[last], _BLANK):
        last -= 1
    return last


@_jit
def _head_line(cps: Any, a: int, b: int, marks: Any) -> None:
    """What the line ``cps[a:b]`` adds to the head's counts."""
    end = _content_end(cps, a, b)
    i = _skip_blanks(cps, a, end)
    if i == end:
        marks[BLANK_LINES] += 1
        return
    marks[CODE_LINE_ENDS] += _is(cps[_last_mark(cps, i, end)], _CODE_END)
    if cps[a] == _DOT:
        marks[ROFF_LINES] += _roff_line(cps, a, end)
    elif cps[a] == _DASH:
        marks[ERLANG_ATTRIBUTES] += _erlang_attribute(cps, a, end)


@_jit
def _family_line(cps: Any, a: int, b: int, marks: Any) -> None:
    """What the line ``cps[a:b]`` adds to the family head's counts."""
    end = _content_end(cps, a, b)
    i = _skip_blanks(cps, a, end)
    if i == end:
        marks[FAMILY_BLANK_LINES] += 1
        return
    last = _last_mark(cps, i, end)
    opens = _is(cps[i], _BRACE)
    marks[C_OPENS] += opens
    marks[C_ENDS] += _is(cps[last], _C_END)
    marks[C_LONE_BRACES] += opens and last == i
    if cps[i] == _AT:
        marks[PYTHON_LINES] += i + 1 < end and _is_word(cps[i + 1])
    elif cps[i] == _LPAREN:
        marks[LISP_LINES] += _lisp_line(cps, i, end)
    elif _is(cps[i], _LETTER):
        w, row, bits = _opener(cps, i, end)
        if bits & _PYTHON:
            marks[PYTHON_LINES] += _python_line(cps, w, bits, last, end)
        if bits & _HASH:
            hashed = _hash_line(cps, w, bits, last, end)
            marks[HASH_LINES] += hashed > 0
            marks[HASH_DECLARED_VARIABLES] += hashed == 2
        if bits & _EITHER_CASE:
            marks[DASH_LINES] += _dash_line(cps, w, row, bits, end)


@_jit
def _marks_into(cps: Any, start: int, end: int, family_end: int, marks: Any, breaks: Any) -> None:
    """``cps[start:end]``'s counts into ``marks``, its first ``family_end - start``
    characters' into the family columns. Two passes: one over the characters (symbols,
    ``$``, ``<``, and where each line feed is, into ``breaks``), with nothing in its
    loop the compiler cannot keep in registers; then one over the lines, looking at
    each line's two ends."""
    symbols = variables = tags = feeds = 0
    for b in range(start, end):
        c = cps[b]
        if c == _LF:
            breaks[feeds] = b
            feeds += 1
        elif c < 128:
            symbols += _ASCII[c] & _SYMBOL
            if c == _DOLLAR:
                variables += b < family_end and _is_variable(cps, b, family_end)
            elif c == _LESS:
                tags += _starts(cps, b, end, _PHP, False) and _alone(cps, b + 5, end)
    breaks[feeds] = end
    marks[SYMBOLS] = symbols
    marks[HASH_VARIABLES] = variables
    marks[PHP_TAGS] = tags
    marks[LINES] = feeds + 1
    a = start
    for k in range(feeds + 1):
        b = breaks[k]
        _head_line(cps, a, b, marks)
        if a <= family_end:
            marks[FAMILY_LINES] += 1
            _family_line(cps, a, min(b, family_end), marks)
        a = b + 1


@_jit
def code_marks_many(cps: Any, bounds: Any, family_head: int) -> Any:
    """The counts (``CodeMarks``, one row each) of each text
    ``cps[bounds[t]:bounds[t + 1]]``, its family columns over its first
    ``family_head`` characters."""
    texts = max(bounds.shape[0] - 1, 0)
    marks = np.zeros((texts, _MARKS), dtype=np.int64)
    longest = 0
    for t in range(texts):
        longest = max(longest, bounds[t + 1] - bounds[t])
    breaks = np.empty(longest + 1, dtype=np.int64)
    for t in range(texts):
        start, end = bounds[t], bounds[t + 1]
        _marks_into(cps, start, end, min(start + family_head, end), marks[t], breaks)
    return marks

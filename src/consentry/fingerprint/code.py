"""Code normalisation through a language-aware lexer (Pygments).

Two views of a source file:

* ``strip_comments``: the source without comments, for the exact digest (a copy that
  only drops or rewrites comments is the same code);
* ``canonical_tokens``: identifiers become ``i``, string literals ``s``, numbers ``0``,
  comments and docstrings vanish, keywords, operators and punctuation stay. A copy with
  every identifier renamed and comments stripped yields the same token stream.
"""

from __future__ import annotations

import functools

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_for_filename
from pygments.token import Comment, Name, Number, String, Token, _TokenType, is_token_subtype
from pygments.util import ClassNotFound

__all__ = ["canonical_tokens", "lexer_for", "strip_comments"]

_IDENTIFIER = "i"
_STRING = "s"
_NUMBER = "0"


@functools.cache
def lexer_for(filename: str) -> Lexer | None:
    """The Pygments lexer for ``filename`` by its name, or None when there is none."""
    try:
        lexer = get_lexer_for_filename(filename, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None
    return lexer


@functools.cache
def _role(kind: _TokenType) -> str:
    """What a token type becomes in the canonical stream. Token types are interned, so
    this runs once per type, not once per token."""
    # Docstrings are documentation, not behaviour: treated like comments.
    if is_token_subtype(kind, Comment) or is_token_subtype(kind, String.Doc):
        return "comment"
    if is_token_subtype(kind, Token.Text):
        return "space"
    if is_token_subtype(kind, String):
        return _STRING
    if is_token_subtype(kind, Number):
        return _NUMBER
    if is_token_subtype(kind, Name) and not is_token_subtype(kind, Name.Builtin):
        return _IDENTIFIER
    return "verbatim"


def code_views(source: str, lexer: Lexer) -> tuple[str, str]:
    """Both views from one lexing pass: (source without comments, canonical tokens).

    Lexing dominates the cost of fingerprinting code, so it is done once, and without
    Pygments' token filters, which these views do not need.
    """
    kept: list[str] = []
    out: list[str] = []
    previous = ""
    # Line endings are unified first, as Pygments' own preprocessing would, so a CRLF
    # copy lexes exactly like the original.
    unified = source.replace("\r\n", "\n").replace("\r", "\n")
    for _, kind, value in lexer.get_tokens_unprocessed(unified):
        role = _role(kind)
        if role == "comment":
            continue
        kept.append(value)
        if role == "space" or not value.strip():
            continue
        if role == "verbatim":
            token = value.strip()
        elif role == _STRING and previous == _STRING:
            # A literal arrives as several tokens (quotes, escapes, interpolation); it
            # is one literal.
            continue
        else:
            token = role
        out.append(token)
        previous = token
    return "".join(kept), " ".join(out)


def strip_comments(source: str, lexer: Lexer) -> str:
    """``source`` with every comment and docstring token removed."""
    return code_views(source, lexer)[0]


def canonical_tokens(source: str, lexer: Lexer) -> str:
    """The renaming-resistant token stream of ``source``, tokens joined by spaces."""
    return code_views(source, lexer)[1]

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


def _is_comment(kind: _TokenType) -> bool:
    # Docstrings are documentation, not behaviour: treated like comments.
    return is_token_subtype(kind, Comment) or is_token_subtype(kind, String.Doc)


def strip_comments(source: str, lexer: Lexer) -> str:
    """``source`` with every comment and docstring token removed."""
    return "".join(value for kind, value in lexer.get_tokens(source) if not _is_comment(kind))


def canonical_tokens(source: str, lexer: Lexer) -> str:
    """The renaming-resistant token stream of ``source``, tokens joined by spaces."""
    out: list[str] = []
    previous = ""
    for kind, value in lexer.get_tokens(source):
        if _is_comment(kind) or is_token_subtype(kind, Token.Text) or not value.strip():
            continue
        if is_token_subtype(kind, String):
            # A literal arrives as several tokens (quotes, escapes, interpolation); it
            # is one literal.
            token = _STRING
            if previous == _STRING:
                continue
        elif is_token_subtype(kind, Number):
            token = _NUMBER
        elif is_token_subtype(kind, Name) and not is_token_subtype(kind, Name.Builtin):
            token = _IDENTIFIER
        else:
            token = value.strip()
        out.append(token)
        previous = token
    return " ".join(out)

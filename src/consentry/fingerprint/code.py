"""Code normalisation: two views of a source file.

* ``strip_comments``: the source without comments (or docstrings), for the exact digest
  (a copy that only drops or rewrites comments is the same code);
* ``canonical_tokens``: identifiers become ``i``, string literals ``s``, numbers ``0``,
  comments and docstrings vanish, keywords, operators and punctuation stay. A copy with
  every identifier renamed and comments stripped yields the same token stream.

Common languages are tokenised natively in one pass; others through their Pygments lexer.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt
from pygments.lexer import Lexer
from pygments.token import Comment, Name, Number, String, Token, _TokenType, is_token_subtype

from consentry.fingerprint import _native
from consentry.fingerprint.languages import CodeLanguage, Family

__all__ = ["canonical_tokens", "code_stream", "code_views", "strip_comments"]

_IDENTIFIER = "i"
_STRING = "s"
_NUMBER = "0"


def code_views(source: str, language: CodeLanguage) -> tuple[str, str]:
    """Both views from one pass: (source without comments, canonical tokens)."""
    without_comments, stream = code_stream(source, language)
    return without_comments, stream.tobytes().decode("utf-32-le")


def code_stream(source: str, language: CodeLanguage) -> tuple[str, npt.NDArray[np.uint32]]:
    """``code_views`` with the token stream as code points, ready to hash: the native
    tokeniser's output is not turned into a string and back."""
    if language.family is not None:
        without_comments, stream, _ = _native_views(source, language.family, origins=False)
        return without_comments, stream
    without_comments, stream, _ = code_stream_origins(source, language)
    return without_comments, stream


def code_stream_origins(
    source: str, language: CodeLanguage
) -> tuple[str, npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """``code_stream`` and, for each code point of the token stream, the index in
    ``source`` of the character it stands for (to report matches where they are)."""
    if language.family is not None:
        return _native_views(source, language.family, origins=True)
    assert language.lexer is not None  # noqa: S101 - a language has a family or a lexer
    without_comments, stream, origins = _lexer_views(source, language.lexer)
    return (
        without_comments,
        np.frombuffer(stream.encode("utf-32-le"), dtype=np.uint32),
        np.asarray(origins, dtype=np.int64),
    )


def strip_comments(source: str, language: CodeLanguage) -> str:
    """``source`` with every comment and docstring removed."""
    return code_views(source, language)[0]


def canonical_tokens(source: str, language: CodeLanguage) -> str:
    """The renaming-resistant token stream of ``source``, tokens joined by spaces."""
    return code_views(source, language)[1]


def _native_views(
    source: str, family: Family, *, origins: bool
) -> tuple[str, npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    ascii_only = source.isascii()
    encoding = "ascii" if ascii_only else "utf-32-le"
    cps = np.frombuffer(source.encode(encoding), dtype=np.uint8 if ascii_only else np.uint32)
    keep, stream, positions = _native.code_tokens(
        cps, *family.arrays, family.triple_quotes, family.fold_case, origins
    )
    return cps[keep].tobytes().decode(encoding), stream, positions


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


def _lexer_views(source: str, lexer: Lexer) -> tuple[str, str, list[int]]:
    kept: list[str] = []
    out: list[str] = []
    origins: list[int] = []
    previous = ""
    # Line endings are unified first, as Pygments' own preprocessing would, so a CRLF
    # copy lexes exactly like the original.
    unified = source.replace("\r\n", "\n").replace("\r", "\n")
    # Where each character of ``unified`` is in ``source``: a CRLF lost its CR.
    cps = np.frombuffer(source.encode("utf-32-le"), dtype=np.uint32)
    dropped = np.zeros(len(cps), dtype=bool)
    dropped[:-1] = (cps[:-1] == 13) & (cps[1:] == 10)
    where = np.flatnonzero(~dropped).tolist()
    for at, kind, value in lexer.get_tokens_unprocessed(unified):
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
        start = at + len(value) - len(value.lstrip())
        if out:
            origins.append(where[start])
        origins.extend(where[start + min(j, len(value) - 1)] for j in range(len(token)))
        out.append(token)
        previous = token
    return "".join(kept), " ".join(out), origins

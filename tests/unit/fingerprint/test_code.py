from __future__ import annotations

import builtins
import io
import keyword
import tokenize
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from consentry.fingerprint import (
    ExcerptFingerprints,
    MinHashSignature,
    canonical_tokens,
    code_views,
    fingerprint_bytes,
    language_for,
)
from tests.conftest import STDLIB

SOURCE = (STDLIB / "json" / "decoder.py").read_text("utf-8")


def _rename_identifiers(source: str) -> str:
    """Rename every identifier a copier can rename without breaking the code (not
    keywords, builtins or attribute names of other modules' objects is beyond a test:
    all plain names are renamed) and drop comments."""
    names = {
        tok.string
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.NAME
    }
    names -= set(keyword.kwlist) | set(dir(builtins)) | {"self", "cls"}
    mapping = {name: f"v{i}_{name[::-1]}" for i, name in enumerate(sorted(names))}
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            continue
        name = mapping.get(tok.string, tok.string) if tok.type == tokenize.NAME else tok.string
        out.append((tok.type, name))
    return tokenize.untokenize(out)


def test_renamed_code_has_the_same_token_stream() -> None:
    lexer = language_for("decoder.py")
    assert lexer is not None
    assert canonical_tokens(SOURCE, lexer) == canonical_tokens(_rename_identifiers(SOURCE), lexer)


def test_renamed_copy_matches_by_minhash_and_winnowing() -> None:
    original = fingerprint_bytes("decoder.py", SOURCE.encode())
    renamed = fingerprint_bytes("copy.py", _rename_identifiers(SOURCE).encode())
    assert original.kind == renamed.kind == "code"
    similarity = MinHashSignature.from_bytes(original.minhash).jaccard(
        MinHashSignature.from_bytes(renamed.minhash)
    )
    assert similarity > 0.95
    shared = set(ExcerptFingerprints.from_bytes(original.excerpts).hashes.tolist()) & set(
        ExcerptFingerprints.from_bytes(renamed.excerpts).hashes.tolist()
    )
    assert len(shared) >= 0.9 * len(ExcerptFingerprints.from_bytes(original.excerpts))


def test_comment_only_changes_keep_the_exact_digest() -> None:
    original = fingerprint_bytes("decoder.py", SOURCE.encode())
    recommented = SOURCE.replace("\n", "  # a note\n", 5)
    assert fingerprint_bytes("x.py", recommented.encode()).digest == original.digest


def test_unrelated_modules_do_not_look_alike() -> None:
    a = fingerprint_bytes("decoder.py", SOURCE.encode())
    other = Path(STDLIB / "textwrap.py").read_bytes()
    b = fingerprint_bytes("textwrap.py", other)
    similarity = MinHashSignature.from_bytes(a.minhash).jaccard(
        MinHashSignature.from_bytes(b.minhash)
    )
    assert similarity < 0.2


def test_other_languages_are_lexed_too() -> None:
    c_source = b"/* header */\nint add(int a, int b) { return a + b; } // sum\n"
    renamed = b"int plus(int x, int y) { return x + y; }\n"
    lexer = language_for("a.c")
    assert lexer is not None
    assert canonical_tokens(c_source.decode(), lexer) == canonical_tokens(renamed.decode(), lexer)
    assert fingerprint_bytes("a.c", c_source).kind == "code"


def test_a_crlf_copy_is_the_same_code() -> None:
    original = fingerprint_bytes("decoder.py", SOURCE.encode())
    windows = fingerprint_bytes("decoder.py", SOURCE.replace("\n", "\r\n").encode())
    assert windows.digest == original.digest
    assert windows.minhash == original.minhash
    assert windows.excerpts == original.excerpts


def test_comments_literals_and_docstrings_per_family() -> None:
    python = language_for("a.py")
    c_like = language_for("a.c")
    sql = language_for("a.sql")
    assert python is not None and c_like is not None and sql is not None
    source = 'def f(x):\n    """Doc."""\n    s = r"a\\"b" \'c\'  # note\n    return x + 1.5\n'
    without, tokens = code_views(source, python)
    assert tokens == "def i ( i ) : i = s return i + 0"
    assert "Doc" not in without and "note" not in without and 'r"a\\"b"' in without
    assert canonical_tokens("/* a */ int f(int a) { return a; } // b", c_like) == (
        "int i ( int i ) { return i ; }"
    )
    # Keywords in a case-insensitive language are folded; '' inside a literal is one literal.
    assert canonical_tokens("SELECT a FROM t -- c\nWHERE b = 'it''s'", sql) == (
        "select i from i where i = s"
    )


def test_an_unclosed_comment_or_literal_runs_to_its_end_without_error() -> None:
    c_like = language_for("a.c")
    assert c_like is not None
    assert code_views("int a; /* never closed", c_like) == ("int a; ", "int i ;")
    assert canonical_tokens('x = "open\ny = 1', c_like) == "i = s i = 0"


@given(st.text(max_size=300), st.sampled_from(["a.py", "a.c", "a.sql", "a.sh", "a.lisp"]))
def test_any_text_tokenises_and_stripping_only_removes(text: str, name: str) -> None:
    language = language_for(name)
    assert language is not None
    without, tokens = code_views(text, language)
    # What is kept is a subsequence of the source, in order.
    rest = iter(text)
    assert all(char in rest for char in without)
    assert "  " not in tokens and tokens == tokens.strip()


def test_languages_outside_the_native_families_are_lexed_by_pygments() -> None:
    fortran = language_for("solver.f90")
    assert fortran is not None and fortran.family is None and fortran.lexer is not None
    tokens = canonical_tokens("program p\n  x = 1 ! note\nend program p\n", fortran)
    assert "note" not in tokens and "i" in tokens.split()

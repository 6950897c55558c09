from __future__ import annotations

import builtins
import io
import keyword
import tokenize
from pathlib import Path

from consentry.fingerprint import (
    ExcerptFingerprints,
    MinHashSignature,
    canonical_tokens,
    fingerprint_bytes,
    lexer_for,
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
    lexer = lexer_for("decoder.py")
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
    lexer = lexer_for("a.c")
    assert lexer is not None
    assert canonical_tokens(c_source.decode(), lexer) == canonical_tokens(renamed.decode(), lexer)
    assert fingerprint_bytes("a.c", c_source).kind == "code"


def test_a_crlf_copy_is_the_same_code() -> None:
    original = fingerprint_bytes("decoder.py", SOURCE.encode())
    windows = fingerprint_bytes("decoder.py", SOURCE.replace("\n", "\r\n").encode())
    assert windows.digest == original.digest
    assert windows.minhash == original.minhash
    assert windows.excerpts == original.excerpts

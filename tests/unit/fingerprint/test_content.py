from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentry.errors import InputError
from consentry.fingerprint import ContentKind, declared_spdx, detect_kind, fingerprint_bytes
from consentry.fingerprint.content import code_language, text_prints, text_prints_many
from tests.conftest import real_text


@pytest.mark.parametrize(
    ("name", "head", "kind"),
    [
        ("poem.txt", b"Roses are red", ContentKind.TEXT),
        ("README.md", b"# Title", ContentKind.TEXT),
        ("LICENSE", b"MIT License", ContentKind.TEXT),
        ("main.py", b"import os", ContentKind.CODE),
        ("lib.rs", b"fn main() {}", ContentKind.CODE),
        ("run", b"#!/usr/bin/env python3\nprint(1)", ContentKind.CODE),
        ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF", ContentKind.IMAGE),
        ("pic.dat", b"\x89PNG\r\n\x1a\n....", ContentKind.IMAGE),
        ("blob.bin", b"\x00\x01\x02", ContentKind.BINARY),
    ],
)
def test_kind_detection(name: str, head: bytes, kind: ContentKind) -> None:
    assert detect_kind(name, head) is kind


def test_spdx_identifier_is_read_from_the_head() -> None:
    assert declared_spdx(b"# SPDX-License-Identifier: Apache-2.0 OR MIT\n") == "Apache-2.0 OR MIT"
    assert declared_spdx(b"no licence here") is None


def test_a_text_fingerprint_has_every_part() -> None:
    data = real_text().encode()
    printed = fingerprint_bytes("GPL-3", data)
    assert printed.kind is ContentKind.TEXT
    assert printed.size == len(data)
    assert len(printed.digest) == 64
    assert len(printed.minhash) == 256 * 4
    assert len(printed.excerpts) % 12 == 0 and printed.excerpts
    assert printed.params_version == "fp5"


def test_binary_that_is_not_an_image_is_refused_with_the_fix() -> None:
    with pytest.raises(InputError, match=r"archive\.gz is binary .* register text, code or images"):
        fingerprint_bytes("archive.gz", b"\x1f\x8b\x08\x00\x00\x00")


def test_text_in_another_encoding_is_refused_with_the_fix() -> None:
    with pytest.raises(InputError, match=r"latin\.txt is not UTF-8 .* convert it to UTF-8"):
        fingerprint_bytes("latin.txt", "café crème".encode("latin-1"))


def test_a_utf8_byte_order_mark_is_not_content() -> None:
    text = real_text()[:500]
    assert (
        fingerprint_bytes("a.txt", b"\xef\xbb\xbf" + text.encode()).digest
        == fingerprint_bytes("b.txt", text.encode()).digest
    )


@pytest.mark.parametrize(
    ("name", "head", "language"),
    [
        ("deploy", "#!/bin/sh\necho hi\n", "hash"),
        ("tool", "#! /usr/bin/env python3\nprint(1)\n", "python"),
        ("tool", "#!/usr/bin/python3.11\nprint(1)\n", "python"),
        ("run", "#!/usr/bin/perl -w\nprint 1;\n", "hash"),
        # A script saved under a prose name is still read by its shebang.
        ("smtpd.txt", "#! /usr/bin/env python3\nimport os\n", "python"),
        # The name wins over a shebang when it names a language.
        ("setup.py", "#!/bin/sh\nx = 1\n", "python"),
    ],
)
def test_a_shebang_names_the_language_of_a_script(name: str, head: str, language: str) -> None:
    found = code_language(name, head)
    assert found is not None and found.name == language


@pytest.mark.parametrize("name", ["notes.txt", "README", "essay.md", "story"])
def test_prose_without_a_shebang_is_not_code(name: str) -> None:
    assert code_language(name, "Consent is enforced where data goes in.\n") is None
    assert fingerprint_bytes(name, b"Consent is enforced where data goes in.\n").kind is (
        ContentKind.TEXT
    )


_PIECES = st.sampled_from(
    [
        "def f(x):\n    return x + 1\n",
        "The  Quick\tBrown fox.\r\n",
        "   ",
        "Ünïcödé ﬁ ligature ",
        "\u200bzero width",
        "x" * 5000,
        "#!/usr/bin/env python3\nimport os\n",
        real_text("GPL-3")[:3000],
        "",
    ]
)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["notes.txt", "main.py", "README.md", "item-7", "run"]),
            st.lists(_PIECES, max_size=4).map("".join),
        ),
        max_size=6,
    )
)
def test_prints_made_together_equal_prints_made_one_by_one(named: list[tuple[str, str]]) -> None:
    """A chunk's texts fingerprinted together (ASCII prose in one kernel call) give
    what each gives alone: digest, length, signature and excerpt fingerprints, for
    prose, code, Unicode and texts shorter than a shingle or a k-gram."""
    together = text_prints_many(named)
    assert len(together) == len(named)
    for (name, text), made in zip(named, together, strict=True):
        alone = text_prints(name, text)
        assert len(made) == len(alone)
        for a, b in zip(made, alone, strict=True):
            assert (a.digest, a.length) == (b.digest, b.length)
            assert a.signature.tolist() == b.signature.tolist()
            assert a.excerpts.hashes.tolist() == b.excerpts.hashes.tolist()
            assert a.excerpts.offsets.tolist() == b.excerpts.offsets.tolist()
            assert a.stored() == b.stored()

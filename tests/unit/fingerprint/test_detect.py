"""Telling code from prose when a name does not say (issue 19, points 4 and 7)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.fingerprint import ContentKind, fingerprint_bytes, text_prints
from consentry.fingerprint import content as content_module
from consentry.fingerprint.content import code_language
from consentry.fingerprint.detect import _code_marks, code_family_by_content

LICENCES = Path("/usr/share/common-licenses")
# Renamed and without comments, as a code dataset or a scrape carries it: no name.
RENAMED = inspect.getsource(content_module).replace("text", "q1").replace("params", "q2")


def test_code_without_a_file_name_is_code() -> None:
    language = code_language("doc-17", RENAMED)
    assert language is not None and language.name == "python"
    # Its renaming-resistant prints are looked up before its plain-text ones.
    assert len(text_prints("doc-17", RENAMED)) == 2


@pytest.mark.parametrize(
    ("family", "source"),
    [
        ("c", "#include <stdio.h>\nint main(void) {\n  int x = 0;\n  for (;;) {\n"
              "    x++;\n    if (x > 3) break;\n  }\n  return x;\n}\n"),
        ("php", "<?php\n$a = [1, 2];\nforeach ($a as $b) {\n  echo $b;\n}\n$c = f($a);\n"),
        ("erlang", "-module(m).\n-export([f/1]).\nf(X) ->\n  g(X).\ng(Y) ->\n  {ok, Y}.\n"),
    ],
)  # fmt: skip
def test_code_without_a_file_name_is_told_by_family(family: str, source: str) -> None:
    assert code_family_by_content(source) == family


def test_prose_without_a_file_name_stays_prose() -> None:
    prose = (
        "The quick brown fox (a fox of some renown) jumped over the lazy dog.\n" * 3
        + "Permission is hereby granted, free of charge, to any person obtaining a copy\n"
        + "of this software: to deal in it without restriction; subject to the notice.\n"
    ) * 4
    assert code_language("doc-3", prose) is None
    assert code_language("README", ".TH LS 1\n.SH NAME\nls \\- list (files)\n" * 9) is None


@pytest.mark.skipif(not LICENCES.is_dir(), reason="no licence texts on this machine")
def test_licence_texts_register_as_text_not_code() -> None:
    # LGPL-2.1 and GFDL-1.3 were read as groff manual pages (section 1 and 3) by name.
    kinds = {
        path.name: fingerprint_bytes(path.name, path.read_bytes()).kind
        for path in sorted(LICENCES.iterdir())
        if path.is_file()
    }
    assert kinds and set(kinds.values()) == {ContentKind.TEXT}, kinds


def test_a_version_number_is_no_language() -> None:
    assert fingerprint_bytes("LGPL-2.1", b"GNU LESSER GENERAL PUBLIC LICENSE\n").kind == "text"
    assert fingerprint_bytes("tool.py", b"import os\n").kind == "code"


# The C and shell marks were counted as one alternation over the text each (these
# references), then as a few simple patterns; the kernel's lines count as they did.
_C_REFERENCE = re.compile(r"[;{}][ \t]*$|^[ \t]*[{}]", re.M)
_HASH_REFERENCE = re.compile(
    r"^[ \t]*(?:fi|done|esac|then|do|end|else)[ \t]*$"
    r"|^[ \t]*(?:local|my|export|puts|require|use)[ \t]+\S|\$\{?\w",
    re.M,
)
_PIECES = st.sampled_from(
    ["\n", " ", "\t", "{", "}", ";", "$", "${", "x", "else", "done", "my ", "export ", "fi"]
)


@given(st.lists(_PIECES, max_size=80).map("".join))
def test_marks_of_the_c_and_shell_families_count_as_one_pattern_did(text: str) -> None:
    (marks,) = _code_marks([text])
    assert marks.c_opens + marks.c_ends - marks.c_lone_braces == len(_C_REFERENCE.findall(text))
    hashed = marks.hash_lines + marks.hash_variables - marks.hash_declared_variables
    assert hashed == len(_HASH_REFERENCE.findall(text))

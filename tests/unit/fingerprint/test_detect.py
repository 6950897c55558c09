"""Telling code from prose when a name does not say (issue 19, points 4 and 7)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from consentry.fingerprint import ContentKind, fingerprint_bytes, text_prints
from consentry.fingerprint import content as content_module
from consentry.fingerprint.content import code_language
from consentry.fingerprint.detect import code_family_by_content

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

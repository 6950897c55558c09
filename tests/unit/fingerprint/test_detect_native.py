"""The line-counting kernel of code detection against a plain reading of its rules.

The reference below reads each rule of ``_detect_native``'s docstrings as written: one
regular expression per rule, tried on one line at a time (possessive where a rule says
"a name" and means all of it), with none of the kernel's shortcuts (letters looked up
as one word, a pass over characters apart from the pass over lines).
"""

from __future__ import annotations

import re
from itertools import accumulate
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from consentry.fingerprint import _detect_native as kernel
from consentry.fingerprint._detect_native import CodeMarks, code_marks_many
from consentry.fingerprint.detect import (
    _code_marks,
    _content_head,
    code_families_by_content,
    code_family_by_content,
)

# A word character: ASCII letter, digit or underscore, or beyond ASCII and not space.
W = r"(?:[A-Za-z0-9_]|[^\x00-\x7f\s])"
ALONE = rf"(?!{W})"
NAME = rf"{W}++"
DOTTED = rf"(?:{W}|\.)++"
PYTHON = re.compile(
    rf"[ \t]*(?:(?:async[ \t]+)?def[ \t]+{NAME}[ \t]*\(|class[ \t]+{NAME}[ \t]*[(:]"
    rf"|import[ \t]+{DOTTED}[ \t]*(?:,|as{ALONE}|$)|from[ \t]+{DOTTED}[ \t]+import{ALONE}"
    rf"|(?:elif|if|while|for|with|except){ALONE}.*:[ \t]*$|(?:try|else|finally)[ \t]*:"
    rf"|(?:return|raise){ALONE}|@{W})"
)
ROFF = re.compile(r"\.(?:[A-Za-z]{1,3}|\\\")(?:\s|$)")
ERLANG = re.compile(r"-(?:module|export|include|record|define)\(")
PHP = re.compile(rf"<\?php{ALONE}")
HASH_BLOCK = re.compile(r"[ \t]*(?:fi|done|esac|then|do|end|else)[ \t]*")
DECLARING = r"[ \t]*(?:local|my|export|puts|require|use)[ \t]+"
HASH_DECLARE = re.compile(rf"{DECLARING}\S")
VARIABLE = rf"\$\{{?{W}"
HASH_DECLARED = re.compile(DECLARING + VARIABLE)
# Matched against the line with its ASCII capitals made small (and nothing else).
DASH = re.compile(
    rf"[ \t]*(?:select[ \t]|create[ \t]+table|insert[ \t]+into|delete[ \t]+from"
    rf"|local[ \t]+function|function[ \t]+{NAME}[ \t]*\()"
)
LISP = re.compile(rf"[ \t]*\((?:defun|defmacro|defvar|define|let|setq|lambda|ns){ALONE}")
SMALL = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def lines_of(text: str) -> list[str]:
    """Lines as the rules cut them: at line feeds, less a CR that ends one."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def reference(text: str, family_head: int) -> CodeMarks:
    """Every count, by the rules as the kernel's docstrings state them."""
    head = lines_of(text)
    first = lines_of(text[:family_head])

    def marks(line: str) -> str:  # from its first mark to its last
        return line.strip(" \t")

    return CodeMarks(
        symbols=sum(text.count(c) for c in "(){}[]=;:"),
        lines=len(head),
        blank_lines=sum(marks(line) == "" for line in head),
        roff_lines=sum(ROFF.match(line) is not None for line in head),
        code_line_ends=sum(marks(line)[-1:] in tuple(",([{:;)]}") for line in head),
        php_tags=sum(len(PHP.findall(line)) for line in head),
        erlang_attributes=sum(ERLANG.match(line) is not None for line in head),
        family_lines=len(first),
        family_blank_lines=sum(marks(line) == "" for line in first),
        python_lines=sum(PYTHON.match(line) is not None for line in first),
        c_opens=sum(marks(line)[:1] in ("{", "}") for line in first),
        c_ends=sum(marks(line)[-1:] in (";", "{", "}") for line in first),
        c_lone_braces=sum(marks(line) in ("{", "}") for line in first),
        hash_lines=sum(
            HASH_BLOCK.fullmatch(line) is not None or HASH_DECLARE.match(line) is not None
            for line in first
        ),
        hash_variables=len(re.findall(VARIABLE, text[:family_head])),
        hash_declared_variables=sum(HASH_DECLARED.match(line) is not None for line in first),
        dash_lines=sum(DASH.match(line.translate(SMALL)) is not None for line in first),
        lisp_lines=sum(LISP.match(line) is not None for line in first),
    )


def counted(texts: list[str], family_head: int, *, wide: bool = False) -> list[CodeMarks]:
    """The kernel's counts, the texts passed as detection passes them (bytes where all
    are ASCII and ``wide`` is not asked, else code points)."""
    narrow = not wide and all(text.isascii() for text in texts)
    joined = "".join(texts)
    cps = (
        np.frombuffer(joined.encode("ascii"), np.uint8)
        if narrow
        else np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), np.uint32)
    )
    bounds = np.fromiter(accumulate(map(len, texts), initial=0), np.int64)
    return [CodeMarks._make(row) for row in code_marks_many(cps, bounds, family_head).tolist()]


# Pieces the rules are made of, and what breaks them: CR, tabs, capitals, digits and
# underscores after words, characters beyond ASCII (a space, a line separator, a letter
# that folds to an ASCII one, a lone surrogate).
PIECES = st.sampled_from(
    [
        "\n", "\r\n", "\r", " ", "\t", "x", "X", "_", "1", ".", ",", ":", ";", "(", ")",
        "{", "}", "[", "]", "=", "$", "${", "@", "-", "\\\"", "<?php", "<?phpx",
        "async", "def", "class", "import", "from", "as", "if", "elif", "while", "for",
        "with", "except", "try", "else", "finally", "return", "raise", "fi", "done",
        "esac", "then", "do", "end", "local", "my", "export", "puts", "require", "use",
        "select", "SELECT", "create", "Create", "table", "TABLESPACE", "insert", "into",
        "delete", "from", "function", "FUNCTION", "(def", "defun", "defmacro", "defvar",
        "define", "let", "setq", "lambda", "ns", "module", "include", "record", ".TH",
        ".so", ".SHX", "é", "ñ", "\u00a0", "\u2028", "\u3000", "\x1c", "\u017f", "\u212a",
        "\u0130", "—", "\ud800", "ab" * 5,
    ]
)  # fmt: skip
PIECEMEAL = st.lists(PIECES | st.text(max_size=3), max_size=60).map("".join)
# Lines shaped as the rules read them: an indent, an opening word, names and blanks,
# an ending; each near-miss a rule must refuse is a draw away.
OPENERS = st.sampled_from(
    [
        "async", "async def", "def", "class", "import", "from", "if", "elif", "while",
        "for", "with", "except", "try", "else", "finally", "return", "raise", "Return",
        "@", "fi", "done", "esac", "then", "do", "end", "local", "my", "export", "puts",
        "require", "use", "select", "SELECT", "Create", "insert", "DELETE", "LOCAL",
        "function", "Function", "(defun", "(defmacro", "(defvar", "(define", "(let",
        "(setq", "(lambda", "(ns", "(letrec", "-module", "-export", "-include",
        "-record", "-define", "-modules", "-module(", "-export(", ".TH", ".so", ".\\\"",
        ".", "{", "}", "$x", "<?php", "definitely", "imports", "x",
    ]
)  # fmt: skip
BLANKS = st.sampled_from(["", " ", "\t", " \t "])
WORDS = st.sampled_from(
    ["x", "a.b", ".", "ñ", "_1", "2", "table", "TABLESPACE", "into", "from", "function",
     "import", "as", "asx", "def", "$y", "${z", "${", "é", "\u00a0", "—", "(", ":"]
)  # fmt: skip
ENDS = st.sampled_from(["", "(", ":", ";", "{", "}", ",", ")", " ", "\t", "\r", " :", "(x):"])
LINE = st.tuples(
    BLANKS, OPENERS, st.lists(st.tuples(BLANKS, WORDS).map("".join), max_size=3), BLANKS, ENDS
).map(lambda parts: parts[0] + parts[1] + "".join(parts[2]) + parts[3] + parts[4])
LINED = st.lists(LINE, max_size=12).map("\n".join)
TEXTS = PIECEMEAL | LINED


@given(TEXTS, st.integers(min_value=0, max_value=80))
@example("def f(x):\r\n    return x\r\n", 2048)
@example("import os, sys\nfrom a.b import c\nimport xas y\n", 2048)
@example("x = 1\n" * 3 + "if x:\n  y()", 21)  # the family head ends mid-line
@example("", 0)
@example("\n", 0)
@example("\t{\t\n\t}\t\n", 2048)
@example("my $x\nmy x\nmy \u00a0x\nlocal ${y}\n", 2048)
@example('.TH X 1\n.SH\n.\\" note\n.TH\r\n', 2048)
def test_counts_are_the_rules_as_written(text: str, family_head: int) -> None:
    assert counted([text], family_head) == [reference(text, family_head)]


@given(st.lists(TEXTS, max_size=8), st.integers(min_value=0, max_value=80))
def test_many_texts_in_one_call_count_as_each_alone(texts: list[str], family_head: int) -> None:
    assert counted(texts, family_head) == [counted([t], family_head)[0] for t in texts]


@given(st.lists(TEXTS.filter(str.isascii), max_size=4))
def test_counts_do_not_depend_on_bytes_or_code_points(texts: list[str]) -> None:
    assert counted(texts, 2048) == counted(texts, 2048, wide=True)


@given(st.lists(TEXTS | st.text(max_size=200), max_size=12))
def test_the_batch_form_answers_as_the_single_form(texts: list[str]) -> None:
    assert code_families_by_content(texts) == [code_family_by_content(t) for t in texts]


def test_real_files_count_as_the_rules_read_them() -> None:
    root = Path(__file__).resolve().parents[3]
    paths = sorted([*root.glob("src/consentry/**/*.py"), *root.glob("docs/*.md")])
    texts = [path.read_text(encoding="utf-8") for path in paths]
    heads = [_content_head(text) for text in texts + [t.replace("\n", "\r\n") for t in texts]]
    assert len(heads) > 100
    assert _code_marks(heads) == [reference(head, 2048) for head in heads]


def test_columns_follow_the_record() -> None:
    for column, name in enumerate(CodeMarks._fields):
        assert getattr(kernel, name.upper()) == column


def test_a_head_ends_at_4_kib_mid_line_and_its_family_head_at_2_kib() -> None:
    line = "    value = compute(value, other);\n"
    text = line * 200
    head = _content_head(text)
    assert len(head) == 4096 and not head.endswith("\n")
    assert _code_marks([head]) == [reference(head, 2048)]
    # The part line at the end of each head counts as a line, as it would at the end.
    marks = _code_marks([head])[0]
    assert marks.lines == 4096 // len(line) + 1
    assert marks.family_lines == 2048 // len(line) + 1


def test_the_head_starts_after_a_leading_docstring() -> None:
    code = "import os\n\n\ndef f(x):\n    return x\n\n\nclass A:\n    pass\n" * 3
    prose = '"""' + "A module about things, said at length. " * 150 + '"""\n'
    assert _content_head(prose + code) == "\n" + code
    assert code_family_by_content(prose + code) == "python"
    # Unclosed: the text is read from its start.
    assert _content_head('"""' + code) == ('"""' + code)[:4096]


PYTHON_SOURCE = (
    "import os\nfrom collections import abc\n\n\n@dataclass\nclass Point:\n"
    "    x: int\n\n    def norm(self) -> float:\n        if self.x > 0:\n"
    "            return self.x\n        raise ValueError(self)\n"
)
FAMILIES = [
    ("python", PYTHON_SOURCE),
    ("c", "#include <stdio.h>\nint main(void)\n{\n  int x = 0;\n  for (;;) {\n"
          "    x++;\n    if (x > 3) break;\n  }\n  return x;\n}\n"),
    ("php", "<?php\n$a = [1, 2];\nforeach ($a as $b) {\n  echo $b;\n}\n$c = f($a);\n"),
    ("erlang", "-module(m).\n-export([f/1]).\nf(X) ->\n  g(X).\ng(Y) ->\n  {ok, Y}.\n"),
    ("hash", "#!/bin/sh\nset -e\nusage() {\n  echo \"usage: $0 [-v] file\" >&2\n  exit 1\n}\n"
             "for f in \"$@\"; do\n  case \"$f\" in\n    -v) verbose=1 ;;\n"
             "    *) files=\"$files $f\" ;;\n  esac\ndone\nexport PATH=\"$HOME/bin:$PATH\"\n"),
    ("dash", "create table users (\n  id integer primary key,\n  name text not null\n)\n"
             "CREATE TABLE posts (\n  id integer primary key,\n  body text\n)\n"
             "insert into users (id, name) values (1, 'a')\n"
             "select name, body from users join posts on posts.id = users.id\n"
             "delete from posts where id = 1\n"),
    ("lisp", "(defun f (x)\n  (let ((y 1))\n    (+ x y)))\n(defvar *z* 2)\n"
             "(define (g a)\n  (lambda (b) (f b)))\n"),
]  # fmt: skip


@pytest.mark.parametrize(("family", "source"), FAMILIES)
def test_each_family_is_told_however_its_lines_end_and_indent(family: str, source: str) -> None:
    assert code_family_by_content(source) == family
    assert code_family_by_content(source.replace("\n", "\r\n")) == family
    assert code_family_by_content(source.replace("  ", "\t")) == family
    assert code_family_by_content(source.rstrip("\n")) == family


def test_code_beyond_ascii_is_told_as_ascii_code_is() -> None:
    accented = PYTHON_SOURCE.replace("Point", "Größe").replace("norm", "längd")
    assert code_family_by_content(accented) == "python"
    assert code_family_by_content(accented + "# ← ça va\n") == "python"
    assert _code_marks([accented])[0].python_lines == _code_marks([PYTHON_SOURCE])[0].python_lines


def test_prose_with_code_words_stays_prose() -> None:
    prose = (
        "If you return the form (signed), we will use it; else, do nothing.\n"
        "For more, select one of the options: create a table, or delete it.\n"
    ) * 10
    assert code_family_by_content(prose) is None
    assert code_family_by_content("") is None
    assert code_family_by_content("\n" * 5000) is None

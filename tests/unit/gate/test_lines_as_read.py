"""A JSON Lines record is read by the fast parser and written out as its own bytes:
the same items as the standard parser reads, and admitted lines that hold the record
exactly as it came, its decision added after it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from consentry.gate.item import item_from_mapping
from consentry.gate.outputs import with_verdict
from consentry.gate.readers import read_jsonl

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(1 << 70), max_value=1 << 70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
_KEYS = st.sampled_from(["id", "text", "metadata", "decision", "basis", "reasons", "x", "é"])
_RECORDS = st.dictionaries(_KEYS | st.text(max_size=6), _VALUES, max_size=6).map(
    lambda extra: {"id": "a", "text": "some words", **extra}
)


def _standard(line: bytes) -> dict[str, Any]:
    """What the item read from ``line`` is, read with the standard parser."""
    item = item_from_mapping(json.loads(line), source="c.jsonl:1")
    return {
        "id": item.id,
        "text": item.text,
        "size": item.size,
        "unreadable": item.unreadable,
        "strings": _strings(item.metadata),
    }


def _strings(metadata: dict[str, Any]) -> dict[str, str]:
    # What decides about an item: its metadata's text (licence, source, URL, path).
    return {k: v for k, v in metadata.items() if isinstance(v, str)}


@settings(max_examples=300, deadline=None)
@given(record=_RECORDS, spaced=st.booleans(), ascii_only=st.booleans())
def test_lines_read_fast_are_the_items_the_standard_parser_reads(
    tmp_path_factory: Any, record: dict[str, Any], spaced: bool, ascii_only: bool
) -> None:
    separators = (", ", ": ") if spaced else (",", ":")
    line = json.dumps(record, ensure_ascii=ascii_only, separators=separators).encode()
    corpus = tmp_path_factory.mktemp("lines") / "c.jsonl"
    corpus.write_bytes(line + b"\n")
    (item,) = read_jsonl(corpus)
    assert {
        "id": item.id,
        "text": item.text,
        "size": item.size,
        "unreadable": item.unreadable,
        "strings": _strings(item.metadata),
    } == _standard(line)
    assert (item.line == line) is (item.unreadable is None)


def test_a_wide_integer_id_is_read_as_the_integer_it_is(tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_bytes(b'{"id": 123456789012345678901234567890, "text": "words"}\n')
    (item,) = read_jsonl(corpus)
    assert item.id == "123456789012345678901234567890"


def test_lines_the_fast_parser_refuses_get_the_standard_reason(tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_bytes(
        b'{"id": "n", "text": "t", "score": NaN}\n'
        b'{"id": "s", "text": "\\ud800"}\n'
        b'{"id": "u", "text": "\xff"}\n'
    )
    nan, surrogate, bad = read_jsonl(corpus)
    assert nan.unreadable == "score holds NaN, which is not a JSON number"
    assert surrogate.unreadable == "text contains unpaired surrogates (not valid Unicode)"
    assert bad.unreadable == "line 3 is not UTF-8"


_VERDICT = {"id": "a", "decision": "admitted", "basis": [{"kind": "opt-out"}]}


@settings(max_examples=300, deadline=None)
@given(record=_RECORDS, spaced=st.booleans())
def test_an_admitted_line_is_the_record_as_it_came_with_its_decision(
    record: dict[str, Any], spaced: bool
) -> None:
    separators = (", ", ": ") if spaced else (",", ":")
    line = json.dumps(record, ensure_ascii=False, separators=separators).encode()
    written = with_verdict(line + b"  ", record, _VERDICT)
    collides = any(k in record for k in _VERDICT if k != "id") or record["id"] != "a"
    if collides:
        assert written is None  # written out again, so the decision replaces its fields
        return
    assert written is not None
    assert written.startswith(line[:-1])
    merged = json.loads(written)
    expected = {**json.loads(line), **_VERDICT}
    assert list(merged) == list(expected)
    # NaN is not equal to itself: compared as written.
    assert json.dumps(merged, sort_keys=True) == json.dumps(expected, sort_keys=True)


def test_a_record_whose_id_differs_from_the_decisions_is_written_out_again() -> None:
    assert with_verdict(b'{"id":7,"text":"t"}', {"id": 7, "text": "t"}, {"id": "7"}) is None


def test_floats_read_fast_are_the_numbers_written() -> None:
    # Scores and weights in metadata: the fast parser reads what the standard one does.
    for number in (0.1, 1e-05, 1.5e300, -0.0, 123456789.123):
        text = json.dumps({"x": number}).encode()
        assert orjson.loads(text)["x"] == json.loads(text)["x"]
        assert math.copysign(1, orjson.loads(text)["x"]) == math.copysign(1, number)

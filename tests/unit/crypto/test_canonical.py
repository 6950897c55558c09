from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from consentry.crypto import canonical_json, parse_json_object
from consentry.errors import InputError

VECTORS = json.loads((Path(__file__).parents[2] / "vectors" / "rfc8785.json").read_text("utf-8"))


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_rfc8785_vectors(vector: dict[str, str]) -> None:
    assert canonical_json(json.loads(vector["input"])) == vector["canonical"].encode("utf-8")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_canonical_json_round_trips(value: Any) -> None:
    encoded = canonical_json(value)
    assert json.loads(encoded) == value
    assert canonical_json(json.loads(encoded)) == encoded


@given(st.dictionaries(st.text(max_size=6), st.integers(0, 9), min_size=2, max_size=6))
def test_key_order_does_not_change_the_encoding(mapping: dict[str, int]) -> None:
    reordered = dict(reversed(list(mapping.items())))
    assert canonical_json(mapping) == canonical_json(reordered)


def test_floats_are_refused_with_a_clear_message() -> None:
    with pytest.raises(InputError, match="numbers as strings"):
        canonical_json({"price": 0.1})


def test_integers_beyond_ieee_double_precision_are_refused() -> None:
    with pytest.raises(InputError, match="cannot canonicalise"):
        canonical_json({"n": 2**60})


def test_parse_names_the_input() -> None:
    with pytest.raises(InputError, match=r"terms\.json is not valid JSON"):
        parse_json_object(b"{nope", what="terms.json")
    with pytest.raises(InputError, match="must be a JSON object, found list"):
        parse_json_object(b"[1]", what="terms.json")


_awkward_text = st.text() | st.text(st.characters(categories=["Cs", "Cc", "Zl", "Co"]), max_size=4)
_awkward_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**60), max_value=2**60) | _awkward_text,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8) | _awkward_text, children, max_size=4)
    ),
    max_leaves=20,
)


@given(_awkward_values)
def test_the_fast_path_writes_exactly_what_the_rfc8785_reference_writes(value: Any) -> None:
    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, ValueError):
        with pytest.raises(InputError):
            canonical_json(value)
        return
    assert canonical_json(value) == expected

"""quick_init: the same records as the dataclass's own __init__, made faster."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry._records import quick_init
from consentry.gate.decision import Reason
from consentry.index import Match, MatchKind


@dataclass(frozen=True, slots=True)
class _Plain:
    name: str
    score: float
    spans: tuple[tuple[int, int], ...] = ()
    note: str | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class _Quick:
    name: str
    score: float
    spans: tuple[tuple[int, int], ...] = ()
    note: str | None = None


@given(
    name=st.text(max_size=8),
    score=st.floats(allow_nan=False),
    spans=st.lists(st.tuples(st.integers(), st.integers()), max_size=3).map(tuple),
    note=st.none() | st.text(max_size=4),
)
def test_the_same_fields_whether_given_by_position_keyword_or_default(
    name: str, score: float, spans: tuple[tuple[int, int], ...], note: str | None
) -> None:
    expected = dataclasses.astuple(_Plain(name, score, spans, note))
    assert dataclasses.astuple(_Quick(name, score, spans, note)) == expected
    assert dataclasses.astuple(_Quick(note=note, spans=spans, score=score, name=name)) == expected
    assert dataclasses.astuple(_Quick(name, score)) == dataclasses.astuple(_Plain(name, score))


def test_records_stay_frozen_comparable_and_picklable() -> None:
    match = Match("w1", "o1", MatchKind.EXCERPT, 0.5, ((0, 10),))
    with pytest.raises(dataclasses.FrozenInstanceError):
        match.score = 1.0  # type: ignore[misc]
    assert match == Match("w1", "o1", MatchKind.EXCERPT, 0.5, ((0, 10),))
    assert hash(match) == hash(Match("w1", "o1", MatchKind.EXCERPT, 0.5, ((0, 10),)))
    assert pickle.loads(pickle.dumps(match)) == match  # noqa: S301 - bytes made here
    assert Reason("excerpt", "no grant").spans == ()


def test_wrong_arguments_are_refused_as_before() -> None:
    with pytest.raises(TypeError):
        Match("w1", "o1")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Match("w1", "o1", MatchKind.EXACT, 1.0, (), "extra")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Match("w1", "o1", MatchKind.EXACT, 1.0, colour="red")  # type: ignore[call-arg]


def test_only_frozen_slotted_dataclasses_with_plain_defaults() -> None:
    @dataclass
    class Mutable:
        a: int

    @dataclass(frozen=True, slots=True)
    class Factory:
        a: list[int] = field(default_factory=list)

    @dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            pass

    for cls in (Mutable, Factory, Checked):
        with pytest.raises(TypeError):
            quick_init(cls)

"""IETF AI-preferences: the Content-Usage vocabulary read and written
(draft-ietf-aipref-vocab-07, draft-ietf-aipref-attach-05 §2)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import pytest
from http_sfv.dictionary import Dictionary
from hypothesis import given
from hypothesis import strategies as st

from consentry.signals import Reservation, Signal, aipref
from consentry.signals.aipref import (
    AIPREF_LABELS,
    content_usage_unsaid,
    read_content_usage,
    write_content_usage,
)
from consentry.terms import Category, Conditions, Permission, Price, PriceUnit, Terms

VECTORS = Path(__file__).parents[2] / "vectors" / "signals" / "aipref"
ALLOW, DENY = Permission.ALLOW, Permission.DENY


def _example(name: str) -> str:
    """The example in a vector file: its lines after the leading comment lines."""
    text = (VECTORS / name).read_text("utf-8")
    return "\n".join(line for line in text.splitlines() if not line.startswith("#"))


def _header(name: str) -> str:
    """The Content-Usage field value of an HTTP message in a vector file."""
    for line in _example(name).splitlines():
        field, _, value = line.partition(":")
        if field.strip().lower() == "content-usage":
            return value.strip()
    raise AssertionError(f"{name} has no Content-Usage field")


def _said(reservation: Reservation) -> dict[Category, Permission]:
    return {c: p for c in Category if (p := reservation.permission(c)) is not None}


def test_exports() -> None:
    assert aipref.__all__ == [
        "AIPREF_LABELS",
        "AiprefLabel",
        "content_usage_unsaid",
        "read_content_usage",
        "write_content_usage",
    ]


# -- the drafts' own examples ----------------------------------------------------------


def test_vocab_07_example_allows_training_and_disallows_search() -> None:
    reservation = read_content_usage(_example("vocab-07-s6-example.txt"))
    assert _said(reservation) == {Category.TRAIN_AI: ALLOW, Category.SEARCH: DENY}
    assert not reservation.problems
    assert not reservation.outdated
    assert [s.label for s in reservation.statements] == ["train-ai=y", "search=n"]


def test_vocab_07_duplicated_keys_keep_the_last_value_and_leave_everything_unknown() -> None:
    reservation = read_content_usage(_example("vocab-07-s6.5.1-multiple.txt"))
    assert reservation.statements == ()
    # The draft calls these unknown; consentry reports each so no one reads an allow.
    assert len(reservation.problems) == 2
    bare, string = (p.message for p in reservation.problems)
    assert '"train-ai" has no value' in bare
    assert "write train-ai=y or train-ai=n" in bare
    assert 'the string "n"' in string
    assert all(reservation.reserves(c) for c in Category)


def test_vocab_07_parameters_are_ignored_and_the_last_value_applies() -> None:
    reservation = read_content_usage(_example("vocab-07-s6.5.2-parameters.txt"))
    assert _said(reservation) == {Category.TRAIN_AI: ALLOW}
    assert not reservation.problems


def test_vocab_07_example_with_a_trailing_semicolon_states_no_preference() -> None:
    reservation = read_content_usage(_example("vocab-07-s6.5.2-unknown.txt"))
    assert reservation.statements == ()
    (problem,) = reservation.problems
    assert "is not a structured-field dictionary" in problem.message
    assert '"train-ai=n, search=y"' in problem.message


def test_attach_05_response_header_disallows_training() -> None:
    reservation = read_content_usage(_header("attach-05-s1.2-response.http"))
    (statement,) = reservation.statements
    assert (statement.category, statement.permission) == (Category.TRAIN_AI, DENY)
    assert statement.source.signal is Signal.CONTENT_USAGE_HEADER
    assert statement.source.place == "HTTP header Content-Usage"
    assert not statement.outdated


def test_attach_00_label_ai_is_every_kind_of_training_and_outdated() -> None:
    reservation = read_content_usage(_header("attach-00-s1.2-response.http"))
    assert _said(reservation) == {Category.TRAIN_AI: DENY, Category.TRAIN_OTHER: DENY}
    assert all(s.outdated for s in reservation.statements)


@pytest.mark.parametrize(
    "vector", ["vocab-01-s6-example.txt", "vocab-02-s6-example.txt", "vocab-03-s6-example.txt"]
)
def test_early_drafts_allow_ai_training_but_not_generative_training(vector: str) -> None:
    # "allow AI training, disallow generative AI training", no preference for the rest.
    reservation = read_content_usage(_example(vector))
    assert _said(reservation) == {Category.TRAIN_AI: DENY, Category.TRAIN_OTHER: ALLOW}
    assert all(s.outdated for s in reservation.statements)


def test_vocab_04_allows_automated_processing_except_foundation_models() -> None:
    reservation = read_content_usage(_example("vocab-04-s6-example.txt"))
    assert _said(reservation) == {
        Category.TRAIN_AI: DENY,
        Category.TRAIN_OTHER: ALLOW,
        Category.AI_INPUT: ALLOW,
        Category.SEARCH: ALLOW,
        Category.DATA_MINING: ALLOW,
    }
    by_label = {s.category: (s.label, s.outdated) for s in reservation.statements}
    assert by_label[Category.TRAIN_AI] == ("train-ai=n", False)
    assert by_label[Category.SEARCH] == ("bots=y", True)


def test_vocab_01_duplicated_keys_state_no_preference() -> None:
    reservation = read_content_usage(_example("vocab-01-s6.5-multiple.txt"))
    assert reservation.statements == ()
    assert len(reservation.problems) == 3  # ai="n", genai (true), tdm=()


# -- the hierarchy -----------------------------------------------------------------------


def test_current_labels_tile_and_never_speak_for_other_categories() -> None:
    reservation = read_content_usage("train-ai=n")
    assert _said(reservation) == {Category.TRAIN_AI: DENY}
    assert reservation.permission(Category.TRAIN_OTHER) is None


@pytest.mark.parametrize("broad", ["all", "bots", "tdm"])
def test_a_broad_outdated_label_covers_what_has_no_preference_of_its_own(broad: str) -> None:
    reservation = read_content_usage(f"{broad}=n, search=y")
    assert _said(reservation) == {
        Category.TRAIN_AI: DENY,
        Category.TRAIN_OTHER: DENY,
        Category.AI_INPUT: DENY,
        Category.SEARCH: ALLOW,
        Category.DATA_MINING: DENY,
    }
    assert reservation.permission(Category.PUBLISH_OUTPUT) is None
    assert {s.label for s in reservation.outdated} == {f"{broad}=n"}


def test_search_falls_under_ai_output_in_vocab_04() -> None:
    assert _said(read_content_usage("ai-output=n")) == {
        Category.AI_INPUT: DENY,
        Category.SEARCH: DENY,
    }
    assert _said(read_content_usage("ai-output=n, search=y")) == {
        Category.AI_INPUT: DENY,
        Category.SEARCH: ALLOW,
    }


@pytest.mark.parametrize(("label", "category"), [("ai-use", Category.AI_INPUT)])
def test_outdated_labels_are_flagged(label: str, category: Category) -> None:
    (statement,) = read_content_usage(f"{label}=n").statements
    assert (statement.category, statement.permission, statement.outdated) == (category, DENY, True)
    assert "an outdated label" in statement.describe()


def test_labels_of_equal_depth_from_different_drafts_combine_most_restrictively() -> None:
    reservation = read_content_usage("all=y, bots=n")
    assert reservation.permission(Category.SEARCH) is DENY
    assert len(reservation.about(Category.SEARCH)) == 2


def test_every_label_covers_only_real_categories() -> None:
    for name, label in AIPREF_LABELS.items():
        assert label.label == name
        assert label.covers
        assert Category.PUBLISH_OUTPUT not in label.covers
    assert {n for n, label in AIPREF_LABELS.items() if not label.outdated} == {"train-ai", "search"}


# -- what is not a preference ------------------------------------------------------------


def test_unknown_labels_and_their_values_are_ignored() -> None:
    reservation = read_content_usage('train-ai=n, future-use=(a b), x="y", *ext=?1')
    assert _said(reservation) == {Category.TRAIN_AI: DENY}
    assert not reservation.problems


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("train-ai=yes", 'the token "yes"'),
        ("train-ai=1", "the value 1"),
        ("search=(y)", "an inner list"),
        ("train-ai=Y", 'the token "Y"'),
    ],
)
def test_a_known_label_without_y_or_n_is_a_problem_never_an_allow(value: str, found: str) -> None:
    reservation = read_content_usage(value)
    assert reservation.statements == ()
    (problem,) = reservation.problems
    assert found in problem.message
    assert problem.message.endswith("=y or " + value.split("=", maxsplit=1)[0] + "=n")
    assert all(reservation.reserves(c) for c in Category)


@pytest.mark.parametrize("value", ["train-ai=y,", "train-ai=y search=n", "=y", "train ai=n"])
def test_a_value_that_is_no_dictionary_is_a_problem(value: str) -> None:
    reservation = read_content_usage(value, place="HTTP header Content-Usage of /a")
    assert reservation.statements == ()
    (problem,) = reservation.problems
    assert problem.source.place == "HTTP header Content-Usage of /a"
    assert problem.message.startswith("Content-Usage value ")
    assert "is not a structured-field dictionary" in problem.message


def test_upper_case_labels_fail_to_parse_and_the_problem_shows_the_fix() -> None:
    (problem,) = read_content_usage("Train-AI=n").problems
    assert "case-sensitive" in problem.message
    assert problem.message.endswith('write "train-ai=n"')


def test_an_empty_field_value_is_an_empty_dictionary() -> None:
    assert read_content_usage("") == Reservation()
    assert read_content_usage(" \t") == Reservation()


def test_bytes_are_read_and_the_source_and_agent_are_kept() -> None:
    reservation = read_content_usage(
        b"search=n", place="robots.txt line 4", signal=Signal.CONTENT_USAGE_ROBOTS, agent="Bot"
    )
    (statement,) = reservation.statements
    assert statement.source.place == "robots.txt line 4"
    assert statement.source.signal is Signal.CONTENT_USAGE_ROBOTS
    assert statement.agent == "Bot"


@given(st.text(max_size=200))
def test_any_input_reads_without_raising_and_allows_only_from_a_y_token(value: str) -> None:
    reservation = read_content_usage(value)
    for statement in reservation.statements:
        if statement.permission is ALLOW:
            assert statement.label.endswith("=y")
    if reservation.problems:
        assert all(reservation.reserves(c) for c in Category)


# -- writing -----------------------------------------------------------------------------

permissions = st.sampled_from(list(Permission))
terms_strategy = st.builds(
    lambda categories, priced: Terms(
        MappingProxyType(categories),
        Price(PriceUnit.WORK, Decimal("0.05"), "EUR") if priced else None,
    ),
    st.dictionaries(st.sampled_from(list(Category)), permissions),
    st.booleans(),
)


@given(terms_strategy)
def test_round_trip_keeps_every_permission_the_format_can_say(terms: Terms) -> None:
    value = write_content_usage(terms)
    Dictionary().parse(value.encode("ascii"))  # an RFC 9651 dictionary
    read = read_content_usage(value)
    unsaid = content_usage_unsaid(terms)
    assert not read.problems
    for category in Category:
        written = terms.permission(category)
        named = any(sentence.startswith(f"{category.value}:") for sentence in unsaid)
        if category in {Category.TRAIN_AI, Category.SEARCH} and written is not Permission.LICENSE:
            assert read.permission(category) is written
            assert not named
        elif category in {Category.TRAIN_AI, Category.SEARCH}:
            assert read.permission(category) is DENY  # the safe reading of a licence
            assert named
        else:
            assert read.permission(category) is None
            assert named
    assert any(s.startswith("price:") for s in unsaid) is (terms.price is not None)


def test_default_terms_are_written_as_refusals() -> None:
    assert write_content_usage(Terms()) == "train-ai=n, search=n"
    unsaid = content_usage_unsaid(Terms())
    assert unsaid[0].startswith("train-ai: reserved for licensing")
    assert "train-ai=n, the safe reading" in unsaid[0]


def test_allowed_categories_are_written_as_y() -> None:
    terms = Terms(MappingProxyType({Category.TRAIN_AI: ALLOW, Category.SEARCH: ALLOW}))
    assert write_content_usage(terms) == "train-ai=y, search=y"


def test_unsaid_names_categories_without_a_label_and_the_conditions() -> None:
    terms = Terms(
        MappingProxyType({Category.TRAIN_OTHER: DENY}),
        conditions=Conditions(attribution="© Ada", non_commercial=True),
    )
    unsaid = content_usage_unsaid(terms)
    assert any(
        s.startswith("train-other: AI-preferences has no label for it") and s.endswith("deny")
        for s in unsaid
    )
    assert "conditions: attribution, non_commercial have no place in Content-Usage" in unsaid

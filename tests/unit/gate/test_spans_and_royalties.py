"""The gate decides span by span and bills what was used (issue 19, points 1 and 2)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from consentry.gate import Gate, Item, Outcome
from consentry.gate.gate import Evidence
from consentry.gate.royalties import ROYALTY_COLUMNS, UsedWork, royalties_csv, royalty_for
from consentry.index import MatchIndex, MatchKind
from consentry.terms import Basis, Price, PriceUnit, UseDecision


class Consent:
    def __init__(self, allowed: set[str]) -> None:
        self.allowed = allowed

    def decide(self, work_ids: Sequence[str]) -> dict[str, UseDecision]:
        return {
            w: (
                UseDecision(True, "grant in force", Basis.GRANT, f"gr_{w}")
                if w in self.allowed
                else UseDecision(False, "no grant")
            )
            for w in work_ids
        }

    def price_of(self, grant_id: str) -> Price | None:
        return None


def _gate(allowed: set[str]) -> Gate:
    return Gate(index=MatchIndex.build([]), consent=Consent(allowed))


def _item(length: int = 1000) -> Item:
    return Item("i", "test", text="word " * (length // 5))


def test_a_licence_text_granted_is_admitted_though_it_shares_passages_with_others() -> None:
    # The regression: a licensee granted train-ai on GPL-3 had every verbatim copy
    # rejected as excerpts of three other texts of the same owner sharing passages.
    matches = [
        Evidence("gpl-3", "own", MatchKind.EXACT, 1.0, ((0, 35000),), 0, 35000),
        Evidence("gpl-2", "own", MatchKind.EXCERPT, 0.4, ((100, 900), (5000, 7000)), 0, 35000),
        Evidence("lgpl-3", "own", MatchKind.EXCERPT, 0.2, ((0, 400),), 0, 35000),
        Evidence("agpl-3", "own", MatchKind.EXCERPT, 0.9, ((0, 34000),), 0, 35000),
    ]
    decision = _gate({"gpl-3"}).conclude(_item(), list(matches))
    assert decision.outcome is Outcome.ADMITTED
    assert [b.work_id for b in decision.bases] == ["gpl-3"]
    assert decision.bases[0].share == 1 and decision.bases[0].match == "exact"
    # Every match is listed, covered or not, so the licensee sees why.
    assert {r.work_id for r in decision.reasons} == {"gpl-2", "lgpl-3", "agpl-3"}
    assert all(
        r.covered and "covered by the basis for gpl-3" in r.message for r in decision.reasons
    )
    assert decision.to_json()["reasons"][0]["covered"] is True


def test_a_span_no_basis_covers_rejects_with_the_uncovered_spans() -> None:
    matches = [
        Evidence("a", "own", MatchKind.EXCERPT, 0.5, ((0, 300),), 0, 1000),
        Evidence("b", "own", MatchKind.EXCERPT, 0.4, ((100, 400), (600, 700)), 0, 1000),
    ]
    decision = _gate({"a"}).conclude(_item(), list(matches))
    assert decision.outcome is Outcome.REJECTED
    (refused,) = decision.rejecting
    assert refused.work_id == "b" and refused.uncovered == ((300, 400), (600, 700))
    # The allowed work is listed too, as covered.
    assert [(r.work_id, r.covered) for r in decision.reasons] == [("a", True), ("b", False)]
    # Covered entirely by the allowed work: admitted.
    inside = Evidence("c", "own", MatchKind.EXCERPT, 0.4, ((20, 280),), 0, 1000)
    assert _gate({"a"}).conclude(_item(), [matches[0], inside]).admitted


def test_a_near_copy_covers_no_other_works_spans() -> None:
    # A near copy differs somewhere: it says nothing of where another work's text is.
    matches = [
        Evidence("a", "own", MatchKind.NEAR, 0.9, ((0, 1000),), 0, 1000),
        Evidence("b", "own", MatchKind.EXCERPT, 0.1, ((100, 400),), 0, 1000),
    ]
    assert not _gate({"a"}).conclude(_item(), list(matches)).admitted


def test_royalties_bill_what_was_used_in_the_unit_they_name() -> None:
    # The regression: 6113 tokens at 0.10 per thousand were written as units 6113 and
    # amount 0.6113, which does not hold read as written.
    price = Price(PriceUnit.THOUSAND_TOKENS, Decimal("0.10"), "EUR")
    row = royalty_for(
        UsedWork("w", "o", "g", price, items=3, tokens=6113), title="T", owner_name="O"
    )
    assert row is not None
    assert row.units == Decimal("6.113") and row.amount == Decimal("0.6113")
    assert row.amount == row.units * row.unit_price
    lines = royalties_csv([row]).splitlines()
    assert lines[0].split(",") == list(ROYALTY_COLUMNS)
    assert lines[1] == "o,O,w,T,g,6.113,1k-tokens,0.10,0.61130,EUR"
    for unit, used in ((PriceUnit.BYTE, UsedWork("w", "o", "g", None, bytes=77)),):
        used.price = Price(unit, Decimal("0.001"), "EUR")
        billed = royalty_for(used)
        assert billed is not None and billed.amount == billed.units * billed.unit_price


_spans = st.lists(st.tuples(st.integers(0, 900), st.integers(1, 300)), min_size=1, max_size=4)


@given(
    st.lists(
        st.tuples(st.sampled_from(list(MatchKind)[:3]), _spans, st.integers(0, 1)),
        min_size=1,
        max_size=6,
    ),
    st.integers(0, 5000),
    st.integers(0, 20000),
)
def test_units_billed_for_an_item_never_exceed_its_size(
    found: list[tuple[MatchKind, list[tuple[int, int]], int]], tokens: int, size: int
) -> None:
    matches = []
    for n, (kind, spans, stream) in enumerate(found):
        length = 1200 if stream == 0 else 700
        kept = tuple(sorted({(min(a, length - 1), min(a + b, length)) for a, b in spans}))
        if kind is not MatchKind.EXCERPT:
            kept = ((0, length),)
        matches.append(Evidence(f"w{n}", "own", kind, 0.5, kept, stream, length))
    decision = _gate({m.work_id for m in matches}).conclude(_item(), list(matches))
    assert decision.admitted
    shares = [b.share for b in decision.bases]
    assert all(0 <= s <= 1 for s in shares) and sum(shares, Fraction(0)) <= 1
    # As the run bills them: each share of the item's size, rounded down.
    for whole in (tokens, size):
        billed = sum(whole * s.numerator // s.denominator for s in shares)
        assert billed <= whole
    if any(m.kind is not MatchKind.EXCERPT for m in matches):
        assert sum(shares) == 1


def test_evidence_has_a_length_one_rule_for_gate_and_check() -> None:
    from consentry.check import Checker
    from consentry.check.spans import evidence_floor
    from consentry.fingerprint import FingerprintParams

    winnow = FingerprintParams().winnow
    # One shared 100-character window is never evidence; two kept windows of one run
    # are; a longer minimum span asks for more.
    assert evidence_floor(200, winnow) == 101
    assert evidence_floor(500, winnow) == 300
    gate = Gate(index=MatchIndex.build([]), consent=Consent(set()), min_span=500)
    checker = Checker(MatchIndex.build([]), notices=None, min_span=500)  # type: ignore[arg-type]
    assert gate._floor == checker._evidence_floor == 300


def test_one_contiguous_copy_is_one_span() -> None:
    from consentry.check.spans import merge_evidence
    from consentry.fingerprint import FingerprintParams

    # Kept windows of one copy start at most w = 101 apart: their spans may leave one
    # character between them though nothing there differs.
    winnow = FingerprintParams().winnow
    assert merge_evidence([(0, 100), (101, 201)], winnow) == [(0, 201)]
    assert merge_evidence([(0, 100), (102, 202)], winnow) == [(0, 100), (102, 202)]

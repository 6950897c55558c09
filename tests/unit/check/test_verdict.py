"""Verdicts follow the owner's publish-output terms and the user's grants."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from consentry.check import Verdict, WorkNotice, verdict_for
from consentry.terms import Terms

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def _notice(categories: dict[str, str], **conditions: object) -> WorkNotice:
    document: dict[str, object] = {"version": 1, "categories": categories}
    if conditions:
        document["conditions"] = conditions
    return WorkNotice("wrk_1", "own_1", "Ada", Terms.from_json(document))


@pytest.mark.parametrize(
    ("terms", "length", "grant", "expected", "says"),
    [
        (({"publish-output": "allow"}, {}), 500, None, Verdict.CLEAR, "allow"),
        (({"publish-output": "allow"}, {"attribution": "© Ada"}), 500, None, Verdict.ATTRIBUTE, ""),
        (({"publish-output": "allow"}, {"max_excerpt_chars": 300}), 299, None, Verdict.CLEAR, ""),
        (
            ({"publish-output": "allow"}, {"max_excerpt_chars": 300}),
            301,
            None,
            Verdict.BLOCKED,
            "at most 300",
        ),
        (({"publish-output": "deny"}, {}), 250, None, Verdict.BLOCKED, "deny"),
        (({"publish-output": "license"}, {}), 250, None, Verdict.BLOCKED, "license request"),
        (({"publish-output": "deny"}, {}), 250, "gr_9", Verdict.LICENSED, "gr_9"),
        (({}, {}), 250, None, Verdict.BLOCKED, "needs a licence"),
        (
            ({"publish-output": "allow"}, {"expires": "2026-01-01"}),
            250,
            None,
            Verdict.BLOCKED,
            "until",
        ),
        (
            ({"publish-output": "allow"}, {"non_commercial": True}),
            250,
            None,
            Verdict.BLOCKED,
            "non-commercial",
        ),
    ],
)
def test_verdicts_follow_the_terms(terms, length, grant, expected, says) -> None:  # type: ignore[no-untyped-def]
    categories, conditions = terms
    notice = _notice(categories, **conditions)
    verdict, reason = verdict_for(notice, length, at=NOW, grant_id=grant)
    assert verdict is expected
    assert says in reason


def test_a_notice_round_trips_through_json() -> None:
    notice = _notice({"publish-output": "allow"}, attribution="© Ada", max_excerpt_chars=400)
    assert WorkNotice.from_json(notice.to_json()) == notice


def test_the_suggested_license_request_names_the_licensee() -> None:
    # The regression: 'license request --work ... --purpose publish-output' failed as
    # printed, for want of --licensee.
    from consentry.terms import DEFAULT_TERMS

    now = datetime(2026, 6, 1, tzinfo=UTC)
    notice = WorkNotice("wrk_1", "own_1", "Ada", DEFAULT_TERMS)
    _, reason = verdict_for(notice, 300, at=now, licensee_id="lic_9")
    assert "license request --work wrk_1 --licensee lic_9 --purpose publish-output" in reason
    _, reason = verdict_for(notice, 300, at=now)
    assert "--licensee LICENSEE_ID" in reason

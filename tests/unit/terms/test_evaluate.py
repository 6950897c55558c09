from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from consentry.terms import Basis, Category, Permission, Permit, Terms, may_use, resolve_terms

NOW = datetime(2027, 6, 1, 12, tzinfo=UTC)


def _terms(**categories: str) -> Terms:
    return resolve_terms(
        [
            Terms.from_json(
                {
                    "version": 1,
                    "categories": {k.replace("_", "-"): v for k, v in categories.items()},
                }
            )
        ]
    )


def _permit(**changes: object) -> Permit:
    values: dict[str, object] = {
        "grant_id": "grt_1",
        "purposes": frozenset({Category.TRAIN_AI}),
        "not_before": NOW - timedelta(days=1),
        "not_after": NOW + timedelta(days=30),
        "revoked_at": None,
    }
    values.update(changes)
    return Permit(**values)  # type: ignore[arg-type]


def test_allow_allows_on_the_terms() -> None:
    decision = may_use(_terms(train_ai="allow"), Category.TRAIN_AI, at=NOW)
    assert decision.allowed and decision.basis is Basis.TERMS


def test_deny_denies_and_says_so() -> None:
    decision = may_use(_terms(train_ai="deny"), Category.TRAIN_AI, at=NOW)
    assert not decision.allowed and "deny train-ai" in decision.reason


def test_license_without_a_grant_is_refused() -> None:
    decision = may_use(_terms(), Category.TRAIN_AI, at=NOW)
    assert not decision.allowed and "needs a licence" in decision.reason


def test_a_grant_in_force_allows_and_names_itself() -> None:
    decision = may_use(_terms(), Category.TRAIN_AI, at=NOW, permits=[_permit()])
    assert decision.allowed and decision.basis is Basis.GRANT and decision.grant_id == "grt_1"


def test_each_way_a_permit_fails_is_explained() -> None:
    cases = {
        "does not cover train-ai": _permit(purposes=frozenset({Category.SEARCH})),
        "starts": _permit(not_before=NOW + timedelta(days=1)),
        "expired": _permit(not_after=NOW),
        "was revoked": _permit(revoked_at=NOW - timedelta(seconds=1)),
    }
    for phrase, permit in cases.items():
        decision = may_use(_terms(), Category.TRAIN_AI, at=NOW, permits=[permit])
        assert not decision.allowed
        assert phrase in decision.reason


def test_a_revocation_in_the_future_does_not_affect_today() -> None:
    permit = _permit(revoked_at=NOW + timedelta(days=1))
    assert may_use(_terms(), Category.TRAIN_AI, at=NOW, permits=[permit]).allowed
    later = NOW + timedelta(days=2)
    assert not may_use(_terms(), Category.TRAIN_AI, at=later, permits=[permit]).allowed


def test_expired_allowance_needs_a_licence() -> None:
    terms = Terms.from_json(
        {"version": 1, "categories": {"search": "allow"}, "conditions": {"expires": "2027-05-31"}}
    )
    decision = may_use(resolve_terms([terms]), Category.SEARCH, at=NOW)
    assert not decision.allowed and "until 2027-05-31" in decision.reason


def test_non_commercial_allowance_refuses_commercial_use() -> None:
    terms = resolve_terms(
        [
            Terms.from_json(
                {
                    "version": 1,
                    "categories": {"train-ai": "allow"},
                    "conditions": {"non_commercial": True},
                }
            )
        ]
    )
    assert not may_use(terms, Category.TRAIN_AI, at=NOW, commercial=True).allowed
    assert may_use(terms, Category.TRAIN_AI, at=NOW, commercial=False).allowed


@given(
    st.sampled_from(list(Category)),
    st.sampled_from(list(Permission)),
    st.lists(st.sampled_from(list(Category)), max_size=3),
    st.integers(-5, 5),
    st.integers(-5, 5),
)
def test_nothing_under_license_or_deny_is_allowed_without_a_permit_in_force(
    purpose: Category, permission: Permission, granted: list[Category], start: int, end: int
) -> None:
    terms = resolve_terms(
        [Terms.from_json({"version": 1, "categories": {purpose.value: permission.value}})]
    )
    permit = _permit(
        purposes=frozenset(granted),
        not_before=NOW + timedelta(days=start),
        not_after=NOW + timedelta(days=end),
    )
    decision = may_use(terms, purpose, at=NOW, permits=[permit])
    in_force = purpose in granted and start <= 0 < end
    if permission is Permission.ALLOW:
        assert decision.allowed
    else:
        assert decision.allowed == in_force

"""Each record has one wire format: ``to_json`` is plain JSON, and ``from_json`` reads
it back to the same record, whatever the record holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentry.check import CheckReport, Finding, Verdict
from consentry.crypto import KeyPair
from consentry.errors import InputError
from consentry.gate import BasisKind, Decision, Outcome, Reason, UseBasis
from consentry.index import MatchKind
from consentry.log import Checkpoint, sign_checkpoint
from consentry.registry import (
    CounterOffer,
    Grant,
    LicenseRequest,
    Party,
    PartyKind,
    Registration,
    RegistrationStatus,
    RequestState,
    Revocation,
    Scope,
    ScopeKind,
    Work,
)
from consentry.registry.transparency import SignedCheckpoint
from consentry.terms import Category, Price, PriceUnit

KEY = KeyPair.generate()

ids = st.builds(
    "{}_{}".format,
    st.sampled_from(["own", "lic", "wrk", "col", "req", "grt", "rev", "dsp"]),
    st.text("abcdefghijklmnopqrstuvwxyz234567", min_size=16, max_size=16),
)
texts = st.text(max_size=40)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
prices = st.builds(
    Price,
    st.sampled_from(PriceUnit),
    st.decimals(min_value=0, max_value=Decimal("1e6"), places=4, allow_nan=False),
    st.sampled_from(["EUR", "USD", "JPY"]),
)
purposes = st.frozensets(st.sampled_from(Category), min_size=1)
scopes = st.builds(
    Scope, st.sampled_from(ScopeKind), st.lists(ids, min_size=1, max_size=3).map(tuple)
)
works = st.builds(
    Work,
    id=ids,
    owner_id=ids,
    collection_id=st.none() | ids,
    digest=st.text("0123456789abcdef", min_size=64, max_size=64),
    kind=st.sampled_from(["text", "code", "image"]),
    media_type=texts,
    path=texts,
    title=texts,
    size=st.integers(0, 2**40),
    spdx=st.none() | texts,
    created_at=moments,
)
requests = st.builds(
    LicenseRequest,
    id=ids,
    licensee_id=ids,
    owner_id=ids,
    scope=scopes,
    purposes=purposes,
    not_before=moments,
    not_after=st.none() | moments,
    offer=st.none() | prices,
    commercial=st.booleans(),
    state=st.sampled_from(RequestState),
    counter=st.none() | st.builds(CounterOffer, purposes, st.none() | moments, st.none() | prices),
    note=st.none() | texts,
    created_at=moments,
)
grants = st.builds(
    Grant,
    id=ids,
    request_id=ids,
    owner_id=ids,
    licensee_id=ids,
    licensee_key=st.text("0123456789abcdef", min_size=64, max_size=64),
    scope=scopes,
    purposes=purposes,
    not_before=moments,
    not_after=st.none() | moments,
    price=st.none() | prices,
    issued_at=moments,
)
spans = st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)), max_size=3).map(tuple)
decisions = st.one_of(
    st.builds(
        Decision,
        ids,
        st.just(Outcome.ADMITTED),
        bases=st.lists(
            st.builds(
                UseBasis,
                st.sampled_from(BasisKind),
                work_id=st.none() | ids,
                owner_id=st.none() | ids,
                grant_id=st.none() | ids,
                licence=st.none() | texts,
                detail=texts,
            ),
            max_size=3,
        ).map(tuple),
    ),
    st.builds(
        Decision,
        ids,
        st.just(Outcome.REJECTED),
        reasons=st.lists(
            st.one_of(
                st.builds(Reason, st.sampled_from(["unregistered", "unreadable"]), texts),
                st.builds(
                    Reason,
                    st.sampled_from(["exact", "near", "excerpt", "image", "signal"]),
                    texts,
                    work_id=ids,
                    owner_id=ids,
                    score=st.floats(0, 1),
                    spans=spans,
                ),
            ),
            max_size=3,
        ).map(tuple),
    ),
)
records: st.SearchStrategy[Any] = st.one_of(
    st.builds(
        Party,
        id=ids,
        kind=st.sampled_from(PartyKind),
        name=texts,
        key_id=st.text("0123456789abcdef", min_size=16, max_size=16),
        public_key=st.text("0123456789abcdef", min_size=64, max_size=64),
        created_at=moments,
    ),
    works,
    st.builds(
        Registration,
        status=st.sampled_from(RegistrationStatus),
        path=texts,
        work=works,
        dispute_id=st.none() | ids,
    ),
    requests,
    grants,
    st.builds(
        Revocation,
        id=ids,
        grant_id=ids,
        owner_id=ids,
        effective_at=moments,
        reason=st.none() | texts,
    ),
    decisions,
)


@settings(max_examples=300)
@given(records)
def test_a_record_reads_back_from_its_json(record: Any) -> None:
    wire = json.loads(json.dumps(record.to_json()))
    assert type(record).from_json(wire) == record


findings = st.builds(
    Finding,
    work_id=ids,
    owner_id=ids,
    owner_name=texts,
    kind=st.sampled_from(MatchKind),
    score=st.floats(0, 1),
    spans=spans,
    length=st.integers(0, 10_000),
    verdict=st.sampled_from(Verdict),
    reason=texts,
    attribution=st.none() | texts,
    grant_id=st.none() | ids,
)


@given(st.builds(CheckReport, texts, st.lists(findings, max_size=3).map(tuple)))
def test_a_check_report_reads_back_from_its_json(report: CheckReport) -> None:
    wire = json.loads(json.dumps(report.to_json()))
    assert CheckReport.from_json(wire) == report
    assert wire["verdict"] == report.verdict.value


@given(st.integers(0, 2**40), st.binary(min_size=32, max_size=32))
def test_a_signed_checkpoint_reads_back_and_refuses_a_record_that_differs(
    size: int, root: bytes
) -> None:
    checkpoint = Checkpoint("consentry.log/test", size, root)
    signed = SignedCheckpoint(checkpoint, sign_checkpoint(checkpoint, KEY))
    wire = json.loads(json.dumps(signed.to_json()))
    assert SignedCheckpoint.from_json(wire) == signed
    with pytest.raises(InputError, match="does not match the note"):
        SignedCheckpoint.from_json({**wire, "size": size + 1})

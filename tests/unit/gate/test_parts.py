"""A run decided in parts adds up to one run: counts, reasons, works used and sources
summed part by part; parts of another run, or used under another grant, refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.errors import InputError
from consentry.gate import Item
from consentry.gate.parts import PART_DONE, SEEN_IDS, merge_parts, merged_state
from consentry.gate.policy import GateMode
from consentry.gate.run import GateRun, RunSettings
from consentry.gate.seen import repeats_across
from consentry.terms import Category
from tests.unit.gate.offline_run import KEY, no_record, unregistered_gate

_SHARED = {
    "version": 1,
    "run_id": "run_aaaaaaaaaaaaaaaa",
    "corpus": "datatrove:/x#rank-0/2",
    "licensee": "lic_aaaaaaaaaaaaaaaa",
    "purpose": "train-ai",
    "mode": "opt-out",
    "compress": False,
    "started_at": "2026-12-03T10:00:00.000000Z",
    "index_digest": "ab" * 32,
}


def _state(items: int, admitted: int, reasons: dict[str, int], work_items: int) -> dict[str, Any]:
    return {
        **_SHARED,
        "items": items,
        "admitted": admitted,
        "rejected": items - admitted,
        "bytes": items * 10,
        "reasons": reasons,
        "reused_ids": 0,
        "reused_examples": [],
        "seconds": 1.5,
        "used": {
            "wrk_aaaaaaaaaaaaaaaa": {
                "owner": "own_aaaaaaaaaaaaaaaa",
                "grant": "grt_aaaaaaaaaaaaaaaa",
                "price": None,
                "items": work_items,
                "bytes": work_items * 10,
                "tokens": work_items * 2,
            }
        },
        "sources": {
            "by_basis": {"grant": admitted},
            "bytes_by_basis": {"grant": admitted * 10},
            "domains": {"example.org": [admitted, admitted * 10]},
            "honoured": {},
            "reported": {},
        },
    }


parts = st.lists(
    st.tuples(
        st.integers(0, 50),
        st.integers(0, 50),
        st.dictionaries(st.sampled_from(["excerpt", "exact", "signal"]), st.integers(1, 9)),
        st.integers(0, 20),
    ).map(lambda t: _state(t[0] + t[1], t[1], t[2], t[3])),
    min_size=1,
    max_size=6,
)


@given(parts)
def test_the_merged_run_is_the_sum_of_its_parts(states: list[dict[str, Any]]) -> None:
    merged = merged_state(states)
    for name in ("items", "admitted", "rejected", "bytes"):
        assert merged[name] == sum(s[name] for s in states)
    for reason in ("excerpt", "exact", "signal"):
        assert merged["reasons"].get(reason, 0) == sum(s["reasons"].get(reason, 0) for s in states)
    use = merged["used"]["wrk_aaaaaaaaaaaaaaaa"]
    assert use["items"] == sum(s["used"]["wrk_aaaaaaaaaaaaaaaa"]["items"] for s in states)
    assert merged["sources"]["domains"]["example.org"][0] == sum(s["admitted"] for s in states)
    assert merged["seconds"] == pytest.approx(1.5 * len(states))
    assert merged["run_id"] == _SHARED["run_id"]


@pytest.mark.parametrize(
    "name", ["run_id", "licensee", "purpose", "mode", "started_at", "index_digest"]
)
def test_parts_of_another_run_are_refused(name: str) -> None:
    other = {**_state(3, 1, {}, 1), name: "something else"}
    with pytest.raises(InputError, match=f"part 1 has {name} .* not parts of one run"):
        merged_state([_state(3, 1, {}, 1), other])


def test_a_work_used_under_another_grant_in_another_part_is_refused() -> None:
    other = _state(3, 1, {}, 1)
    other["used"]["wrk_aaaaaaaaaaaaaaaa"]["grant"] = "grt_bbbbbbbbbbbbbbbb"
    with pytest.raises(InputError, match="did not decide as of one moment"):
        merged_state([_state(3, 1, {}, 1), other])


def test_an_unfinished_part_is_not_merged(tmp_path: Path) -> None:
    done, unfinished = tmp_path / "rank-00000", tmp_path / "rank-00001"
    done.mkdir()
    unfinished.mkdir()
    (done / PART_DONE).touch()
    settings = RunSettings("x", tmp_path, "lic_a", Category.TRAIN_AI, GateMode.OPT_OUT)

    def never(body: dict[str, Any], signature: str) -> None:
        raise AssertionError("nothing is recorded")

    with pytest.raises(InputError, match="rank-00001 did not finish"):
        merge_parts([done, unfinished], settings, key=None, record_manifest=never)  # type: ignore[arg-type]


def _decided_in_parts(ids: list[str], cuts: list[int], tmp_path: Path) -> dict[str, Any]:
    """A run over items named ``ids``, decided in parts cut at ``cuts`` and merged."""
    began = datetime(2026, 12, 3, 10, tzinfo=UTC)
    bounds = [0, *cuts, len(ids)]
    parts = []
    for number, (start, end) in enumerate(pairwise(bounds)):
        part = tmp_path / f"part-{number}"
        run = GateRun(
            RunSettings(
                f"c#{number}", part, "lic_test", Category.TRAIN_AI, GateMode.CONSENT_ONLY,
                run_id="run_aaaaaaaaaaaaaaaa",
            ),
            gate_for=unregistered_gate,
            key=KEY,
            index_digest="0" * 64,
            record_manifest=no_record,
            moment=lambda run_id, resuming: began,
        )  # fmt: skip
        run.decide_chunk([Item(i, f"c:{k}", text="words") for k, i in enumerate(ids[start:end])])
        run.finish_part()
        parts.append(part)
    settings = RunSettings(
        "c", tmp_path / "merged", "lic_test", Category.TRAIN_AI, GateMode.CONSENT_ONLY,
        run_id="run_aaaaaaaaaaaaaaaa",
    )  # fmt: skip
    return merge_parts(parts, settings, key=KEY, record_manifest=no_record)


@given(
    ids=st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=30),
    cuts=st.lists(st.integers(0, 30), max_size=3),
)
def test_ids_reused_across_parts_are_counted_as_one_run_counts_them(
    ids: list[str], cuts: list[int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    cuts = sorted(min(c, len(ids)) for c in cuts)
    summary = _decided_in_parts(ids, cuts, tmp_path_factory.mktemp("parts"))
    assert summary["reused_ids"]["items"] == len(ids) - len(set(ids))


def test_a_part_without_its_ids_is_not_merged(tmp_path: Path) -> None:
    done = tmp_path / "p0"
    done.mkdir()
    (done / PART_DONE).touch()
    settings = RunSettings("c", tmp_path / "out", "lic_x", Category.TRAIN_AI, GateMode.OPT_OUT)
    (done / ".gate-state.json").write_text(json.dumps(_state(1, 1, {}, 1)))
    with pytest.raises(InputError, match="keep no record of the ids they met"):
        merge_parts([done], settings, key=None, record_manifest=lambda b, s: None)  # type: ignore[arg-type]
    assert not (done / SEEN_IDS).exists()


@given(
    st.lists(st.lists(st.integers(0, (1 << 64) - 1), max_size=40), max_size=5),
    st.sampled_from([1, 2, 7, 256]),
)
def test_repeats_across_parts_are_counted_in_any_number_of_ranges(
    parts: list[list[int]], ranges: int
) -> None:
    # Ids drawn from a few values, so parts share some; each part holds each once.
    arrays = [np.unique(np.array([v % 50 << 58 for v in p], dtype=np.uint64)) for p in parts]
    every = [v for a in arrays for v in a.tolist()]
    assert repeats_across(arrays, ranges=ranges) == len(every) - len(set(every))

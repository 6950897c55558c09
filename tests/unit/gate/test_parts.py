"""A run decided in parts adds up to one run: counts, reasons, works used and sources
summed part by part; parts of another run, or used under another grant, refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.errors import InputError
from consentry.gate.parts import PART_DONE, merge_parts, merged_state
from consentry.gate.policy import GateMode
from consentry.gate.run import RunSettings
from consentry.terms import Category

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

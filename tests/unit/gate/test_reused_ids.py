"""Duplicate ids pass without a word no more (issue 19, point 7): an item whose id an
earlier item had is decided on its content and reported, across a resume too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.gate import seen as seen_module
from consentry.gate.seen import SeenIds
from tests.unit.gate.offline_run import run_offline


@given(st.lists(st.lists(st.sampled_from("abcdefghij") | st.text(max_size=3), max_size=40)))
def test_seen_ids_says_exactly_which_ids_were_met_before(chunks: list[list[str]]) -> None:
    # A tiny buffer, so that runs are sorted, merged and searched many times over.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(seen_module, "_BUFFER", 4)
        seen, met = SeenIds(), set()
        for chunk in chunks:
            expected = []
            for item_id in chunk:
                expected.append(item_id in met)
                met.add(item_id)
            assert seen.add_many(chunk) == expected
        assert len(seen) == len(met)


def _corpus(path: Path, count: int) -> set[int]:
    """``count`` items, every 37th from the 100th on reusing the id of one 100 before;
    the numbers of the items that reuse an id."""
    reusing = {i for i in range(100, count) if i % 37 == 0}
    with path.open("w") as handle:
        for i in range(count):
            item_id = f"d{i - 100}" if i in reusing else f"d{i}"
            handle.write(json.dumps({"id": item_id, "text": f"item {i} " * 60}) + "\n")
    return reusing


def test_reused_ids_are_reported_and_met_again_on_resume(tmp_path: Path) -> None:
    corpus, out = tmp_path / "corpus.jsonl", tmp_path / "out"
    reusing = _corpus(corpus, 2000)
    whole = run_offline(corpus, tmp_path / "whole")
    assert whole["reused_ids"]["items"] == len(reusing)
    first = min(reusing)
    assert whole["reused_ids"]["first"][0] == {
        "id": f"d{first - 100}",
        "source": f"corpus.jsonl:{first + 1}",
    }
    # Stopped after 1,024 items (the last checkpoint at 1,000), then resumed: the ids of
    # the items decided before the stop are met again, so a reuse after it is still seen.
    chunks = 0

    def stop_after_four_chunks(stats: object) -> None:
        nonlocal chunks
        chunks += 1
        if chunks == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_offline(corpus, out, checkpoint_every=100, on_progress=stop_after_four_chunks)
    state = json.loads((out / ".gate-state.json").read_text())
    assert 100 < state["items"] < 2000 - 100
    resumed = run_offline(corpus, out, resume=True)
    assert resumed["reused_ids"] == whole["reused_ids"]
    assert resumed["decisions"] == whole["decisions"]

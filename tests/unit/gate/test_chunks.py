"""Memory per chunk is bounded by bytes, not only by item count (issue 20, point 5): 20
items of 20 MB were one chunk of 400 MB, and 1.79 GB once fingerprinted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.errors import InputError
from consentry.gate import Item
from consentry.gate.item import chunked, held_bytes
from consentry.gate.parallel import find_in_order
from consentry.gate.run import RunStats
from consentry.index import MatchIndex
from tests.unit.gate.offline_run import run_offline, unregistered_gate


def _items(*sizes: int) -> list[Item]:
    return [Item(f"i{n}", f"s{n}", text="x", footprint=size) for n, size in enumerate(sizes)]


def _sizes(chunks: Iterator[list[Item]]) -> list[list[int]]:
    return [[item.footprint for item in chunk] for chunk in chunks]


def test_a_chunk_ends_before_the_item_that_would_take_it_past_the_byte_budget() -> None:
    chunks = chunked(
        _items(30, 30, 30, 50, 10, 100, 5), held=held_bytes, max_items=256, max_bytes=64
    )
    # 100 is over the budget by itself: a chunk of one, never split, never dropped.
    assert _sizes(chunks) == [[30, 30], [30], [50, 10], [100], [5]]


def test_a_chunk_still_ends_at_the_item_count() -> None:
    chunks = chunked(_items(*[1] * 7), held=held_bytes, max_items=3, max_bytes=1 << 20)
    assert _sizes(chunks) == [[1, 1, 1], [1, 1, 1], [1]]


def test_an_item_made_in_code_is_held_at_its_content_size() -> None:
    assert held_bytes(Item("a", "s", text="x" * 10, size=10)) == 10
    assert held_bytes(Item("a", "s", text="x", size=1, footprint=99)) == 99


@given(st.lists(st.integers(0, 100), max_size=60), st.integers(1, 10), st.integers(1, 150))
def test_every_item_is_in_exactly_one_chunk_in_order_within_both_bounds(
    sizes: list[int], max_items: int, max_bytes: int
) -> None:
    items = _items(*sizes)
    chunks = list(chunked(items, held=held_bytes, max_items=max_items, max_bytes=max_bytes))
    assert [item for chunk in chunks for item in chunk] == items
    for chunk in chunks:
        assert chunk and len(chunk) <= max_items
        assert len(chunk) == 1 or sum(i.footprint for i in chunk) <= max_bytes


def test_a_reading_error_comes_after_the_chunk_of_the_items_read_before_it() -> None:
    def damaged() -> Iterator[Item]:
        yield from _items(1, 1, 1)
        raise InputError("corpus c.jsonl.zst is truncated or corrupt after line 3")

    chunks = chunked(damaged(), held=held_bytes, max_items=2, max_bytes=100)
    assert _sizes(iter([next(chunks), next(chunks)])) == [[1, 1], [1]]
    with pytest.raises(InputError, match="after line 3"):
        next(chunks)


def _corpus(path: Path, count: int, text_bytes: int) -> Path:
    with path.open("w") as handle:
        for i in range(count):
            text = f"item {i} " + "word " * (text_bytes // 5)
            handle.write(json.dumps({"id": f"d{i}", "text": text}) + "\n")
    return path


def _run(corpus: Path, out: Path, **options: Any) -> tuple[dict[str, Any], list[int]]:
    """The run's summary and the items decided after each chunk."""
    decided: list[int] = []

    def progress(stats: RunStats) -> None:
        decided.append(stats.items)

    summary = run_offline(corpus, out, on_progress=progress, **options)
    return summary, decided


def test_a_run_decides_large_items_a_byte_budget_at_a_time(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c.jsonl", 20, 4000)
    summary, decided = _run(corpus, tmp_path / "out", chunk_bytes=20_000)
    assert summary["items"] == 20
    # An item of 4 KB of text holds 8 KB as read (its record and the line it is written
    # out as): two fit in 20 KB, a third does not: ten chunks, not one of 20.
    assert decided == list(range(2, 21, 2))
    whole, decided = _run(corpus, tmp_path / "whole")
    assert decided == [20]
    assert whole["decisions"] == summary["decisions"]


def test_items_in_flight_to_workers_hold_at_most_the_byte_budget(tmp_path: Path) -> None:
    index = tmp_path / "index"
    MatchIndex.build([]).save(index)
    items = [Item(f"d{i}", f"s{i}", text=f"item {i} " * 400, size=3000) for i in range(40)]
    read = 0

    def reading() -> Iterator[Item]:
        nonlocal read
        for item in items:
            read += 1
            yield item

    ahead = []
    found = find_in_order(reading(), index_folder=index, workers=2, chunk=32, max_bytes=16_000)
    for done, (item, _) in enumerate(found, start=1):
        assert item is items[done - 1]
        ahead.append(read - done)
    # A budget of 16 KB is 2 KB a chunk for 2 workers: items of 3 KB go one a chunk,
    # and at most 16 KB of them (plus the one read past it) are read ahead.
    assert len(ahead) == 40
    assert max(ahead) * 3000 <= 16_000 + 3000


def test_a_pipeline_filter_holds_a_chunk_by_bytes_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from consentry.gate import gate as gate_module

    monkeypatch.setattr(gate_module, "CHUNK_BYTES", 10_000)
    gate = unregistered_gate(None)
    batches: list[int] = []
    decide_many = gate.decide_many

    def spy(records: Any) -> Any:
        batches.append(len(records))
        return decide_many(records)

    monkeypatch.setattr(gate, "decide_many", spy)
    records = [{"id": f"d{i}", "text": "x" * 3000} for i in range(10)]
    assert list(gate.filter(records)) == []
    assert batches == [3, 3, 3, 1]

"""The sharded index against the single one: built from the same works, cut into one to
eight shards, it gives the same answers (matches, kinds, scores, spans, order), its
shards' postings partition the single index's, and it round-trips through a folder.
Its shards held by Ray actors (on a local cluster of two CPUs, started once for this
module) and asked through proxies, it answers alike again, a chunk's lookups costing
each actor one call per lookup kind."""

from __future__ import annotations

import logging
import os
import pickle
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from consentry.errors import InputError
from consentry.fingerprint import ContentFingerprint, StreamPrints, fingerprint_bytes, image_query
from consentry.fingerprint import text_prints as prints_of
from consentry.gate.consent import ConsentTable
from consentry.gate.engines.ray_index import HeldIndex, hold_index
from consentry.gate.gate import CHUNK, Gate
from consentry.gate.item import Item
from consentry.index import IndexedWork, Match, Matcher, MatchIndex, MatchParams
from consentry.index.segment import BANDS
from consentry.index.shard import Shard, digest_words, shard_of
from consentry.index.sharded import ShardedIndex
from tests.unit.fingerprint.test_image import _picture
from tests.unit.fingerprint.test_image_keypoints import _photo
from tests.unit.index.test_lookup import CODE, HOST, TEXTS, _png, _record, _text

SOURCES = [*TEXTS, *CODE]
# Words rare in the licences and modules: edits and unrelated text are drawn from them.
WORDS = [
    "quartz", "fjord", "gable", "wombat", "sprocket", "lilac", "ember", "tundra", "kiosk", "vellum",
]  # fmt: skip


@cache
def _printed(name: str, text: str) -> ContentFingerprint:
    return fingerprint_bytes(name, text.encode())


def _edited(text: str, seed: int, share: int) -> str:
    """``text`` with one word in ``share`` replaced: a near copy."""
    rng = random.Random(seed)
    words = text.split(" ")
    for i in rng.sample(range(len(words)), len(words) // share):
        words[i] = rng.choice(WORDS)
    return " ".join(words)


def _unrelated(seed: int, length: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) + str(rng.randrange(50)) for _ in range(length))


# A registered work: a source as it is, a near copy of one (so one query finds several
# works near, and enough of them make the near match ambiguous), or one of two
# sources' opening under a tail of its own (so works share excerpts, and enough of them
# make boilerplate).
_WORK = st.one_of(
    st.tuples(st.sampled_from(["as-is", "near-copy"]), st.sampled_from(SOURCES)),
    st.tuples(st.just("shared-opening"), st.sampled_from(SOURCES[:2])),
)
# A query of a registered work (by number): a copy, an excerpt framed in other prose,
# an edited copy; or text no work holds.
_QUERY = st.tuples(
    st.sampled_from(["copy", "excerpt", "edited", "unrelated"]),
    st.integers(0, 100),
    st.integers(0, 10_000),
    st.sampled_from([150, 400, 1500]),
)
_PARAMS = st.builds(
    MatchParams,
    near_threshold=st.sampled_from([0.5, 0.8]),
    min_excerpt_hits=st.integers(1, 3),
    max_works_per_fingerprint=st.sampled_from([1, 2, 8]),
)


def _work_text(how: str, name: str, seed: int) -> str:
    text = _text(name)
    match how:
        case "as-is":
            return text
        case "near-copy":
            return _edited(text, seed, 40)
        case "shared-opening":
            return text[:1500] + " " + _unrelated(seed, 300)
        case _:
            raise AssertionError(how)


def _works(specs: list[tuple[str, str]]) -> tuple[list[IndexedWork], list[tuple[str, str]]]:
    """The works ``specs`` describe, and each one's file name and text."""
    named = [(name, _work_text(how, name, seed)) for seed, (how, name) in enumerate(specs)]
    works = [_record(f"wrk_{n}", _printed(name, text)) for n, (name, text) in enumerate(named)]
    return works, named


def _query(named: tuple[str, str], how: str, seed: int, length: int) -> list[StreamPrints]:
    name, text = named
    start = seed % max(1, len(text) - length)
    match how:
        case "copy":
            return prints_of(name, text)
        case "excerpt":
            return prints_of("item.txt", HOST + text[start : start + length] + HOST)
        case "edited":
            return prints_of(name, _edited(text, seed, 25))
        case "unrelated":
            return prints_of("item.txt", _unrelated(seed, length // 5))
        case _:
            raise AssertionError(how)


def _index_and_queries(
    specs: list[tuple[str, str]],
    queries: list[tuple[str, int, int, int]],
    segments: int,
    params: MatchParams,
) -> tuple[MatchIndex, list[list[StreamPrints]]]:
    """The single index of the works ``specs`` names, built in ``segments``, and the
    items ``queries`` makes of them."""
    works, named = _works(specs)
    single = MatchIndex(params=params)
    for k in range(segments):
        single.add(works[k::segments])
    return single, [_query(named[k % len(named)], how, seed, n) for how, k, seed, n in queries]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(_WORK, min_size=2, max_size=10),
    st.lists(_QUERY, max_size=6),
    st.integers(1, 8),
    st.integers(1, 3),
    _PARAMS,
)
def test_the_sharded_index_answers_as_the_single_one(
    specs: list[tuple[str, str]],
    queries: list[tuple[str, int, int, int]],
    shards: int,
    segments: int,
    params: MatchParams,
) -> None:
    single, items = _index_and_queries(specs, queries, segments, params)
    sharded = ShardedIndex.split(single, shards=shards)
    assert sharded.match_many(items) == single.match_many(items)
    assert [sharded.match_prints(prints) for prints in items[:2]] == [
        single.match_prints(prints) for prints in items[:2]
    ]
    assert sharded.size == single.size and sharded.work_ids() == single.work_ids()
    assert sharded.match_many([]) == []


@pytest.fixture(scope="module")
def pictures() -> MatchIndex:
    works = [
        _record(f"picture_{seed}", fingerprint_bytes("p.png", _png(_picture(seed))))
        for seed in (3, 4, 5)
    ]
    for name in ("coffee.png", "astronaut.png"):
        works.append(_record(name, fingerprint_bytes(name, _png(_photo(name)))))
    works.append(_record("essay", _printed("GPL-3", _text("GPL-3"))))
    return MatchIndex.build(works)


IMAGES = {
    "same-pixels": lambda: _picture(3),
    "resized": lambda: _picture(4).resize((120, 90)),
    "mirrored": lambda: _picture(5).transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "crop": lambda: _photo("coffee.png").crop((30, 20, 570, 380)),
    "crop-mirrored": lambda: (
        _photo("coffee.png").crop((0, 0, 540, 360)).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    ),
    "another-photo": lambda: _photo("chelsea.png"),
    "astronaut-resized": lambda: _photo("astronaut.png").resize((300, 300)),
}


@pytest.mark.parametrize("shards", range(1, 9))
def test_images_are_matched_as_by_the_single_index(pictures: MatchIndex, shards: int) -> None:
    sharded = ShardedIndex.split(pictures, shards=shards)
    found = set()
    for make in IMAGES.values():
        query = image_query(_png(make()), name="query.png")
        expected = pictures.match_image(query.digest, query.orientations, keypoints=query.keypoints)
        assert (
            sharded.match_image(query.digest, query.orientations, keypoints=query.keypoints)
            == expected
        )
        found |= {m.work_id for m in expected}
    # The queries reach every registered image: by its pixels, its PDQ hash or its
    # keypoints.
    assert found == {"picture_3", "picture_4", "picture_5", "coffee.png", "astronaut.png"}
    essay = _printed("GPL-3", _text("GPL-3"))
    assert sharded.match(essay) == pictures.match(essay)


def _image_items() -> list[Item]:
    """A chunk of image items as a run reads them: each of ``IMAGES``, then an image
    that cannot be read, then a text, so each kind keeps its place."""
    items = [
        Item(f"img-{name}", "test", image=_png(make()), metadata={"path": f"{name}.png"})
        for name, make in IMAGES.items()
    ]
    items.insert(3, Item("broken", "test", image=b"\x89PNG not really", metadata={}))
    items.append(Item("essay", "test", text=_text("GPL-3"), metadata={}))
    return items


def _finder(index: Matcher) -> Gate:
    """A gate over ``index``; finding asks nothing of consent."""
    return Gate(index=index, consent=ConsentTable(datetime.now(UTC), {}, {}))


def _found_one_at_a_time(index: Matcher, items: list[Item]) -> list[list[Match] | str]:
    return [_finder(index).find(item) for item in items]


@pytest.mark.parametrize("shards", [0, 1, 3])
def test_a_chunks_images_looked_up_together_are_matched_as_one_at_a_time(
    pictures: MatchIndex, shards: int
) -> None:
    index: Matcher = pictures if not shards else ShardedIndex.split(pictures, shards=shards)
    items = _image_items()
    together = _finder(index).find_many(items)
    assert together == _found_one_at_a_time(index, items)
    assert together == _found_one_at_a_time(pictures, items)
    # The same reason each time the same bytes are read: no object address in it.
    assert (
        together[3] == "broken is not a readable image (no image format recognised); re-export it"
    )
    assert {m.work_id for found in together[:-1] if isinstance(found, list) for m in found} == {
        "picture_3", "picture_4", "picture_5", "coffee.png", "astronaut.png"
    }  # fmt: skip
    assert [m.work_id for m in together[-1]] == ["essay"]


def _rows(index: ShardedIndex, name: str, rows: str) -> list[tuple[object, ...]]:
    """Every shard's ``name`` entries with their ``rows``, as one sorted list."""
    return sorted(
        (*np.atleast_1d(value).tolist(), int(row))
        for shard in index.shards
        for value, row in zip(getattr(shard, name), getattr(shard, rows), strict=True)
    )


@pytest.mark.parametrize("shards", [1, 2, 3, 8])
def test_the_shards_partition_the_single_index(shards: int) -> None:
    works, _ = _works([("as-is", name) for name in SOURCES] + [("near-copy", "GPL-3")])
    works.append(_record("picture", fingerprint_bytes("p.png", _png(_picture(3)))))
    single = MatchIndex.build(works).segments[0]
    sharded = ShardedIndex.build(works, shards=shards)
    # Every posting once, in the shard its hash routes to.
    postings = sorted(
        zip(
            single.posting_keys.tolist(),
            single.posting_works.tolist(),
            single.posting_offsets.tolist(),
            strict=True,
        )
    )
    held = sorted(
        triple
        for shard in sharded.shards
        for triple in zip(
            shard.posting_keys.tolist(),
            shard.posting_works.tolist(),
            shard.posting_offsets.tolist(),
            strict=True,
        )
    )
    assert held == postings
    signed = single.signatures.any(axis=1)
    bands = sorted(
        (band, key, row)
        for band in range(BANDS)
        for key, row in zip(
            single.band_keys_sorted[band].tolist(), single.band_rows[band].tolist(), strict=True
        )
        if signed[row]
    )
    assert _rows(sharded, "band_keys", "band_rows") == sorted((k, r) for _, k, r in bands)
    assert sum(len(shard.band_keys) for shard in sharded.shards) == len(bands)
    assert _rows(sharded, "digests_sorted", "digest_rows") == sorted(
        (d, r) for r, d in enumerate(single.digests.tolist())
    )
    assert _rows(sharded, "image_hashes", "image_rows") == sorted(
        (*h, int(r)) for h, r in zip(single.image_hashes.tolist(), single.image_works, strict=True)
    )
    kept = sorted(row for shard in sharded.shards for row in shard.signature_rows.tolist())
    assert kept == list(range(single.size))
    for number, shard in enumerate(sharded.shards):
        assert (shard_of(shard.posting_keys, shards) == number).all()
        assert (shard_of(shard.band_keys, shards) == number).all()
        stored = np.ascontiguousarray(shard.digests_sorted).view(np.uint8).reshape(-1, 32)
        assert (shard_of(digest_words(stored), shards) == number).all()


def test_a_saved_sharded_index_loads_memory_mapped_and_answers_alike(tmp_path: Path) -> None:
    works, _ = _works([("as-is", name) for name in SOURCES])
    sharded = ShardedIndex.build(works, shards=4)
    digest = sharded.save(tmp_path / "idx")
    assert len(list((tmp_path / "idx").glob("shard-*"))) == 4
    loaded = ShardedIndex.load(tmp_path / "idx")
    assert loaded.digest() == digest == sharded.digest()
    postings = loaded.shards[0].posting_keys
    assert type(postings) is np.ndarray and isinstance(postings.base, np.memmap)
    items = [prints_of(name, _text(name)) for name in SOURCES]
    assert loaded.match_many(items) == sharded.match_many(items)
    # A worker loads its own shard alone.
    for number, shard in enumerate(sharded.shards):
        assert ShardedIndex.load_shard(tmp_path / "idx", number).digest() == shard.digest()
    # Saved again, unchanged shards are kept and nothing stale is left behind.
    assert ShardedIndex.build(works[:3], shards=2).save(tmp_path / "idx")
    assert len(list((tmp_path / "idx").glob("shard-*"))) == 2


class _Remote:
    """A shard behind a wire: every call's arguments and answer travel pickled."""

    def __init__(self, shard: Shard) -> None:
        self.shard = shard
        self.sent = 0

    def __getattr__(self, name: str) -> object:
        value = getattr(self.shard, name)
        if not callable(value):
            return pickle.loads(pickle.dumps(value))  # noqa: S301 - bytes made here

        def call(*args: object) -> object:
            request = pickle.dumps(args)
            answer = pickle.dumps(value(*pickle.loads(request)))  # noqa: S301 - bytes made here
            self.sent += len(request) + len(answer)
            return pickle.loads(answer)  # noqa: S301 - bytes made here

        return call


def test_shards_answered_over_a_wire_give_the_same_answers() -> None:
    works, named = _works([("as-is", name) for name in SOURCES] + [("near-copy", "GPL-3")])
    works.append(_record("photo", fingerprint_bytes("photo.png", _png(_photo("coffee.png")))))
    local = ShardedIndex.build(works, shards=3)
    remote = [_Remote(shard) for shard in local.shards]
    # A stand-in for a shard, answering as a Shard does.
    wired = ShardedIndex(local.roster, remote, local.params)  # type: ignore[arg-type]
    items = [_query(pair, how, 7, 400) for pair in named for how in ("copy", "excerpt")]
    assert wired.match_many(items) == local.match_many(items)
    query = image_query(_png(_photo("coffee.png").crop((30, 20, 570, 380))), name="q.png")
    assert wired.match_image(
        query.digest, query.orientations, keypoints=query.keypoints
    ) == local.match_image(query.digest, query.orientations, keypoints=query.keypoints)
    assert all(shard.sent for shard in remote)


def test_a_damaged_sharded_index_is_refused(tmp_path: Path) -> None:
    ShardedIndex.build(_works([("as-is", "GPL-3")])[0], shards=2).save(tmp_path / "idx")
    first = sorted((tmp_path / "idx").glob("shard-*"))[0]
    signatures = np.load(first / "signatures.npy")
    signatures[0, 0] ^= np.uint32(1)
    np.save(first / "signatures.npy", signatures)
    with pytest.raises(InputError, match="does not match its recorded digest"):
        ShardedIndex.load(tmp_path / "idx")
    with pytest.raises(InputError, match=r"shard 0 of .* does not match its recorded digest"):
        ShardedIndex.load_shard(tmp_path / "idx", 0)
    ShardedIndex.load_shard(tmp_path / "idx", 1)
    with pytest.raises(InputError, match=r"shard 2 of .* is missing"):
        ShardedIndex.load_shard(tmp_path / "idx", 2)
    (first / "band_keys.npy").unlink()
    with pytest.raises(InputError, match="is incomplete"):
        ShardedIndex.load(tmp_path / "idx")
    with pytest.raises(InputError, match="holds no readable sharded match index"):
        ShardedIndex.load(tmp_path / "nowhere")
    with pytest.raises(InputError, match="at least one shard"):
        ShardedIndex.build([], shards=0)


@pytest.fixture(scope="module")
def ray() -> Iterator[ModuleType]:
    """A local Ray cluster of two CPUs, for the tests of shards held by actors."""
    from consentry.gate.engines.ray import import_ray

    module = import_ray()
    environ = dict(os.environ)
    module.init(
        num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR
    )
    try:
        yield module
    finally:
        module.shutdown()
        os.environ.clear()
        os.environ.update(environ)


def _served(ray: ModuleType, held: HeldIndex) -> list[dict[str, int]]:
    return held.served(ray)


@pytest.mark.ray
@settings(max_examples=6, deadline=None)
@given(
    st.lists(_WORK, min_size=2, max_size=10),
    st.lists(_QUERY, max_size=6),
    st.integers(1, 4),
    st.integers(1, 3),
    _PARAMS,
)
def test_shards_held_by_ray_actors_answer_as_the_single_index(
    ray: ModuleType,
    specs: list[tuple[str, str]],
    queries: list[tuple[str, int, int, int]],
    shards: int,
    segments: int,
    params: MatchParams,
) -> None:
    single, items = _index_and_queries(specs, queries, segments, params)
    held = hold_index(ray, single, shards)
    try:
        routed = held.router
        assert routed.match_many(items) == single.match_many(items)
        assert [routed.match_prints(prints) for prints in items[:2]] == [
            single.match_prints(prints) for prints in items[:2]
        ]
        assert routed.size == single.size and routed.work_ids() == single.work_ids()
        # Sent to a worker as the decider carries it: it answers alike there.
        again = pickle.loads(pickle.dumps(routed))  # noqa: S301 - bytes made here
        assert again.match_many(items[:3]) == single.match_many(items[:3])
    finally:
        held.release(ray)


@pytest.mark.ray
def test_a_chunk_costs_each_index_actor_one_call_per_lookup_kind(ray: ModuleType) -> None:
    works, named = _works([("as-is", name) for name in SOURCES] + [("near-copy", "GPL-3")])
    single = MatchIndex.build(works)
    kinds = ("copy", "excerpt", "edited", "unrelated")
    # One chunk as the gate looks it up: each stream of each item on its own.
    items = [
        [stream]
        for k in range(CHUNK)
        for stream in _query(named[k % len(named)], kinds[k % 4], k, 400)
    ][:CHUNK]
    held = hold_index(ray, single, 3)
    try:
        before = _served(ray, held)
        assert held.router.match_many(items) == single.match_many(items)
        after = _served(ray, held)
    finally:
        held.release(ray)
    for was, now in zip(before, after, strict=True):
        calls = {kind: now.get(kind, 0) - was.get(kind, 0) for kind in now}
        # Every shard keeps some of a chunk's digests, band keys and excerpt hashes.
        assert calls == {"exact": 1, "band_candidates": 1, "agreement": 1, "excerpt_rows": 1}


@pytest.mark.ray
@pytest.mark.parametrize("shards", [1, 3])
def test_images_are_matched_by_shards_held_by_ray_actors_as_by_the_single_index(
    ray: ModuleType, pictures: MatchIndex, shards: int
) -> None:
    held = hold_index(ray, pictures, shards)
    try:
        for make in IMAGES.values():
            query = image_query(_png(make()), name="query.png")
            before = _served(ray, held)
            assert held.router.match_image(
                query.digest, query.orientations, keypoints=query.keypoints
            ) == pictures.match_image(query.digest, query.orientations, keypoints=query.keypoints)
            after = _served(ray, held)
            for was, now in zip(before, after, strict=True):
                assert all(now[kind] - was.get(kind, 0) <= 1 for kind in now)
                assert now["image_rows_near"] - was.get("image_rows_near", 0) == 1
        essay = _printed("GPL-3", _text("GPL-3"))
        assert held.router.match(essay) == pictures.match(essay)
    finally:
        held.release(ray)


@pytest.mark.ray
def test_a_chunks_images_cost_each_index_actor_one_call_per_kind(
    ray: ModuleType, pictures: MatchIndex
) -> None:
    held = hold_index(ray, pictures, 2)
    try:
        items = _image_items()
        before = _served(ray, held)
        found = _finder(held.router).find_many(items)
        after = _served(ray, held)
        assert found == _found_one_at_a_time(pictures, items)
        for was, now in zip(before, after, strict=True):
            calls = {kind: now[kind] - was.get(kind, 0) for kind in now}
            # One call per kind for the chunk's images, one for its text.
            assert calls["image_rows_near"] == 1 and calls["keypoint_neighbours"] == 1, calls
            assert all(count <= 2 for count in calls.values()), calls
    finally:
        held.release(ray)

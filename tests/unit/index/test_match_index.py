from __future__ import annotations

import io
import json
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from consentry.errors import InputError
from consentry.fingerprint import (
    ContentFingerprint,
    fingerprint_bytes,
    normalize_text,
    text_prints,
)
from consentry.index import BloomFilter, IndexedWork, MatchIndex, MatchKind, _kernels
from tests.conftest import LICENSES, STDLIB

# Five licence texts and one nameless Python module (content says code). LGPL-2.1 was
# here while its ".1" made it a man page, and so code: as the text it is, it shares
# whole warranty clauses with GPL-3, which are excerpts of each other by any rule.
NAMES = ["GPL-3", "Apache-2.0", "MPL-2.0", "CC0-1.0", "Artistic", "Shlex"]


def _text(name: str) -> str:
    path = LICENSES / name
    return path.read_text() if path.is_file() else (STDLIB / f"{name.lower()}.py").read_text()


def _work(work_id: str, printed: ContentFingerprint, owner: str = "own_1") -> IndexedWork:
    return IndexedWork(
        work_id,
        owner,
        printed.kind.value,
        printed.digest,
        printed.minhash,
        printed.excerpts,
        printed.pdq,
    )


@pytest.fixture(scope="module")
def index() -> MatchIndex:
    works = [
        _work(f"wrk_{i}", fingerprint_bytes(n, _text(n).encode())) for i, n in enumerate(NAMES)
    ]
    return MatchIndex.build(works)


def _kinds(index: MatchIndex, data: str, name: str = "item.txt") -> dict[str, MatchKind]:
    return {m.work_id: m.kind for m in index.match(fingerprint_bytes(name, data.encode()))}


def test_an_exact_copy_matches_exactly(index: MatchIndex) -> None:
    assert _kinds(index, _text("GPL-3").upper().replace("\n", "\r\n")) == {"wrk_0": MatchKind.EXACT}


def test_regression_a_reused_sentence_is_not_an_excerpt_of_another_licence(
    index: MatchIndex,
) -> None:
    # MPL-2.0 reuses about 80 characters of GPL-3's wording ("by some reasonable means,
    # this is the first time you have received notice of ..."). With a 50-character
    # noise threshold that phrase made every GPL-3 copy an "excerpt" of MPL-2.0.
    matches = index.match(fingerprint_bytes("GPL-3", _text("GPL-3").encode()))
    assert [m.work_id for m in matches] == ["wrk_0"]


def test_a_near_duplicate_matches_near(index: MatchIndex) -> None:
    words = _text("Apache-2.0").split(" ")
    rng = random.Random(1)
    for i in rng.sample(range(len(words)), len(words) // 33):
        words[i] = "changed"
    matches = index.match(fingerprint_bytes("x.txt", " ".join(words).encode()))
    assert matches[0].work_id == "wrk_1" and matches[0].kind is MatchKind.NEAR
    assert matches[0].score >= 0.8


@given(st.integers(0, 10_000), st.sampled_from([200, 300, 1000]))
def test_an_excerpt_inside_other_text_is_found_with_its_span(
    index: MatchIndex, seed: int, length: int
) -> None:
    source = " ".join(_text("MPL-2.0").split())
    start = random.Random(seed).randrange(0, len(source) - length)
    excerpt = source[start : start + length].lower()
    host = "a letter about the weather and gardens. " * 20
    item = host + excerpt + " " + host
    matches = [
        m for m in index.match(fingerprint_bytes("x.txt", item.encode())) if m.work_id == "wrk_2"
    ]
    assert matches and matches[0].kind is MatchKind.EXCERPT
    where = len(" ".join(host.split())) + 1
    normalised_item, normalised_source = normalize_text(item), normalize_text(source)
    for span_start, span_end in matches[0].spans:
        # A span is text truly copied from the work: inside the excerpt, or running past
        # its ends only where the host happens to continue the work's own words.
        assert normalised_item[span_start:span_end] in normalised_source
        assert span_start < where + len(excerpt) and span_end > where


def test_unrelated_text_matches_nothing(index: MatchIndex) -> None:
    assert index.match(fingerprint_bytes("x.py", (STDLIB / "textwrap.py").read_bytes())) == []


def test_boilerplate_shared_by_many_works_is_not_evidence() -> None:
    header = " ".join(_text("GPL-3").split())[:400]
    works = []
    for i in range(12):
        body = f"module {i}: " + " ".join(f"word{i}x{j}" for j in range(300))
        works.append(_work(f"wrk_{i}", fingerprint_bytes("m.txt", (header + " " + body).encode())))
    index = MatchIndex.build(works)
    item = (
        "an unrelated essay that quotes the usual header. "
        + header
        + " and then goes on elsewhere " * 10
    )
    assert index.match(fingerprint_bytes("e.txt", item.encode())) == []
    copied = header + " " + "module 3: " + " ".join(f"word3x{j}" for j in range(300))
    assert {m.work_id for m in index.match(fingerprint_bytes("c.txt", copied.encode()))} == {
        "wrk_3"
    }


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_images_match_by_pdq_including_a_mirrored_copy() -> None:
    from tests.unit.fingerprint.test_image import _picture

    picture = _picture(3)
    index = MatchIndex.build([_work("wrk_img", fingerprint_bytes("p.png", _png(picture)))])
    resized = fingerprint_bytes("q.png", _png(picture.resize((120, 90))))
    assert [m.kind for m in index.match(resized)] == [MatchKind.IMAGE]
    import pdqhash

    mirrored = picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    plain = fingerprint_bytes("m.png", _png(mirrored))
    variants, _ = pdqhash.compute_dihedral(np.asarray(mirrored))
    packed = [np.packbits(np.asarray(v, dtype=np.uint8)).tobytes() for v in variants]
    assert [m.work_id for m in index.match(plain, pdq_variants=packed)] == ["wrk_img"]
    other = fingerprint_bytes("o.png", _png(_picture(9)))
    assert index.match(other) == []


def test_adding_works_is_incremental_and_equals_building_at_once(tmp_path: Path) -> None:
    printed = [fingerprint_bytes(n, _text(n).encode()) for n in NAMES]
    works = [_work(f"wrk_{i}", p) for i, p in enumerate(printed)]
    whole = MatchIndex.build(works)
    grown = MatchIndex.build(works[:2])
    grown.add(works[2:4])
    grown.add(works[4:])
    assert len(grown.segments) == 3 and grown.size == whole.size
    for p in printed:
        assert {m.work_id for m in grown.match(p)} == {m.work_id for m in whole.match(p)}
    grown.compact()
    assert len(grown.segments) == 1
    assert grown.digest() == whole.digest()


def test_save_and_memory_mapped_load_give_the_same_answers(
    index: MatchIndex, tmp_path: Path
) -> None:
    digest = index.save(tmp_path / "idx")
    loaded = MatchIndex.load(tmp_path / "idx")
    assert loaded.digest() == digest == index.digest()
    # Plain arrays over a read-only mapping of the file, not copies read into memory.
    postings = loaded.segments[0].posting_keys
    assert type(postings) is np.ndarray and isinstance(postings.base, np.memmap)
    assert not postings.flags.writeable
    item = fingerprint_bytes("x", _text("CC0-1.0").encode())
    assert loaded.match(item) == index.match(item)


def test_a_damaged_index_is_refused(index: MatchIndex, tmp_path: Path) -> None:
    index.save(tmp_path / "idx")
    segment = next((tmp_path / "idx").glob("segment-*"))
    array = np.load(segment / "posting_keys.npy")
    array[0] ^= np.uint64(1)
    np.save(segment / "posting_keys.npy", array)
    with pytest.raises(InputError, match="does not match its recorded digest"):
        MatchIndex.load(tmp_path / "idx")
    with pytest.raises(InputError, match="holds no readable match index"):
        MatchIndex.load(tmp_path / "nowhere")


@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=500, unique=True))
def test_the_bloom_filter_never_forgets_a_member(values: list[int]) -> None:
    members = np.array(values, dtype=np.uint64)
    assert BloomFilter.build(members).might_contain(members).all()


def test_the_bloom_filter_false_positive_rate_is_near_its_target() -> None:
    rng = np.random.default_rng(5)
    members = rng.integers(0, 2**63, 20_000, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    others = rng.integers(0, 2**63, 100_000, dtype=np.uint64) * np.uint64(2)
    rate = BloomFilter.build(members, false_positive_rate=0.01).might_contain(others).mean()
    assert rate < 0.012


def test_regression_the_bloom_filter_turns_away_text_no_work_holds() -> None:
    """Winnowed hashes are window minima, their leading bits mostly zero; filed by
    those bits they crowded a few blocks of the filter, which then let nearly every
    unrelated hash through to the postings. Filed by their keys, about the target
    rate (1%) gets through."""
    modules = sorted(STDLIB.glob("[a-m]*.py"))
    works = [
        _work(f"wrk_{i}", fingerprint_bytes("w.md", path.read_bytes()))
        for i, path in enumerate(modules[:60])
    ]
    segment = MatchIndex.build(works).segments[0]
    held = set(segment.posting_hashes.tolist())
    unrelated = np.array(
        [
            h
            for path in modules[60:120]
            for prints in text_prints("u.md", path.read_text())
            for h in prints.excerpts.hashes.tolist()
            if h not in held
        ],
        dtype=np.uint64,
    )
    assert len(unrelated) > 3000
    passed = segment.bloom.might_contain(_kernels.posting_keys(unrelated)).mean()
    assert passed < 0.03


def test_regression_code_is_found_when_it_arrives_as_plain_text() -> None:
    # A code work registered under its file name was fingerprinted only as code tokens,
    # so the same source inside a JSON Lines item (read as text) matched nothing.
    source = (STDLIB / "shlex.py").read_text()
    work = fingerprint_bytes("shlex.py", source.encode())
    assert work.kind.value == "code" and work.text_view is not None
    index = MatchIndex.build(
        [
            IndexedWork(
                "wrk_code",
                "own_1",
                "code",
                work.digest,
                work.minhash,
                work.excerpts,
                text_digest=work.text_view.digest,
                text_minhash=work.text_view.minhash,
                text_excerpts=work.text_view.excerpts,
            )
        ]
    )
    # Nameless, it is still code by its content; it matches the work either way.
    pasted = fingerprint_bytes("item-17", source.encode())
    assert pasted.kind.value == "code"
    assert [(m.work_id, m.kind) for m in index.match(pasted)] == [("wrk_code", MatchKind.EXACT)]
    # Quoted inside prose, it reads as code by its content; its text stream still finds
    # the work, as the gate and the check look up every stream of an item.
    quoted = "a blog post quoting some code: " + source[2000:2600] + " and commenting on it."
    assert [m.work_id for m in index.match_prints(text_prints("post", quoted))] == ["wrk_code"]
    assert index.size == 1


def test_regression_a_near_match_shared_by_many_works_is_not_evidence() -> None:
    # Codecs that differ only in their literal tables have the same canonical token
    # stream; a renamed copy of one was reported as a near copy of all of them.
    body = " ".join(f"word{j}" for j in range(400))
    printed = [fingerprint_bytes(f"w{i}.txt", f"{body} tail{i}".encode()) for i in range(12)]
    index = MatchIndex.build([_work(f"wrk_{i}", p) for i, p in enumerate(printed)])
    item = fingerprint_bytes("x.txt", f"{body} other ending".encode())
    assert [m for m in index.match(item) if m.kind is MatchKind.NEAR] == []
    assert [m.work_id for m in index.match(printed[3])] == ["wrk_3"]  # exact still found


def test_regression_an_index_from_an_older_layout_is_refused_not_crashed(
    index: MatchIndex, tmp_path: Path
) -> None:
    # An index saved before the segment layout gained arrays raised FileNotFoundError.
    index.save(tmp_path / "idx")
    segment = next((tmp_path / "idx").glob("segment-*"))
    (segment / "posting_spread.npy").unlink()
    with pytest.raises(InputError, match="is incomplete"):
        MatchIndex.load(tmp_path / "idx")
    manifest = json.loads((tmp_path / "idx" / "index.json").read_text())
    manifest["format"] = 1
    (tmp_path / "idx" / "index.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="rebuild it"):
        MatchIndex.load(tmp_path / "idx")


def test_regression_an_excerpt_found_only_in_a_later_segment_names_its_own_work() -> None:
    # Segments without a candidate hash were skipped when numbering hits, so an excerpt
    # of the second segment's work was credited to a row of the first segment.
    index = MatchIndex.build(
        [_work("wrk_first", fingerprint_bytes("a.txt", _text("GPL-3").encode()))]
    )
    index.add([_work("wrk_later", fingerprint_bytes("b.txt", _text("Apache-2.0").encode()))])
    excerpt = _text("Apache-2.0")[2000:3500]
    host = _text("MPL-2.0")[:3000] + " " + excerpt
    matches = index.match(fingerprint_bytes("item.txt", host.encode()))
    assert {(m.work_id, m.kind) for m in matches} == {("wrk_later", MatchKind.EXCERPT)}


_PIECES = st.sampled_from([*NAMES, "ast", "heapq"])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(_PIECES, st.integers(0, 10_000), st.sampled_from([0, 300, 1000, 10**6])),
        max_size=6,
    ),
    st.integers(1, 3),
)
def test_looking_items_up_together_gives_what_each_gets_alone(
    pieces: list[tuple[str, int, int]], segments: int
) -> None:
    # Items of every kind (exact copies, excerpts in other text, code read as code and
    # as text, empty text) against an index of one or several segments.
    works = [
        _work(f"wrk_{i}", fingerprint_bytes(n, _text(n).encode())) for i, n in enumerate(NAMES)
    ]
    index = MatchIndex()
    for k in range(segments):
        index.add(works[k::segments])
    items = []
    for name, seed, length in pieces:
        source = _text(name)
        start = seed % max(1, len(source) - length) if length < len(source) else 0
        text = "Some framing prose. " + source[start : start + length] + " The end."
        items.append(text_prints(f"{name}.py" if name in ("ast", "heapq") else "x.txt", text))
    assert index.match_many(items) == [index.match_prints(prints) for prints in items]
    assert index.match_many([]) == []

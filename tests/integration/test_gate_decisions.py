"""The gate's decisions against a real registry: guarantee 1 (consent before
ingestion) and guarantee 2's "every item ends with its reasons"."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.clock import utc_now
from consentry.errors import InputError
from consentry.fingerprint import fingerprint_bytes
from consentry.gate import Gate, GateMode, GatePolicy, Item, Outcome, RegistryConsent
from consentry.index import MatchIndex
from consentry.registry import FileFingerprint, Registry, Scope, ScopeKind
from consentry.terms import Category, Price, UseDecision
from tests.conftest import LICENSES, STDLIB

NAMES = ["GPL-3", "Apache-2.0", "MPL-2.0", "CC0-1.0", "Artistic"]


def _text(name: str) -> str:
    path = LICENSES / name
    return path.read_text() if path.is_file() else (STDLIB / "json" / "decoder.py").read_text()


FILLER = " ".join((STDLIB / "textwrap.py").read_text().split())


@pytest.fixture
def setup(registry: Registry, make_owner, make_licensee):  # type: ignore[no-untyped-def]
    owner, lab = make_owner(), make_licensee()
    files = [FileFingerprint(n, fingerprint_bytes(n, _text(n).encode())) for n in NAMES]
    works = {r.path: r.work for r in registry.works.register(owner.id, owner.key, files)}
    request = registry.licensing.request(
        lab.id,
        lab.key,
        scope=Scope(ScopeKind.WORKS, (works["GPL-3"].id,)),
        purposes=[Category.TRAIN_AI],
        not_after=utc_now() + timedelta(days=1),
    )
    grant = registry.licensing.grant(request.id, owner.id, owner.key)
    index = MatchIndex()
    registry.works.refresh_index(index)
    consent = RegistryConsent(registry, licensee=lab.actor, purpose=Category.TRAIN_AI, at=utc_now())
    return Gate(index=index, consent=consent), works, grant


def test_each_path_of_a_decision(setup) -> None:  # type: ignore[no-untyped-def]
    gate, works, grant = setup
    granted = gate.decide({"id": "g", "text": _text("GPL-3").upper()})
    assert granted.admitted and granted.to_json()["basis"][0]["grant_id"] == grant.id

    copied = gate.decide({"id": "m", "text": _text("MPL-2.0")})
    assert copied.outcome is Outcome.REJECTED
    (reason,) = copied.to_json()["reasons"]
    assert reason["match"] == "exact" and reason["work_id"] == works["MPL-2.0"].id
    assert "needs a licence" in reason["message"]

    excerpt = " ".join(_text("Apache-2.0").split())[3000:3300]
    embedded = gate.decide(
        {"id": "e", "text": FILLER[:2000] + " " + excerpt + " " + FILLER[2000:4000]}
    )
    reasons = embedded.to_json()["reasons"]
    assert [r["work_id"] for r in reasons] == [works["Apache-2.0"].id]
    assert reasons[0]["match"] == "excerpt" and reasons[0]["spans"]

    both = gate.decide({"id": "b", "text": " ".join(_text("GPL-3").split())[:5000] + " " + excerpt})
    assert not both.admitted, "a granted work does not carry an ungranted one in with it"

    assert gate.decide({"id": "o", "text": FILLER, "metadata": {"license": "CC-BY-4.0"}}).admitted
    refused = gate.decide(
        {"id": "u", "text": FILLER, "metadata": {"license": "LicenseRef-Proprietary"}}
    )
    assert refused.to_json()["reasons"][0]["match"] == "unregistered"
    broken = gate.decide({"id": "x", "text": ""})
    assert broken.to_json()["reasons"] == [{"match": "unreadable", "message": "text is empty"}]


def test_opt_out_mode_honours_reservation_signals(setup) -> None:  # type: ignore[no-untyped-def]
    gate, _, _ = setup
    gate.policy = GatePolicy(mode=GateMode.OPT_OUT)
    assert gate.decide({"id": "a", "text": FILLER}).admitted
    reserved = gate.decide(
        {"id": "r", "text": FILLER, "metadata": {"http_headers": {"tdm-reservation": "1"}}}
    )
    assert reserved.to_json()["reasons"][0]["match"] == "signal"
    noai = gate.decide(
        {"id": "n", "text": FILLER, "metadata": {"html_meta": {"robots": "index, noai"}}}
    )
    assert not noai.admitted
    # Registered works still need consent in opt-out mode.
    assert not gate.decide({"id": "m", "text": _text("MPL-2.0")}).admitted


def test_filter_yields_only_admitted_records_unchanged(setup) -> None:  # type: ignore[no-untyped-def]
    gate, _, _ = setup
    rows = [
        {"id": "1", "text": _text("GPL-3")},
        {"id": "2", "text": _text("MPL-2.0")},
        {"id": "3", "text": FILLER, "metadata": {"license": "MIT"}},
    ]
    assert list(gate.filter(rows)) == [rows[0], rows[2]]


def _mixed_rows() -> list[dict[str, object]]:
    """Granted, ungranted, open-licensed, unlicensed and unreadable records, twice."""
    rows: list[dict[str, object]] = []
    for round_ in range(2):
        rows += [
            {"id": f"{round_}-granted", "text": _text("GPL-3")},
            {"id": f"{round_}-copied", "text": _text("MPL-2.0")},
            {"id": f"{round_}-mit", "text": FILLER, "metadata": {"license": "MIT"}},
            {"id": f"{round_}-bare", "text": FILLER},
            {"id": f"{round_}-broken", "metadata": "not an object"},
        ]
    return rows


@pytest.mark.parametrize("chunk", [1, 2, 3, 256])
def test_filter_in_chunks_keeps_order_and_loses_nothing(setup, chunk: int) -> None:  # type: ignore[no-untyped-def]
    gate, _, _ = setup
    rows = _mixed_rows()
    pulled = 0

    def stream():  # type: ignore[no-untyped-def]
        nonlocal pulled
        for row in rows:
            pulled += 1
            yield row

    admitted = gate.filter(stream(), chunk=chunk)
    first = next(admitted)
    # A pipeline's records are read a chunk ahead, never the whole stream.
    assert first is rows[0] and pulled == min(chunk, len(rows))
    expected = [r for r in rows if r["id"] in {"0-granted", "0-mit", "1-granted", "1-mit"}]
    assert [first, *admitted] == expected


def test_decide_many_decides_as_one_at_a_time(setup) -> None:  # type: ignore[no-untyped-def]
    gate, _, _ = setup
    rows = _mixed_rows()
    together = [d.to_json() for d in gate.decide_many(rows)]
    assert together == [gate.decide(r).to_json() for r in rows]
    assert [d["decision"] for d in together][:5] == [
        "admitted",
        "rejected",
        "admitted",
        "rejected",
        "rejected",
    ]


def test_filter_refuses_an_empty_chunk(setup) -> None:  # type: ignore[no-untyped-def]
    gate, _, _ = setup
    with pytest.raises(InputError, match="at least 1 record"):
        list(gate.filter(_mixed_rows(), chunk=0))


class StaticConsent:
    """The ConsentOracle protocol over a fixed set of allowed works."""

    def __init__(self, allowed: set[str]) -> None:
        self.allowed = allowed

    def decide(self, work_ids: Sequence[str]) -> dict[str, UseDecision]:
        return {
            w: UseDecision(w in self.allowed, "allowed" if w in self.allowed else "no grant")
            for w in work_ids
        }

    def price_of(self, grant_id: str) -> Price | None:
        return None


INDEX_WORKS = {n: fingerprint_bytes(n, _text(n).encode()) for n in NAMES}
PURE_INDEX = MatchIndex.build(
    __import__("consentry.index", fromlist=["IndexedWork"]).IndexedWork(
        n, "own_1", p.kind.value, p.digest, p.minhash, p.excerpts, p.pdq
    )
    for n, p in INDEX_WORKS.items()
)


def _perturb(rng: random.Random, text: str) -> str:
    flat = " ".join(text.split())
    choice = rng.randrange(5)
    if choice == 0:
        return text
    if choice == 1:
        return text.upper().replace("\n", "\r\n")
    if choice == 2:
        return "\u200b".join(flat[i : i + 40] for i in range(0, len(flat), 40))
    # Copies of T + w = 301 characters or more are always evidence (``evidence_floor``);
    # shorter ones only when they leave two windows.
    length = rng.choice([301, 400, 1000])
    start = rng.randrange(0, len(flat) - length)
    return flat[start : start + length]


@given(
    st.sets(st.sampled_from(NAMES)),
    st.lists(st.lists(st.sampled_from(NAMES), max_size=3), min_size=1, max_size=8),
    st.integers(0, 2**32),
)
def test_no_registered_work_without_a_basis_is_ever_admitted(
    allowed: set[str], documents: list[list[str]], seed: int
) -> None:
    rng = random.Random(seed)
    gate = Gate(
        index=PURE_INDEX, consent=StaticConsent(allowed), policy=GatePolicy(mode=GateMode.OPT_OUT)
    )
    for number, embedded in enumerate(documents):
        cut = rng.randrange(0, 3000)
        pieces = [FILLER[cut : cut + 500]]
        for name in embedded:
            pieces += [_perturb(rng, _text(name)), FILLER[cut + 500 : cut + 900]]
        decision = gate.decide(Item(f"d{number}", "test", text=" ".join(pieces)))
        if decision.admitted:
            # A span is admitted when some basis covers it: every work without a basis
            # is found only where an allowed work's spans are (or the item is that
            # work exactly), and is listed as covered.
            assert {b.work_id for b in decision.bases if b.work_id} <= allowed
            cover = [s for b in decision.bases for s in b.spans]
            exact = any(b.match == "exact" for b in decision.bases)
            for reason in decision.reasons:
                assert reason.covered and reason.work_id not in allowed
                assert exact or all(
                    any(a <= start and end <= b for a, b in _merged(cover))
                    for start, end in reason.spans
                ), (embedded, allowed, decision)
            assert set(embedded) - allowed <= {r.work_id for r in decision.reasons}, decision
        else:
            assert decision.reasons and not decision.bases
            assert any(not r.covered and r.work_id not in allowed for r in decision.reasons)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def test_images_through_the_gate_one_decode_all_orientations() -> None:
    import io

    from PIL import Image

    from consentry.fingerprint import image_fingerprint, image_query
    from consentry.index import IndexedWork
    from tests.unit.fingerprint.test_image import _picture

    def png(image: Image.Image) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        return buffer.getvalue()

    picture = _picture(5)
    registered = fingerprint_bytes("art.png", png(picture))
    assert (
        image_query(png(picture), name="q").orientations[0]
        == image_fingerprint(png(picture), name="r").pdq
    )
    index = MatchIndex.build(
        [IndexedWork("wrk_art", "own_1", "image", registered.digest, pdq=registered.pdq)]
    )
    gate = Gate(index=index, consent=StaticConsent(set()), policy=GatePolicy(mode=GateMode.OPT_OUT))
    mirrored = png(picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT).resize((200, 150)))
    decision = gate.decide(Item("m", "t", image=mirrored, metadata={"path": "m.png"}))
    assert [(r.match, r.work_id) for r in decision.reasons] == [("image", "wrk_art")]
    lossless = gate.decide(Item("l", "t", image=png(picture), metadata={"path": "l.png"}))
    assert [r.match for r in lossless.reasons] == ["exact"]
    other = gate.decide(Item("o", "t", image=png(_picture(11)), metadata={"path": "o.png"}))
    assert other.admitted
    broken = gate.decide(Item("b", "t", image=png(picture)[:100], metadata={"path": "b.png"}))
    assert broken.reasons[0].match == "unreadable"


def test_one_shared_window_is_not_evidence_of_a_copy() -> None:
    """Evidence has a length: unregistered text sharing one 100-character window with a
    work (a header, a table row) is not rejected for it; the check's rule is the same."""
    from consentry.check.spans import evidence_floor
    from consentry.fingerprint import FingerprintParams, normalize_text, text_prints
    from consentry.fingerprint.winnow import ExcerptFingerprints

    params = FingerprintParams()
    work = normalize_text(_text("GPL-3"))
    kept = ExcerptFingerprints.from_bytes(INDEX_WORKS["GPL-3"].excerpts).offsets.tolist()
    gate = Gate(index=PURE_INDEX, consent=StaticConsent(set()), policy=GatePolicy(GateMode.OPT_OUT))
    tried = 0
    for offset in kept[5:80]:
        text = FILLER[:700] + " " + work[offset : offset + 100] + " " + FILLER[700:1400]
        (raw,) = PURE_INDEX.match_many([text_prints("doc.txt", text, params)])
        single = [m for m in raw if m.kind.value == "excerpt" and len(m.spans) == 1]
        if not single or single[0].spans[0][1] - single[0].spans[0][0] != 100:
            continue
        tried += 1
        decision = gate.decide(Item("doc", "test", text=text))
        assert decision.admitted, decision
        assert evidence_floor(200, params.winnow) > 100
    assert tried, "no single shared window planted"

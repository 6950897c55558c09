"""The witness's decision on add-checkpoint bodies, on its real state file: every status
code of C2SP tlog-witness, and any flipped bit refused."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.crypto import KeyPair
from consentry.errors import InputError
from consentry.log import Checkpoint, MerkleTree, NoteVerifier, leaf_hash, sign_checkpoint
from consentry.log.witness import WitnessKey, cosignatures
from consentry.witness import CosignedState, Witness, WitnessRequest, WitnessState

ORIGIN = "consentry.test/log"
LOG_KEY = KeyPair.generate()
WITNESS_KEY = KeyPair.generate()
TREE = MerkleTree([leaf_hash(f"entry {i}".encode()) for i in range(40)])


def _note(
    size: int, key: KeyPair = LOG_KEY, origin: str = ORIGIN, root: bytes | None = None
) -> str:
    return sign_checkpoint(Checkpoint(origin, size, TREE.root(size) if root is None else root), key)


def _body(old: int, size: int, note: str | None = None) -> bytes:
    proof = tuple(TREE.consistency_proof(old, size)) if 0 < old < size else ()
    return WitnessRequest(old, proof, note or _note(size)).to_body()


def _witness(path: Path, clock: float = 1_700_000_000.0) -> Witness:
    return Witness(
        "witness.test/w1",
        WITNESS_KEY,
        [NoteVerifier(ORIGIN, LOG_KEY.public)],
        WitnessState(path),
        clock=lambda: clock,
    )


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    return _witness(tmp_path / "witness.db")


def test_a_first_checkpoint_is_cosigned_at_the_witness_clock(witness: Witness) -> None:
    reply = witness.add_checkpoint(_body(0, 10))
    assert reply.status == 200
    cosigned = _note(10) + reply.body.decode()
    (found,) = cosignatures(cosigned, Checkpoint(ORIGIN, 10, TREE.root(10)), [witness.key])
    assert (found.witness, found.timestamp) == ("witness.test/w1", 1_700_000_000)


def test_the_state_survives_a_restart_and_advances_only_with_a_proof(tmp_path: Path) -> None:
    assert _witness(tmp_path / "w.db").add_checkpoint(_body(0, 10)).status == 200
    again = _witness(tmp_path / "w.db")
    stale = again.add_checkpoint(_body(0, 20))
    assert (stale.status, stale.content_type, stale.body) == (409, "text/x.tlog.size", b"10\n")
    assert again.add_checkpoint(_body(10, 20)).status == 200
    assert WitnessState(tmp_path / "w.db").latest(ORIGIN) == CosignedState(20, TREE.root(20))
    # Resubmitting what it already cosigned is cosigned again; nothing moves.
    assert again.add_checkpoint(_body(20, 20)).status == 200


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (lambda: _body(0, 10, _note(10, origin="other.test/log")), 404, "unknown log"),
        (lambda: _body(0, 10, _note(10, key=KeyPair.generate())), 403, "not signed by the log"),
        (lambda: _body(12, 10), 400, "past the checkpoint"),
        (lambda: b"old 01\n\n" + _note(10).encode(), 400, "not 'old <size>'"),
        (lambda: b"size 0\n\n" + _note(10).encode(), 400, "not 'old <size>'"),
        (lambda: b"old 0\n" + _note(10).encode(), 400, "not base64"),
        (lambda: b"old 0\nnot base64!\n\n" + _note(10).encode(), 400, "not base64"),
        (lambda: b"old 0\n" + b"AAAA\n" * 64 + b"\n" + _note(10).encode(), 400, "at most 63"),
        (lambda: b"\xff\xfe", 400, "not UTF-8"),
        (lambda: _body(0, 10, _note(10).replace("\n10\n", "\nten\n")), 400, "size 'ten'"),
        (lambda: _body(0, 10, _note(10).replace("\n\n", "\n\n\n")), 403, "not signed"),
    ],
)
def test_each_refusal_has_its_status_code(witness: Witness, body, status, says) -> None:  # type: ignore[no-untyped-def]
    reply = witness.add_checkpoint(body())
    assert reply.status == status, reply.body
    assert says in reply.body.decode()


def test_conflicts_and_bad_proofs_are_refused_and_change_nothing(witness: Witness) -> None:
    assert witness.add_checkpoint(_body(0, 10)).status == 200
    forked = _note(10, root=TREE.root(11))
    same_size = witness.add_checkpoint(WitnessRequest(10, (), forked).to_body())
    assert same_size.status == 409
    assert same_size.content_type != "text/x.tlog.size"
    bad = witness.add_checkpoint(WitnessRequest(10, (bytes(32),) * 5, _note(20)).to_body())
    assert bad.status == 422
    nonempty_from_zero = WitnessRequest(0, tuple(TREE.consistency_proof(5, 20)), _note(20))
    fresh = witness.add_checkpoint(nonempty_from_zero.to_body())
    assert fresh.status == 409 and fresh.body == b"10\n"
    assert witness.add_checkpoint(_body(10, 20)).status == 200


@given(st.data())
def test_any_flipped_bit_in_the_proof_or_checkpoint_is_refused(tmp_path_factory, data) -> None:  # type: ignore[no-untyped-def]
    witness = _witness(tmp_path_factory.mktemp("w") / "w.db")
    assert witness.add_checkpoint(_body(0, 13)).status == 200
    old, size = 13, data.draw(st.integers(14, 40))
    proof = list(TREE.consistency_proof(old, size))
    note = _note(size)
    if data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        proof[i] = bytes(b ^ (1 << bit % 8) if n == bit // 8 else b for n, b in enumerate(proof[i]))
        expected = {422}
    else:
        root = bytearray(TREE.root(size))
        root[data.draw(st.integers(0, 31))] ^= 1 << data.draw(st.integers(0, 7))
        lines = note.split("\n")
        lines[2] = base64.b64encode(bytes(root)).decode()
        note = "\n".join(lines)
        expected = {403}
    reply = witness.add_checkpoint(WitnessRequest(old, tuple(proof), note).to_body())
    assert reply.status in expected, reply.body
    assert witness.add_checkpoint(_body(13, size)).status == 200


def test_a_request_round_trips_and_malformed_keys_are_named() -> None:
    request = WitnessRequest(7, tuple(TREE.consistency_proof(7, 9)), _note(9))
    assert WitnessRequest.parse(request.to_body()) == request
    with pytest.raises(InputError, match="witness key"):
        WitnessKey.from_vkey("witness.test/w1+00000000+AAAA")

"""Witness cosignatures: the C2SP example's layout, signing and verifying, and k-of-n
quorum policies."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from consentry.crypto import KeyPair
from consentry.errors import InputError, VerificationError
from consentry.log import Checkpoint, sign_checkpoint
from consentry.log.witness import WitnessKey, WitnessPolicy, cosign, cosignatures

VECTORS = Path(__file__).parents[2] / "vectors" / "tlog"
LOG = KeyPair.generate()
CHECKPOINT = Checkpoint("consentry.test/log", 42, bytes(range(32)))
WITNESSES = {f"witness.test/w{i}": KeyPair.generate() for i in range(3)}
KEYS = tuple(WitnessKey(name, key.public) for name, key in WITNESSES.items())


def test_the_c2sp_cosignature_example_has_the_specified_layout() -> None:
    text = (VECTORS / "c2sp-format-examples.txt").read_text()
    line = next(x for x in text.splitlines() if x.startswith("\u2014 witness.example.com/w1"))
    blob = base64.b64decode(line.split(" ")[2])
    assert len(blob) == 76
    # The timestamp inside the cosignature is the one in the example's signed message.
    assert int.from_bytes(blob[4:12], "big") == 1679315147
    assert "time 1679315147" in text


def _cosigned(*names: str) -> str:
    note = sign_checkpoint(CHECKPOINT, LOG)
    return note + "".join(cosign(CHECKPOINT, n, WITNESSES[n], 1_700_000_000) for n in names)


def test_cosignatures_verify_and_carry_their_time() -> None:
    found = cosignatures(_cosigned("witness.test/w0", "witness.test/w2"), CHECKPOINT, KEYS)
    assert [(c.witness, c.timestamp) for c in found] == [
        ("witness.test/w0", 1_700_000_000),
        ("witness.test/w2", 1_700_000_000),
    ]


def test_a_quorum_policy_counts_distinct_valid_witnesses() -> None:
    policy = WitnessPolicy(KEYS, quorum=2)
    assert len(policy.check(_cosigned("witness.test/w0", "witness.test/w1"), CHECKPOINT)) == 2
    with pytest.raises(VerificationError, match="1 of the 2 witness cosignatures"):
        policy.check(_cosigned("witness.test/w1", "witness.test/w1"), CHECKPOINT)
    with pytest.raises(InputError, match="quorum of 4"):
        WitnessPolicy(KEYS, quorum=4)


def test_a_cosignature_for_another_checkpoint_or_time_is_refused() -> None:
    note = _cosigned("witness.test/w0")
    other = Checkpoint("consentry.test/log", 43, bytes(range(32)))
    with pytest.raises(VerificationError, match="signature does not verify"):
        cosignatures(note, other, KEYS)
    line = note.splitlines()[-1]
    blob = bytearray(base64.b64decode(line.split(" ")[2]))
    blob[11] ^= 1  # a different time than the one signed
    forged = note.replace(line.split(" ")[2], base64.b64encode(bytes(blob)).decode())
    with pytest.raises(VerificationError, match="signature does not verify"):
        cosignatures(forged, CHECKPOINT, KEYS)


def test_witness_keys_round_trip_and_bad_ones_are_named() -> None:
    key = KEYS[0]
    assert WitnessKey.from_vkey(key.vkey()) == key
    with pytest.raises(InputError, match="key id does not match"):
        WitnessKey.from_vkey(key.vkey().replace(key.key_id.hex(), "00000000"))
    ed25519_note_key = key.vkey().split("+", 2)
    raw = base64.b64decode(ed25519_note_key[2])
    wrong_type = "+".join([*ed25519_note_key[:2], base64.b64encode(b"\x01" + raw[1:]).decode()])
    with pytest.raises(InputError, match="signature type 0x04"):
        WitnessKey.from_vkey(wrong_type)

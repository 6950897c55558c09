"""C2SP signed notes and checkpoints: the specification's own example, round trips,
and every way a note must be refused."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.crypto import KeyPair
from consentry.errors import InputError, VerificationError
from consentry.log.note import (
    Checkpoint,
    NoteVerifier,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
)

VECTORS = Path(__file__).parents[2] / "vectors" / "tlog"


def _example() -> tuple[str, str]:
    lines = [
        line
        for line in (VECTORS / "c2sp-signed-note-example.txt").read_text().splitlines()
        if not line.startswith("#")
    ]
    vkey = lines[0]
    note = "\n".join(lines[1:]) + "\n"
    return vkey, note


def test_the_c2sp_example_note_verifies_with_its_verifier_key() -> None:
    vkey, note = _example()
    verifier = NoteVerifier.from_vkey(vkey)
    assert verifier.name == "example.com/foo"
    assert verifier.key_id.hex() == "530d903a"
    assert verifier.vkey() == vkey
    text, names = open_note(note, [verifier])
    assert (text, names) == ("This is an example message.\n", ["example.com/foo"])


def test_the_c2sp_checkpoint_example_parses() -> None:
    body = (VECTORS / "c2sp-format-examples.txt").read_text().split("\n\n")[1]
    body = "\n".join(line for line in body.splitlines() if not line.startswith("#")) + "\n"
    checkpoint = Checkpoint.parse(body)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert checkpoint.body() == body


LOG = KeyPair.generate()
VERIFIER = NoteVerifier("consentry.test/log", LOG.public)
CHECKPOINT = Checkpoint("consentry.test/log", 12345, bytes(range(32)), ("extension line",))


def test_a_checkpoint_round_trips_through_its_signed_note() -> None:
    note = sign_checkpoint(CHECKPOINT, LOG)
    assert open_checkpoint(note, VERIFIER) == CHECKPOINT
    assert note.startswith(CHECKPOINT.body() + "\n\u2014 consentry.test/log ")


def test_a_cosigned_note_verifies_with_either_key_and_ignores_unknown_ones() -> None:
    witness = KeyPair.generate()
    note = sign_checkpoint(CHECKPOINT, LOG)
    extra = sign_note(CHECKPOINT.body(), "witness.test/w1", witness).split("\n\n")[1]
    both = note + extra
    _, names = open_note(both, [VERIFIER, NoteVerifier("witness.test/w1", witness.public)])
    assert names == ["consentry.test/log", "witness.test/w1"]
    assert open_checkpoint(both, VERIFIER) == CHECKPOINT


def test_a_note_refuses_other_keys_forgeries_and_other_logs() -> None:
    note = sign_checkpoint(CHECKPOINT, LOG)
    with pytest.raises(VerificationError, match="no signature by a known key"):
        open_checkpoint(note, NoteVerifier("consentry.test/log", KeyPair.generate().public))
    # A line that claims the log's key id but carries another key's signature.
    forged = sign_note(CHECKPOINT.body(), "consentry.test/log", KeyPair.generate())
    line = forged.split("\n\n")[1]
    impostor = line.split(" ")[2].strip()
    genuine = note.split("\n\n")[1].split(" ")[2].strip()
    spliced = base64.b64encode(
        base64.b64decode(genuine)[:4] + base64.b64decode(impostor)[4:]
    ).decode()
    with pytest.raises(VerificationError, match="signature does not verify"):
        open_checkpoint(note.replace(genuine, spliced), VERIFIER)
    other = Checkpoint("other.test/log", 1, bytes(32))
    with pytest.raises(VerificationError, match="no signature by a known key"):
        open_checkpoint(sign_checkpoint(other, LOG), VERIFIER)


@given(st.data())
def test_any_changed_character_in_a_checkpoint_note_is_caught(data: st.DataObject) -> None:
    note = sign_checkpoint(CHECKPOINT, LOG)
    at = data.draw(st.integers(0, len(note) - 1))
    replacement = data.draw(st.characters(codec="utf-8").filter(lambda c: c != note[at]))
    changed = note[:at] + replacement + note[at + 1 :]
    try:
        opened = open_checkpoint(changed, VERIFIER)
    except (VerificationError, InputError):
        return
    # Only a change that decodes to the same signature bytes (a non-canonical last
    # base64 character) may pass, and then it says exactly what was signed.
    assert opened == CHECKPOINT
    assert at > len(CHECKPOINT.body())


def test_bad_verifier_keys_and_bodies_are_refused_with_a_reason() -> None:
    vkey, _ = _example()
    with pytest.raises(InputError, match="key id does not match"):
        NoteVerifier.from_vkey(vkey.replace("530d903a", "530d903b"))
    with pytest.raises(InputError, match="not name\\+keyid\\+key"):
        NoteVerifier.from_vkey("example.com/foo")
    with pytest.raises(InputError, match="leading zeros"):
        Checkpoint.parse("log\n012\n" + "A" * 43 + "=\n")
    with pytest.raises(InputError, match="not 32"):
        Checkpoint.parse("log\n12\nAAAA\n")
    with pytest.raises(InputError, match="must be non-empty"):
        sign_note("text\n", "bad name", LOG)
    with pytest.raises(InputError, match="end with a newline"):
        sign_note("no newline", "log", LOG)


def test_verifier_keys_round_trip_whatever_their_base64_holds() -> None:
    # Base64 of a key often contains "+", the separator of the key string's fields.
    for _ in range(64):
        verifier = NoteVerifier("consentry.test/log", KeyPair.generate().public)
        assert NoteVerifier.from_vkey(verifier.vkey()) == verifier

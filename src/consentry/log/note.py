"""C2SP ``signed-note`` with Ed25519, and the ``tlog-checkpoint`` it carries.

A note is UTF-8 text ending in a newline, a blank line, then one line per signature:
``— <key name> <base64(key ID || signature)>``. The key ID is the first four bytes of
``SHA-256(name || 0x0A || 0x01 || public key)``, so a verifier knows which key a line
claims before trying it; lines from keys it does not know are skipped. A checkpoint is a
note whose text is the log's origin, its tree size and its base64 root hash, one per
line, then any extension lines.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from consentry.crypto import PublicKey, Signer
from consentry.errors import InputError, VerificationError

__all__ = [
    "Checkpoint",
    "NoteVerifier",
    "key_id",
    "key_string",
    "open_checkpoint",
    "open_note",
    "parse_key_string",
    "sign_checkpoint",
    "sign_note",
    "signature_line",
    "signature_lines",
]

_ED25519 = 0x01
_DASH = "\u2014 "


def key_id(name: str, kind: int, public: bytes) -> bytes:
    """SHA-256(name || 0x0A || kind || public key)[:4]: which key a signature line claims."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public).digest()[:4]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise InputError(
            f"note key name {name!r} must be non-empty, without spaces or '+' "
            "(a log origin such as example.com/log)"
        )


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """An Ed25519 note verifier key: a name and a public key."""

    name: str
    public: PublicKey

    def __post_init__(self) -> None:
        _check_name(self.name)

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, _ED25519, self.public.raw)

    def vkey(self) -> str:
        """The verifier key string: ``name+hex(key ID)+base64(0x01 || public key)``."""
        return key_string(self.name, _ED25519, self.public)

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse a verifier key string; ``InputError`` names what is wrong with it."""
        name, public = parse_key_string(vkey, _ED25519, "verifier key")
        return cls(name, public)


def key_string(name: str, kind: int, public: PublicKey) -> str:
    """``name+hex(key ID)+base64(kind || public key)``: how C2SP writes a verifier key."""
    encoded = base64.b64encode(bytes([kind]) + public.raw).decode()
    return f"{name}+{key_id(name, kind, public.raw).hex()}+{encoded}"


def parse_key_string(text: str, kind: int, what: str) -> tuple[str, PublicKey]:
    """The name and key of a ``key_string`` of signature type ``kind``."""
    parts = text.strip().split("+", 2)  # base64 may hold "+"; the name may not
    if len(parts) != 3:
        raise InputError(f"{what} {text!r} is not name+keyid+key")
    name, claimed_hex, encoded = parts
    try:
        raw = base64.b64decode(encoded, validate=True)
        claimed = bytes.fromhex(claimed_hex)
    except ValueError as exc:  # binascii.Error, or not hex
        raise InputError(f"{what} {text!r} has a malformed key id or key") from exc
    if len(raw) != 33 or raw[0] != kind:
        raise InputError(f"{what} {text!r} is not a key of signature type 0x{kind:02x}")
    if key_id(name, kind, raw[1:]) != claimed:
        raise InputError(f"{what} {text!r}: key id does not match the name and key")
    _check_name(name)
    return name, PublicKey(raw[1:])


def _check_text(text: str) -> None:
    if not text.endswith("\n") or "\n\n" in text:
        raise InputError("note text must end with a newline and contain no blank line")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise InputError("note text must not contain control characters")


def signature_line(name: str, blob: bytes) -> str:
    """``— <name> <base64(blob)>``: one signature (or cosignature) line of a note."""
    return f"{_DASH}{name} {base64.b64encode(blob).decode()}\n"


def sign_note(text: str, name: str, key: Signer) -> str:
    """The signed note: ``text``, a blank line, and ``key``'s signature line."""
    _check_text(text)
    verifier = NoteVerifier(name, key.public)
    return f"{text}\n{signature_line(name, verifier.key_id + key.sign(text.encode('utf-8')))}"


def signature_lines(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """A signed note's text (with its final newline) and its signature lines as (key
    name, decoded blob). Raises ``VerificationError`` when it is not a signed note."""
    text, separator, signatures = note.rpartition("\n\n")
    if not separator or not signatures.endswith("\n"):
        raise VerificationError("not a signed note: no blank line before signature lines")
    lines: list[tuple[str, bytes]] = []
    for line in signatures[:-1].split("\n"):
        if not line.startswith(_DASH):
            raise VerificationError(f"signature line {line!r} does not start with '— '")
        name, _, encoded = line[len(_DASH) :].partition(" ")
        try:
            lines.append((name, base64.b64decode(encoded, validate=True)))
        except ValueError as exc:  # binascii.Error, or non-ASCII text
            raise VerificationError(f"signature line for {name} is not base64") from exc
    return text + "\n", lines


def open_note(note: str, verifiers: Sequence[NoteVerifier]) -> tuple[str, list[str]]:
    """The note's text and the names of the given verifiers whose signature on it
    verifies. Raises ``VerificationError`` when none does, or when a line from a known
    key is a bad signature (a forged line is never silently skipped)."""
    text, lines = signature_lines(note)
    message = text.encode("utf-8")
    known = {(v.name, v.key_id): v for v in verifiers}
    verified: list[str] = []
    for name, blob in lines:
        verifier = known.get((name, blob[:4]))
        if verifier is None:
            continue
        if len(blob) != 68:
            raise VerificationError(f"signature by {name} is {len(blob) - 4} bytes, not 64")
        verifier.public.verify(blob[4:], message)
        verified.append(name)
    if not verified:
        names = ", ".join(sorted(v.name for v in verifiers)) or "none given"
        raise VerificationError(f"note carries no signature by a known key ({names})")
    return text, verified


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's signed statement of its size and root (C2SP tlog-checkpoint)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise InputError("checkpoint body needs origin, size and root lines")
        origin, size, root = lines[0], lines[1], lines[2]
        if not origin:
            raise InputError("checkpoint origin line is empty")
        if not size.isdigit() or (size != "0" and size.startswith("0")):
            raise InputError(f"checkpoint size {size!r} is not a decimal without leading zeros")
        try:
            digest = base64.b64decode(root, validate=True)
        except ValueError as exc:  # binascii.Error, or non-ASCII text
            raise InputError(f"checkpoint root {root!r} is not base64") from exc
        if len(digest) != 32:
            raise InputError(f"checkpoint root is {len(digest)} bytes, not 32")
        return cls(origin, int(size), digest, tuple(lines[3:-1]))


def sign_checkpoint(checkpoint: Checkpoint, key: Signer) -> str:
    """The checkpoint as a note signed by the log's key, named by its origin."""
    return sign_note(checkpoint.body(), checkpoint.origin, key)


def open_checkpoint(note: str, log: NoteVerifier) -> Checkpoint:
    """The checkpoint in ``note``, verified with the log's key. Raises
    ``VerificationError`` when the log did not sign it or it is for another log."""
    text, _ = open_note(note, [log])
    try:
        checkpoint = Checkpoint.parse(text)
    except InputError as exc:
        raise VerificationError(f"signed note is not a checkpoint: {exc}") from exc
    if checkpoint.origin != log.name:
        raise VerificationError(f"checkpoint is for log {checkpoint.origin!r}, not {log.name!r}")
    return checkpoint

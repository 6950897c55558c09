from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.crypto import KeyPair, SignedEnvelope, sign_document, verify_document
from consentry.errors import VerificationError

KEY = KeyPair.generate()
OTHER = KeyPair.generate()
BODY = {"type": "consentry.grant", "id": "grt_x", "purposes": ["train-ai"], "price": "0.05"}


def test_a_signed_document_verifies_and_returns_its_body() -> None:
    envelope = sign_document("grant", BODY, KEY)
    assert verify_document(envelope, KEY.public) == BODY


def test_another_key_is_named_in_the_error() -> None:
    envelope = sign_document("grant", BODY, OTHER)
    with pytest.raises(VerificationError, match=f"signed by key {OTHER.public.key_id}"):
        verify_document(envelope, KEY.public)


def test_a_forged_key_id_does_not_help() -> None:
    forged = dataclasses.replace(sign_document("grant", BODY, OTHER), key_id=KEY.public.key_id)
    with pytest.raises(VerificationError, match="does not verify"):
        verify_document(forged, KEY.public)


def test_a_signature_for_one_kind_is_not_valid_for_another() -> None:
    envelope = dataclasses.replace(sign_document("grant", BODY, KEY), kind="revocation")
    with pytest.raises(VerificationError):
        verify_document(envelope, KEY.public)


@given(st.data())
def test_any_flipped_bit_in_body_or_signature_is_rejected(data: st.DataObject) -> None:
    envelope = sign_document("grant", BODY, KEY)
    field = data.draw(st.sampled_from(["body", "signature"]))
    blob = bytearray(getattr(envelope, field))
    bit = data.draw(st.integers(0, len(blob) * 8 - 1))
    blob[bit // 8] ^= 1 << (bit % 8)
    tampered = dataclasses.replace(envelope, **{field: bytes(blob)})
    with pytest.raises(VerificationError):
        verify_document(tampered, KEY.public)


def test_a_non_canonical_body_is_rejected_even_when_signed() -> None:
    # A signer that signs pretty-printed JSON produces a body other verifiers would
    # canonicalise differently; such a document is refused.
    body = b'{ "id": "grt_x" }'
    signature = KEY.sign(b"consentry/grant/v1\n" + body)
    envelope = SignedEnvelope("grant", body, KEY.public.key_id, signature)
    with pytest.raises(VerificationError, match="canonical"):
        verify_document(envelope, KEY.public)


def test_stored_envelopes_round_trip() -> None:
    envelope = sign_document("grant", BODY, KEY)
    stored = SignedEnvelope.from_stored(
        kind="grant",
        body=envelope.body.decode(),
        key_id=envelope.key_id,
        signature_b64=envelope.signature_b64,
    )
    assert stored == envelope


def test_a_key_pair_never_shows_its_private_half() -> None:
    pem = KEY.to_pem().decode()
    secret_line = pem.splitlines()[1]
    assert secret_line not in repr(KEY)
    assert secret_line not in str(KEY)

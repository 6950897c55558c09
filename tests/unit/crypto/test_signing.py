from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.crypto import KeyPair, PublicKey, SignedEnvelope, sign_document, verify_document
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


# RFC 8032 section 7.1, tests 1 to 3: (public key, message, signature), hex.
RFC8032_VECTORS = [
    (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


@pytest.mark.parametrize(("public", "message", "signature"), RFC8032_VECTORS)
def test_rfc8032_signatures_verify_and_their_forgeries_do_not(
    public: str, message: str, signature: str
) -> None:
    key = PublicKey.from_hex(public)
    key.verify(bytes.fromhex(signature), bytes.fromhex(message))
    forged = bytearray.fromhex(signature)
    forged[0] ^= 1
    with pytest.raises(VerificationError, match="does not verify"):
        key.verify(bytes(forged), bytes.fromhex(message))
    with pytest.raises(VerificationError, match="does not verify"):
        key.verify(bytes.fromhex(signature), bytes.fromhex(message) + b"!")
    with pytest.raises(VerificationError, match="63 bytes, not 64"):
        key.verify(bytes.fromhex(signature)[:63], bytes.fromhex(message))


def test_what_the_signing_library_signs_the_verifier_accepts() -> None:
    pair = KeyPair.generate()
    for message in (b"", b"x", bytes(range(256)) * 40):
        pair.public.verify(pair.sign(message), message)

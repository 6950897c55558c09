"""The CAWG training-and-data-mining assertion read from and signed into images
(CAWG Training and Data Mining Assertion 1.1 §3), and the certificate chain an owner's
Ed25519 key signs C2PA manifests with."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import c2pa  # type: ignore[import-untyped]
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image

from consentry.crypto import KeyPair, PublicKey
from consentry.errors import InputError, KeyStoreError
from consentry.signals import Reservation, Signal, cawg, certificates
from consentry.signals.cawg import (
    embed_training_mining,
    inspect_training_mining,
    read_training_mining,
    read_training_mining_assertion,
    write_training_mining,
)
from consentry.signals.certificates import (
    NO_EXPIRY,
    certificate_chain_key,
    owner_certificate_chain,
)
from consentry.terms import Category, Conditions, Permission, Price, PriceUnit, Terms

VECTORS = Path(__file__).parents[2] / "vectors" / "signals" / "cawg"
ALLOW, DENY, LICENSE = Permission.ALLOW, Permission.DENY, Permission.LICENSE
ISSUED = datetime(2026, 1, 1, tzinfo=UTC)
CAWG_CATEGORIES = (Category.TRAIN_AI, Category.TRAIN_OTHER, Category.AI_INPUT, Category.DATA_MINING)
TERMS = Terms(
    MappingProxyType(
        {
            Category.TRAIN_AI: DENY,
            Category.TRAIN_OTHER: ALLOW,
            Category.AI_INPUT: LICENSE,
            Category.DATA_MINING: ALLOW,
            Category.SEARCH: ALLOW,
        }
    )
)


def _said(reservation: Reservation) -> dict[Category, Permission]:
    return {c: p for c in Category if (p := reservation.permission(c)) is not None}


def _image(kind: str = "PNG", colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(out, kind)
    return out.getvalue()


@pytest.fixture(scope="module")
def owner() -> KeyPair:
    return KeyPair.generate()


@pytest.fixture(scope="module")
def chain(owner: KeyPair) -> bytes:
    return owner_certificate_chain(owner.public, issued_at=ISSUED)


@pytest.fixture(scope="module")
def signed_png(owner: KeyPair, chain: bytes) -> bytes:
    return embed_training_mining(
        _image(), "image/png", TERMS, signer=owner, certificate_chain=chain
    )


def test_exports() -> None:
    assert cawg.__all__ == [
        "ENTRY_CATEGORIES",
        "LABEL",
        "LEGACY_LABEL",
        "ManifestReading",
        "ManifestSigner",
        "embed_training_mining",
        "inspect_training_mining",
        "read_training_mining",
        "read_training_mining_assertion",
        "write_training_mining",
    ]
    assert certificates.__all__ == ["NO_EXPIRY", "certificate_chain_key", "owner_certificate_chain"]


# -- the assertion's data ----------------------------------------------------------------


def test_spec_example_reads_as_t_dm_3_1_says() -> None:
    data = json.loads((VECTORS / "tdm-1.1-s3.2-example.json").read_text("utf-8"))
    reservation = read_training_mining_assertion(data)
    assert _said(reservation) == {
        Category.TRAIN_AI: DENY,
        Category.TRAIN_OTHER: ALLOW,
        Category.DATA_MINING: LICENSE,
    }
    mining = reservation.deciding(Category.DATA_MINING)
    assert mining is not None
    assert mining.licence == "may only be mined on days whose names end in 'y'"
    assert mining.label == "cawg.data_mining: constrained"
    assert mining.source.signal is Signal.CAWG
    assert not reservation.outdated and not reservation.problems


def test_legacy_c2pa_names_read_the_same_and_are_flagged_outdated() -> None:
    data = json.loads((VECTORS / "c2pa-1.x-s3.2-example-relabelled.json").read_text("utf-8"))
    current = json.loads((VECTORS / "tdm-1.1-s3.2-example.json").read_text("utf-8"))
    legacy = read_training_mining_assertion(data, label=cawg.LEGACY_LABEL)
    assert _said(legacy) == _said(read_training_mining_assertion(current))
    assert legacy.outdated == legacy.statements
    # The old label alone marks even cawg.-named entries outdated.
    assert read_training_mining_assertion(current, label=cawg.LEGACY_LABEL).outdated


@pytest.mark.parametrize(
    ("entry", "expected", "licence"),
    [
        ({"use": "constrained"}, DENY, None),  # T&DM §3.1: treated as notAllowed
        ({"use": "constrained", "constraint_info": "  "}, DENY, None),
        ({"use": "constrained", "constraint_info": "https://e.org/l"}, LICENSE, "https://e.org/l"),
        ({"use": "constrained", "constraints_info": "ask"}, LICENSE, "ask"),  # §3.1's spelling
        ({"use": "allowed", "constraint_info": "ignored"}, ALLOW, None),
        ({"use": "notAllowed"}, DENY, None),
    ],
)
def test_constrained_without_information_is_a_denial(
    entry: dict[str, str], expected: Permission, licence: str | None
) -> None:
    reservation = read_training_mining_assertion({"entries": {"cawg.ai_inference": entry}})
    statement = reservation.deciding(Category.AI_INPUT)
    assert statement is not None
    assert (statement.permission, statement.licence) == (expected, licence)


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"entries": []},
        {"entries": {"cawg.ai_training": "allowed"}},
        {"entries": {"cawg.ai_training": {"use": "maybe"}}},
        {"entries": {"cawg.ai_training": {"use": ["allowed"]}}},
        {"entries": {"cawg.ai_training": {}}},
    ],
)
def test_malformed_assertions_are_problems(data: object) -> None:
    reservation = read_training_mining_assertion(data)
    assert reservation.problems
    assert not [s for s in reservation.statements if s.permission is ALLOW]
    assert reservation.reserves(Category.TRAIN_OTHER)


def test_custom_entries_are_skipped() -> None:
    data = {
        "entries": {"com.example.ocr": {"use": "allowed"}, "cawg.ai_training": {"use": "allowed"}}
    }
    assert _said(read_training_mining_assertion(data)) == {Category.TRAIN_OTHER: ALLOW}


# -- writing the assertion ---------------------------------------------------------------


def test_written_assertion_reads_back_and_says_what_it_drops() -> None:
    terms = Terms(
        TERMS.categories,
        Price(PriceUnit.WORK, Decimal("0.05"), "EUR"),
        Conditions(attribution="by the owner"),
    )
    rendering = write_training_mining(terms, licence="https://example.org/licences")
    assert rendering.filename == "cawg-training-mining.json"
    data = json.loads(rendering.text)
    assert data["entries"]["cawg.ai_inference"] == {
        "use": "constrained",
        "constraint_info": "https://example.org/licences",
    }
    back = read_training_mining_assertion(data)
    assert _said(back) == {c: terms.permission(c) for c in CAWG_CATEGORIES}
    topics = sorted(line.split(":")[0] for line in rendering.unsaid)
    assert topics == ["conditions", "price", "publish-output", "search"]


def test_licence_without_text_gets_constraint_information() -> None:
    # A bare "constrained" would read back as notAllowed (T&DM §3.1).
    back = read_training_mining_assertion(json.loads(write_training_mining(Terms()).text))
    assert _said(back) == dict.fromkeys(CAWG_CATEGORIES, LICENSE)


def test_empty_licence_is_refused() -> None:
    with pytest.raises(InputError, match="licence"):
        write_training_mining(TERMS, licence=" ")


# -- signing into images and reading back ------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "mime"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_round_trip_terms_embed_read(owner: KeyPair, chain: bytes, kind: str, mime: str) -> None:
    signed = embed_training_mining(_image(kind), mime, TERMS, signer=owner, certificate_chain=chain)
    reading = inspect_training_mining(signed)
    assert _said(reading.reservation) == {c: TERMS.permission(c) for c in CAWG_CATEGORIES}
    assert not reading.reservation.problems
    assert reading.validation_state == "Valid"
    assert reading.failures == ("signingCredential.untrusted",)  # only: not on a trust list
    assert reading.signer is not None
    assert reading.signer.common_name == f"consentry owner {owner.public.key_id}"
    assert not reading.signer.trusted
    place = reading.reservation.statements[0].source.place
    assert "not on a trust list" in place and (reading.manifest or "?") in place


def test_chain_authority_as_trust_anchor_makes_the_signer_trusted(
    signed_png: bytes, chain: bytes
) -> None:
    authority = x509.load_pem_x509_certificates(chain)[1].public_bytes(Encoding.PEM)
    reading = inspect_training_mining(signed_png, trust_anchors=authority.decode())
    assert reading.validation_state == "Trusted"
    assert reading.signer is not None and reading.signer.trusted
    assert not reading.reservation.problems


def test_claim_is_signed_through_the_owner_signer(owner: KeyPair, chain: bytes) -> None:
    signed_messages: list[bytes] = []

    class RecordingSigner:
        public = owner.public

        def sign(self, message: bytes) -> bytes:
            signed_messages.append(message)
            return owner.sign(message)

    embed_training_mining(
        _image(), "image/png", TERMS, signer=RecordingSigner(), certificate_chain=chain
    )
    assert signed_messages
    for message in signed_messages:
        owner.public.verify(owner.sign(message), message)


def test_resigning_keeps_the_old_manifest_as_ingredient(
    owner: KeyPair, chain: bytes, signed_png: bytes
) -> None:
    stricter = Terms(MappingProxyType(dict.fromkeys(Category, DENY)))
    again = embed_training_mining(
        signed_png, "image/png", stricter, signer=owner, certificate_chain=chain
    )
    reading = inspect_training_mining(again, mime="image/png")
    assert _said(reading.reservation) == dict.fromkeys(CAWG_CATEGORIES, DENY)
    assert not reading.reservation.problems


def test_image_without_manifest_has_no_signal() -> None:
    reading = inspect_training_mining(_image("JPEG"))
    assert reading == cawg.ManifestReading(Reservation())
    assert not read_training_mining(_image("PNG"), mime="image/png")


# -- tampering: never an allow -----------------------------------------------------------


def _assert_no_allow_and_a_problem(reservation: Reservation) -> None:
    assert reservation.problems
    assert not [s for s in reservation.statements if s.permission is ALLOW]
    for category in Category:
        assert reservation.reserves(category)


def test_pixels_changed_after_signing_are_a_problem_not_an_allow(signed_png: bytes) -> None:
    idat = signed_png.rindex(b"IDAT")
    edited = bytearray(signed_png)
    edited[idat + 6] ^= 0x40  # inside the compressed pixel data
    reading = inspect_training_mining(bytes(edited))
    _assert_no_allow_and_a_problem(reading.reservation)
    assert "assertion.dataHash.mismatch" in reading.failures
    assert "changed after signing" in reading.reservation.problems[0].message
    # Its denial is kept beside the problem: tampering can only have weakened it.
    denial = reading.reservation.deciding(Category.TRAIN_AI)
    assert denial is not None and "failed validation" in denial.source.place


def test_assertion_edited_to_allow_is_a_problem(owner: KeyPair, chain: bytes) -> None:
    terms = Terms(MappingProxyType({Category.TRAIN_OTHER: ALLOW, Category.DATA_MINING: DENY}))
    signed = embed_training_mining(
        _image(), "image/png", terms, signer=owner, certificate_chain=chain
    )
    # Swap two entry names of the same length: still well-formed CBOR, now allowing
    # data mining, which the owner denied.
    training, mining = b"cawg.ai_training", b"cawg.data_mining"
    placeholder = b"#" * len(training)
    assert signed.count(training) == signed.count(mining) == 1 and placeholder not in signed
    edited = signed.replace(training, placeholder).replace(mining, training)
    edited = edited.replace(placeholder, mining)
    reading = inspect_training_mining(edited)
    _assert_no_allow_and_a_problem(reading.reservation)
    assert "assertion.hashedURI.mismatch" in reading.failures


def test_any_flipped_byte_gives_the_same_reading_or_a_problem(signed_png: bytes) -> None:
    original = read_training_mining(signed_png)
    for at in range(0, len(signed_png), max(1, len(signed_png) // 120)):
        flipped = bytearray(signed_png)
        flipped[at] ^= 0x01
        reservation = read_training_mining(bytes(flipped))
        if reservation.problems:
            assert not [s for s in reservation.statements if s.permission is ALLOW], at
        else:  # a byte no hash covers (padding): nothing that was signed changed
            assert _said(reservation) in ({}, _said(original)), at


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage" * 10,
        b"\xff\xd8\xff\xe0garbage",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
        b"RIFF\x10\x00\x00\x00WEBPVP8 ",
        bytes(range(256)) * 4,
    ],
)
def test_garbage_never_raises(data: bytes) -> None:
    for mime in (None, "image/jpeg", "image/png", "text/plain"):
        reservation = read_training_mining(data, mime=mime)
        assert not [s for s in reservation.statements if s.permission is ALLOW]


def test_truncated_manifest_is_a_problem(signed_png: bytes) -> None:
    start = signed_png.index(b"caBX")
    reservation = read_training_mining(signed_png[: start + 200])
    _assert_no_allow_and_a_problem(reservation)


def test_c2pa_data_in_an_unknown_format_is_a_problem(signed_png: bytes) -> None:
    start = signed_png.index(b"jumb")
    reservation = read_training_mining(b"NOTANIMAGE" + signed_png[start - 4 :])
    _assert_no_allow_and_a_problem(reservation)


def test_remote_manifest_is_not_fetched(owner: KeyPair, chain: bytes) -> None:
    definition = {
        "claim_generator_info": [{"name": "consentry tests"}],
        "assertions": [
            {"label": cawg.LABEL, "data": {"entries": {"cawg.ai_training": {"use": "allowed"}}}}
        ],
    }
    image, out = _image("JPEG"), io.BytesIO()
    with (
        c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}}) as context,
        c2pa.Signer.from_callback(
            owner.sign, c2pa.C2paSigningAlg.ED25519, chain.decode()
        ) as signer,
        c2pa.Builder(definition, context) as builder,
    ):
        builder.set_intent(c2pa.C2paBuilderIntent.EDIT)
        builder.set_no_embed()
        builder.set_remote_url("https://example.org/manifests/1.c2pa")
        store = builder.sign(signer, "image/jpeg", io.BytesIO(image), out)
    pointed = out.getvalue()
    reservation = read_training_mining(pointed)
    _assert_no_allow_and_a_problem(reservation)
    assert "https://example.org/manifests/1.c2pa" in reservation.problems[0].message
    fetched = read_training_mining(pointed, manifest=store)
    assert _said(fetched) == {Category.TRAIN_OTHER: ALLOW}


# -- embedding refused -------------------------------------------------------------------


def test_chain_for_another_key_is_refused(owner: KeyPair) -> None:
    other = owner_certificate_chain(KeyPair.generate().public, issued_at=ISSUED)
    with pytest.raises(InputError, match="not for the signer's key"):
        embed_training_mining(_image(), "image/png", TERMS, signer=owner, certificate_chain=other)


def test_unsupported_type_and_unreadable_image_are_refused(owner: KeyPair, chain: bytes) -> None:
    with pytest.raises(InputError, match="cannot be embedded"):
        embed_training_mining(b"x", "text/plain", TERMS, signer=owner, certificate_chain=chain)
    with pytest.raises(InputError, match="could not be signed"):
        embed_training_mining(b"junk", "image/png", TERMS, signer=owner, certificate_chain=chain)


def test_signer_error_propagates(owner: KeyPair, chain: bytes) -> None:
    class LockedSigner:
        public = owner.public

        def sign(self, message: bytes) -> bytes:
            raise KeyStoreError("the owner's key is locked")

    with pytest.raises(KeyStoreError, match="locked"):
        embed_training_mining(
            _image(), "image/png", TERMS, signer=LockedSigner(), certificate_chain=chain
        )


def test_self_signed_owner_certificate_is_refused_by_c2pa() -> None:
    # Why owner_certificate_chain makes a two-certificate chain.
    private = Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "self")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(1)
        .not_valid_before(ISSUED)
        .not_valid_after(ISSUED + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .sign(private, None)
    )
    with pytest.raises(InputError, match="could not be signed"):
        embed_training_mining(
            _image(),
            "image/png",
            TERMS,
            signer=KeyPair(private),
            certificate_chain=certificate.public_bytes(Encoding.PEM),
        )


# -- the certificate chain ---------------------------------------------------------------


def test_chain_follows_the_c2pa_certificate_profile(owner: KeyPair, chain: bytes) -> None:
    leaf, authority = x509.load_pem_x509_certificates(chain)
    leaf.verify_directly_issued_by(authority)
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    assert authority.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert leaf.not_valid_before_utc == ISSUED and leaf.not_valid_after_utc == NO_EXPIRY
    assert certificate_chain_key(chain) == owner.public
    assert b"PRIVATE" not in chain


def test_each_chain_has_its_own_authority(owner: KeyPair, chain: bytes) -> None:
    again = owner_certificate_chain(owner.public, issued_at=ISSUED, name="Ada's studio")
    assert x509.load_pem_x509_certificates(again)[1] != x509.load_pem_x509_certificates(chain)[1]
    leaf = x509.load_pem_x509_certificates(again)[0]
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Ada's studio"


@pytest.mark.parametrize(
    ("name", "issued_at"),
    [("", ISSUED), ("x" * 65, ISSUED), (None, NO_EXPIRY), (None, datetime(2026, 1, 1))],
)
def test_bad_certificate_requests_are_refused(name: str | None, issued_at: datetime) -> None:
    with pytest.raises(InputError):
        owner_certificate_chain(PublicKey(bytes(32)), issued_at=issued_at, name=name)


def test_chain_key_refuses_what_is_not_an_ed25519_chain() -> None:
    with pytest.raises(InputError, match="not a PEM"):
        certificate_chain_key(b"not a certificate")

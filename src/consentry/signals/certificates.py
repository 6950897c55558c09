"""The X.509 certificate chain a C2PA manifest needs, made for an owner's Ed25519 key.

C2PA signs a claim with COSE and carries the signer's certificate chain in it
(C2PA Technical Specification 2.1, §14 "Trust Model", X.509 Certificates); consentry's owners
hold bare Ed25519 keys. ``owner_certificate_chain`` makes the two-certificate chain
the c2pa library accepts for such a key:

- an end-entity certificate for the owner's public key: X.509 v3, ``basicConstraints``
  cA false, ``keyUsage`` digitalSignature marked critical, ``extendedKeyUsage``
  id-kp-emailProtection, with subject and authority key identifiers (the certificate
  profile of §14: a claim signer's certificate asserts digitalSignature in a critical
  key usage and carries a non-empty EKU without anyExtendedKeyUsage, by default
  emailProtection or documentSigning);
- the certificate of a one-time issuing authority that signed it.

Why a chain and not one certificate: c2pa refuses a self-signed end-entity certificate
and a CA certificate as the signer's (contentauth/c2pa-rs issues 192 and 1474; tried
here with c2pa-python 0.38, both fail with "the certificate is invalid"). It also
refused id-kp-documentSigning (RFC 9336) as the only EKU when it verified the signed
claim, so emailProtection is the one used.

The authority's key is generated for the chain and dropped when the chain is made:
it signs the one end-entity certificate and nothing else, and is never stored. The
chain vouches for nothing beyond "this key signed"; no trust list holds the authority,
so a reader reports the signer as not on a trust list. Who the owner is, consentry
learns from the public key in the end-entity certificate, the owner's registered key.
The owner's private key is not used here at all: only the public key goes into the
certificate; c2pa asks the owner's ``Signer`` for the claim signature.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from consentry.crypto import PublicKey
from consentry.errors import InputError

__all__ = ["NO_EXPIRY", "certificate_chain_key", "owner_certificate_chain"]

NO_EXPIRY = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
"""RFC 5280 §4.1.2.5: "To indicate that a certificate has no well-defined expiration
date, the notAfter SHOULD be assigned the GeneralizedTime value of 99991231235959Z."
An owner's key is withdrawn through the registry, not by certificate expiry; and a C2PA
validator without a trusted time-stamp checks the certificate against the time it reads,
so an expiring certificate would turn every image the owner marked into an invalid
manifest the day it expired."""

_ORGANISATION = "consentry"
_RAW = serialization.Encoding.Raw
_RAW_PUBLIC = serialization.PublicFormat.Raw
_PEM = serialization.Encoding.PEM


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANISATION),
        ]
    )


def _key_usage(*, signs_claims: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signs_claims,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signs_claims,
        crl_sign=not signs_claims,
        encipher_only=False,
        decipher_only=False,
    )


def owner_certificate_chain(
    public: PublicKey,
    *,
    issued_at: datetime,
    name: str | None = None,
    not_after: datetime = NO_EXPIRY,
) -> bytes:
    """The PEM certificate chain (end entity first, then its issuer) c2pa needs to sign
    a manifest with the owner key ``public``.

    ``name`` becomes the end-entity certificate's common name, which readers show as
    the signer (default ``consentry owner <key id>``); ``issued_at`` starts its validity
    and ``not_after`` ends it. Raises ``InputError`` when the name is empty or over 64
    characters (RFC 5280's upper bound for a common name) or the validity is empty."""
    common_name = name if name is not None else f"consentry owner {public.key_id}"
    if not 0 < len(common_name) <= 64:
        raise InputError(f"certificate name must be 1 to 64 characters, got {len(common_name)}")
    if issued_at.tzinfo is None or not_after <= issued_at:
        raise InputError(
            "certificate validity must start at an aware time before it ends, got "
            f"{issued_at.isoformat()} to {not_after.isoformat()}"
        )
    owner_key = Ed25519PublicKey.from_public_bytes(public.raw)
    # One-time issuing authority: its private key lives only in this call.
    authority = Ed25519PrivateKey.generate()
    authority_name = _name(f"consentry issuer for {public.key_id}")
    authority_certificate = (
        x509.CertificateBuilder()
        .subject_name(authority_name)
        .issuer_name(authority_name)
        .public_key(authority.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(issued_at)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signs_claims=False), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(authority.public_key()), critical=False
        )
        .sign(authority, None)  # Ed25519 takes no separate hash algorithm
    )
    owner_certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(authority_name)
        .public_key(owner_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(issued_at)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signs_claims=True), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(owner_key), critical=False)
        .add_extension(
            # RFC 5280 §4.2.1.1: required in every certificate that is not self-signed,
            # and c2pa checks for it.
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.public_key()),
            critical=False,
        )
        .sign(authority, None)
    )
    return owner_certificate.public_bytes(_PEM) + authority_certificate.public_bytes(_PEM)


def certificate_chain_key(chain: bytes) -> PublicKey:
    """The Ed25519 public key of the first (end-entity) certificate of a PEM ``chain``.

    Raises ``InputError`` when ``chain`` holds no PEM certificate or its first
    certificate is not for an Ed25519 key."""
    try:
        certificates = x509.load_pem_x509_certificates(chain)
    except ValueError as exc:
        raise InputError("certificate chain is not a PEM certificate chain") from exc
    key = certificates[0].public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(
            f"certificate chain is for a {type(key).__name__}, not an Ed25519 owner key"
        )
    return PublicKey(key.public_bytes(_RAW, _RAW_PUBLIC))

"""Keys, canonical JSON (RFC 8785) and Ed25519 signatures over it."""

from consentry.crypto.canonical import canonical_json, parse_json_object
from consentry.crypto.keys import KeyPair, PublicKey
from consentry.crypto.keystore import FileKeyStore, KeyStore
from consentry.crypto.signer import Signer
from consentry.crypto.signing import SignedEnvelope, sign_document, verify_document

__all__ = [
    "FileKeyStore",
    "KeyPair",
    "KeyStore",
    "PublicKey",
    "SignedEnvelope",
    "Signer",
    "canonical_json",
    "parse_json_object",
    "sign_document",
    "verify_document",
]

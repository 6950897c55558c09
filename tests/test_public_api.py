"""Each package's public surface is exactly what its __all__ names, and all of it exists."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = {
    "consentry": {"ConsentryError", "__version__"},
    "consentry.crypto": {
        "FileKeyStore",
        "KeyPair",
        "KeyStore",
        "PublicKey",
        "SignedEnvelope",
        "canonical_json",
        "parse_json_object",
        "sign_document",
        "verify_document",
    },
    "consentry.fingerprint": {
        "CodeLanguage",
        "ContentFingerprint",
        "ContentKind",
        "ExcerptFingerprints",
        "FingerprintParams",
        "ImageFingerprint",
        "ImageQuery",
        "MinHashParams",
        "MinHashSignature",
        "StreamPrints",
        "TextView",
        "WinnowParams",
        "canonical_tokens",
        "code_language",
        "code_views",
        "declared_spdx",
        "detect_kind",
        "excerpt_fingerprints",
        "fingerprint_bytes",
        "fingerprint_text",
        "image_fingerprint",
        "image_query",
        "language_for",
        "minhash_signatures",
        "normalize_text",
        "shingle_hashes",
        "strip_comments",
        "text_digest",
        "text_prints",
        "text_prints_many",
        "winnow",
    },
    "consentry.terms": {
        "DEFAULT_TERMS",
        "VOCABULARY",
        "Basis",
        "Category",
        "Conditions",
        "Label",
        "Permission",
        "Permit",
        "Price",
        "PriceUnit",
        "Terms",
        "UseDecision",
        "category_for_label",
        "may_use",
        "resolve_terms",
        "terms_schema",
    },
    "consentry.gate": {
        "DEFAULT_OPEN_LICENCES",
        "BasisKind",
        "ConsentOracle",
        "Decision",
        "Gate",
        "GateMode",
        "GatePolicy",
        "Item",
        "Outcome",
        "Reason",
        "RegistryConsent",
        "UseBasis",
        "item_from_mapping",
        "read_corpus",
        "read_dataset",
        "read_folder",
        "read_jsonl",
        "read_parquet",
        "read_warc",
        "reservation_signal",
    },
    "consentry.index": {
        "BloomFilter",
        "IndexedWork",
        "Match",
        "MatchIndex",
        "MatchKind",
        "MatchParams",
    },
    "consentry.log": {
        "Checkpoint",
        "Cosignature",
        "MerkleTree",
        "NoteVerifier",
        "WitnessKey",
        "WitnessPolicy",
        "cosign",
        "cosignatures",
        "open_checkpoint",
        "open_note",
        "sign_checkpoint",
        "sign_note",
        "leaf_hash",
        "node_hash",
        "root_from_leaf_hashes",
        "verify_consistency",
        "verify_inclusion",
    },
    "consentry.check": {
        "CheckReport",
        "Checker",
        "Finding",
        "Lookup",
        "NoticeSource",
        "RegistryNotices",
        "Sketch",
        "Verdict",
        "WorkNotice",
        "notices_for",
        "verdict_for",
    },
    "consentry.witness": {
        "CosignedState",
        "Witness",
        "WitnessEndpoint",
        "WitnessReply",
        "WitnessRequest",
        "WitnessServer",
        "WitnessState",
        "request_cosignature",
        "running",
    },
    "consentry.store": {
        "Base",
        "current_revision",
        "head_revision",
        "migrate",
        "open_engine",
        "session_factory",
    },
}


@pytest.mark.parametrize(("module", "expected"), PACKAGES.items())
def test_public_names(module: str, expected: set[str]) -> None:
    imported = importlib.import_module(module)
    assert set(imported.__all__) == expected
    for name in imported.__all__:
        assert hasattr(imported, name), f"{module}.{name} is exported but missing"


def test_registry_exports_resolve() -> None:
    registry = importlib.import_module("consentry.registry")
    assert "Registry" in registry.__all__
    for name in registry.__all__:
        assert hasattr(registry, name)

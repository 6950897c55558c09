"""Pure fingerprints of text, code and images. No I/O, no database."""

from consentry.fingerprint.code import canonical_tokens, code_views, strip_comments
from consentry.fingerprint.content import (
    ContentFingerprint,
    FingerprintParams,
    StreamPrints,
    TextView,
    code_language,
    fingerprint_bytes,
    fingerprint_text,
    text_digest,
    text_prints,
    text_prints_many,
)
from consentry.fingerprint.detect import ContentKind, declared_spdx, detect_kind
from consentry.fingerprint.image import ImageFingerprint, ImageQuery, image_fingerprint, image_query
from consentry.fingerprint.languages import CodeLanguage, language_for
from consentry.fingerprint.minhash import (
    MinHashParams,
    MinHashSignature,
    minhash_signatures,
    shingle_hashes,
)
from consentry.fingerprint.normalize import normalize_text
from consentry.fingerprint.winnow import (
    ExcerptFingerprints,
    WinnowParams,
    excerpt_fingerprints,
    winnow,
)

__all__ = [
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
]

"""RSL 1.0's vocabularies (RSL-SPEC-1.0, https://rslstandard.org/rsl, §3.4.1 and §3.7)
in consentry's categories and price units, shared by the reader (``rsl``) and the
writer (``_rsl_write``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from types import MappingProxyType

from consentry.terms import Category, PriceUnit

__all__ = [
    "GEO",
    "MAX_DOCUMENT_BYTES",
    "PAYMENT_TYPES",
    "PAYMENT_UNITS",
    "RSL_CATEGORIES",
    "RSL_NS",
    "TOUCHES",
    "TRAINING",
    "USAGE",
    "USERS",
    "ordered",
]

RSL_NS = "https://rslstandard.org/rsl"
MAX_DOCUMENT_BYTES = 8 << 20

TRAINING = frozenset({Category.TRAIN_AI, Category.TRAIN_OTHER})
RSL_CATEGORIES = frozenset({*TRAINING, Category.AI_INPUT, Category.SEARCH, Category.DATA_MINING})
"""What RSL's usage vocabulary reaches; consentry's publish-output is none of its uses."""

# §3.4.1 usage vocabulary: all (any automated processing, AI and search included);
# ai-all (any AI use); ai-train (training or fine-tuning AI models, of any kind);
# ai-input (RAG, grounding, generative summaries at inference time); ai-index (an AI
# system's retrieval index, one part of AI input); search (hyperlinks and excerpts,
# no AI summaries). The usage type takes in AI-preferences labels (§3.4.1), and RSL's
# own guides write train-ai for "AI training": draft-ietf-aipref-vocab-07 §6.1 scopes it
# to generative training, the guides to all of it. A permit of it grants generative
# training only, a prohibition denies both (the safe reading of each).
USAGE = MappingProxyType(
    {
        "all": RSL_CATEGORIES,
        "ai-all": frozenset({*TRAINING, Category.AI_INPUT}),
        "ai-train": TRAINING,
        "ai-input": frozenset({Category.AI_INPUT}),
        "ai-index": frozenset(),
        "search": frozenset({Category.SEARCH}),
        "train-ai": frozenset({Category.TRAIN_AI}),
    }
)
"""The categories each usage value covers wholly; a permit grants those."""
TOUCHES = MappingProxyType(
    {"ai-index": frozenset({Category.AI_INPUT}), "train-ai": frozenset({Category.TRAIN_OTHER})}
)
"""Values that reach a category only in part, or arguably: a prohibition denies it, a
permit does not grant it."""

USERS = frozenset({"commercial", "non-commercial", "education", "government", "personal"})
GEO = re.compile(r"[A-Z]{2}")  # §3.4.1: ISO 3166-1 alpha-2 (Appendix A adds EU)
# §3.7: the payment types. Only training has a consentry unit.
PAYMENT_TYPES = frozenset(
    {"purchase", "subscription", "training", "crawl", "use", "contribution", "attribution", "free"}
)
PAYMENT_UNITS = MappingProxyType({"training": PriceUnit.WORK})


def ordered(categories: Iterable[Category]) -> list[Category]:
    """``categories`` in ``Category`` order, each once."""
    return sorted(set(categories), key=list(Category).index)

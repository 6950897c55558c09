"""Each terms category in the outside vocabularies (DESIGN.md §5.4).

One set of terms is read from and written to all of them: the IETF AI-preferences
vocabulary (draft-ietf-aipref-vocab, -07 labels), CAWG training-and-data-mining
assertions, Cloudflare's Content-Signal, IPTC PLUS data-mining values and TDMRep.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from consentry.terms.model import Category

__all__ = ["OUTDATED_AIPREF_LABELS", "VOCABULARY", "Label", "category_for_label"]


@dataclass(frozen=True, slots=True)
class Label:
    aipref: str | None
    cawg: str | None
    content_signal: str | None
    iptc: str | None
    tdmrep: str | None


VOCABULARY = MappingProxyType(
    {
        Category.TRAIN_AI: Label(
            "train-ai",
            "cawg.ai_generative_training",
            "ai-train",
            "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-GENAIMLTRAINING",
            None,
        ),
        Category.TRAIN_OTHER: Label(
            None,
            "cawg.ai_training",
            None,
            "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING",
            None,
        ),
        Category.AI_INPUT: Label(None, "cawg.ai_inference", "ai-input", None, None),
        Category.SEARCH: Label("search", None, "search", None, None),
        Category.DATA_MINING: Label(None, "cawg.data_mining", None, None, "tdm-reservation"),
        Category.PUBLISH_OUTPUT: Label(None, None, None, None, None),
    }
)

# Earlier drafts of the AI-preferences vocabulary used these labels for one category
# each; they are read and reported as outdated. Older labels that name several
# categories at once (vocab-01's tdm, -02's all, -03's bots) have no one category:
# ``consentry.signals.aipref.AIPREF_LABELS`` reads every label with all it names.
OUTDATED_AIPREF_LABELS = MappingProxyType(
    {
        "genai": Category.TRAIN_AI,  # draft-ietf-aipref-vocab-01
        "inference": Category.AI_INPUT,  # -01
        "train-genai": Category.TRAIN_AI,  # -02 and -03
        "ai-use": Category.AI_INPUT,  # -02
    }
)


def category_for_label(label: str) -> tuple[Category | None, bool]:
    """The category an outside label names, and whether the label is outdated."""
    lowered = label.strip().lower()
    if lowered in OUTDATED_AIPREF_LABELS:
        return OUTDATED_AIPREF_LABELS[lowered], True
    for category in Category:
        if lowered == category.value:
            return category, False
        names = VOCABULARY[category]
        if lowered in {
            (names.aipref or "").lower(),
            (names.cawg or "").lower(),
            (names.content_signal or "").lower(),
            (names.tdmrep or "").lower(),
        } - {""}:
            return category, False
    return None, False

"""What the registry's objects say, in the words the pages use for them (one place, so
that a creator and a lab read a use or a scope the same way)."""

from __future__ import annotations

from collections.abc import Iterable

from consentry.registry import Scope, ScopeKind
from consentry.terms import Category

__all__ = ["USES", "purposes_words", "scope_words"]

USES = {
    Category.TRAIN_AI: "training generative AI",
    Category.TRAIN_OTHER: "training other AI models",
    Category.AI_INPUT: "input to AI as it answers",
    Category.SEARCH: "search indexing",
    Category.DATA_MINING: "other text and data mining",
    Category.PUBLISH_OUTPUT: "publishing AI output that copies it",
}


def purposes_words(purposes: Iterable[Category]) -> str:
    """``{train-ai, search}`` as "training generative AI, search indexing"."""
    chosen = set(purposes)
    return ", ".join(USES[c] for c in Category if c in chosen)


def scope_words(scope: Scope, *, yours: bool = True) -> str:
    """What a licence covers, as its owner (``yours``) or anyone else reads it."""
    match scope.kind:
        case ScopeKind.OWNER:
            return "all your works" if yours else "all the owner's works"
        case ScopeKind.COLLECTION:
            return f"the collection {scope.ids[0]}"
        case ScopeKind.WORKS:
            count = len(scope.ids)
            return f"{count:,} of your works" if yours else f"{count:,} works"

"""The terms model: categories, prices, conditions, inheritance and ``may_use``."""

from consentry.terms.evaluate import Basis, Permit, UseDecision, may_use
from consentry.terms.model import (
    DEFAULT_TERMS,
    Category,
    Conditions,
    Permission,
    Price,
    PriceUnit,
    Terms,
    resolve_terms,
    terms_schema,
)
from consentry.terms.vocabulary import VOCABULARY, Label, category_for_label

__all__ = [
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
]

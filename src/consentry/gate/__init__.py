"""The ingestion gate: readers, consent decisions per item, and the ``Gate`` API."""

from consentry.gate.consent import ConsentOracle, RegistryConsent
from consentry.gate.decision import BasisKind, Decision, Outcome, Reason, UseBasis
from consentry.gate.gate import Gate
from consentry.gate.item import Item, item_from_mapping
from consentry.gate.policy import DEFAULT_OPEN_LICENCES, GateMode, GatePolicy
from consentry.gate.readers import (
    read_corpus,
    read_dataset,
    read_folder,
    read_jsonl,
    read_parquet,
    read_warc,
)
from consentry.gate.reservations import SiteSignals, item_reservation

__all__ = [
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
    "SiteSignals",
    "UseBasis",
    "item_from_mapping",
    "item_reservation",
    "read_corpus",
    "read_dataset",
    "read_folder",
    "read_jsonl",
    "read_parquet",
    "read_warc",
]

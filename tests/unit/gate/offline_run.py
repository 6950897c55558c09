"""A gate run with no registry, for tests of how runs read, chunk, stop and resume:
nothing is registered and no one holds a grant, so every readable item is rejected as
unregistered and every unreadable one as unreadable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from consentry.crypto import KeyPair
from consentry.gate import Gate, GateMode
from consentry.gate.run import RunSettings, run_gate
from consentry.index import MatchIndex
from consentry.terms import Category
from tests.unit.gate.test_spans_and_royalties import Consent

KEY = KeyPair.generate()
_RUN_OPTIONS = ("on_progress", "chunk_bytes", "record_manifest")


def settings(corpus: Path, out: Path, **options: Any) -> RunSettings:
    """``RunSettings`` for a test licensee training AI, consent-only."""
    return RunSettings(corpus, out, "lic_test", Category.TRAIN_AI, GateMode.CONSENT_ONLY, **options)


def unregistered_gate(at: object) -> Gate:
    """The gate of a registry holding nothing."""
    return Gate(index=MatchIndex.build([]), consent=Consent(set()))


def no_record(body: dict[str, Any], signature: str) -> None:
    """A manifest recorded nowhere."""


def run_offline(corpus: Path, out: Path, **options: Any) -> dict[str, Any]:
    """``run_gate`` over ``corpus`` into ``out``; ``options``: ``RunSettings``' and
    ``run_gate``'s own (``on_progress``, ``chunk_bytes``, ``record_manifest``)."""
    extra: dict[str, Any] = {"record_manifest": no_record}
    extra.update({k: options.pop(k) for k in _RUN_OPTIONS if k in options})
    record: Callable[[dict[str, Any], str], None] = extra.pop("record_manifest")
    return run_gate(
        settings(corpus, out, **options),
        gate_for=unregistered_gate,
        key=KEY,
        index_digest="0" * 64,
        record_manifest=record,
        **extra,
    )

"""The gate as a datatrove pipeline step, for dataset builders who already run one.

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from consentry.pipeline.datatrove import ConsentGate

    LocalPipelineExecutor(
        pipeline=[
            JsonlReader("crawl/"),
            ConsentGate(licensee="lic_...", purpose="train-ai", output_folder="gate/crawl"),
            JsonlWriter("admitted/"),
        ],
        tasks=8,
    ).run()

Only admitted documents go on, each with its decision in ``metadata["consentry"]``.
Every rank is a gate run of its own in ``output_folder/rank-NNNNN``: ``rejected.jsonl``
with each reason, ``admitted.jsonl`` with each decision (not the content, which the
pipeline carries), a manifest signed by the licensee and recorded in the registry,
``royalties.csv`` and ``summary.json``. A rank that datatrove runs again after a crash
starts its run afresh (nothing was recorded for it), because the pipeline feeds it the
whole shard again.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from datatrove.data import Document
from datatrove.pipeline.base import PipelineStep

from consentry.app import Workspace, plan_gate
from consentry.errors import InputError
from consentry.gate import DEFAULT_OPEN_LICENCES, GateMode, GatePolicy, item_from_mapping
from consentry.gate.gate import CHUNK
from consentry.gate.item import CHUNK_BYTES, chunked
from consentry.settings import Settings
from consentry.terms import Category

__all__ = ["ConsentGate"]


class ConsentGate(PipelineStep):  # type: ignore[misc]  # datatrove ships no types
    """Admit only documents whose owners agreed; record each rank's run.

    Holds only its configuration, so datatrove can send it to worker processes; the
    registry, key and index are opened in ``run``. ``home``, ``database_url`` and
    ``keys`` (the licensee's key folder) default to ``CONSENTRY_HOME``,
    ``CONSENTRY_DATABASE_URL`` and ``CONSENTRY_KEYS``, as for the CLI.
    """

    name = "consentry gate"
    type = "🛂 - CONSENT"

    def __init__(
        self,
        *,
        licensee: str,
        purpose: str,
        output_folder: str | Path,
        mode: str = "consent-only",
        open_licences: frozenset[str] = DEFAULT_OPEN_LICENCES,
        own_sources: frozenset[str] = frozenset(),
        home: str | Path | None = None,
        database_url: str | None = None,
        keys: str | Path | None = None,
        checkpoint_every: int = 1000,
        min_span: int = 200,
    ) -> None:
        super().__init__()
        if min_span < 1:
            raise InputError(f"min_span {min_span} must be a positive number of characters")
        # The one evidence rule of the gate and the check, in normalised characters.
        self.min_span = min_span
        self.licensee = licensee
        try:
            self.purpose = Category(purpose).value
        except ValueError:
            names = ", ".join(c.value for c in Category)
            raise InputError(
                f"purpose {purpose!r} is not a use category; use one of {names}"
            ) from None
        try:
            self.mode = GateMode(mode).value
        except ValueError:
            raise InputError(f"mode {mode!r} is not consent-only or opt-out") from None
        self.open_licences = frozenset(open_licences)
        self.own_sources = frozenset(own_sources)
        self.output_folder = Path(output_folder)
        self.home = None if home is None else Path(home)
        self.database_url = database_url
        self.keys = None if keys is None else Path(keys)
        self.checkpoint_every = checkpoint_every

    def _settings(self) -> Settings:
        found = Settings.from_env()
        home = self.home or found.home
        url = self.database_url or (
            found.database_url if self.home is None else f"sqlite:///{home / 'registry.db'}"
        )
        return Settings(home=home, database_url=url, keys_dir=self.keys or found.keys_dir)

    def run(
        self, data: Iterator[Document], rank: int = 0, world_size: int = 1
    ) -> Iterator[Document]:
        with Workspace(self._settings()) as ws:
            # Ranks run side by side: none writes the shared index folder (``consentry
            # gate run`` keeps it saved).
            plan = plan_gate(
                ws,
                licensee_id=self.licensee,
                purpose=Category(self.purpose),
                policy=GatePolicy(
                    mode=GateMode(self.mode),
                    open_licences=self.open_licences,
                    own_sources=self.own_sources,
                ),
                save_index=False,
                min_span=self.min_span,
            )
            out = self.output_folder / f"rank-{rank:05d}"
            if out.exists() and not (out / "manifest.json").exists():
                # An unfinished run recorded nothing; the pipeline replays the shard.
                shutil.rmtree(out)
            run = plan.open_run(
                plan.settings(
                    f"datatrove:{self.output_folder.resolve()}#rank-{rank}/{world_size}",
                    out,
                    checkpoint_every=self.checkpoint_every,
                    admitted_content=False,
                )
            )
            try:
                # A chunk of documents at a time, as a run decides: looked up together,
                # their consent read together.
                for chunk in chunked(
                    data, held=_text_bytes, max_items=CHUNK, max_bytes=CHUNK_BYTES
                ):
                    with self.track_time(unit="batch"):
                        decisions = run.decide_chunk(
                            [item_from_mapping(_record(d), source="datatrove") for d in chunk]
                        )
                    for document, decision in zip(chunk, decisions, strict=True):
                        self.stat_update("admitted" if decision.admitted else "rejected")
                        if decision.admitted:
                            document.metadata["consentry"] = decision.to_json()
                            yield document
                        else:
                            self.stat_update(*(f"rejected_{r.match}" for r in decision.reasons))
            except BaseException:
                run.close()
                raise
            run.finish()


def _text_bytes(document: Document) -> int:
    """What a document holds, for bounding a chunk: its text."""
    return len(document.text or "")


def _record(document: Document) -> dict[str, Any]:
    return {"id": document.id, "text": document.text, "metadata": document.metadata}

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
The whole job is one gate run, decided in parts: the first rank to start records the
run's start (``output_folder/run.json`` names it), every rank decides its shard into
``output_folder/rank-NNNNN`` as of that moment, and the last rank to finish merges the
parts into ``output_folder``: ``rejected.jsonl`` with each reason, ``admitted.jsonl``
with each decision (not the content, which the pipeline carries), one manifest signed
by the licensee and recorded in the registry (one Merkle root over every item, rank by
rank), ``royalties.csv`` and ``summary.json``. A rank that datatrove runs again after a
crash decides its part afresh, because the pipeline feeds it the whole shard again.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from datatrove.data import Document
from datatrove.pipeline.base import PipelineStep

from consentry.app import Workspace, plan_gate
from consentry.app.gating import PlannedGate
from consentry.errors import InputError
from consentry.gate import DEFAULT_OPEN_LICENCES, GateMode, GatePolicy, item_from_mapping
from consentry.gate.gate import CHUNK
from consentry.gate.item import CHUNK_BYTES, chunked
from consentry.gate.parts import part_is_done
from consentry.ids import IdKind, new_id
from consentry.settings import Settings
from consentry.terms import Category

__all__ = ["ConsentGate"]

# How long a rank waits for the first rank to record the run's start.
_RUN_WAIT_S = 120


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
            folder = self.output_folder
            if (folder / "manifest.json").exists():
                raise InputError(
                    f"{folder} holds a finished gate run; give the step another output_folder"
                )
            run_id = _run_of(plan, folder, world_size)
            out = folder / f"rank-{rank:05d}"
            if out.exists():
                # An unfinished part recorded nothing; the pipeline replays the shard.
                shutil.rmtree(out)
            run = plan.open_run(
                plan.settings(
                    f"datatrove:{folder.resolve()}#rank-{rank}/{world_size}",
                    out,
                    checkpoint_every=self.checkpoint_every,
                    admitted_content=False,
                    run_id=run_id,
                ),
                started=True,
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
            run.finish_part()
            parts = [folder / f"rank-{r:05d}" for r in range(world_size)]
            if all(part_is_done(p) for p in parts) and _claimed(folder / ".merge-claim"):
                try:
                    plan.merge(
                        parts,
                        plan.settings(
                            f"datatrove:{folder.resolve()}",
                            folder,
                            admitted_content=False,
                            run_id=run_id,
                        ),
                    )
                except BaseException:
                    # Another attempt (this rank run again, or consentry gate merge) may.
                    (folder / ".merge-claim").unlink(missing_ok=True)
                    raise


def _claimed(path: Path) -> bool:
    """Whether this process is the first to create ``path`` (exclusive creation)."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def _run_of(plan: PlannedGate, folder: Path, parts: int) -> str:
    """The job's run id: started on the registry by the first rank to claim it, and
    named in ``folder/run.json`` (with the number of ``parts``, so ``consentry gate
    merge`` knows them all), which the other ranks wait for."""
    folder.mkdir(parents=True, exist_ok=True)
    named = folder / "run.json"
    if _claimed(folder / ".run-claim"):
        run_id = new_id(IdKind.RUN)
        plan.start(run_id)
        partial = folder / ".run.json.partial"
        partial.write_text(json.dumps({"run_id": run_id, "parts": parts}))
        partial.replace(named)
        return run_id
    deadline = time.monotonic() + _RUN_WAIT_S
    while not named.exists():
        if time.monotonic() > deadline:
            raise InputError(
                f"no rank named the run in {named} within {_RUN_WAIT_S} s; if an earlier job "
                f"stopped before naming it, delete {folder / '.run-claim'} and run again"
            )
        time.sleep(0.05)
    return str(json.loads(named.read_text())["run_id"])


def _text_bytes(document: Document) -> int:
    """What a document holds, for bounding a chunk: its text."""
    return len(document.text or "")


def _record(document: Document) -> dict[str, Any]:
    return {"id": document.id, "text": document.text, "metadata": document.metadata}

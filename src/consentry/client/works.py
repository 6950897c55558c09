"""Works and terms on a served registry: the same services the application layer calls
locally, each call carried over HTTP. Files are fingerprinted on this machine and only
their fingerprints are sent, a batch a request (one transaction on the registry), so an
interrupted registration keeps every batch the registry answered for."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from consentry.client.http import RegistryClient, cursor_for
from consentry.crypto import Signer
from consentry.errors import ConfigurationError, VerificationError
from consentry.registry import (
    Collection,
    EffectiveTerms,
    EventKind,
    FileFingerprint,
    Registration,
    TargetKind,
    TermsLayer,
    Work,
)
from consentry.registry.terms_service import TermsService
from consentry.registry.works import SEGMENT_WORKS, Works
from consentry.terms import Terms

if TYPE_CHECKING:
    from consentry.index import MatchIndex

__all__ = ["BATCH_BYTES", "BATCH_FILES", "RemoteTerms", "RemoteWorks", "upload_batches"]

# The registry's batch (``consentry.app.remote_works.MAX_BATCH``), and a body well
# under the service's default limit of 32 MiB (a large file's excerpts run to MBs).
BATCH_FILES = 500
BATCH_BYTES = 8 * 1024 * 1024
_REGISTERING = frozenset({EventKind.WORK_REGISTERED, EventKind.DISPUTE_OPENED})


def _segment(text: str) -> str:
    """``text`` as one path segment: a name may hold '/', '?' or be '..'."""
    return quote(text, safe="").replace(".", "%2E")


def upload_batches(files: Iterable[FileFingerprint]) -> Iterator[list[dict[str, Any]]]:
    """The files as the registry takes them (``FileFingerprint.to_json``), in batches
    of at most ``BATCH_FILES`` files and, past the first file, ``BATCH_BYTES`` of JSON."""
    batch: list[dict[str, Any]] = []
    size = 0
    for item in files:
        sent = item.to_json()
        weight = len(json.dumps(sent, separators=(",", ":")))
        if batch and (len(batch) == BATCH_FILES or size + weight > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(sent)
        size += weight
    if batch:
        yield batch


def _collection(data: Mapping[str, Any]) -> Collection:
    return Collection(str(data["id"]), str(data["owner_id"]), str(data["name"]))


class RemoteWorks(Works):
    def __init__(self, client: RegistryClient) -> None:
        self._client = client

    def collection(self, owner_id: str, name: str, signer: Signer) -> Collection:
        made = self._client.change(
            "POST",
            "/v1/collections",
            {"name": name},
            signer=signer,
            party_id=owner_id,
            events=frozenset({EventKind.COLLECTION_CREATED}),
        )
        return _collection(made)

    def find_collection(self, owner_id: str, reference: str) -> Collection:
        found = self._client.get(
            f"/v1/collections/{_segment(reference)}", params={"owner": owner_id}
        )
        return _collection(found)

    def register(
        self,
        owner_id: str,
        signer: Signer,
        files: Iterable[FileFingerprint],
        *,
        collection: str | None = None,
    ) -> Iterator[Registration]:
        """As ``Works.register``: one ``Registration`` per file, in order, yielded as
        each batch commits on the registry (one request, one transaction)."""
        # The collection first, in a change of its own, as the local registry makes it.
        collection_id = self.collection(owner_id, collection, signer).id if collection else None
        for batch in upload_batches(files):
            # A work is signed only as the owner's, for a file of this batch as uploaded.
            sent = {(item["path"], item["fingerprint"]["digest"]) for item in batch}

            def uploaded(work: dict[str, Any], sent: set[tuple[str, str]] = sent) -> bool:
                placed = work.get("owner") == owner_id and work.get("collection") == collection_id
                return placed and (work.get("path"), work.get("digest")) in sent

            made = self._client.change(
                "POST",
                "/v1/works",
                {"collection": collection_id, "files": batch},
                signer=signer,
                party_id=owner_id,
                events=_REGISTERING,
                documents={"work": uploaded},
            )
            answered = [Registration.from_json(item) for item in made["items"]]
            if [r.path for r in answered] != [item["path"] for item in batch]:
                raise VerificationError(
                    f"the registry at {self._client.base_url} answered a batch of "
                    f"{len(batch)} files with {len(answered)} other registrations; the "
                    "batch is saved there as it answered: list your works to see them"
                )
            yield from answered

    def get(self, work_id: str) -> Work:
        return Work.from_json(self._client.get(f"/v1/works/{_segment(work_id)}"))

    def all(
        self, *, owner_id: str | None = None, limit: int | None = None, after: str | None = None
    ) -> list[Work]:
        params: dict[str, Any] = {} if owner_id is None else {"owner": owner_id}
        if after is not None:
            params["cursor"] = cursor_for(after)
        if limit is not None:
            params["limit"] = min(limit, 1000)
        listed = self._client.pages("/v1/works", params=params)
        return [Work.from_json(item) for item in islice(listed, limit)]

    def refresh_index(self, index: MatchIndex, *, segment_works: int = SEGMENT_WORKS) -> int:
        raise ConfigurationError(
            f"the registry at {self._client.base_url} does not send works' fingerprints, "
            "which a match index is built from; run this where the registry's database is "
            "(without CONSENTRY_REGISTRY), or check against its sketch (--sketch)"
        )


def _layer(data: Mapping[str, Any], target: str, source: str) -> TermsLayer:
    terms = Terms.from_json(data["terms"], source=source)
    return TermsLayer(TargetKind(data["kind"]), str(data[target]), int(data["version"]), terms)


class RemoteTerms(TermsService):
    def __init__(self, client: RegistryClient) -> None:
        self._client = client

    def set(self, target_id: str, owner_id: str, signer: Signer, terms: Terms) -> TermsLayer:
        made = self._client.change(
            "PUT",
            f"/v1/terms/{_segment(target_id)}",
            {"terms": terms.to_json()},
            signer=signer,
            party_id=owner_id,
            events=frozenset({EventKind.TERMS_SET}),
            documents={
                "terms": lambda d: (
                    (d.get("owner"), d.get("target"), d.get("terms"))
                    == (owner_id, target_id, terms.to_json())
                )
            },
        )
        return _layer(made, "target", f"the terms the registry set on {target_id}")

    def effective(self, target_id: str) -> EffectiveTerms:
        found = self._client.get(f"/v1/terms/{_segment(target_id)}")
        source = f"the registry's terms of {target_id}"
        layers = tuple(_layer(layer, "id", source) for layer in found["layers"])
        terms = Terms.from_json(found["effective"], source=source)
        return EffectiveTerms(str(found["target"]), terms, layers)

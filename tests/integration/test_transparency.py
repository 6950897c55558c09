"""The registry's events as a transparency log, on a real database: leaves that hide
who, checkpoints signed only when consistent, erasure that keeps the tree, and usage
proofs a creator checks offline."""

from __future__ import annotations

import base64
import threading

import pytest
from sqlalchemy import Engine, select, text

from consentry.clock import format_time
from consentry.crypto import KeyPair, sign_document
from consentry.errors import PermissionDeniedError, VerificationError
from consentry.fingerprint import fingerprint_bytes
from consentry.log import NoteVerifier, open_checkpoint
from consentry.log.bundle import ProofBundle, UsageProof
from consentry.log.leaf import Commitment, Domain, Leaf
from consentry.log.tree import leaf_hash, root_from_leaf_hashes
from consentry.registry import Actor as RegistryActor
from consentry.registry import FileFingerprint, PartyKind, Registry
from consentry.store.models import EventRow, LogSaltRow
from consentry.terms import Category
from tests.conftest import LICENSES, Actor

ORIGIN = "consentry.test/log"
TEXTS = ["GPL-3", "Apache-2.0", "MPL-2.0"]


@pytest.fixture
def log_key() -> KeyPair:
    return KeyPair.generate()


def _verifier(key: KeyPair) -> NoteVerifier:
    return NoteVerifier(ORIGIN, key.public)


def _works(registry: Registry, owner: Actor, names: list[str] = TEXTS) -> list[str]:
    files = [
        FileFingerprint(f"texts/{n}", fingerprint_bytes(n, (LICENSES / n).read_bytes()))
        for n in names
    ]
    return [r.work.id for r in registry.works.register(owner.id, owner.key, files)]


def _manifest(registry: Registry, lab: Actor, run_id: str, listed: list[tuple[str, str]]) -> None:
    # A run starts through the registry, which records its moment.
    started = registry.runs.start(lab.id, lab.key, run_id, Category.TRAIN_AI)
    body = {
        "type": "consentry.training-manifest",
        "version": 1,
        "run_id": run_id,
        "licensee": lab.id,
        "started_at": format_time(started),
        "works": [{"work_id": w, "owner_id": o} for w, o in listed],
    }
    signature = sign_document("training-manifest", body, lab.key).signature_b64
    registry.runs.record_manifest(lab.id, lab.key, body, signature)


def test_every_event_becomes_a_signed_leaf_that_names_no_one(
    registry: Registry, make_owner, make_licensee, log_key: KeyPair, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    owner, lab = make_owner("Ada Lovelace"), make_licensee("Analytical Lab")
    works = _works(registry, owner)
    signed = registry.log.checkpoint(log_key, ORIGIN)
    with engine.connect() as connection:
        events = connection.execute(select(EventRow.seq)).all()
    assert signed.checkpoint.size == len(events) > len(works)
    assert open_checkpoint(signed.note, _verifier(log_key)) == signed.checkpoint
    entries = [data for _, data in registry.log.entries()]
    assert root_from_leaf_hashes([leaf_hash(e) for e in entries]) == signed.checkpoint.root
    for data in entries:
        Leaf.parse(data)
        for secret in (owner.id, lab.id, "Ada Lovelace", "Analytical Lab", *works):
            assert secret.encode() not in data
    assert registry.log.audit(_verifier(log_key)) == {"entries": len(events), "checkpoints": 1}


def test_a_commitment_opens_with_its_salt_and_erasure_keeps_the_tree(
    registry: Registry, make_owner, log_key: KeyPair, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    owner = make_owner()
    (work_id,) = _works(registry, owner, ["GPL-3"])
    before = registry.log.checkpoint(log_key, ORIGIN)
    with engine.connect() as connection:
        salt = connection.execute(
            select(LogSaltRow.salt).where(LogSaltRow.name == f"work:{work_id}")
        ).scalar_one()
    commitment = Commitment(Domain.WORK, bytes(salt), work_id).digest
    subjects = [Leaf.parse(data).subject for _, data in registry.log.entries()]
    assert commitment in subjects
    assert registry.log.erase(owner.id) > 0
    with engine.connect() as connection:
        left = connection.execute(select(LogSaltRow).where(LogSaltRow.party_id == owner.id)).all()
    assert left == []
    after = registry.log.checkpoint(log_key, ORIGIN)
    assert after.checkpoint == before.checkpoint  # same size, same root: nothing rewritten
    registry.log.audit(_verifier(log_key))


def test_the_log_refuses_to_sign_over_a_rewritten_or_truncated_history(
    registry: Registry, make_owner, log_key: KeyPair, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    owner = make_owner()
    _works(registry, owner)
    registry.log.checkpoint(log_key, ORIGIN)
    postgres = engine.dialect.name == "postgresql"
    drop = (
        ["DROP TRIGGER log_entries_append_only ON log_entries"]
        if postgres
        else ["DROP TRIGGER log_entries_no_update", "DROP TRIGGER log_entries_no_delete"]
    )
    with engine.begin() as connection:  # an operator with write access to the database
        for statement in drop:
            connection.execute(text(statement))
        forged = Leaf.parse(
            connection.execute(text("SELECT data FROM log_entries WHERE idx = 1")).scalar_one()
        )
        rewritten = bytes(forged.to_bytes()).replace(b'"version":1', b'"version":2')
        connection.execute(
            text("UPDATE log_entries SET data = :d, leaf_hash = :h WHERE idx = 1"),
            {"d": rewritten, "h": leaf_hash(rewritten)},
        )
    # A signer started after the rewrite (a running one holds the tree it built).
    with pytest.raises(VerificationError, match="no longer extend its checkpoint"):
        Registry(engine).log.checkpoint(log_key, ORIGIN)
    with pytest.raises(VerificationError, match="log entry 1"):
        registry.log.audit(_verifier(log_key))
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM log_entries WHERE idx >= 1"))
        connection.execute(text("UPDATE log_state SET size = 1"))
    with pytest.raises(VerificationError, match="entries were removed"):
        Registry(engine).log.checkpoint(log_key, ORIGIN)


def test_an_inclusion_bundle_verifies_with_only_the_log_key(
    registry: Registry, make_owner, log_key: KeyPair
) -> None:  # type: ignore[no-untyped-def]
    owner = make_owner()
    _works(registry, owner)
    signed = registry.log.checkpoint(log_key, ORIGIN)
    for index in range(signed.checkpoint.size):
        bundle = ProofBundle.parse(registry.log.prove(index, signed).to_text())
        assert bundle.extra is not None
        assert bundle.verify(_verifier(log_key), bundle.extra) == signed.checkpoint
        with pytest.raises(VerificationError):
            bundle.verify(_verifier(KeyPair.generate()), bundle.extra)


def test_a_creator_proves_offline_which_manifests_list_their_work(
    registry: Registry, make_owner, make_licensee, log_key: KeyPair
) -> None:  # type: ignore[no-untyped-def]
    ada, bob, lab = make_owner("Ada"), make_owner("Bob"), make_licensee()
    gpl, apache = _works(registry, ada, ["GPL-3", "Apache-2.0"])
    (mpl,) = _works(registry, bob, ["MPL-2.0"])
    _manifest(registry, lab, "run_one", [(gpl, ada.id), (mpl, bob.id)])
    _manifest(registry, lab, "run_two", [(mpl, bob.id)])
    _manifest(registry, lab, "run_three", [(apache, ada.id), (gpl, ada.id)])
    signed = registry.log.checkpoint(log_key, ORIGIN)
    found = registry.log.usage(ada.actor, signed)
    # Only Ada asks: not the lab, nor anyone showing their own key under her id.
    with pytest.raises(PermissionDeniedError):
        registry.log.usage(lab.actor, signed)
    with pytest.raises(PermissionDeniedError):
        registry.log.usage(RegistryActor(ada.id, PartyKind.OWNER, bob.key.public), signed)
    assert sorted((u.work_id, u.run_id) for u in found) == sorted(
        [(gpl, "run_one"), (gpl, "run_three"), (apache, "run_three")]
    )
    for usage in found:
        proof = UsageProof.parse(usage.proof.to_json())
        leaf, checkpoint = proof.verify(_verifier(log_key))
        assert leaf.event == "manifest.recorded" and checkpoint == signed.checkpoint
    # A proof for one work says nothing about another, and a wrong salt opens nothing.
    proof = UsageProof.parse(found[0].proof.to_json())
    other = UsageProof(mpl, proof.salt, proof.position, proof.path, proof.log_proof)
    with pytest.raises(VerificationError, match="not in this manifest"):
        other.verify(_verifier(log_key))
    forged_salt = UsageProof(proof.work_id, bytes(32), proof.position, proof.path, proof.log_proof)
    with pytest.raises(VerificationError):
        forged_salt.verify(_verifier(log_key))
    # Erasing Bob leaves Ada's proofs intact (the manifest keeps its commitments).
    registry.log.erase(bob.id)
    assert len(registry.log.usage(ada.actor, signed)) == 3
    assert registry.log.usage(bob.actor, signed) == []


def test_a_leaf_signature_binds_the_actor(
    registry: Registry, make_owner, log_key: KeyPair, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    owner = make_owner()
    _works(registry, owner, ["GPL-3"])
    (_, data), *_ = list(registry.log.entries())
    leaf = Leaf.parse(data)
    leaf.verify(owner.key.public)
    with pytest.raises(VerificationError):
        leaf.verify(KeyPair.generate().public)
    tampered = base64.b64encode(bytes(64)).decode()
    assert tampered not in data.decode()


def test_checkpoints_signed_at_once_agree_without_an_error(
    registry: Registry, make_owner, log_key: KeyPair
) -> None:  # type: ignore[no-untyped-def]
    make_owner()
    barrier = threading.Barrier(4)
    signed: list[object] = []
    failed: list[BaseException] = []

    def sign() -> None:
        barrier.wait()
        try:
            signed.append(registry.log.checkpoint(log_key, ORIGIN))
        except BaseException as exc:
            failed.append(exc)

    threads = [threading.Thread(target=sign) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == []
    assert len({s.checkpoint for s in signed}) == 1  # type: ignore[attr-defined]


def test_an_empty_log_signs_once_and_then_grows(
    registry: Registry, make_owner, log_key: KeyPair
) -> None:
    first = registry.log.checkpoint(log_key, ORIGIN)
    assert first.checkpoint.size == 0
    # Asked again before anything happened: the same checkpoint, not a proof from 0 to 0.
    assert registry.log.checkpoint(log_key, ORIGIN) == first
    make_owner()
    grown = registry.log.checkpoint(log_key, ORIGIN)
    assert grown.checkpoint.size == 1
    assert registry.log.checkpoint(log_key, ORIGIN) == grown

"""A change signed in rounds, as a party on another machine signs it: what the registry
asks for, that it commits only once all is signed, and that it never commits behind a
revocation recorded while it was being signed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from consentry import app
from consentry.app.served import (
    ChangeSigning,
    ServedWorkspace,
    SigningProof,
    SigningRequest,
    message_digest,
)
from consentry.errors import StaleSigningError
from consentry.ids import IdKind, new_id
from consentry.registry import Actor, PartyKind, Scope, ScopeKind
from consentry.settings import Settings
from consentry.terms import Category
from tests.conftest import LICENSES


@pytest.fixture
def setting(tmp_path: Path) -> dict[str, Any]:
    settings = Settings(
        home=tmp_path, database_url=f"sqlite:///{tmp_path / 'r.db'}", keys_dir=tmp_path / "k"
    )
    ws = app.Workspace(settings)
    app.init(ws)
    owner = app.create_party(ws, PartyKind.OWNER, "Ada").party.id
    lab = app.create_party(ws, PartyKind.LICENSEE, "Lab").party.id
    works = tmp_path / "works"
    works.mkdir()
    (works / "GPL-3").write_text((LICENSES / "GPL-3").read_text())
    app.register_works(ws, [works], owner_id=owner)
    asked = app.request(
        ws, licensee_id=lab, scope=Scope(ScopeKind.OWNER, (owner,)), purposes=[Category.TRAIN_AI]
    )
    grant = app.grant(ws, asked.id, owner_id=owner)
    return {"ws": ws, "settings": settings, "owner": owner, "lab": lab, "grant": grant.id}


def _rounds(setting: dict[str, Any], run_id: str, between: Any = None) -> Any:
    ws, lab = setting["ws"], setting["lab"]
    key = ws.party_keys.load(lab)
    actor = Actor(lab, PartyKind.LICENSEE, key.public)
    signing = ChangeSigning(b"s" * 32)

    def change(signer: Any) -> Any:
        served = ServedWorkspace(setting["settings"], ws.registry, actor, signer)
        return app.start_run(served, licensee_id=lab, run_id=run_id, purpose=Category.TRAIN_AI)

    proof, signatures, rounds = None, {}, 0
    while True:
        made = signing.run(key=key.public, operation="start-run", intent={"run": run_id},
                           proof=proof, change=change)  # fmt: skip
        rounds += 1
        if not isinstance(made, SigningRequest):
            return made, rounds
        if rounds == 1 and between is not None:
            between()
        signatures.update({message_digest(m): key.sign(m) for m in made.messages})
        proof = SigningProof(made.token, dict(signatures))


def test_a_run_start_commits_once_its_event_and_leaf_are_signed(setting: dict[str, Any]) -> None:
    # No document to sign first: the event and its leaf are final in round one.
    run_id = new_id(IdKind.RUN)
    started, rounds = _rounds(setting, run_id)
    assert rounds == 2
    ws = setting["ws"]
    assert app.run_started(ws, licensee_id=setting["lab"], run_id=run_id) == started


def test_a_run_start_is_never_recorded_behind_a_revocation_made_while_it_was_signed(
    setting: dict[str, Any],
) -> None:
    ws = setting["ws"]

    def revoke() -> None:
        app.revoke(ws, setting["grant"], owner_id=setting["owner"])

    with pytest.raises(StaleSigningError, match="signed anew"):
        _rounds(setting, new_id(IdKind.RUN), between=revoke)

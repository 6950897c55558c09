"""Making a party: a new key pair in this machine's key folder, its public half and a
self-signed event in the registry. The private key never leaves this machine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from consentry.app.workspace import Workspace
from consentry.crypto import KeyPair
from consentry.ids import new_id
from consentry.registry import Party, PartyKind

__all__ = ["CreatedParty", "create_party", "list_parties"]


@dataclass(frozen=True, slots=True)
class CreatedParty:
    party: Party
    key_file: Path

    def to_json(self) -> dict[str, object]:
        return {**self.party.to_json(), "key_file": str(self.key_file)}


def create_party(ws: Workspace, kind: PartyKind, name: str) -> CreatedParty:
    """Register a new owner or licensee named ``name`` with a key pair made here.

    The private key is written first (mode 0600, never replaced), so a party never
    exists without its key; if the registry refuses the party the key file goes."""
    key = KeyPair.generate()
    party_id = new_id(kind.id_kind)
    store = ws.party_keys
    store.save(party_id, key)
    try:
        party = ws.registry.parties.create(kind, name, key, party_id=party_id)
    except BaseException:
        store.path(party_id).unlink(missing_ok=True)
        raise
    return CreatedParty(party, store.path(party_id))


def list_parties(ws: Workspace, kind: PartyKind) -> list[Party]:
    """Every party of ``kind``, oldest first (names and public keys are public)."""
    return ws.registry.parties.all(kind)

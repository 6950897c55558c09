"""Setting and reading terms: the owner signs each layer; anyone reads what is in
force, and where each part of it comes from."""

from __future__ import annotations

from pathlib import Path

from consentry.app.workspace import Workspace
from consentry.crypto import parse_json_object
from consentry.errors import InputError
from consentry.ids import IdKind, kind_of
from consentry.registry import EffectiveTerms, PartyKind, TermsLayer
from consentry.terms import Terms

__all__ = ["load_terms_file", "set_terms", "show_terms"]

_TARGETS = (IdKind.OWNER, IdKind.COLLECTION, IdKind.WORK)


def load_terms_file(path: Path) -> Terms:
    """Read and validate a terms JSON file; errors name the file and the field."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read terms file {path} ({exc.strerror})") from exc
    return Terms.from_json(parse_json_object(data, what=f"terms file {path}"), source=str(path))


def set_terms(ws: Workspace, target: str, *, owner_id: str, terms: Terms) -> TermsLayer:
    """Publish ``terms`` on ``target`` (the owner, a collection by id or name, or a
    work), signed by the owner; fields left out are inherited."""
    signer = ws.signer(owner_id, PartyKind.OWNER)
    registry = ws.registry
    if kind_of(target) not in _TARGETS:
        target = registry.works.find_collection(owner_id, target).id
    return registry.terms.set(target, owner_id, signer, terms)


def show_terms(ws: Workspace, target: str) -> EffectiveTerms:
    """The terms in force for an owner, collection or work, with their layers."""
    return ws.registry.terms.effective(target)

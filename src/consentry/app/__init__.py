"""The application layer: the use cases every adapter (the CLI, the HTTP API, the
pages, pipeline steps) calls, each in a ``Workspace``. Adapters parse, call one of
these, and render what it returns; none holds domain logic of its own.

Imported lazily: ``import consentry.app`` loads nothing until a name is used, so
that a command that needs only the registry never loads the kernels a gate run needs."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from consentry.app.checking import (
        ExportedSketch,
        SketchUpdated,
        check_outputs,
        export_sketch_file,
        sketch_verifier,
        update_sketch_file,
    )
    from consentry.app.gating import (
        PlannedGate,
        gate_policy,
        plan_gate,
        run_gate,
    )
    from consentry.app.index import (
        current_index,
        workspace_index,
    )
    from consentry.app.licensing import (
        HeldGrant,
        Licences,
        accept,
        counter,
        deny,
        grant,
        licences,
        may_use,
        request,
        revoke,
        scope_of,
    )
    from consentry.app.log import (
        Published,
        Witnessed,
        audit,
        checkpoint,
        current_checkpoint,
        log_signer,
        log_verifier,
        prove,
        publish,
        usage,
        verify_proof,
        verify_usage_proof,
        witness,
        witness_policy,
    )
    from consentry.app.parties import (
        CreatedParty,
        create_party,
        list_parties,
    )
    from consentry.app.remote_checking import (
        SketchState,
        check_served,
        registry_is_remote,
        remote_check_outputs,
        remote_export_sketch_file,
        remote_update_sketch_file,
        served_sketch,
        served_sketch_update,
    )
    from consentry.app.remote_log import (
        Publication,
        PublishedLogWorkspace,
        entry_bundle,
        log_tile,
        publish_checkpoint,
        published_checkpoint,
        published_identity,
    )
    from consentry.app.remote_works import (
        create_collection,
        find_collection,
        register_batch,
        show_work,
        uploaded_files,
    )
    from consentry.app.royalties import (
        RoyaltyStatement,
        StatementLine,
        owner_statement,
        royalty_statement,
    )
    from consentry.app.served import (
        register_party,
    )
    from consentry.app.setup import (
        Initialised,
        init,
    )
    from consentry.app.terms import (
        load_terms_file,
        set_terms,
        show_terms,
    )
    from consentry.app.witnessing import (
        open_witness,
        witness_key,
    )
    from consentry.app.works import (
        RegisteredCatalogue,
        list_works,
        register_works,
    )
    from consentry.app.workspace import (
        Workspace,
    )

_WHERE = {
    "create_collection": "consentry.app.remote_works",
    "find_collection": "consentry.app.remote_works",
    "register_batch": "consentry.app.remote_works",
    "show_work": "consentry.app.remote_works",
    "uploaded_files": "consentry.app.remote_works",
    "SketchState": "consentry.app.remote_checking",
    "check_served": "consentry.app.remote_checking",
    "registry_is_remote": "consentry.app.remote_checking",
    "remote_check_outputs": "consentry.app.remote_checking",
    "remote_export_sketch_file": "consentry.app.remote_checking",
    "remote_update_sketch_file": "consentry.app.remote_checking",
    "served_sketch": "consentry.app.remote_checking",
    "served_sketch_update": "consentry.app.remote_checking",
    "CreatedParty": "consentry.app.parties",
    "ExportedSketch": "consentry.app.checking",
    "HeldGrant": "consentry.app.licensing",
    "Initialised": "consentry.app.setup",
    "Licences": "consentry.app.licensing",
    "PlannedGate": "consentry.app.gating",
    "Published": "consentry.app.log",
    "RegisteredCatalogue": "consentry.app.works",
    "RoyaltyStatement": "consentry.app.royalties",
    "StatementLine": "consentry.app.royalties",
    "royalty_statement": "consentry.app.royalties",
    "owner_statement": "consentry.app.royalties",
    "SketchUpdated": "consentry.app.checking",
    "Witnessed": "consentry.app.log",
    "Workspace": "consentry.app.workspace",
    "accept": "consentry.app.licensing",
    "audit": "consentry.app.log",
    "check_outputs": "consentry.app.checking",
    "checkpoint": "consentry.app.log",
    "counter": "consentry.app.licensing",
    "create_party": "consentry.app.parties",
    "current_checkpoint": "consentry.app.log",
    "current_index": "consentry.app.index",
    "deny": "consentry.app.licensing",
    "export_sketch_file": "consentry.app.checking",
    "gate_policy": "consentry.app.gating",
    "grant": "consentry.app.licensing",
    "init": "consentry.app.setup",
    "licences": "consentry.app.licensing",
    "list_parties": "consentry.app.parties",
    "list_works": "consentry.app.works",
    "load_terms_file": "consentry.app.terms",
    "log_signer": "consentry.app.log",
    "log_verifier": "consentry.app.log",
    "may_use": "consentry.app.licensing",
    "open_witness": "consentry.app.witnessing",
    "plan_gate": "consentry.app.gating",
    "prove": "consentry.app.log",
    "publish": "consentry.app.log",
    "Publication": "consentry.app.remote_log",
    "PublishedLogWorkspace": "consentry.app.remote_log",
    "entry_bundle": "consentry.app.remote_log",
    "log_tile": "consentry.app.remote_log",
    "publish_checkpoint": "consentry.app.remote_log",
    "published_checkpoint": "consentry.app.remote_log",
    "published_identity": "consentry.app.remote_log",
    "register_party": "consentry.app.served",
    "register_works": "consentry.app.works",
    "request": "consentry.app.licensing",
    "revoke": "consentry.app.licensing",
    "run_gate": "consentry.app.gating",
    "scope_of": "consentry.app.licensing",
    "set_terms": "consentry.app.terms",
    "show_terms": "consentry.app.terms",
    "sketch_verifier": "consentry.app.checking",
    "update_sketch_file": "consentry.app.checking",
    "usage": "consentry.app.log",
    "verify_proof": "consentry.app.log",
    "verify_usage_proof": "consentry.app.log",
    "witness": "consentry.app.log",
    "witness_key": "consentry.app.witnessing",
    "witness_policy": "consentry.app.log",
    "workspace_index": "consentry.app.index",
}

__all__ = [
    "CreatedParty",
    "ExportedSketch",
    "HeldGrant",
    "Initialised",
    "Licences",
    "PlannedGate",
    "Publication",
    "Published",
    "PublishedLogWorkspace",
    "RegisteredCatalogue",
    "RoyaltyStatement",
    "SketchState",
    "SketchUpdated",
    "StatementLine",
    "Witnessed",
    "Workspace",
    "accept",
    "audit",
    "check_outputs",
    "check_served",
    "checkpoint",
    "counter",
    "create_collection",
    "create_party",
    "current_checkpoint",
    "current_index",
    "deny",
    "entry_bundle",
    "export_sketch_file",
    "find_collection",
    "gate_policy",
    "grant",
    "init",
    "licences",
    "list_parties",
    "list_works",
    "load_terms_file",
    "log_signer",
    "log_tile",
    "log_verifier",
    "may_use",
    "open_witness",
    "owner_statement",
    "plan_gate",
    "prove",
    "publish",
    "publish_checkpoint",
    "published_checkpoint",
    "published_identity",
    "register_batch",
    "register_party",
    "register_works",
    "registry_is_remote",
    "remote_check_outputs",
    "remote_export_sketch_file",
    "remote_update_sketch_file",
    "request",
    "revoke",
    "royalty_statement",
    "run_gate",
    "scope_of",
    "served_sketch",
    "served_sketch_update",
    "set_terms",
    "show_terms",
    "show_work",
    "sketch_verifier",
    "update_sketch_file",
    "uploaded_files",
    "usage",
    "verify_proof",
    "verify_usage_proof",
    "witness",
    "witness_key",
    "witness_policy",
    "workspace_index",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'consentry.app' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

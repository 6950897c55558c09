"""The application layer: the use cases every adapter (the CLI, the HTTP API, the
pages, pipeline steps) calls, each in a ``Workspace``. Adapters parse, call one of
these, and render what it returns; none holds domain logic of its own."""

from consentry.app.checking import (
    ExportedSketch,
    SketchUpdated,
    check_outputs,
    export_sketch_file,
    sketch_verifier,
    update_sketch_file,
)
from consentry.app.gating import PlannedGate, plan_gate, run_gate
from consentry.app.index import current_index, workspace_index
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
from consentry.app.parties import CreatedParty, create_party, list_parties
from consentry.app.setup import Initialised, init
from consentry.app.terms import load_terms_file, set_terms, show_terms
from consentry.app.witnessing import open_witness, witness_key
from consentry.app.works import RegisteredCatalogue, list_works, register_works
from consentry.app.workspace import Workspace

__all__ = [
    "CreatedParty",
    "ExportedSketch",
    "HeldGrant",
    "Initialised",
    "Licences",
    "PlannedGate",
    "Published",
    "RegisteredCatalogue",
    "SketchUpdated",
    "Witnessed",
    "Workspace",
    "accept",
    "audit",
    "check_outputs",
    "checkpoint",
    "counter",
    "create_party",
    "current_checkpoint",
    "current_index",
    "deny",
    "export_sketch_file",
    "grant",
    "init",
    "licences",
    "list_parties",
    "list_works",
    "load_terms_file",
    "log_signer",
    "log_verifier",
    "may_use",
    "open_witness",
    "plan_gate",
    "prove",
    "publish",
    "register_works",
    "request",
    "revoke",
    "run_gate",
    "scope_of",
    "set_terms",
    "show_terms",
    "sketch_verifier",
    "update_sketch_file",
    "usage",
    "verify_proof",
    "verify_usage_proof",
    "witness",
    "witness_key",
    "witness_policy",
    "workspace_index",
]

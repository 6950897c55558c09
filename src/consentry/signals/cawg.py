"""The CAWG training-and-data-mining assertion in a C2PA manifest, read and written
(CAWG Training and Data Mining Assertion 1.1, DIF ratified 2025, "T&DM" below; the
spec at https://github.com/decentralized-identity/cawg-training-and-data-mining-assertion).

The assertion ``cawg.training-mining`` (T&DM §3.1) holds a map of entries, each
``{"use": "allowed" | "notAllowed" | "constrained", "constraint_info"?: text}``
(T&DM §3.2, CDDL). Its four pre-defined entries map to the categories of DESIGN.md
§5.4 (``consentry.terms.VOCABULARY``); each speaks of its own use only, so a denial of
data mining says nothing of training. Custom entries are skipped. ``constrained`` means
"permission is not unconditionally granted": with constraint information it reads as
reserved for licensing, the information kept as the statement's licence; "in the
absence of additional information, constrained shall be treated as equivalent to
notAllowed" (T&DM §3.1), so without it, a denial. The CDDL names the field
``constraint_info``; §3.1's prose says ``constraints_info``; both are read,
``constraint_info`` is written.

C2PA 1.x defined the same assertion as ``c2pa.training-mining`` with ``c2pa.``-prefixed
entries (T&DM §3.1, "Notice to implementers"; removed in C2PA 2.0): read, and flagged
outdated.

Only the active manifest speaks for the image: an ingredient's assertion was made about
another asset. An assertion in a manifest that fails validation, because the image or
the manifest was changed after signing, cannot be trusted to allow anything: it
becomes a ``Problem`` (which reserves every category), and only its denials and licence
reservations are kept beside it. An invalid manifest without the assertion says nothing
of these uses, as the image would say nothing with the manifest stripped; a manifest
store c2pa cannot parse at all is a ``Problem``. A valid manifest whose signer is on no
trust list is read, the signer named in the statements' place: consentry owners sign
with their own keys, which no public trust list holds
(``consentry.signals.certificates``). Nothing here touches the network: remote
manifests and OCSP are not fetched; a caller that fetched a remote manifest passes its
bytes. Nothing here raises on input.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import c2pa  # type: ignore[import-untyped]  # c2pa-python ships no type hints

from consentry.crypto import Signer
from consentry.errors import InputError
from consentry.signals.certificates import certificate_chain_key
from consentry.signals.model import Problem, Rendering, Reservation, Signal, Source, Statement
from consentry.terms import VOCABULARY, Category, Permission, Terms
from consentry.terms.money import quoted

__all__ = [
    "ENTRY_CATEGORIES",
    "LABEL",
    "LEGACY_LABEL",
    "ManifestReading",
    "ManifestSigner",
    "embed_training_mining",
    "inspect_training_mining",
    "read_training_mining",
    "read_training_mining_assertion",
    "write_training_mining",
]

LABEL = "cawg.training-mining"  # T&DM §3.1: "SHALL have a label of cawg.training-mining"
LEGACY_LABEL = "c2pa.training-mining"  # C2PA 1.4's label, before CAWG took the assertion

ENTRY_CATEGORIES: Mapping[str, Category] = MappingProxyType(
    {
        name: category
        for category, label in VOCABULARY.items()
        if label.cawg is not None
        for name in (label.cawg, "c2pa." + label.cawg.removeprefix("cawg."))
    }
)
"""Each pre-defined entry, current (``cawg.``) and C2PA 1.x (``c2pa.``), by category."""

_USES: Mapping[str, Permission] = MappingProxyType(
    {"allowed": Permission.ALLOW, "notAllowed": Permission.DENY}
)
_WRITTEN: Mapping[Permission, str] = MappingProxyType(
    {Permission.ALLOW: "allowed", Permission.DENY: "notAllowed", Permission.LICENSE: "constrained"}
)
DEFAULT_CONSTRAINT = "licensed use only: ask the rights holder for a grant"

# Failure codes that say only who signed, not that anything changed: the signer (or its
# time-stamp authority) is on no trust list this reader holds.
_TRUST_ONLY = frozenset({"signingCredential.untrusted", "timeStamp.untrusted"})
_MAX_ENTRIES = 64  # the assertion defines four; a hostile one is not walked in full
_MAX_TEXT = 1000
_STORE = Source(Signal.CAWG, "C2PA manifest store")

# Reading and signing never reach the network (DESIGN.md §4: signals is pure).
_SETTINGS: Mapping[str, Any] = MappingProxyType(
    {
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
        "core": {"allowed_network_hosts": []},
        # A thumbnail would grow a small image tenfold (c2pa scales to a fixed edge).
        "builder": {"thumbnail": {"enabled": False}},
    }
)


@dataclass(frozen=True, slots=True)
class ManifestSigner:
    """Who signed a manifest, as its certificate names them, and whether the signing
    certificate chains to a trust anchor the reader was given."""

    common_name: str | None
    issuer: str | None
    trusted: bool

    def describe(self) -> str:
        who = ", ".join(quoted(n, limit=80) for n in (self.common_name, self.issuer) if n)
        trust = "on a trust list" if self.trusted else "not on a trust list"
        return f"{who or 'an unnamed signer'} ({trust})"


@dataclass(frozen=True, slots=True)
class ManifestReading:
    """What an image's active C2PA manifest says and how it validated: ``manifest`` is
    its label (None when the image has none), ``validation_state`` c2pa's verdict
    (``Valid``, ``Trusted`` or ``Invalid``) and ``failures`` its failure codes."""

    reservation: Reservation
    manifest: str | None = None
    validation_state: str | None = None
    failures: tuple[str, ...] = ()
    signer: ManifestSigner | None = None


def read_training_mining_assertion(
    data: object, *, label: str = LABEL, place: str = "cawg-training-mining.json"
) -> Reservation:
    """The statements of one training-and-data-mining assertion's ``data`` (its JSON
    form, as c2pa reports it and ``write_training_mining`` writes it), under ``label``.

    Statements of the C2PA 1.x label or entries are flagged outdated. An entry that is
    not an object with a known ``use`` becomes a ``Problem``; custom entries are
    skipped (T&DM §3.1 allows them). Never raises."""
    legacy = label.partition("__")[0] == LEGACY_LABEL
    source = Source(Signal.CAWG, place)
    entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        return Reservation(
            problems=(Problem(source, f'{label} has no "entries" map; write one (T&DM §3.2)'),)
        )
    statements: list[Statement] = []
    problems: list[Problem] = []
    for name, entry in list(entries.items())[:_MAX_ENTRIES]:
        category = ENTRY_CATEGORIES.get(name)
        if category is None:
            continue
        use = entry.get("use") if isinstance(entry, dict) else None
        # Past this check, ``entry`` is an object (only one has a ``use``).
        if not isinstance(use, str) or use not in {*_USES, "constrained"}:
            problems.append(
                Problem(
                    source,
                    f"entry {name} has use {quoted(use)}; write allowed, notAllowed or "
                    "constrained (T&DM §3.2)",
                )
            )
            continue
        info = _constraint_info(entry)
        permission = _USES.get(use, Permission.LICENSE if info else Permission.DENY)
        statements.append(
            Statement(
                category,
                permission,
                source,
                f"{name}: {use}",
                outdated=legacy or name.startswith("c2pa."),
                licence=info if permission is Permission.LICENSE else None,
            )
        )
    return Reservation(tuple(statements), tuple(problems))


def _constraint_info(entry: Mapping[str, Any]) -> str | None:
    for key in ("constraint_info", "constraints_info"):
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:_MAX_TEXT]
    return None


def inspect_training_mining(
    image: bytes,
    *,
    mime: str | None = None,
    manifest: bytes | None = None,
    trust_anchors: str | None = None,
) -> ManifestReading:
    """Read and validate the active C2PA manifest of ``image`` (any format c2pa reads;
    ``mime`` a hint, detected from the bytes when None) and its training-and-data-mining
    assertions. ``manifest`` is the manifest store's bytes when the image refers to a
    remote one (fetched by the caller); ``trust_anchors`` PEM certificates whose chains
    count as trusted. No manifest gives an empty reservation. Never raises."""
    settings = dict(_SETTINGS)
    if trust_anchors is not None:
        settings["trust"] = {"trust_anchors": trust_anchors}
    try:
        with c2pa.Context.from_dict(settings) as context:
            reader = c2pa.Reader.try_create(mime, io.BytesIO(image), manifest, context)
            if reader is None:
                return ManifestReading(Reservation())
            with reader:
                store = json.loads(reader.json())
    except c2pa.C2paError.NotSupported:
        if b"jumb" in image or b"c2pa" in image:
            return _unreadable("holds C2PA data in a format the C2PA library cannot read")
        return ManifestReading(Reservation())  # no format that carries a manifest
    except c2pa.C2paError as exc:
        return _unreadable(_reason(str(exc)))
    except ValueError as exc:  # c2pa's JSON not UTF-8 or not JSON: hostile bytes
        return _unreadable(f"its manifest is not readable JSON ({quoted(str(exc))})")
    return _reading(store)


def read_training_mining(
    image: bytes,
    *,
    mime: str | None = None,
    manifest: bytes | None = None,
    trust_anchors: str | None = None,
) -> Reservation:
    """The training-and-data-mining statements of ``image``'s active C2PA manifest
    (``inspect_training_mining`` without the validation report). Never raises."""
    return inspect_training_mining(
        image, mime=mime, manifest=manifest, trust_anchors=trust_anchors
    ).reservation


def _unreadable(reason: str) -> ManifestReading:
    return ManifestReading(Reservation(problems=(Problem(_STORE, f"the image {reason}"),)))


def _reason(error: str) -> str:
    first = error.splitlines()[0] if error else "unknown error"
    if first.startswith("Remote:"):
        url = first.rpartition(" ")[2]
        return (
            f"refers to a remote C2PA manifest at {quoted(url, limit=200)}, which is not "
            "fetched here; fetch it and pass its bytes as the manifest"
        )
    return (
        f"has a C2PA manifest that cannot be read ({quoted(first, limit=120)}); "
        "re-sign the image with a conforming C2PA tool"
    )


def _reading(store: Any) -> ManifestReading:
    """The reading of a manifest store as c2pa's ``Reader.json`` reports it."""
    if not isinstance(store, dict):
        return _unreadable("has a C2PA manifest store c2pa reported in an unknown shape")
    label = store.get("active_manifest")
    manifests = store.get("manifests")
    active = manifests.get(label) if isinstance(manifests, dict) else None
    if not isinstance(label, str) or not isinstance(active, dict):
        return _unreadable("has a C2PA manifest store with no active manifest")
    state = store.get("validation_state")
    failures = _failure_codes(store)
    info = active.get("signature_info")
    info = info if isinstance(info, dict) else {}
    signer = ManifestSigner(
        _text(info.get("common_name")), _text(info.get("issuer")), state == "Trusted"
    )
    intact = state in {"Valid", "Trusted"} and not set(failures) - _TRUST_ONLY
    place = f"C2PA manifest {quoted(label, limit=80)} signed by {signer.describe()}"
    if not intact:
        place += ", failed validation"
    assertions = active.get("assertions")
    found = Reservation.merge(
        read_training_mining_assertion(
            assertion.get("data"), label=assertion["label"], place=f"{place}, {assertion['label']}"
        )
        for assertion in (assertions if isinstance(assertions, list) else [])
        if isinstance(assertion, dict)
        and isinstance(assertion.get("label"), str)
        and assertion["label"].partition("__")[0] in {LABEL, LEGACY_LABEL}
    )
    if not intact and found:
        # C2PA 2.1 §15 (Validation): a manifest whose signature (§15.7), assertion
        # hashes (§15.10) or content binding (§15.12) fails is not to be relied on. Its
        # denials and licence reservations are kept: whoever changed them, they can only
        # make the image stricter to use, never open it.
        kept = tuple(s for s in found.statements if s.permission is not Permission.ALLOW)
        codes = ", ".join(sorted(set(failures) - _TRUST_ONLY)) or f"state {state}"
        problem = Problem(
            Source(Signal.CAWG, place),
            f"the manifest failed validation ({codes}): the image or its manifest was "
            "changed after signing, so none of its training-and-data-mining statements "
            "can allow a use; the owner has to sign the image again",
        )
        found = Reservation(kept, (problem,))
    return ManifestReading(found, label, _text(state), failures, signer)


def _failure_codes(store: Mapping[str, Any]) -> tuple[str, ...]:
    results = store.get("validation_results")
    active = results.get("activeManifest") if isinstance(results, dict) else None
    entries = active.get("failure") if isinstance(active, dict) else store.get("validation_status")
    if not isinstance(entries, list):
        return ()
    return tuple(
        code
        for entry in entries
        if isinstance(entry, dict) and isinstance(code := entry.get("code"), str)
    )


def _text(value: object) -> str | None:
    return value[:_MAX_TEXT] if isinstance(value, str) else None


# -- writing ---------------------------------------------------------------------------


def _assertion(terms: Terms, licence: str | None) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The assertion data stating ``terms`` and what it leaves unsaid. A category the
    terms leave out takes consentry's default, licence (``Terms.permission``)."""
    if licence is not None and not licence.strip():
        raise InputError("licence for constrained CAWG entries must not be empty")
    entries: dict[str, dict[str, str]] = {}
    unsaid: list[str] = []
    for category in Category:
        permission = terms.permission(category)
        name = VOCABULARY[category].cawg
        if name is None:
            unsaid.append(
                f"{category.value}: the CAWG assertion has no entry for it (T&DM §3.1), so "
                f"it cannot state the terms' {permission.value}"
            )
            continue
        entry = {"use": _WRITTEN[permission]}
        if permission is Permission.LICENSE:
            # Constraint information keeps "constrained" a licence offer: without it a
            # reader must take it as notAllowed (T&DM §3.1).
            entry["constraint_info"] = licence or DEFAULT_CONSTRAINT
        entries[name] = entry
    if terms.price is not None:
        unsaid.append(f"price: {terms.price.describe()} has no place in the CAWG assertion")
    conditions = terms.conditions.to_json()
    if conditions:
        unsaid.append(
            f"conditions: {', '.join(sorted(conditions))} have no place in the CAWG assertion"
        )
    return {"entries": entries}, tuple(unsaid)


def write_training_mining(terms: Terms, *, licence: str | None = None) -> Rendering:
    """``terms`` as the JSON data of a ``cawg.training-mining`` assertion, with what it
    cannot say. ``licence`` (a URL or text saying where to get one) is the constraint
    information of every category reserved for licensing. Raises ``InputError`` when
    ``licence`` is empty."""
    data, unsaid = _assertion(terms, licence)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return Rendering(filename="cawg-training-mining.json", text=text, unsaid=unsaid)


def embed_training_mining(
    image: bytes,
    mime: str,
    terms: Terms,
    *,
    signer: Signer,
    certificate_chain: bytes,
    licence: str | None = None,
) -> bytes:
    """``image`` (of type ``mime``) with a C2PA manifest stating ``terms`` in a
    ``cawg.training-mining`` assertion, signed by the owner through ``signer``.

    ``certificate_chain`` is the PEM chain for the signer's key
    (``owner_certificate_chain``); c2pa asks ``signer`` for one Ed25519 signature over
    the claim. A manifest already in the image becomes the parent ingredient of the new
    one. Raises ``InputError`` when the type is not one c2pa writes, the chain is not
    for the signer's key, or the image or chain is refused; a signer's own error
    propagates unchanged."""
    if mime not in c2pa.Builder.get_supported_mime_types():
        raise InputError(f"C2PA cannot be embedded in {quoted(mime)} images")
    if certificate_chain_key(certificate_chain) != signer.public:
        raise InputError(
            f"certificate chain is not for the signer's key {signer.public.key_id}; make "
            "one for it with owner_certificate_chain"
        )
    data, _ = _assertion(terms, licence)
    definition = {
        "claim_generator_info": [{"name": "consentry"}],
        "assertions": [{"label": LABEL, "data": data}],
    }
    failures: list[Exception] = []

    def sign(claim: bytes) -> bytes:
        # c2pa swallows a callback's exception into a generic signing error; keep it to
        # raise the signer's own.
        try:
            return signer.sign(claim)
        except Exception as exc:
            failures.append(exc)
            raise

    signed = io.BytesIO()
    try:
        with (
            c2pa.Context.from_dict(dict(_SETTINGS)) as context,
            c2pa.Signer.from_callback(
                sign, c2pa.C2paSigningAlg.ED25519, certificate_chain.decode("ascii")
            ) as c2pa_signer,
            c2pa.Builder(definition, context) as builder,
        ):
            # C2PA 2.x requires a first action of created or opened; "edit" has c2pa
            # record the image as the parent ingredient and add c2pa.opened.
            builder.set_intent(c2pa.C2paBuilderIntent.EDIT)
            builder.sign(c2pa_signer, mime, io.BytesIO(image), signed)
    except c2pa.C2paError as exc:
        if failures:
            raise failures[0] from exc
        first = str(exc).splitlines()[0] if str(exc) else "unknown error"
        raise InputError(
            f"the {mime} image could not be signed: {quoted(first, limit=160)}"
        ) from exc
    return signed.getvalue()

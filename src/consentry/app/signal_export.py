"""An owner's terms written into a static site in every consent signal: robots.txt,
``/.well-known/tdmrep.json`` and its ODRL policy, ai.txt, an RSL licence, meta tags in
each page's head, response headers for the host (``_headers``), XMP sidecars for the
images and, when asked, a CAWG assertion the owner signs into each image.

The writers are ``consentry.signals``'; this module decides where each goes. Files the
owner also edits (robots.txt, ``_headers``, pages) get consentry's block between marker
lines and keep the rest; files consentry writes whole are replaced only while they hold
what it last wrote (their digests are kept in ``EXPORT_RECORD``), so an owner's own
tdmrep.json is never overwritten without ``force``.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from consentry.app._marked_blocks import with_head_block, with_line_block, without_line_block
from consentry.app.workspace import Workspace
from consentry.clock import utc_now
from consentry.crypto import Signer
from consentry.errors import InputError
from consentry.registry import Party, PartyKind
from consentry.signals import Rendering
from consentry.signals.aipref import content_usage_unsaid, write_content_usage
from consentry.signals.aitxt import write_ai_txt
from consentry.signals.html import write_meta, write_x_robots_tag
from consentry.signals.odrl import write_odrl_offer
from consentry.signals.robots import write_robots
from consentry.signals.rsl import write_rsl
from consentry.signals.tdmrep import TdmDeclaration, write_tdmrep_headers, write_tdmrep_json
from consentry.signals.xmp import write_data_mining
from consentry.terms import Terms

__all__ = [
    "EXPORT_RECORD",
    "ExportedFile",
    "SignalsExport",
    "SiteSignalFiles",
    "export_signals",
    "site_signal_files",
]

EXPORT_RECORD = ".well-known/consentry-signals.json"
POLICY_PATH = ".well-known/tdm-policy.json"
LICENCE_PATH = "license.xml"
_PAGES = (".html", ".htm")
_IMAGES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".avif", ".heic")


@dataclass(frozen=True, slots=True)
class SiteSignalFiles:
    """What an export writes, before it touches the site: whole files by path, the
    block for robots.txt, for ``_headers`` and for each page's head, the XMP sidecar
    packet, and the notes on what could not be written."""

    whole: dict[str, Rendering]
    robots: Rendering
    headers: Rendering
    head: Rendering
    sidecar: Rendering
    licence: str | None
    notes: tuple[str, ...] = ()
    # Pages and images whose work has terms of its own: their head block and sidecar.
    own_heads: dict[str, Rendering] = field(default_factory=dict)
    own_sidecars: dict[str, Rendering] = field(default_factory=dict)

    def head_for(self, path: str) -> Rendering:
        return self.own_heads.get(path, self.head)

    def sidecar_for(self, path: str) -> Rendering:
        return self.own_sidecars.get(path, self.sidecar)


def site_signal_files(
    terms: Terms,
    *,
    owner: Party,
    base_url: str | None,
    licence_server: str | None,
    own_terms: Mapping[str, Terms] | None = None,
) -> SiteSignalFiles:
    """Every signal file for ``terms`` on the site at ``base_url`` (its absolute URLs —
    the tdm-policy, the RSL licence — need it), offering licences through
    ``licence_server`` (a served registry's URL) when given. ``own_terms``: the site
    paths (``/essays/one.html``) whose registered work has terms of its own, which
    their meta tags, sidecars and a tdmrep.json rule of their own state. Pure."""
    own = dict(own_terms or {})
    base = _absolute(base_url, "--base-url") if base_url is not None else None
    server = _absolute(licence_server, "--licence-server") if licence_server is not None else None
    olp = f"{server}/rsl/{owner.id}" if server else None
    notes: list[str] = []
    licence = f"{base}/{LICENCE_PATH}" if base else (f"{olp}/license.xml" if olp else None)
    policy = f"{base}/{POLICY_PATH}" if base else None
    if base is None:
        notes.append(
            "no --base-url: tdm-policy and the robots.txt License line need the site's "
            "absolute URL, so they are not written"
            + ("" if olp is None else f" (License points to {olp}/license.xml)")
        )
    whole: dict[str, Rendering] = {}
    if TdmDeclaration.of_terms(terms, policy=policy).policy is None:
        # Nothing would point to a policy: TDMRep offers one only for a TDM licence.
        policy = None
    if policy is not None:
        try:
            whole[POLICY_PATH] = write_odrl_offer(
                terms,
                uid=policy,
                assigner=f"{base}/",
                assigner_name=owner.name,
                licensing_url=olp or licence,
            )
        except InputError as exc:
            notes.append(f"tdm-policy: not written, as {exc}")
            policy = None
    # The first matching rule wins (TDMRep §sec-tdm-file): each page of its own first.
    # The site's policy is the owner's Offer of the owner's terms: not the pages'.
    rules = [(f"{path}$", own[path]) for path in sorted(own)]
    whole[".well-known/tdmrep.json"] = _tdmrep_json(
        write_tdmrep_json(rules, policy=None), write_tdmrep_json([("/", terms)], policy=policy)
    )
    whole["ai.txt"] = write_ai_txt(terms)
    whole[LICENCE_PATH] = write_rsl(
        terms, content_url=f"{base}/" if base else "/", license_server=olp
    )
    usage = write_content_usage(terms)
    robots_tag = write_x_robots_tag(terms)
    tdm = write_tdmrep_headers(terms, policy=policy)
    lines = [f"Content-Usage: {usage}"]
    if robots_tag.text:
        lines.append(f"X-Robots-Tag: {robots_tag.text}")
    lines += [line for line in tdm.text.splitlines() if line]
    headers = Rendering(
        "_headers",
        "/*\n" + "".join(f"  {line}\n" for line in lines),
        unsaid=_distinct(content_usage_unsaid(terms), robots_tag.unsaid, tdm.unsaid),
    )
    return SiteSignalFiles(
        whole=whole,
        robots=write_robots(terms, licence_url=licence),
        headers=headers,
        head=write_meta(terms, tdm_policy=policy),
        sidecar=write_data_mining(terms, other_constraints=licence),
        licence=licence,
        notes=tuple(notes),
        own_heads={path: write_meta(t) for path, t in own.items()},
        own_sidecars={path: write_data_mining(t) for path, t in own.items()},
    )


def _tdmrep_json(pages: Rendering, site: Rendering) -> Rendering:
    """One tdmrep.json of the pages' own rules, then the site's."""
    entries = [*json.loads(pages.text), *json.loads(site.text)]
    return Rendering(
        site.filename,
        json.dumps(entries, indent=2, ensure_ascii=False) + "\n",
        unsaid=_distinct(pages.unsaid, site.unsaid),
    )


def _absolute(url: str, option: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(
            f"{option} {url!r} is not an absolute http(s) URL; give e.g. https://example.org"
        )
    return url.rstrip("/")


def _distinct(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(line for group in groups for line in group))


@dataclass(frozen=True, slots=True)
class ExportedFile:
    """One file of the site as the export left it."""

    path: str
    status: str  # written, updated, unchanged, skipped
    unsaid: tuple[str, ...] = ()
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "status": self.status,
            "unsaid": list(self.unsaid),
        }
        if self.reason is not None:
            data["reason"] = self.reason
        return data


@dataclass(frozen=True, slots=True)
class SignalsExport:
    """What ``export_signals`` did to the site."""

    owner_id: str
    site: Path
    licence: str | None
    files: tuple[ExportedFile, ...]
    notes: tuple[str, ...] = ()

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    def to_json(self) -> dict[str, Any]:
        return {
            "owner": self.owner_id,
            "site": str(self.site),
            "licence": self.licence,
            "files": [f.to_json() for f in self.files],
            "notes": list(self.notes),
        }


@dataclass(slots=True)
class _Site:
    """The site folder, and the digests of what consentry wrote there whole."""

    root: Path
    force: bool
    written: dict[str, str] = field(default_factory=dict)
    done: list[ExportedFile] = field(default_factory=list)

    @classmethod
    def open(cls, root: Path, *, force: bool) -> _Site:
        if not root.is_dir():
            raise InputError(
                f"site folder {root} does not exist; give the folder the site is built into"
            )
        record = root / EXPORT_RECORD
        written: dict[str, str] = {}
        if record.is_file():
            try:
                files = json.loads(record.read_text("utf-8")).get("files", {})
            except (ValueError, AttributeError) as exc:
                raise InputError(
                    f"{record} is not the record consentry writes ({exc}); delete it and "
                    "export again with --force"
                ) from exc
            written = {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}
        return cls(root, force, written)

    def theirs(self, path: str) -> bool:
        """Whether ``path`` exists holding something consentry did not write last."""
        target = self.root / path
        return target.is_file() and self.written.get(path) != _digest(target.read_bytes())

    def put(self, path: str, data: bytes, unsaid: tuple[str, ...] = (), *, whole: bool) -> None:
        target = self.root / path
        before = target.read_bytes() if target.is_file() else None
        status = "written" if before is None else ("unchanged" if before == data else "updated")
        if status != "unchanged":
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.consentry-partial")
            partial.write_bytes(data)
            partial.replace(target)  # a page is never left half written
        if whole:
            self.written[path] = _digest(data)
        self.done.append(ExportedFile(path, status, unsaid))

    def skip(self, path: str, reason: str) -> None:
        self.done.append(ExportedFile(path, "skipped", reason=reason))

    def save_record(self, owner_id: str) -> None:
        record = {"owner": owner_id, "files": dict(sorted(self.written.items()))}
        target = self.root / EXPORT_RECORD
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(record, indent=2) + "\n", "utf-8")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def export_signals(
    ws: Workspace,
    *,
    owner_id: str,
    site: Path,
    base_url: str | None = None,
    licence_server: str | None = None,
    sign_images: bool = False,
    force: bool = False,
    on_file: Callable[[ExportedFile], None] | None = None,
) -> SignalsExport:
    """Write the owner's terms in force into the static site at ``site`` in every
    signal (see the module), saying per file what its format cannot say.

    ``sign_images`` embeds a CAWG training-mining assertion the owner signs (their key
    must be on this machine) into each image c2pa can write; an image already signed
    by the last export is left alone. Raises ``InputError`` before writing anything when
    a file consentry writes whole holds the owner's own content, unless ``force``."""
    owner = ws.party(owner_id, PartyKind.OWNER)
    terms = ws.registry.terms.effective(owner_id).terms
    signer = ws.signer(owner_id, PartyKind.OWNER) if sign_images else None
    state = _Site.open(site, force=force)
    pages, images = list(_found(site, _PAGES)), list(_found(site, _IMAGES))
    own = _own_terms(ws, owner_id, terms, [_site_path(site, p) for p in (*pages, *images)])
    files = site_signal_files(
        terms, owner=owner, base_url=base_url, licence_server=licence_server, own_terms=own
    )
    clashes = [path for path in files.whole if state.theirs(path)]
    if clashes and not force:
        raise InputError(
            f"{', '.join(clashes)} in {site} hold content consentry did not write; move "
            "them aside or pass --force to replace them with the owner's terms"
        )

    def report() -> None:
        if on_file is not None:
            on_file(state.done[-1])

    for path, rendering in files.whole.items():
        state.put(path, rendering.text.encode("utf-8"), rendering.unsaid, whole=True)
        report()
    for path, rendering, first in (
        ("robots.txt", files.robots, True),
        ("_headers", files.headers, False),
    ):
        existing = (site / path).read_text("utf-8", "replace") if (site / path).is_file() else ""
        merged = with_line_block(existing, rendering.text, first=first)
        state.put(path, merged.encode("utf-8"), rendering.unsaid, whole=False)
        report()
    for page in pages:
        path = page.relative_to(site).as_posix()
        head = files.head_for(_site_path(site, page))
        html = page.read_bytes().decode("utf-8", "replace")
        updated = with_head_block(html, head.text)
        if updated is None:
            state.skip(path, "the page has no <head> to put the meta tags in")
        else:
            state.put(path, updated.encode("utf-8"), head.unsaid, whole=False)
        report()
    for image in images:
        path = image.relative_to(site).as_posix()
        sidecar = image.with_suffix(".xmp").relative_to(site).as_posix()
        packet = files.sidecar_for(_site_path(site, image))
        state.put(sidecar, packet.text.encode("utf-8"), packet.unsaid, whole=True)
        report()
        if signer is not None:
            stated = own.get(_site_path(site, image), terms)
            _sign_image(state, path, stated, owner, signer, files.licence)
            report()
    state.save_record(owner_id)
    notes = list(files.notes)
    robots = (site / "robots.txt").read_text("utf-8", "replace")
    named = _agents_named_outside_block(robots)
    if named:
        notes.append(
            f"robots.txt: your own groups for {', '.join(named)} are kept, and a crawler "
            "obeys only the group naming it (RFC 9309 §2.2.1), so those crawlers do not "
            "read consentry's preferences; copy its Content-Usage and Content-Signal lines "
            "into those groups"
        )
    if not sign_images:
        notes.append("images carry no CAWG assertion: pass --sign-images to sign one into each")
    if own:
        notes.append(
            f"{len(own)} page(s) or image(s) have terms of their own (their registered "
            "work's): their meta tags, sidecars and tdmrep.json rules say so; robots.txt, "
            "ai.txt, _headers and the RSL licence state the owner's terms for the whole site"
        )
    return SignalsExport(owner_id, site, files.licence, tuple(state.done), tuple(notes))


def _site_path(site: Path, file: Path) -> str:
    """Where ``file`` is on the site, as ``work register --site`` names its work."""
    return "/" + file.relative_to(site).as_posix()


def _own_terms(ws: Workspace, owner_id: str, terms: Terms, paths: list[str]) -> dict[str, Terms]:
    """The terms of each site path whose work (the owner's, registered from the site
    under that path) is under terms other than the owner's."""
    wanted = set(paths)
    works: dict[str, str] = {}
    after: str | None = None
    while True:
        batch = ws.registry.works.all(owner_id=owner_id, limit=1000, after=after)
        works.update((w.path, w.id) for w in batch if w.path in wanted)
        if len(batch) < 1000:
            break
        after = batch[-1].id
    own: dict[str, Terms] = {}
    for path, work_id in sorted(works.items()):
        stated = ws.registry.terms.effective(work_id).terms
        if stated != terms:
            own[path] = stated
    return own


def _sign_image(
    state: _Site, path: str, terms: Terms, owner: Party, signer: Signer, licence: str | None
) -> None:
    # c2pa loads only for an export that signs images.
    from consentry.signals.cawg import (  # noqa: PLC0415
        embed_training_mining,
        write_training_mining,
    )
    from consentry.signals.certificates import owner_certificate_chain  # noqa: PLC0415

    image = (state.root / path).read_bytes()
    if state.written.get(path) == _digest(image):
        state.done.append(ExportedFile(path, "unchanged"))
        return
    mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
    chain = owner_certificate_chain(
        signer.public, issued_at=utc_now(), name=owner.name[:64] or None
    )
    try:
        signed = embed_training_mining(
            image, mime, terms, signer=signer, certificate_chain=chain, licence=licence
        )
    except InputError as exc:
        state.skip(path, str(exc))
        return
    state.put(path, signed, write_training_mining(terms, licence=licence).unsaid, whole=True)


_AGENT_LINE = re.compile(r"^\s*user-agent\s*:\s*([^#\s]+)", re.IGNORECASE | re.MULTILINE)


def _agents_named_outside_block(robots: str) -> list[str]:
    """The agents the owner's own groups in ``robots`` name (not ``*``)."""
    kept = without_line_block(robots)
    return list(dict.fromkeys(a for a in _AGENT_LINE.findall(kept) if a != "*"))


def _found(site: Path, suffixes: tuple[str, ...]) -> Iterator[Path]:
    """The site's files with one of ``suffixes``, in path order, outside hidden folders
    (``.well-known``, ``.git``): those are not pages or images of the site."""
    for path in sorted(site.rglob("*")):
        relative = path.relative_to(site)
        if any(part.startswith(".") for part in relative.parts[:-1]):
            continue
        if path.is_file() and path.suffix.lower() in suffixes and not path.name.startswith("."):
            yield path

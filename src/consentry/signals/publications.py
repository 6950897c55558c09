"""TDMRep in publications: the EPUB package document and PDF's XMP metadata
(TDMRep Community Group Final Report, §sec-epub2, §sec-epub3, §sec-pdf).

Both carry ``tdm:reservation`` and ``tdm:policy`` for the whole publication, read as
``consentry.signals.tdmrep`` reads the HTTP and HTML forms. The input is the file's
bytes, read in memory with every size capped: a ZIP whose entries inflate past the
caps, or a PDF stream that does, is reported and not read further, so a hostile file
cannot exhaust memory. Unreadable input becomes a ``Problem``; nothing here raises on
input. Only the metadata is written here (the OPF ``<meta>`` lines and an XMP packet),
not whole EPUB or PDF files.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from xml.etree.ElementTree import Element, ParseError

import defusedxml  # type: ignore[import-untyped]  # defusedxml ships no type hints
import defusedxml.ElementTree  # type: ignore[import-untyped]

from consentry.signals.model import Problem, Rendering, Reservation, Signal, Source
from consentry.signals.tdmrep import TdmDeclaration, read_declaration, tdm_unsaid
from consentry.terms import Terms
from consentry.terms.money import quoted

__all__ = [
    "EPUB_TDM_PREFIX",
    "TDMREP_EPUB_NS",
    "TDMREP_XMP_NS",
    "read_epub",
    "read_pdf",
    "write_opf_meta",
    "write_xmp",
]

# §sec-epub3: "the `tdm` prefix, which is a shorthand mapping for the
# `http://www.w3.org/ns/tdmrep#` URL". §sec-pdf gives PDF's XMP another IRI,
# "http://www.w3.org/ns/tdmrep/"; each is read in both carriers, as a publisher who
# wrote the other one plainly meant TDMRep.
TDMREP_EPUB_NS = "http://www.w3.org/ns/tdmrep#"
TDMREP_XMP_NS = "http://www.w3.org/ns/tdmrep/"
EPUB_TDM_PREFIX = f"tdm: {TDMREP_EPUB_NS}"
"""The ``prefix`` attribute an EPUB 3 ``<package>`` needs for ``write_opf_meta``'s lines."""
_TDMREP = (TDMREP_EPUB_NS, TDMREP_XMP_NS)

_OCF_NS = "urn:oasis:names:tc:opendocument:xmlns:container"  # EPUB OCF 3.3 §4.2.6
_OPF_NS = "http://www.idpf.org/2007/opf"
_OPF_MEDIA_TYPE = "application/oebps-package+xml"

MAX_CONTAINER_BYTES = 64 << 10
MAX_PACKAGE_BYTES = 4 << 20
MAX_XMP_BYTES = 4 << 20
MAX_PDF_STREAMS = 256  # Metadata streams inflated per PDF; a real one has a handful


def _xml(data: bytes) -> Element | str:
    """The root of untrusted XML, or a sentence saying why it cannot be read. No DTD,
    entity or external reference is expanded (billion laughs, XXE)."""
    try:
        root: Element = defusedxml.ElementTree.fromstring(data, forbid_dtd=True)
    except defusedxml.DefusedXmlException:
        return "declares a DTD or entities, which are refused unread"
    except ParseError as exc:
        return f"is not well-formed XML ({exc})"
    return root


def read_epub(data: bytes, *, place: str = "EPUB") -> Reservation:
    """The TDMRep properties of an EPUB's package document: META-INF/container.xml
    names the package (OCF), whose ``<metadata>`` holds them as EPUB 3 ``<meta
    property="tdm:reservation">1</meta>`` or EPUB 2 ``<meta name="tdm:reservation"
    content="1"/>``. They cover every resource of the package (§sec-epub3)."""
    source = Source(Signal.TDMREP_EPUB, place)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            found = _package(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError) as exc:
        found = f"is not a readable ZIP archive ({quoted(str(exc), limit=80)})"
    if isinstance(found, str):
        return Reservation(problems=(Problem(source, found),))
    path, root = found
    return _read_opf(root, Source(Signal.TDMREP_EPUB, f"{place} {path}"))


def _package(archive: zipfile.ZipFile) -> tuple[str, Element] | str:
    """The package document's path and root (EPUB OCF 3.3 §4.2.6: the first rootfile
    of the OPF media type), or a sentence saying why it cannot be had."""
    container = _member(archive, "META-INF/container.xml", MAX_CONTAINER_BYTES)
    if isinstance(container, str):
        return container
    root = _xml(container)
    if isinstance(root, str):
        return f"META-INF/container.xml {root}"
    path = next(
        (
            r.get("full-path", "")
            for r in root.iter(f"{{{_OCF_NS}}}rootfile")
            if r.get("media-type") == _OPF_MEDIA_TYPE
        ),
        "",
    )
    if not path:
        return (
            "META-INF/container.xml names no package document (a rootfile of media-type "
            f"{_OPF_MEDIA_TYPE}); the EPUB is malformed"
        )
    package = _member(archive, path, MAX_PACKAGE_BYTES)
    if isinstance(package, str):
        return package
    opf = _xml(package)
    return f"{path} {opf}" if isinstance(opf, str) else (path, opf)


def _member(archive: zipfile.ZipFile, name: str, cap: int) -> bytes | str:
    """The bytes of ``name``, or why they cannot be had. The declared size is checked
    first and the read is capped as well, since a hostile entry can lie about it."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        return f"has no {name}; it is not an EPUB"
    if info.file_size > cap:
        return f"{name} would inflate to {info.file_size} bytes, over the {cap} read; refused"
    try:
        with archive.open(info) as stream:
            data = stream.read(cap + 1)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, zlib.error, EOFError) as exc:
        return f"{name} cannot be inflated ({quoted(str(exc), limit=80)})"
    if len(data) > cap:
        return f"{name} inflates past {cap} bytes, more than it declared; refused"
    return data


def _prefixes(package: Element) -> dict[str, str]:
    # EPUB 3.3 §5.4.3 prefix attribute: "prefix: IRI" pairs separated by white space.
    words = package.get("prefix", "").split()
    return {
        words[i].removesuffix(":"): words[i + 1]
        for i in range(len(words) - 1)
        if words[i].endswith(":")
    }


def _read_opf(package: Element, source: Source) -> Reservation:
    prefixes = {"tdm": TDMREP_EPUB_NS} | _prefixes(package)
    values: dict[str, str] = {}
    for meta in package.iter():
        if meta.tag not in (f"{{{_OPF_NS}}}meta", "meta") or meta.get("refines"):
            continue  # a refining meta speaks of another element, not the publication
        prefix, colon, name = (meta.get("property") or meta.get("name") or "").partition(":")
        if not colon or prefixes.get(prefix) not in _TDMREP or name not in _NAMES:
            continue
        text = meta.text if meta.get("property") else meta.get("content")
        values.setdefault(name, (text or "").strip())
    return read_declaration(
        values.get("reservation"),
        values.get("policy"),
        source=source,
        names=("tdm:reservation", "tdm:policy"),
    )


_NAMES = ("reservation", "policy")
_XMP_OPEN = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?xmpmeta\b")
_XMP_CLOSE = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?xmpmeta\s*>")
_BRACKETS = re.compile(rb"<<|>>")
_DICTIONARY_LIMIT = 8192
_STREAM = re.compile(rb"\s*stream\r?\n")
_METADATA_DICT = re.compile(rb"/Type\s*/Metadata\b")
_LENGTH = re.compile(rb"/Length\s+(\d+)\b(?!\s+\d+\s+R)")


def read_pdf(data: bytes, *, place: str = "PDF") -> Reservation:
    """The TDMRep properties in a PDF's XMP metadata (§sec-pdf): every ``<x:xmpmeta>``
    packet, in the clear or in a Flate-compressed Metadata stream, is read for
    ``tdm:reservation`` and ``tdm:policy``, as elements or as attributes of an
    ``rdf:Description``. A file without ``%PDF-`` or without its final ``%%EOF`` (ISO
    32000-2 §7.5.5) is reported: a cut-off file may have lost its metadata."""
    source = Source(Signal.TDMREP_PDF, place)
    problems: list[Problem] = []
    if not data.startswith(b"%PDF-"):
        return Reservation(
            problems=(Problem(source, "does not start with %PDF-; it is not a PDF"),)
        )
    if b"%%EOF" not in data[-1024:]:
        problems.append(
            Problem(
                source,
                "has no %%EOF at its end, so it is cut off and its metadata "
                "may be lost; read the whole file",
            )
        )
    packets = _packets(data, source, problems)
    inflated, stream_problems = _flate_metadata(data, source)
    problems.extend(stream_problems)
    for stream in inflated:
        packets.extend(_packets(stream, source, problems))
    result = Reservation(problems=tuple(problems))
    for packet in packets:
        result = result | _read_xmp(packet, source)
    return result


def _packets(data: bytes, source: Source, problems: list[Problem]) -> list[bytes]:
    """The ``<x:xmpmeta>`` packets in ``data``, found in one pass; at most
    ``MAX_PDF_STREAMS`` of them, each at most ``MAX_XMP_BYTES``."""
    packets: list[bytes] = []
    position = 0
    while (opening := _XMP_OPEN.search(data, position)) is not None:
        closing = _XMP_CLOSE.search(data, opening.end())
        if closing is None:
            problems.append(
                Problem(source, "has an XMP packet that never ends; the file is damaged")
            )
            break
        if closing.end() - opening.start() > MAX_XMP_BYTES or len(packets) >= MAX_PDF_STREAMS:
            problems.append(
                Problem(source, "has XMP packets past the size read; the rest were not read")
            )
            break
        packets.append(data[opening.start() : closing.end()])
        position = closing.end()
    return packets


def _flate_metadata(data: bytes, source: Source) -> tuple[list[bytes], list[Problem]]:
    """The inflated contents of the Metadata streams compressed with FlateDecode
    (ISO 32000-2 §7.3.8 streams, §14.3.2 metadata streams). Each is capped at
    ``MAX_XMP_BYTES``, where a decompression bomb stops, and at most
    ``MAX_PDF_STREAMS`` are inflated."""
    out: list[bytes] = []
    problems: list[Problem] = []
    for seen, match in enumerate(_METADATA_DICT.finditer(data)):
        if seen >= 4 * MAX_PDF_STREAMS or len(out) + len(problems) >= MAX_PDF_STREAMS:
            problems.append(
                Problem(
                    source, f"has over {MAX_PDF_STREAMS} metadata streams; the rest were not read"
                )
            )
            break
        # The object whose dictionary says /Type /Metadata: "N G obj <<" before it.
        header = data.rfind(b"obj", max(0, match.start() - _DICTIONARY_LIMIT), match.start())
        opening = data.find(b"<<", header, match.start()) if header != -1 else -1
        close = _dictionary_end(data, opening) if opening != -1 else None
        stream = _STREAM.match(data, close) if close is not None else None
        if close is None or stream is None:
            continue
        dictionary = data[opening:close]
        if b"/FlateDecode" not in dictionary:
            continue  # an uncompressed packet is found in the clear
        length = _LENGTH.search(dictionary)
        end = (
            stream.end() + int(length.group(1)) if length else data.find(b"endstream", stream.end())
        )
        inflater = zlib.decompressobj()
        try:
            text = inflater.decompress(
                data[stream.end() : end if end >= 0 else len(data)], MAX_XMP_BYTES
            )
        except zlib.error as exc:
            problems.append(
                Problem(
                    source,
                    f"has a metadata stream that does not inflate ({exc}); the file is damaged",
                )
            )
            continue
        if inflater.unconsumed_tail or len(text) >= MAX_XMP_BYTES:
            problems.append(
                Problem(
                    source,
                    f"has a metadata stream that inflates past {MAX_XMP_BYTES} bytes; "
                    "refused as a decompression bomb",
                )
            )
            continue
        out.append(text)
    return out, problems


def _dictionary_end(data: bytes, start: int) -> int | None:
    """The offset just past the ``>>`` closing the dictionary opened at ``start``,
    nested dictionaries counted; None past ``_DICTIONARY_LIMIT``, which no metadata
    stream's dictionary reaches."""
    depth = 0
    for bracket in _BRACKETS.finditer(data, start, min(len(data), start + _DICTIONARY_LIMIT)):
        depth += 1 if bracket.group() == b"<<" else -1
        if depth == 0:
            return bracket.end()
    return None


def _read_xmp(packet: bytes, source: Source) -> Reservation:
    root = _xml(packet)
    if isinstance(root, str):
        return Reservation(problems=(Problem(source, f"has an XMP packet that {root}"),))
    values: dict[str, str] = {}
    for element in root.iter():
        for namespace in _TDMREP:
            for name in _NAMES:
                key = f"{{{namespace}}}{name}"
                if element.tag == key:
                    values.setdefault(name, (element.text or "").strip())
                elif key in element.attrib:
                    values.setdefault(name, element.attrib[key].strip())
    return read_declaration(
        values.get("reservation"),
        values.get("policy"),
        source=source,
        names=("tdm:reservation", "tdm:policy"),
    )


def write_opf_meta(terms: Terms, *, policy: str | None = None, epub_version: int = 3) -> Rendering:
    """The ``<meta>`` lines stating ``terms`` in an EPUB package document's
    ``<metadata>``: EPUB 3's ``property`` form (its ``<package>`` then needs
    ``prefix="tdm: http://www.w3.org/ns/tdmrep#"``, ``EPUB_TDM_PREFIX``) or, with
    ``epub_version=2``, the ``name``/``content`` form. Raises ``ValueError`` for any
    other version."""
    declaration = TdmDeclaration.of_terms(terms, policy=policy)
    values = [("reservation", "1" if declaration.reserved else "0")]
    if declaration.policy is not None:
        values.append(("policy", declaration.policy))
    if epub_version == 3:
        lines = [f'<meta property="tdm:{k}">{_escape(v)}</meta>' for k, v in values]
    elif epub_version == 2:
        lines = [f'<meta name="tdm:{k}" content="{_escape(v)}"/>' for k, v in values]
    else:
        raise ValueError(f"EPUB version {epub_version!r}: TDMRep defines EPUB 2 and 3 only")
    return Rendering(
        "content.opf",
        text="\n".join(lines) + "\n",
        unsaid=tdm_unsaid(terms, policy=policy, where="the EPUB tdm:reservation"),
    )


def write_xmp(terms: Terms, *, policy: str | None = None) -> Rendering:
    """An XMP packet (``<x:xmpmeta>``) whose ``rdf:Description`` states ``terms`` in
    §sec-pdf's namespace, to merge into a PDF's Metadata stream."""
    declaration = TdmDeclaration.of_terms(terms, policy=policy)
    properties = [f"      <tdm:reservation>{1 if declaration.reserved else 0}</tdm:reservation>"]
    if declaration.policy is not None:
        properties.append(f"      <tdm:policy>{_escape(declaration.policy)}</tdm:policy>")
    text = "\n".join(
        [
            '<x:xmpmeta xmlns:x="adobe:ns:meta/">',
            '  <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
            f'    <rdf:Description rdf:about="" xmlns:tdm="{TDMREP_XMP_NS}">',
            *properties,
            "    </rdf:Description>",
            "  </rdf:RDF>",
            "</x:xmpmeta>",
        ]
    )
    unsaid = tdm_unsaid(terms, policy=policy, where="the PDF's XMP tdm:reservation")
    # §sec-pdf: "A PDF/A validator will raise errors if TDMRep properties are present".
    unsaid += ("pdf/a: TDMRep properties in XMP make a PDF/A file fail validation",)
    return Rendering("metadata.xmp", text=text + "\n", unsaid=unsaid)


def _escape(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )

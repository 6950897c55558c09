"""TDMRep in EPUB package documents and PDF XMP metadata (TDMRep Community Group
Final Report, §sec-epub2, §sec-epub3, §sec-pdf). EPUB and PDF files are built here, in
memory."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentry.signals import RESTRICTIVENESS, Reservation, Signal, publications
from consentry.signals.publications import (
    EPUB_TDM_PREFIX,
    MAX_PACKAGE_BYTES,
    MAX_XMP_BYTES,
    read_epub,
    read_pdf,
    write_opf_meta,
    write_xmp,
)
from consentry.signals.tdmrep import TDM_CATEGORIES
from consentry.terms import Category, Permission, Terms

VECTORS = Path(__file__).parents[2] / "vectors" / "signals" / "tdmrep"
ALLOW, DENY, LICENSE = Permission.ALLOW, Permission.DENY, Permission.LICENSE
POLICY = "https://provider.com/policies/policy.json"
OPF = "http://www.idpf.org/2007/opf"
DC = "http://purl.org/dc/elements/1.1/"
CONTAINER = (
    '<?xml version="1.0"?>\n'
    '<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">\n'
    '  <rootfiles><rootfile full-path="OEBPS/content.opf" '
    'media-type="application/oebps-package+xml"/></rootfiles>\n'
    "</container>\n"
)


def _said(reservation: Reservation) -> dict[Category, Permission]:
    return {c: p for c in Category if (p := reservation.permission(c)) is not None}


def _all(permission: Permission) -> dict[Category, Permission]:
    return dict.fromkeys(sorted(TDM_CATEGORIES, key=list(Category).index), permission)


def _epub(package: str, *, container: str = CONTAINER, name: str = "OEBPS/content.opf") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip", zipfile.ZIP_STORED)
        archive.writestr("META-INF/container.xml", container, zipfile.ZIP_DEFLATED)
        archive.writestr(name, package, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _package(metadata: str, *, version: str = "3.0", prefix: str = EPUB_TDM_PREFIX) -> str:
    return (
        f'<package xmlns="{OPF}" version="{version}" unique-identifier="id" prefix="{prefix}">\n'
        f'  <metadata xmlns:dc="{DC}">\n    <dc:title>Title</dc:title>\n{metadata}\n'
        "  </metadata>\n</package>\n"
    )


def _spec_opf(name: str, version: str) -> str:
    """§sec-epub2/3's example with its elided attributes ("...") written out."""
    text = (VECTORS / name).read_text("utf-8")
    attributes = f'xmlns="{OPF}" unique-identifier="id"'
    if version == "3.0":  # §sec-epub2's example gives its version; §sec-epub3's does not
        attributes += f' version="{version}"'
    text = text.replace("<package ", f"<package {attributes} ", 1)
    return text.replace(" ...>", ">").replace("<metadata>", f'<metadata xmlns:dc="{DC}">')


def _pdf(*streams: bytes, end: bool = True) -> bytes:
    """A PDF with a catalog whose Metadata is the first stream; each stream is given
    with its dictionary entries (everything between ``<<`` and ``>>`` but Length)."""
    parts = [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"]
    parts.append(b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R /Metadata 3 0 R >>\nendobj\n")
    parts.append(b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n")
    for number, stream in enumerate(streams, start=3):
        entries, _, body = stream.partition(b"|")
        parts.append(
            b"%d 0 obj\n<< %s /Length %d >>\nstream\n%s\nendstream\nendobj\n"
            % (number, entries, len(body), body)
        )
    parts.append(b"trailer\n<< /Root 1 0 R >>\n")
    if end:
        parts.append(b"%%EOF\n")
    return b"".join(parts)


def _metadata(xmp: bytes, *, flate: bool = False) -> bytes:
    if flate:
        return b"/Type /Metadata /Subtype /XML /Filter /FlateDecode|" + zlib.compress(xmp)
    return b"/Type /Metadata /Subtype /XML|" + xmp


def test_exports() -> None:
    assert publications.__all__ == [
        "EPUB_TDM_PREFIX",
        "TDMREP_EPUB_NS",
        "TDMREP_XMP_NS",
        "read_epub",
        "read_pdf",
        "write_opf_meta",
        "write_xmp",
    ]


# -- EPUB: the specification's examples -------------------------------------------------


@pytest.mark.parametrize(
    ("name", "version"), [("epub2-example.opf", "2.0"), ("epub3-example.opf", "3.0")]
)
def test_epub_examples_reserve_every_resource_with_a_policy(name: str, version: str) -> None:
    # "the rightsowner signals that he reserves TDM rights on every resource of the EPUB
    # file, but a TDM License may be acquired"
    reservation = read_epub(_epub(_spec_opf(name, version)), place="book.epub")
    assert _said(reservation) == _all(LICENSE)
    assert {s.licence for s in reservation.statements} == {POLICY}
    assert reservation.statements[0].source.signal is Signal.TDMREP_EPUB
    assert reservation.statements[0].source.place == "book.epub OEBPS/content.opf"
    assert not reservation.problems


def test_epub_prefix_is_resolved() -> None:
    meta = '<meta property="t:reservation">1</meta>'
    assert _said(
        read_epub(_epub(_package(meta, prefix="t: http://www.w3.org/ns/tdmrep#")))
    ) == _all(DENY)
    # "tdm" bound to another vocabulary is not TDMRep.
    other = _package(
        '<meta property="tdm:reservation">1</meta>', prefix="tdm: https://example.org/x#"
    )
    assert not read_epub(_epub(other))


def test_epub_refining_metadata_and_other_properties_are_not_read() -> None:
    metadata = (
        '<meta refines="#creator" property="tdm:reservation">0</meta>\n'
        '<meta property="dcterms:modified">2024-01-01T00:00:00Z</meta>'
    )
    assert not read_epub(_epub(_package(metadata)))


def test_epub_without_tdmrep_says_nothing() -> None:
    reservation = read_epub(_epub(_package("")))
    assert not reservation.statements and not reservation.problems


def test_epub_bad_value_is_a_problem() -> None:
    reservation = read_epub(_epub(_package('<meta property="tdm:reservation">yes</meta>')))
    (problem,) = reservation.problems
    assert "tdm:reservation is 'yes'" in problem.message
    assert all(reservation.reserves(c) for c in Category)


# -- EPUB: hostile and broken files -----------------------------------------------------

_BOMB = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n'
)
_XXE = '<?xml version="1.0"?>\n<!DOCTYPE package [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'


def _lying_about_size(data: bytes, name: bytes, size: int) -> bytes:
    """``data`` with the uncompressed size of ``name`` rewritten in both its local
    header (offset 22) and its central directory entry (offset 24)."""
    out = bytearray(data)
    local = out.find(b"PK\x03\x04")
    while local != -1:
        name_length = struct.unpack_from("<H", out, local + 26)[0]
        if out[local + 30 : local + 30 + name_length] == name:
            struct.pack_into("<I", out, local + 22, size)
        local = out.find(b"PK\x03\x04", local + 4)
    central = out.find(b"PK\x01\x02")
    while central != -1:
        name_length = struct.unpack_from("<H", out, central + 28)[0]
        if out[central + 46 : central + 46 + name_length] == name:
            struct.pack_into("<I", out, central + 24, size)
        central = out.find(b"PK\x01\x02", central + 4)
    return bytes(out)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"not a zip at all", "is not a readable ZIP archive"),
        (_epub(_package(""))[:200], "is not a readable ZIP archive"),
        (_epub(_package(""), name="OEBPS/other.opf"), "has no OEBPS/content.opf"),
        (
            _epub(_package(""), container=CONTAINER.replace("oebps-package", "x")),
            "names no package",
        ),
        (_epub(_package(""), container=_BOMB + "<container>&lol3;</container>"), "DTD or entities"),
        (_epub(_XXE + _package("&x;")), "DTD or entities"),
        (_epub(_package("<meta>")), "is not well-formed XML"),
        (_epub(_package(" " * (MAX_PACKAGE_BYTES + 1))), "would inflate to"),
    ],
)
def test_broken_and_hostile_epubs_are_problems_never_allows(data: bytes, says: str) -> None:
    reservation = read_epub(data, place="book.epub")
    assert not reservation.statements
    (problem,) = reservation.problems
    assert says in problem.message, problem.message
    assert problem.source.place.startswith("book.epub")
    assert all(reservation.reserves(c) for c in Category)


def test_a_zip_entry_that_lies_about_its_size_is_not_inflated_past_the_cap() -> None:
    honest = _epub(_package(" " * (MAX_PACKAGE_BYTES * 2)))
    reservation = read_epub(_lying_about_size(honest, b"OEBPS/content.opf", 1000))
    (problem,) = reservation.problems
    assert "content.opf cannot be inflated" in problem.message or "inflates past" in problem.message


# -- PDF --------------------------------------------------------------------------------


def _mended_spec_xmp() -> bytes:
    text = (VECTORS / "pdf-example.xmp").read_text("utf-8")
    text = text.replace(
        "xmlns:rdf=http://www.w3.org/1999/02/22-rdf-syntax-ns#>",
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
    )
    text = text.replace("\n  ...\n", "\n")
    return f'<x:xmpmeta xmlns:x="adobe:ns:meta/">\n{text}</x:xmpmeta>\n'.encode()


def test_pdf_example_as_published_is_not_well_formed() -> None:
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        + (VECTORS / "pdf-example.xmp").read_bytes()
        + b"</x:xmpmeta>"
    )
    reservation = read_pdf(_pdf(_metadata(xmp)), place="paper.pdf")
    (problem,) = reservation.problems
    assert "XMP packet that is not well-formed XML" in problem.message
    assert all(reservation.reserves(c) for c in Category)


@pytest.mark.parametrize("flate", [False, True])
def test_pdf_example_mended_reserves_with_a_policy(flate: bool) -> None:
    # §sec-pdf: "he reserves TDM rights on the PDF document, but a TDM License may be
    # acquired".
    reservation = read_pdf(_pdf(_metadata(_mended_spec_xmp(), flate=flate)), place="paper.pdf")
    assert _said(reservation) == _all(LICENSE)
    assert {s.licence for s in reservation.statements} == {
        "https://publisher.com/policies/policy.json"
    }
    assert reservation.statements[0].source.signal is Signal.TDMREP_PDF
    assert not reservation.problems


def test_pdf_properties_as_attributes_and_in_the_epub_namespace() -> None:
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        b'22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:tdm="http://www.w3.org/ns/'
        b'tdmrep#" tdm:reservation="1"/></rdf:RDF></x:xmpmeta>'
    )
    assert _said(read_pdf(_pdf(_metadata(xmp)))) == _all(DENY)


def test_pdf_without_metadata_says_nothing() -> None:
    reservation = read_pdf(_pdf(b"/Type /XObject|abc"))
    assert not reservation.statements and not reservation.problems


def test_pdf_flate_bomb_is_refused() -> None:
    bomb = zlib.compress(b"<x:xmpmeta>" + b" " * (MAX_XMP_BYTES * 4), 9)
    reservation = read_pdf(_pdf(b"/Type /Metadata /Subtype /XML /Filter /FlateDecode|" + bomb))
    (problem,) = reservation.problems
    assert "decompression bomb" in problem.message
    assert all(reservation.reserves(c) for c in Category)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"GIF89a...", "it is not a PDF"),
        (_pdf(_metadata(_mended_spec_xmp()), end=False), "cut off"),
        (_pdf(_metadata(_mended_spec_xmp()))[:400], "cut off"),
        (_pdf(b"/Type /Metadata /Filter /FlateDecode|not deflate data"), "does not inflate"),
        (_pdf(_metadata(b"<x:xmpmeta>" + _BOMB.encode() + b"</x:xmpmeta>")), "not well-formed XML"),
    ],
)
def test_broken_and_hostile_pdfs_are_problems_never_allows(data: bytes, says: str) -> None:
    # A packet is read from <x:xmpmeta> on, so a DTD (an entity bomb) can only sit inside
    # it, where XML does not allow one.
    reservation = read_pdf(data, place="paper.pdf")
    assert any(says in p.message for p in reservation.problems), reservation.problems
    assert all(reservation.reserves(c) for c in Category)


def test_pdf_packet_cut_in_two_is_reported() -> None:
    data = _pdf(_metadata(_mended_spec_xmp()))
    cut = data[: data.index(b"</x:xmpmeta>")]
    assert any("never ends" in p.message for p in read_pdf(cut).problems)


# -- writing ----------------------------------------------------------------------------


def _terms(permission: Permission) -> Terms:
    return Terms(MappingProxyType(dict.fromkeys(TDM_CATEGORIES, permission)))


def test_write_opf_meta_epub3_and_epub2() -> None:
    assert write_opf_meta(_terms(LICENSE), policy=POLICY).text == (
        f'<meta property="tdm:reservation">1</meta>\n<meta property="tdm:policy">{POLICY}</meta>\n'
    )
    assert write_opf_meta(_terms(ALLOW), epub_version=2).text == (
        '<meta name="tdm:reservation" content="0"/>\n'
    )
    with pytest.raises(ValueError, match="EPUB 2 and 3 only"):
        write_opf_meta(_terms(ALLOW), epub_version=4)


def test_write_xmp_names_the_pdf_a_caveat() -> None:
    rendering = write_xmp(_terms(DENY))
    assert 'xmlns:tdm="http://www.w3.org/ns/tdmrep/"' in rendering.text
    assert "<tdm:reservation>1</tdm:reservation>" in rendering.text
    assert any(u.startswith("pdf/a:") for u in rendering.unsaid)


_TERMS = st.builds(
    Terms,
    st.dictionaries(st.sampled_from(list(Category)), st.sampled_from(list(Permission))).map(
        MappingProxyType
    ),
)


def _never_looser(terms: Terms, read: Reservation, unsaid: tuple[str, ...]) -> None:
    assert not read.problems
    for category in Category:
        got, wanted = read.permission(category), terms.permission(category)
        if category not in TDM_CATEGORIES:
            assert got is None and any(u.startswith(f"{category.value}:") for u in unsaid)
            continue
        assert got is not None
        assert RESTRICTIVENESS.index(got) >= RESTRICTIVENESS.index(wanted)
        if got is not wanted:
            assert any(u.startswith(f"{category.value}:") for u in unsaid)


@settings(max_examples=50)
@given(_TERMS, st.sampled_from([None, POLICY]), st.sampled_from([2, 3]))
def test_opf_meta_round_trips_through_an_epub(
    terms: Terms, policy: str | None, version: int
) -> None:
    rendering = write_opf_meta(terms, policy=policy, epub_version=version)
    read = read_epub(_epub(_package(rendering.text, version=f"{version}.0")))
    _never_looser(terms, read, rendering.unsaid)


@settings(max_examples=50)
@given(_TERMS, st.sampled_from([None, POLICY]), st.booleans())
def test_xmp_round_trips_through_a_pdf(terms: Terms, policy: str | None, flate: bool) -> None:
    rendering = write_xmp(terms, policy=policy)
    read = read_pdf(_pdf(_metadata(rendering.text.encode(), flate=flate)))
    _never_looser(terms, read, rendering.unsaid)

"""The IPTC / PLUS Data Mining property (IPTC Photo Metadata Standard 2023.1, XMP
``plus:DataMining``) read from XMP packets and images, and written from terms."""

from __future__ import annotations

import io
import itertools
import struct
import zlib
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import pytest
from PIL import Image, PngImagePlugin

from consentry.errors import InputError
from consentry.signals import Reservation, Signal, xmp
from consentry.signals.xmp import (
    DATA_MINING_CATEGORIES,
    DATA_MINING_VALUES,
    PLUS_VOCABULARY,
    read_data_mining,
    read_image_data_mining,
    write_data_mining,
)
from consentry.terms import VOCABULARY, Category, Conditions, Permission, Price, PriceUnit, Terms

VECTORS = Path(__file__).parents[2] / "vectors" / "signals" / "xmp"
ALLOW, DENY, LICENSE = Permission.ALLOW, Permission.DENY, Permission.LICENSE
TRAINING = {Category.TRAIN_AI, Category.TRAIN_OTHER}


def _said(reservation: Reservation) -> dict[Category, Permission]:
    return {c: p for c in Category if (p := reservation.permission(c)) is not None}


def _packet(value: str, extra: str = "") -> str:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/">'
        f"<plus:DataMining>{value}</plus:DataMining>{extra}"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )


def _terms(**permissions: Permission) -> Terms:
    return Terms(
        MappingProxyType({Category(k.replace("_", "-")): p for k, p in permissions.items()})
    )


def test_exports() -> None:
    assert xmp.__all__ == [
        "DATA_MINING_CATEGORIES",
        "DATA_MINING_VALUES",
        "PLUS_NS",
        "PLUS_VOCABULARY",
        "DataMiningValue",
        "read_data_mining",
        "read_image_data_mining",
        "write_data_mining",
    ]


# -- the vocabulary ----------------------------------------------------------------------


def test_vocabulary_is_the_nine_values_iptc_lists() -> None:
    assert sorted(DATA_MINING_VALUES) == sorted(
        [
            "DMI-UNSPECIFIED",
            "DMI-ALLOWED",
            "DMI-PROHIBITED-AIMLTRAINING",
            "DMI-PROHIBITED-GENAIMLTRAINING",
            "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING",
            "DMI-PROHIBITED",
            "DMI-PROHIBITED-SEECONSTRAINT",
            "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR",
            "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR",
        ]
    )


def test_values_agree_with_the_terms_vocabulary() -> None:
    # DESIGN.md §5.4's IPTC column.
    for category in (Category.TRAIN_AI, Category.TRAIN_OTHER):
        uri = VOCABULARY[category].iptc
        assert uri is not None and uri.startswith(PLUS_VOCABULARY)
        value = DATA_MINING_VALUES[uri.removeprefix(PLUS_VOCABULARY)]
        assert value.uri == uri and value.decisions[category] is DENY


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("DMI-UNSPECIFIED", {}),
        ("DMI-ALLOWED", dict.fromkeys(DATA_MINING_CATEGORIES, ALLOW)),
        ("DMI-PROHIBITED-AIMLTRAINING", dict.fromkeys(TRAINING, DENY)),
        ("DMI-PROHIBITED-GENAIMLTRAINING", {Category.TRAIN_AI: DENY}),
        (
            "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING",
            {**dict.fromkeys(DATA_MINING_CATEGORIES, DENY), Category.SEARCH: ALLOW},
        ),
        ("DMI-PROHIBITED", dict.fromkeys(DATA_MINING_CATEGORIES, DENY)),
        # A pointer to terms that are not there: prohibited, as the value says first.
        ("DMI-PROHIBITED-SEECONSTRAINT", dict.fromkeys(DATA_MINING_CATEGORIES, DENY)),
        ("DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR", dict.fromkeys(DATA_MINING_CATEGORIES, DENY)),
        ("DMI-PROHIBITED-SEELINKEDRIGHTSEXPR", dict.fromkeys(DATA_MINING_CATEGORIES, DENY)),
    ],
)
def test_each_value_reads_as_the_vocabulary_says(
    code: str, expected: dict[Category, Permission]
) -> None:
    reservation = read_data_mining(_packet(PLUS_VOCABULARY + code))
    assert _said(reservation) == expected
    assert not reservation.problems
    assert all(s.label == f"plus:DataMining {code}" for s in reservation.statements)
    assert Category.PUBLISH_OUTPUT not in _said(reservation)


# -- the vectors -------------------------------------------------------------------------


def test_element_form_with_packet_wrapper() -> None:
    reservation = read_data_mining((VECTORS / "plus-element.xmp").read_bytes())
    assert _said(reservation) == {Category.TRAIN_AI: DENY}
    assert reservation.statements[0].source.signal is Signal.IPTC


def test_attribute_form_under_another_prefix() -> None:
    text = (VECTORS / "plus-attribute-other-prefix.xmp").read_text("utf-8")
    said = _said(read_data_mining(text))
    assert said.pop(Category.SEARCH) is ALLOW
    assert said == dict.fromkeys(set(DATA_MINING_CATEGORIES) - {Category.SEARCH}, DENY)


def test_see_constraint_reserves_for_licensing_under_the_default_text() -> None:
    reservation = read_data_mining((VECTORS / "plus-see-constraint.xmp").read_bytes())
    assert _said(reservation) == dict.fromkeys(DATA_MINING_CATEGORIES, LICENSE)
    assert {s.licence for s in reservation.statements} == {
        "AI training licences: https://example.org/licensing"
    }


def test_see_linked_rights_expression_reserves_for_licensing_under_the_link() -> None:
    reservation = read_data_mining((VECTORS / "plus-see-linked-rights-expression.xmp").read_bytes())
    assert _said(reservation) == dict.fromkeys(DATA_MINING_CATEGORIES, LICENSE)
    assert {s.licence for s in reservation.statements} == {"https://example.org/odrl/offer.json"}


def test_see_embedded_rights_expression_with_one_present() -> None:
    extra = (
        '<Iptc4xmpExt:EmbdEncRightsExpr xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/'
        '2008-02-29/"><rdf:Bag><rdf:li rdf:parseType="Resource"><Iptc4xmpExt:EncRightsExpr>'
        "{}</Iptc4xmpExt:EncRightsExpr></rdf:li></rdf:Bag></Iptc4xmpExt:EmbdEncRightsExpr>"
    )
    code = "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR"
    reservation = read_data_mining(_packet(PLUS_VOCABULARY + code, extra))
    assert _said(reservation) == dict.fromkeys(DATA_MINING_CATEGORIES, LICENSE)


# -- what is read leniently, and what is a problem ----------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "DMI-PROHIBITED",
        "dmi-prohibited",
        "https://ns.useplus.org/ldf/vocab/DMI-PROHIBITED",
        "  http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED\n ",
    ],
)
def test_value_spellings_read(written: str) -> None:
    assert _said(read_data_mining(_packet(written))) == dict.fromkeys(DATA_MINING_CATEGORIES, DENY)


@pytest.mark.parametrize(
    "packet",
    [
        _packet("Prohibited for Generative AI/ML training"),  # the label, not the value
        _packet("http://ns.useplus.org/ldf/vocab/DMI-ALLOWED-noaitraining"),  # draft value
        "<x:xmpmeta",
        "not xml at all",
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><x>&b;</x>',
        " " * (xmp.MAX_PACKET_BYTES + 1),
    ],
)
def test_unreadable_xmp_is_a_problem(packet: str) -> None:
    reservation = read_data_mining(packet)
    assert reservation.problems
    assert not [s for s in reservation.statements if s.permission is ALLOW]
    assert reservation.reserves(Category.SEARCH)


def test_conflicting_values_resolve_to_the_most_restrictive() -> None:
    packet = _packet(PLUS_VOCABULARY + "DMI-ALLOWED").replace(
        "</rdf:RDF>",
        '<rdf:Description xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/" '
        f'plus:DataMining="{PLUS_VOCABULARY}DMI-PROHIBITED-AIMLTRAINING"/></rdf:RDF>',
    )
    said = _said(read_data_mining(packet))
    assert said[Category.TRAIN_AI] is DENY and said[Category.SEARCH] is ALLOW


# -- writing -----------------------------------------------------------------------------


def test_allow_training_but_deny_search_cannot_be_said() -> None:
    terms = _terms(
        train_ai=ALLOW, train_other=ALLOW, ai_input=ALLOW, data_mining=ALLOW, search=DENY
    )
    rendering = write_data_mining(terms)
    assert rendering.filename == "datamining.xmp"
    assert f"{PLUS_VOCABULARY}DMI-PROHIBITED<" in rendering.text
    lost = {line.split(":")[0] for line in rendering.unsaid}
    assert lost == {"train-ai", "train-other", "ai-input", "data-mining", "publish-output"}


_FIVE = ["train_ai", "train_other", "ai_input", "search", "data_mining"]


@pytest.mark.parametrize(
    ("terms", "code", "silent"),
    [
        (_terms(**dict.fromkeys(_FIVE, ALLOW)), "DMI-ALLOWED", set()),
        (
            _terms(**{**dict.fromkeys(_FIVE, ALLOW), "train_ai": DENY}),
            "DMI-PROHIBITED-GENAIMLTRAINING",
            {"train-other", "ai-input", "search", "data-mining"},
        ),
        (
            _terms(**{**dict.fromkeys(_FIVE, ALLOW), "train_ai": DENY, "train_other": DENY}),
            "DMI-PROHIBITED-AIMLTRAINING",
            {"ai-input", "search", "data-mining"},
        ),
        (
            _terms(**{**dict.fromkeys(_FIVE, DENY), "search": ALLOW}),
            "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING",
            set(),
        ),
        (_terms(**dict.fromkeys(_FIVE, DENY)), "DMI-PROHIBITED", set()),
        (Terms(), "DMI-PROHIBITED-SEECONSTRAINT", set()),  # every use licensed, by default
    ],
)
def test_the_value_closest_to_the_terms(terms: Terms, code: str, silent: set[str]) -> None:
    """A narrow value is chosen over prohibiting what the terms allow; the uses it is
    silent on are unsaid (a reader's own default then applies to them)."""
    rendering = write_data_mining(terms)
    assert f"<plus:DataMining>{PLUS_VOCABULARY}{code}</plus:DataMining>" in rendering.text
    unsaid = {line.split(":")[0] for line in rendering.unsaid}
    assert unsaid == silent | {"publish-output"}
    for line in rendering.unsaid:
        if line.split(":")[0] in silent:
            assert f"{code} says nothing of it" in line
    said = _said(read_data_mining(rendering.text))
    assert said == {c: terms.permission(c) for c in DATA_MINING_CATEGORIES if c.value not in silent}


def test_every_terms_round_trip_reserves_what_the_terms_reserve() -> None:
    """For all 3^5 combinations: nothing the terms reserve reads back as allowed or
    unsaid (never a silent allow), and every category read back otherwise than the
    terms say is named in ``unsaid``."""
    for combination in itertools.product(Permission, repeat=len(DATA_MINING_CATEGORIES)):
        terms = Terms(MappingProxyType(dict(zip(DATA_MINING_CATEGORIES, combination, strict=True))))
        rendering = write_data_mining(terms)
        back = read_data_mining(rendering.text)
        named = {line.split(":")[0] for line in rendering.unsaid}
        for category in DATA_MINING_CATEGORIES:
            wanted, read = terms.permission(category), back.permission(category)
            if wanted is not ALLOW:
                assert read in {DENY, LICENSE}, (terms, category)
            assert (read == wanted) != (category.value in named), (terms, category)


def test_other_constraints_are_escaped_and_read_back_as_the_licence() -> None:
    text = "licences <here> & there: https://example.org/?a=1&b=2"
    rendering = write_data_mining(Terms(), other_constraints=text)
    assert "&lt;here&gt; &amp; there" in rendering.text
    reservation = read_data_mining(rendering.text)
    assert {s.licence for s in reservation.statements} == {text}


def test_price_and_conditions_are_unsaid() -> None:
    terms = Terms(
        price=Price(PriceUnit.WORK, Decimal("2"), "EUR"), conditions=Conditions(non_commercial=True)
    )
    topics = [line.split(":")[0] for line in write_data_mining(terms).unsaid]
    assert topics == ["publish-output", "price", "conditions"]


@pytest.mark.parametrize("text", ["", "  ", "bell\x07", "nul\x00"])
def test_other_constraints_xml_cannot_carry_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="other constraints"):
        write_data_mining(Terms(), other_constraints=text)


# -- images ------------------------------------------------------------------------------

PACKET = _packet(PLUS_VOCABULARY + "DMI-PROHIBITED-AIMLTRAINING")


def _saved(kind: str, **params: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 200)).save(out, kind, **params)
    return out.getvalue()


def _png(*, compressed: bool, text: str = PACKET) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", text, zip=compressed)
    return _saved("PNG", pnginfo=info)


@pytest.mark.parametrize(
    ("image", "place"),
    [
        (_saved("JPEG", xmp=PACKET.encode()), "XMP in JPEG APP1"),
        (_png(compressed=False), "XMP in PNG iTXt XML:com.adobe.xmp"),
        (_png(compressed=True), "XMP in PNG iTXt XML:com.adobe.xmp"),
        (_saved("WEBP", xmp=PACKET.encode()), "XMP in WebP XMP chunk"),
        (_saved("TIFF", tiffinfo={700: PACKET.encode()}), "XMP packet at byte"),
    ],
)
def test_packet_found_in_each_container(image: bytes, place: str) -> None:
    reservation = read_image_data_mining(image)
    assert _said(reservation) == dict.fromkeys(TRAINING, DENY)
    assert reservation.statements[0].source.place.startswith(place)


def test_written_packet_embedded_in_a_jpeg_reads_back() -> None:
    terms = _terms(train_ai=DENY, train_other=DENY, ai_input=DENY, search=ALLOW, data_mining=DENY)
    packet = write_data_mining(terms).text
    said = _said(read_image_data_mining(_saved("JPEG", xmp=packet.encode())))
    assert said == {c: terms.permission(c) for c in DATA_MINING_CATEGORIES}


def test_image_without_xmp_has_no_signal() -> None:
    for kind in ("JPEG", "PNG", "WEBP", "GIF", "TIFF"):
        assert not read_image_data_mining(_saved(kind)), kind


def test_compressed_packet_bomb_is_refused_unread() -> None:
    bomb = zlib.compress(b" " * (8 * xmp.MAX_PACKET_BYTES))
    chunk = b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + bomb
    crc = struct.pack(">I", zlib.crc32(b"iTXt" + chunk))
    plain = _saved("PNG")
    image = plain[:33] + struct.pack(">I", len(chunk)) + b"iTXt" + chunk + crc + plain[33:]
    reservation = read_image_data_mining(image)
    assert reservation.problems and "refused unread" in reservation.problems[0].message


@pytest.mark.parametrize(
    "image",
    [
        b"",
        b"\xff\xd8",
        b"\xff\xd8\xff\xe1\xff\xff" + b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta",
        b"\xff\xd8\x00\x00" + PACKET.encode(),  # broken JPEG: the packet is still found
        b"\x89PNG\r\n\x1a\n\xff\xff\xff\xffiTXt",
        b"RIFF\x00\x00\x00\x00WEBPXMP \xff\xff\xff\xff<x:xmpmeta>",
        b"<x:xmpmeta>" * 50,
        bytes(range(256)) * 8,
    ],
)
def test_garbage_never_raises(image: bytes) -> None:
    reservation = read_image_data_mining(image)
    assert not [s for s in reservation.statements if s.permission is ALLOW]


def test_broken_container_falls_back_to_the_packet_markers() -> None:
    reservation = read_image_data_mining(b"\xff\xd8\x00\x00" + PACKET.encode())
    assert _said(reservation) == dict.fromkeys(TRAINING, DENY)
    assert reservation.statements[0].source.place == "XMP packet at byte 4"


def test_lang_alt_without_default_takes_the_first_language() -> None:
    extra = (
        "<plus:OtherConstraints><rdf:Alt><rdf:li xml:lang='fr'>premier</rdf:li>"
        "<rdf:li xml:lang='de'>zweiter</rdf:li></rdf:Alt></plus:OtherConstraints>"
    )
    reservation = read_data_mining(_packet(PLUS_VOCABULARY + "DMI-PROHIBITED-SEECONSTRAINT", extra))
    assert {s.licence for s in reservation.statements} == {"premier"}


def test_a_denied_use_is_never_written_as_one_to_license() -> None:
    # SEECONSTRAINT reads as "ask for a licence": beside a denial it would invite a
    # licence request for what the owner refuses.
    terms = _terms(
        train_ai=Permission.ALLOW,
        train_other=Permission.ALLOW,
        ai_input=Permission.DENY,
        search=Permission.LICENSE,
        data_mining=Permission.LICENSE,
    )
    rendering = write_data_mining(terms, other_constraints="https://ada.example/license.xml")
    read = read_data_mining(rendering.text)
    assert read.permission(Category.AI_INPUT) is Permission.DENY
    assert "DMI-PROHIBITED-SEECONSTRAINT" not in rendering.text

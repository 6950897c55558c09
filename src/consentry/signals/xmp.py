"""The IPTC "Data Mining" property in XMP, read from images and written from terms.

IPTC Photo Metadata Standard 2023.1 (and later versions) adopted the PLUS Coalition's
property (https://iptc.org/std/photometadata/specification/IPTC-PhotoMetadata, "Data
Mining"; PLUS LDF XMP Specification, http://ns.useplus.org/LDF/ldf-XMPSpecification,
``DataMining``): XMP ``plus:DataMining`` in the namespace
``http://ns.useplus.org/ldf/xmp/1.0/``, one URL (cardinality 0..1) from the PLUS Data
Mining vocabulary, whose nine values ``DATA_MINING_VALUES`` lists with the
vocabulary's own words. Three of them point elsewhere for the terms: "Prohibited, see
plus:OtherConstraints" (a Lang Alt text), "... see iptcExt:EmbdEncRightsExpr" and
"... see iptcExt:LinkedEncRightsExpr" (IPTC Extension, Embedded and Linked Encoded
Rights Expression). Where the pointed-to property is present, the use is read as
reserved for licensing under it (the statement's licence); where it is absent, as
prohibited, which the value says first.

What the property covers. The vocabulary names AI/ML training, generative AI/ML
training and search engine indexing as kinds of data mining ("Prohibited except for
search engine indexing"), so ``DMI-ALLOWED`` and ``DMI-PROHIBITED`` speak of training,
search, AI input (mining an image to produce an answer is the same analysis) and other
mining (``DATA_MINING_CATEGORIES``); a narrower value speaks only of what it names.
``DMI-UNSPECIFIED`` ("no prohibition defined") is no signal. Publishing a model's
output is no data mining, and the property says nothing of it. The vocabulary is
coarse: ``write_data_mining`` picks the value that reserves every use the terms reserve
and says least that the terms do not, and its ``unsaid`` names the rest.

Where XMP sits in an image (XMP Specification Part 3, "Embedding XMP metadata in
application files"): a JPEG APP1 segment opening with ``http://ns.adobe.com/xap/1.0/``,
a PNG ``iTXt`` chunk keyed ``XML:com.adobe.xmp``, a WebP ``XMP `` chunk; in any other
format the packet is found by its ``<?xpacket`` or ``<x:xmpmeta`` markers. Extended XMP
(the JPEG extension segments) is not read: ``plus:DataMining`` is a short property in
the main packet. Packets are parsed without DTDs or entities. Nothing here raises on
input; unreadable XMP becomes a ``Problem``.
"""

from __future__ import annotations

import itertools
import re
import struct
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

import defusedxml  # type: ignore[import-untyped]  # defusedxml ships no type hints
import defusedxml.ElementTree  # type: ignore[import-untyped]

from consentry.errors import InputError
from consentry.signals.model import Problem, Rendering, Reservation, Signal, Source, Statement
from consentry.terms import Category, Permission, Terms
from consentry.terms.money import quoted

__all__ = [
    "DATA_MINING_CATEGORIES",
    "DATA_MINING_VALUES",
    "PLUS_NS",
    "PLUS_VOCABULARY",
    "DataMiningValue",
    "read_data_mining",
    "read_image_data_mining",
    "write_data_mining",
]

PLUS_NS = "http://ns.useplus.org/ldf/xmp/1.0/"
PLUS_VOCABULARY = "http://ns.useplus.org/ldf/vocab/"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"  # IPTC Extension schema
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

DATA_MINING_CATEGORIES = (
    Category.TRAIN_AI,
    Category.TRAIN_OTHER,
    Category.AI_INPUT,
    Category.SEARCH,
    Category.DATA_MINING,
)
"""The uses the Data Mining property speaks of (see the module docstring)."""

MAX_PACKET_BYTES = 1 << 20  # a JPEG APP1 segment holds 64 KiB; nothing needs more
MAX_PACKETS = 8
_MAX_VALUES = 16
_MAX_TEXT = 1000
DEFAULT_CONSTRAINT = "licensed use only: ask the rights holder for a grant"


@dataclass(frozen=True, slots=True)
class DataMiningValue:
    """One term of the PLUS Data Mining vocabulary: its code, its description, what it
    says of each use, and the property its terms are in when it points to one."""

    code: str
    description: str
    decisions: Mapping[Category, Permission]
    constraint: str | None = None

    @property
    def uri(self) -> str:
        return PLUS_VOCABULARY + self.code


def _value(
    code: str,
    description: str,
    denied: tuple[Category, ...] = (),
    *,
    allowed: bool = False,
    constraint: str | None = None,
) -> DataMiningValue:
    decisions = dict.fromkeys(denied, Permission.DENY)
    if allowed:
        decisions = {c: decisions.get(c, Permission.ALLOW) for c in DATA_MINING_CATEGORIES}
    return DataMiningValue(code, description, MappingProxyType(decisions), constraint)


_TRAINING = (Category.TRAIN_AI, Category.TRAIN_OTHER)
_ALL_BUT_SEARCH = (*_TRAINING, Category.AI_INPUT, Category.DATA_MINING)

# The vocabulary as IPTC publishes it with Photo Metadata 2023.1 (code, then the words
# the standard gives each value).
DATA_MINING_VALUES: Mapping[str, DataMiningValue] = MappingProxyType(
    {
        v.code: v
        for v in (
            _value("DMI-UNSPECIFIED", "Unspecified - no prohibition defined"),
            _value("DMI-ALLOWED", "Allowed", allowed=True),
            _value("DMI-PROHIBITED-AIMLTRAINING", "Prohibited for AI/ML training", _TRAINING),
            _value(
                "DMI-PROHIBITED-GENAIMLTRAINING",
                "Prohibited for Generative AI/ML training",
                (Category.TRAIN_AI,),
            ),
            _value(
                "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING",
                "Prohibited except for search engine indexing",
                _ALL_BUT_SEARCH,
                allowed=True,
            ),
            _value("DMI-PROHIBITED", "Prohibited", DATA_MINING_CATEGORIES),
            _value(
                "DMI-PROHIBITED-SEECONSTRAINT",
                "Prohibited, see plus:OtherConstraints",
                DATA_MINING_CATEGORIES,
                constraint="plus:OtherConstraints",
            ),
            _value(
                "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR",
                "Prohibited, see iptcExt:EmbdEncRightsExpr",
                DATA_MINING_CATEGORIES,
                constraint="Iptc4xmpExt:EmbdEncRightsExpr",
            ),
            _value(
                "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR",
                "Prohibited, see iptcExt:LinkedEncRightsExpr",
                DATA_MINING_CATEGORIES,
                constraint="Iptc4xmpExt:LinkedEncRightsExpr",
            ),
        )
    }
)


# -- reading a packet ------------------------------------------------------------------


def read_data_mining(packet: str | bytes, *, place: str = "XMP packet") -> Reservation:
    """The statements of every ``plus:DataMining`` in an XMP ``packet``, as an attribute
    of an ``rdf:Description``, or an element holding the URL as text or
    ``rdf:resource``. A value outside the vocabulary, or a packet that is not XML,
    becomes a ``Problem``. Never raises."""
    source = Source(Signal.IPTC, place)
    data = packet.encode("utf-8") if isinstance(packet, str) else packet
    if len(data) > MAX_PACKET_BYTES:
        return _problem(source, f"is {len(data)} bytes, over {MAX_PACKET_BYTES}; refused unread")
    try:
        root: Element = defusedxml.ElementTree.fromstring(data, forbid_dtd=True)
    except defusedxml.DefusedXmlException:
        return _problem(source, "declares a DTD or entities, which are refused unread")
    except (ParseError, ValueError) as exc:
        return _problem(source, f"is not well-formed XML ({quoted(str(exc), limit=80)})")
    statements: list[Statement] = []
    problems: list[Problem] = []
    # The property is single-valued; a packet repeating it is read up to a bound.
    for written in itertools.islice(_values(root, f"{{{PLUS_NS}}}DataMining"), _MAX_VALUES):
        value = _vocabulary_value(written)
        if value is None:
            problems.append(
                Problem(
                    source,
                    f"plus:DataMining {quoted(written, limit=80)} is not in the PLUS Data "
                    f"Mining vocabulary; write one of its URLs, e.g. {PLUS_VOCABULARY}"
                    "DMI-PROHIBITED",
                )
            )
            continue
        pointed = _constraint(root, value.constraint) if value.constraint else None
        for category, permission in value.decisions.items():
            licensed = pointed is not None and permission is Permission.DENY
            statements.append(
                Statement(
                    category,
                    Permission.LICENSE if licensed else permission,
                    source,
                    f"plus:DataMining {value.code}",
                    licence=pointed if licensed else None,
                )
            )
    return Reservation(tuple(statements), tuple(problems))


def _problem(source: Source, message: str) -> Reservation:
    return Reservation(problems=(Problem(source, f"the XMP {message}"),))


def _values(root: Element, name: str) -> Iterator[str]:
    """Each value of the simple property ``name``: attribute of any element (the RDF
    shorthand), or element text, or the ``rdf:resource`` of an empty element."""
    for element in root.iter():
        if name in element.attrib:
            yield element.attrib[name].strip()
        if element.tag == name:
            resource = element.attrib.get(f"{{{_RDF}}}resource")
            text = resource if resource is not None else "".join(element.itertext())
            yield text.strip()


def _vocabulary_value(written: str) -> DataMiningValue | None:
    code = written
    for prefix in (PLUS_VOCABULARY, PLUS_VOCABULARY.replace("http:", "https:", 1)):
        if written.lower().startswith(prefix.lower()):
            code = written[len(prefix) :]
    return DATA_MINING_VALUES.get(code.upper())


def _constraint(root: Element, prop: str) -> str | None:
    """The terms the property ``prop`` (a value's pointer) gives, or None if absent."""
    match prop:
        case "plus:OtherConstraints":
            return _alternative(root, f"{{{PLUS_NS}}}OtherConstraints")
        case "Iptc4xmpExt:LinkedEncRightsExpr":
            return next(
                (v[:_MAX_TEXT] for v in _values(root, f"{{{_EXT}}}LinkedRightsExpr") if v), None
            )
        case _:
            found = any(v for v in _values(root, f"{{{_EXT}}}EncRightsExpr"))
            return (
                "the embedded rights expression (Iptc4xmpExt:EmbdEncRightsExpr)" if found else None
            )


def _alternative(root: Element, name: str) -> str | None:
    """A Lang Alt property's default text (``x-default``, else the first), or a plain
    value written where a Lang Alt belongs."""
    for element in root.iter(name):
        items = list(element.iter(f"{{{_RDF}}}li"))
        chosen = next((i for i in items if i.get(_XML_LANG) == "x-default"), None)
        if chosen is None:
            chosen = items[0] if items else element
        text = "".join(chosen.itertext()).strip()
        if text:
            return text[:_MAX_TEXT]
    plain = next((v for v in _values(root, name) if v), None)
    return plain[:_MAX_TEXT] if plain else None


# -- finding packets in an image -------------------------------------------------------

_JPEG_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_XMP = b"XML:com.adobe.xmp"


def read_image_data_mining(image: bytes) -> Reservation:
    """The ``plus:DataMining`` statements of every XMP packet in ``image`` (at most
    ``MAX_PACKETS``). Never raises."""
    return Reservation.merge(
        read_data_mining(packet, place=place) for place, packet in _packets(image)
    )


def _packets(image: bytes) -> list[tuple[str, bytes]]:
    """(place, packet) for each XMP packet the image's container holds; in a container
    that is not recognised or not well formed, each one its markers delimit."""
    try:
        if image.startswith(b"\xff\xd8"):
            return list(_jpeg(image))[:MAX_PACKETS]
        if image.startswith(_PNG_SIGNATURE):
            return list(_png(image))[:MAX_PACKETS]
        if image[:4] == b"RIFF" and image[8:12] == b"WEBP":
            return list(_webp(image))[:MAX_PACKETS]
    except (struct.error, ValueError, zlib.error):
        # A broken container: its packets are found by their markers, which need no
        # structure.
        return list(_scanned(image))[:MAX_PACKETS]
    return list(_scanned(image))[:MAX_PACKETS]


def _jpeg(image: bytes) -> Iterator[tuple[str, bytes]]:
    at = 2
    while at + 4 <= len(image):
        if image[at] != 0xFF:
            raise ValueError("JPEG marker expected")
        marker = image[at + 1]
        if marker == 0xFF:  # a fill byte before the marker
            at += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            at += 2
            continue
        if marker in {0xD9, 0xDA}:  # end of image, or start of scan: no metadata beyond
            return
        (length,) = struct.unpack_from(">H", image, at + 2)
        segment = image[at + 4 : at + 2 + length]
        if marker == 0xE1 and segment.startswith(_JPEG_XMP):
            yield "XMP in JPEG APP1", segment[len(_JPEG_XMP) :]
        at += 2 + length


def _png(image: bytes) -> Iterator[tuple[str, bytes]]:
    at = len(_PNG_SIGNATURE)
    while at + 8 <= len(image):
        length, kind = struct.unpack_from(">I4s", image, at)
        data = image[at + 8 : at + 8 + length]
        if kind == b"IEND":
            return
        if kind == b"iTXt" and data.startswith(_PNG_XMP + b"\x00"):
            rest = data[len(_PNG_XMP) + 1 :]
            compressed = rest[:1] == b"\x01"
            # Skip the compression method, then the language tag and translated keyword.
            text = rest[2:].split(b"\x00", 2)[-1]
            if compressed:
                inflater = zlib.decompressobj()
                text = inflater.decompress(text, MAX_PACKET_BYTES + 1)
            yield "XMP in PNG iTXt XML:com.adobe.xmp", text
        at += 12 + length


def _webp(image: bytes) -> Iterator[tuple[str, bytes]]:
    at = 12
    while at + 8 <= len(image):
        kind, length = struct.unpack_from("<4sI", image, at)
        if kind == b"XMP ":
            yield "XMP in WebP XMP chunk", image[at + 8 : at + 8 + length]
        at += 8 + length + (length & 1)  # chunks are padded to an even size


_MARKERS = (
    (re.compile(rb"<\?xpacket begin="), re.compile(rb"<\?xpacket end=[^>]{0,16}\?>")),
    (re.compile(rb"<x:xmpmeta\b"), re.compile(rb"</x:xmpmeta>")),
)


def _scanned(image: bytes) -> Iterator[tuple[str, bytes]]:
    for begin, end in _MARKERS:
        found = False
        for start in begin.finditer(image):
            stop = end.search(image, start.start(), start.start() + MAX_PACKET_BYTES)
            if stop is not None:
                found = True
                yield f"XMP packet at byte {start.start()}", image[start.start() : stop.end()]
        if found:
            return


# -- writing ---------------------------------------------------------------------------

_CANDIDATES = tuple(
    DATA_MINING_VALUES[code]
    for code in (
        "DMI-ALLOWED",
        "DMI-PROHIBITED-GENAIMLTRAINING",
        "DMI-PROHIBITED-AIMLTRAINING",
        "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING",
        "DMI-PROHIBITED",
        "DMI-PROHIBITED-SEECONSTRAINT",  # written with plus:OtherConstraints: a licence
    )
)
_RESERVED = frozenset({Permission.DENY, Permission.LICENSE})


def _read_back(value: DataMiningValue) -> Mapping[Category, Permission]:
    if value.constraint is not None:  # written with its constraint text beside it
        return dict.fromkeys(value.decisions, Permission.LICENSE)
    return value.decisions


def _cost(terms: Terms, value: DataMiningValue) -> int | None:
    """How much of ``terms`` a reader of ``value`` would misread; None when it would
    take a use the terms reserve as allowed or unstated (never a silent allow), or a
    denied use as one to license (a licence would be asked for what is refused)."""
    said = _read_back(value)
    cost = 0
    for category in DATA_MINING_CATEGORIES:
        wanted, read = terms.permission(category), said.get(category)
        if wanted in _RESERVED and read not in _RESERVED:
            return None
        if wanted is Permission.DENY and read is not Permission.DENY:
            return None
        if read != wanted:
            # Prohibiting a use the terms allow costs more than leaving it unsaid.
            cost += 2 if wanted is Permission.ALLOW and read is not None else 1
    return cost


def _verb(permission: Permission | None) -> str:
    return {
        Permission.ALLOW: "allows",
        Permission.DENY: "prohibits",
        Permission.LICENSE: "reserves for licensing",
        None: "says nothing of",
    }[permission]


def write_data_mining(terms: Terms, *, other_constraints: str | None = None) -> Rendering:
    """An XMP packet stating ``terms`` in ``plus:DataMining``, with what it leaves out.

    A category the terms leave out takes consentry's default, licence. The value chosen
    reserves every use the terms reserve; a licence is written as "Prohibited, see
    plus:OtherConstraints" with ``other_constraints`` (a URL or text saying where to
    get one; a default sentence if None), which is written beside any other value too.
    Raises ``InputError`` when ``other_constraints`` is empty or holds characters XML
    cannot carry."""
    if other_constraints is not None and (
        not other_constraints.strip() or _NOT_XML.search(other_constraints)
    ):
        raise InputError("other constraints must be non-empty text without control characters")
    costs = [(cost, value) for value in _CANDIDATES if (cost := _cost(terms, value)) is not None]
    value = min(costs, key=lambda pair: pair[0])[1]  # DMI-PROHIBITED is always a candidate
    constraint = other_constraints
    if value.constraint is not None and constraint is None:
        constraint = DEFAULT_CONSTRAINT
    said = _read_back(value)
    unsaid = [
        f"{category.value}: the terms {_verb(terms.permission(category))} it, but no PLUS "
        f"value says that beside the rest; {value.code} {_verb(said.get(category))} it"
        for category in DATA_MINING_CATEGORIES
        if said.get(category) != terms.permission(category)
    ]
    unsaid.append(
        "publish-output: the Data Mining property says nothing of publishing output, so "
        f"it cannot state the terms' {terms.permission(Category.PUBLISH_OUTPUT).value}"
    )
    if terms.price is not None:
        unsaid.append(f"price: {terms.price.describe()} has no place in plus:DataMining")
    conditions = terms.conditions.to_json()
    if conditions:
        unsaid.append(
            f"conditions: {', '.join(sorted(conditions))} have no place in plus:DataMining"
        )
    return Rendering(
        filename="datamining.xmp", text=_packet(value, constraint), unsaid=tuple(unsaid)
    )


# XML 1.0 §2.2: characters a document may not hold.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _packet(value: DataMiningValue, constraint: str | None) -> str:
    lines = [
        # XMP Specification Part 1 (ISO 16684-1), the packet wrapper; the id is fixed.
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>',
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">',
        f' <rdf:RDF xmlns:rdf="{_RDF}">',
        f'  <rdf:Description rdf:about="" xmlns:plus="{PLUS_NS}">',
        f"   <plus:DataMining>{value.uri}</plus:DataMining>",
    ]
    if constraint is not None:
        lines += [
            "   <plus:OtherConstraints>",
            "    <rdf:Alt>",
            f'     <rdf:li xml:lang="x-default">{escape(constraint)}</rdf:li>',
            "    </rdf:Alt>",
            "   </plus:OtherConstraints>",
        ]
    lines += ["  </rdf:Description>", " </rdf:RDF>", "</x:xmpmeta>", '<?xpacket end="w"?>']
    return "\n".join(lines) + "\n"

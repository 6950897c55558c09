"""The robots directives against AI use, ``noai`` and ``noimageai``, in a page's meta tags
and in X-Robots-Tag headers; and every meta tag a page carries, in order, for the other
readers (TDMRep's ``tdm-reservation``...) to be fed from.

What the directives mean is DeviantArt's to say: it introduced both to state that content
is not authorised for third-party datasets that train AI models, and its terms ask anyone
training machine-learning models of any kind to leave out content carrying either
("UPDATE All Deviations Are Opted Out of AI Datasets",
https://www.deviantart.com/team/journal/UPDATE-All-Deviations-Are-Opted-Out-of-AI-Datasets-934500371).
So each denies ``train-ai`` and ``train-other`` (models of any kind); neither speaks of
other mining, inference-time input or search, which stay unsaid. ``noimageai`` is about
images only: ``reservation(kind=...)`` asks for one media kind, and a text item carrying
only ``noimageai`` is not reserved by it. Asked for no kind, every directive binds, as a
party that does not say which crawler it is gets every crawler's rules.

Standard robots directives (``noindex``, ``none``, ``nosnippet``...) govern search
results, not training, and are ignored here: ``noindex`` does not reserve training.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from html import escape
from html.parser import HTMLParser
from types import MappingProxyType

from consentry.signals.model import (
    RESTRICTIVENESS,
    Problem,
    Rendering,
    Reservation,
    Signal,
    Source,
    Statement,
    statements_for,
)
from consentry.terms import Category, Permission, Terms

__all__ = [
    "MediaKind",
    "Meta",
    "PageSignals",
    "RobotsDirective",
    "RobotsDirectives",
    "read_html",
    "read_robots_meta",
    "read_x_robots_tag",
    "write_meta",
    "write_x_robots_tag",
]


class MediaKind(StrEnum):
    """What an item is, for directives scoped to one kind (``noimageai``)."""

    TEXT = "text"
    CODE = "code"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"


_NOAI, _NOIMAGEAI = "noai", "noimageai"
_DIRECTIVES = frozenset({_NOAI, _NOIMAGEAI})
_TRAINING = MappingProxyType(
    {Category.TRAIN_AI: Permission.DENY, Category.TRAIN_OTHER: Permission.DENY}
)


@dataclass(frozen=True, slots=True)
class Meta:
    """One ``<meta>`` tag: the attribute naming it (``name``, ``http-equiv`` or
    ``property``), that name lower-cased (names are case-insensitive, Google's robots
    meta tag specification), its content as written, its line (0 when not known) and
    whether it sat in the head."""

    attribute: str
    name: str
    content: str
    line: int = 0
    in_head: bool = True


@dataclass(frozen=True, slots=True)
class RobotsDirective:
    """One ``noai`` or ``noimageai`` directive: which (``name``), as written, where,
    and the crawler it addresses (None: every crawler)."""

    name: str
    written: str
    source: Source
    agent: str | None = None

    @property
    def media(self) -> MediaKind | None:
        """The one media kind the directive covers; None for every kind."""
        return MediaKind.IMAGE if self.name == _NOIMAGEAI else None

    def binds(self, kind: MediaKind | None) -> bool:
        return kind is None or self.media is None or self.media is kind

    def statements(self) -> tuple[Statement, ...]:
        label = self.written if self.media is None else f"{self.written} (images only)"
        return statements_for(_TRAINING, self.source, label, agent=self.agent)


@dataclass(frozen=True, slots=True)
class RobotsDirectives:
    """The AI directives read from meta tags or headers, and what could not be read."""

    directives: tuple[RobotsDirective, ...] = ()
    problems: tuple[Problem, ...] = ()

    def __or__(self, other: RobotsDirectives) -> RobotsDirectives:
        return RobotsDirectives(self.directives + other.directives, self.problems + other.problems)

    def reservation(self, *, kind: MediaKind | None = None) -> Reservation:
        """The statements binding an item of ``kind`` (None: every directive binds),
        with every problem: an unreadable directive reserves whatever the item is."""
        statements = tuple(s for d in self.directives if d.binds(kind) for s in d.statements())
        return Reservation(statements, self.problems)


@dataclass(frozen=True, slots=True)
class PageSignals:
    """A page's meta tags in document order, repeats kept, and its AI directives."""

    meta: tuple[Meta, ...] = ()
    robots: RobotsDirectives = field(default_factory=RobotsDirectives)

    def named(self, name: str) -> tuple[str, ...]:
        """The content of every meta tag called ``name`` (any case), in order."""
        wanted = name.lower()
        return tuple(m.content for m in self.meta if m.name == wanted)

    def as_mapping(self) -> dict[str, str]:
        """Each name's first content. Repeats are dropped: a reader for which a repeat
        matters (a second ``tdm-reservation``) asks ``named``."""
        out: dict[str, str] = {}
        for m in self.meta:
            out.setdefault(m.name, m.content)
        return out

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self.robots.problems

    def reservation(self, *, kind: MediaKind | None = None) -> Reservation:
        return self.robots.reservation(kind=kind)


# Elements that may stand in a head; any other start tag opens the body (HTML Living
# Standard, the "in head" insertion mode).
_HEAD_TAGS = frozenset(
    {"html", "head", "meta", "title", "link", "style", "script", "base", "noscript", "template"}
)


class _MetaParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: list[Meta] = []
        self._in_head = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            values: dict[str, str] = {}
            for key, value in attrs:
                # A repeated attribute keeps its first value (HTML tokenization drops the
                # later one as a duplicate-attribute parse error).
                values.setdefault(key, value or "")
            attribute = next((a for a in ("name", "http-equiv", "property") if a in values), None)
            if attribute is not None and "content" in values:
                name = values[attribute].strip().lower()
                line = self.getpos()[0]
                self.meta.append(Meta(attribute, name, values["content"], line, self._in_head))
        elif tag not in _HEAD_TAGS:
            self._in_head = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self._in_head = False

    def parse_marked_section(self, i: int, report: int = 1) -> int:
        # In HTML "<![" outside SVG and MathML opens a bogus comment that ends at the next
        # ">" (HTML tokenization, markup declaration open state); the standard library's
        # SGML reading raises on unknown keywords instead.
        del report
        end = self.rawdata.find(">", i + 3)
        return -1 if end < 0 else end + 1


def read_html(html: str | bytes, *, place: str = "HTML") -> PageSignals:
    """Every meta tag of ``html`` and the AI directives among them. Never raises: markup
    the parser cannot follow past some line is a problem (later tags were not seen).
    Bytes are read as UTF-8, or UTF-16 with its byte-order mark, bad bytes replaced."""
    text = _decode(html) if isinstance(html, bytes) else html
    parser = _MetaParser()
    problems: list[Problem] = []
    try:
        parser.feed(text)
        if parser.rawdata.lower().startswith("<meta"):
            # HTML drops a tag cut off by the end of the file (an eof-in-tag parse error):
            # a page truncated inside a meta tag may have lost a directive.
            problems.append(
                Problem(
                    Source(Signal.ROBOTS_META, place),
                    f"the page ends inside a <meta> tag on line {parser.getpos()[0]}; it "
                    "may have been cut short, and the tag could not be read",
                )
            )
        parser.close()
    except AssertionError:  # the standard library's declaration parser raises it
        line = parser.getpos()[0]
        problems.append(
            Problem(
                Source(Signal.ROBOTS_META, place),
                f"the page's markup could not be read past line {line}; meta tags after "
                "it were not seen, so a reservation among them cannot be ruled out",
            )
        )
    meta = tuple(parser.meta)
    robots = read_robots_meta(meta, place=place)
    return PageSignals(meta, robots | RobotsDirectives((), tuple(problems)))


# Names the HTML standard ("Standard metadata names") and common practice give other
# meanings: never read as a crawler's name, whatever their content says.
_NOT_AGENTS = frozenset(
    {
        "application-name",
        "author",
        "color-scheme",
        "description",
        "generator",
        "keywords",
        "referrer",
        "theme-color",
        "title",
        "viewport",
        "tdm-reservation",
        "tdm-policy",
    }
)
# A crawler's user-agent token: RFC 9309 §2.2.1 product tokens, with the digits and dots
# crawlers' names carry in practice.
_AGENT = re.compile(r"[A-Za-z0-9_.-]+")


def read_robots_meta(
    meta: Iterable[Meta] | Mapping[str, str], *, place: str = "HTML"
) -> RobotsDirectives:
    """The AI directives in meta tags, given as ``Meta`` or as content by name.

    ``<meta name="robots">`` addresses every crawler; ``<meta name="GPTBot">`` only the
    one it names (Google's robots meta tag specification, "Using the robots meta tag",
    https://developers.google.com/search/docs/crawling-indexing/robots-meta-tag);
    ``<meta http-equiv="X-Robots-Tag">`` is read with the header's syntax."""
    tags = (
        [Meta("name", k.strip().lower(), v) for k, v in meta.items()]
        if isinstance(meta, Mapping)
        else list(meta)
    )
    found = RobotsDirectives()
    for tag in tags:
        where = f'{place} <meta {tag.attribute}="{_shown(tag.name)}">'
        source = Source(Signal.ROBOTS_META, f"{where} line {tag.line}" if tag.line else where)
        if tag.attribute == "name" and tag.name == "robots":
            found |= _read_directives(tag.content, source, prefixes=False)
        elif tag.attribute == "http-equiv" and tag.name == "x-robots-tag":
            found |= _read_directives(tag.content, source, prefixes=True)
        elif tag.attribute == "name" and tag.name not in _NOT_AGENTS and _AGENT.fullmatch(tag.name):
            # Any name may be a crawler's; only an exact directive counts, so that a
            # page's own words ("no-ai art") are not taken for one.
            words = (w.strip() for w in tag.content.split(","))
            found |= RobotsDirectives(
                tuple(
                    RobotsDirective(w.lower(), w, source, tag.name)
                    for w in words
                    if w.lower() in _DIRECTIVES
                )
            )
    return found


def read_x_robots_tag(
    headers: str | Mapping[str, str] | Iterable[tuple[str, str] | str],
    *,
    place: str = "HTTP header X-Robots-Tag",
) -> RobotsDirectives:
    """The AI directives in a response's X-Robots-Tag fields: header pairs (other names
    skipped), a mapping by name, the fields' values, or one field's value. Each field
    is its own list, so give repeated fields apart (as pairs, or one value with a line
    break between fields): joined with commas, an agent prefix in one would reach into
    the next.

    Syntax (Google, "Using the X-Robots-Tag HTTP header", same page as the meta tag):
    comma-separated rules, optionally after a user agent (``X-Robots-Tag: GPTBot: noai``)
    that the rules after it in that field apply to; rules without one apply to every
    crawler. Field name, agent and values are case-insensitive."""
    if isinstance(headers, str):
        values = [headers]
    elif isinstance(headers, Mapping):
        values = [v for k, v in headers.items() if k.lower() == "x-robots-tag"]
    else:
        values = [
            h if isinstance(h, str) else h[1]
            for h in headers
            if isinstance(h, str) or h[0].strip().lower() == "x-robots-tag"
        ]
    # A field's value holds no line break (RFC 9110 §5.5): one between values is where
    # a reader that keeps headers as one string per name put repeated fields apart.
    values = [line for value in values for line in value.split("\n")]
    found = RobotsDirectives()
    for number, value in enumerate(values, 1):
        where = place if len(values) == 1 else f"{place} (field {number} of {len(values)})"
        found |= _read_directives(value, Source(Signal.X_ROBOTS_TAG, where), prefixes=True)
    return found


# Rules that take a value after a colon (Google's specification): a colon after one of
# these is not an agent prefix.
_VALUED = frozenset({"max-snippet", "max-image-preview", "max-video-preview", "unavailable_after"})
_SEPARATORS = re.compile(r"[\s;]+")
_PUNCTUATION = re.compile(r"[\s_.;:-]+")


def _read_directives(value: str, source: Source, *, prefixes: bool) -> RobotsDirectives:
    """The directives of one robots meta content or one X-Robots-Tag field. Near misses
    of ``noai`` are read as meant and reported, so a typo reserves rather than allows."""
    found: list[RobotsDirective] = []
    problems: list[Problem] = []
    agent: str | None = None
    for raw in value.split(","):
        item = raw.strip()
        head, colon, rest = item.partition(":")
        key = head.strip()
        if colon and key.lower() in _DIRECTIVES:
            problems.append(
                Problem(
                    source, f'"{_shown(item)}": {key.lower()} takes no value; write "{key.lower()}"'
                )
            )
            item = key
        elif colon and key.lower() not in _VALUED:
            if key != "*" and not _AGENT.fullmatch(key):
                continue  # a value's remainder after a comma, e.g. part of a date
            if not prefixes:
                problems.append(
                    Problem(
                        source,
                        f'"{_shown(item)}": an agent prefix is X-Robots-Tag syntax; in HTML '
                        f'name the crawler instead: <meta name="{_shown(key)}" '
                        f'content="{_shown(rest.strip())}">',
                    )
                )
            agent = None if key == "*" else key
            item = rest.strip()
        if item.partition(":")[0].strip().lower() in _VALUED:
            continue
        word = item.lower()
        if word in _DIRECTIVES:
            found.append(RobotsDirective(word, item, source, agent))
            continue
        parts = [p for p in _SEPARATORS.split(word) if p]
        named = [p for p in parts if p in _DIRECTIVES]
        squashed = _PUNCTUATION.sub("", word)
        if len(parts) > 1 and named:
            found.extend(RobotsDirective(p, item, source, agent) for p in named)
            problems.append(
                Problem(
                    source,
                    f'"{_shown(item)}": separate robots directives with commas, '
                    f'e.g. "{_shown(", ".join(parts))}"',
                )
            )
        elif squashed in _DIRECTIVES:
            found.append(RobotsDirective(squashed, item, source, agent))
            problems.append(
                Problem(
                    source,
                    f'"{_shown(item)}" is not a robots directive; write "{squashed}" to '
                    "reserve AI training",
                )
            )
    return RobotsDirectives(tuple(found), tuple(problems))


# The categories one TDMRep reservation speaks of, as consentry's TDMRep reader reads it
# (``consentry.signals.tdmrep.TDM_CATEGORIES``; a test keeps the two equal): one switch,
# so it is set by the strictest of them.
_TDM_CATEGORIES = (
    Category.TRAIN_AI,
    Category.TRAIN_OTHER,
    Category.AI_INPUT,
    Category.DATA_MINING,
)


def write_meta(terms: Terms, *, tdm_policy: str | None = None) -> Rendering:
    """``terms`` as HTML meta tags: ``robots`` with ``noai, noimageai`` where AI training
    is reserved, and TDMRep's ``tdm-reservation`` (1 reserved, 0 not: TDMRep final
    report of 10 May 2024, "TDM Metadata in HTML Content",
    https://www.w3.org/community/reports/tdmrep/CG-FINAL-tdmrep-20240510/), with
    ``tdm-policy`` where the strictest TDM use is offered under licence at
    ``tdm_policy``. Each category read back otherwise than ``terms`` say is ``unsaid``."""
    noai = _noai(terms)
    lines = [f'<meta name="robots" content="{_NOAI}, {_NOIMAGEAI}">'] if noai else []
    strictest = max((terms.permission(c) for c in _TDM_CATEGORIES), key=RESTRICTIVENESS.index)
    reserved = strictest is not Permission.ALLOW
    lines.append(f'<meta name="tdm-reservation" content="{1 if reserved else 0}">')
    policy = tdm_policy if strictest is Permission.LICENSE else None
    if policy:
        lines.append(f'<meta name="tdm-policy" content="{escape(policy, quote=True)}">')
    tdm = strictest if policy or strictest is Permission.ALLOW else Permission.DENY
    read_back: dict[Category, Permission] = dict.fromkeys(_TDM_CATEGORIES, tdm)
    if noai:
        read_back.update(_TRAINING)
    unsaid = _unsaid(terms, read_back, "robots meta tags and TDMRep")
    if tdm_policy and not policy:
        why = (
            "nothing is reserved"
            if not reserved
            else "a TDM use is denied, and a policy would license it"
        )
        unsaid.append(f"tdm-policy: not written, as {why}")
    return Rendering("meta.html", "\n".join(lines) + "\n", unsaid=tuple(unsaid))


def write_x_robots_tag(terms: Terms) -> Rendering:
    """``terms`` as an X-Robots-Tag field value (``noai, noimageai`` where AI training is
    reserved; empty where nothing can be said); what it cannot say is ``unsaid``."""
    noai = _noai(terms)
    read_back = dict(_TRAINING) if noai else {}
    unsaid = _unsaid(terms, read_back, "X-Robots-Tag fields")
    return Rendering("X-Robots-Tag", f"{_NOAI}, {_NOIMAGEAI}" if noai else "", unsaid=tuple(unsaid))


def _noai(terms: Terms) -> bool:
    """Whether to write noai: it reserves train-ai and train-other together, so it is
    written when either is reserved (unset categories are consentry's default, a licence)."""
    return any(terms.permission(c) is not Permission.ALLOW for c in _TRAINING)


def _unsaid(terms: Terms, read_back: Mapping[Category, Permission], what: str) -> list[str]:
    """One sentence per category that reads back otherwise than ``terms`` give it, and
    per price or condition, each starting with what it is about."""
    unsaid = []
    for category in Category:
        meant, read = terms.permission(category), read_back.get(category)
        if read is meant:
            continue
        if read is None and meant is Permission.ALLOW and category in _TRAINING:
            why = "noai has no form that allows, so nothing is said"
        elif read is None:
            why = f"{what} say nothing of it"
        elif meant is Permission.LICENSE:
            why = "these tags say only that it is reserved, with no licence on offer"
        elif category in _TRAINING and read is Permission.DENY and _noai(terms):
            why = "noai reserves train-ai and train-other together"
        else:
            why = "TDMRep has one switch for every TDM use, set by the strictest"
        tail = "" if read is None else f"; it reads back as {read.value}"
        unsaid.append(f"{category.value}: {meant.value}, but {why}{tail}")
    if terms.price is not None:
        unsaid.append(f"price: {terms.price.describe()}, but {what} carry no price")
    if terms.conditions.to_json():
        unsaid.append(f"conditions: {what} carry none of them")
    return unsaid


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    return data.decode("utf-8-sig", "replace")


def _shown(text: str, limit: int = 60) -> str:
    """``text`` fit to quote in a sentence: control characters escaped, long text cut."""
    cleaned = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 3] + "..."

"""The structure of the AI Office's template for the public summary of training content,
as a public summary written from gate runs follows it: its sections, the fields only
the provider can fill in, and a sentence for each reservation signal a run honoured.

The template is the "Template for the Public Summary of Training Content for
general-purpose AI models", annexed to the European Commission's Explanatory Notice of
24 July 2025 under Article 53(1)(d) of Regulation (EU) 2024/1689 (the AI Act). Its
headings and field names are kept here as the template words them, so that a summary
reads field for field against it; what a gate run's manifest records fills the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "SECTIONS",
    "SIGNAL_SENTENCES",
    "TEMPLATE",
    "DeclaredKind",
    "Field",
    "Section",
    "TemplateCitation",
    "section",
    "signal_sentence",
]


@dataclass(frozen=True, slots=True)
class TemplateCitation:
    """Which template a summary follows, to be printed with it."""

    title: str
    publisher: str
    published: str
    legal_basis: str

    def to_json(self) -> dict[str, str]:
        return {
            "title": self.title,
            "publisher": self.publisher,
            "published": self.published,
            "legal_basis": self.legal_basis,
        }


TEMPLATE = TemplateCitation(
    title="Template for the Public Summary of Training Content for general-purpose AI models",
    publisher="European Commission, AI Office",
    published="2025-07-24",
    legal_basis="Article 53(1)(d) of Regulation (EU) 2024/1689 (AI Act)",
)


class DeclaredKind(StrEnum):
    """What a declared field holds: the template asks yes/no questions, lists, and
    free text; a modality's data size and content types are given per modality."""

    TEXT = "text"
    YES_NO = "yes-no"
    LIST = "list"
    PER_MODALITY = "per-modality"


@dataclass(frozen=True, slots=True)
class Field:
    """One field the provider declares: its key in ``--about``, and its name as the
    template words it."""

    key: str
    label: str
    kind: DeclaredKind = DeclaredKind.TEXT


@dataclass(frozen=True, slots=True)
class Section:
    """A section of the template: its number, its heading as the template words it,
    and the fields of it only the provider can fill in (in the template's order)."""

    number: str
    heading: str
    fields: tuple[Field, ...] = ()

    @property
    def depth(self) -> int:
        return self.number.count(".") + 1

    @property
    def title(self) -> str:
        return f"{self.number}. {self.heading}"


_T, _Y, _L, _M = (
    DeclaredKind.TEXT,
    DeclaredKind.YES_NO,
    DeclaredKind.LIST,
    DeclaredKind.PER_MODALITY,
)

# The template's sections in its order. Template, section 1: "General information".
SECTIONS: tuple[Section, ...] = (
    Section("1", "General information"),
    Section(
        "1.1",
        "Provider identification",
        (
            Field("provider", "Provider name and contact details"),
            Field(
                "authorised_representative", "Authorised representative name and contact details"
            ),
        ),
    ),
    Section(
        "1.2",
        "Model identification",
        (
            Field("model", "Versioned model name(s)"),
            Field("model_dependencies", "Model dependencies"),
            Field("placed_on_market", "Date of placement of the model on the Union market"),
        ),
    ),
    Section(
        "1.3",
        "Modalities, overall training data size and other characteristics",
        (
            Field("modalities", "Modality", _L),
            Field("training_data_size", "Training data size", _M),
            Field("types_of_content", "Types of content", _M),
            Field(
                "latest_collection",
                "Latest date of data acquisition/collection for model training",
            ),
            Field(
                "languages",
                "Description of the linguistic characteristics of the overall training data",
            ),
            Field(
                "other_characteristics",
                "Other relevant characteristics of the overall training data",
            ),
        ),
    ),
    # Template, section 2: "List of data sources".
    Section("2", "List of data sources"),
    Section(
        "2.1",
        "Publicly available datasets",
        (
            Field(
                "public_datasets_used",
                "Have you used publicly available datasets to train the model?",
                _Y,
            ),
            Field("public_datasets", "List of large publicly available datasets", _L),
            Field(
                "public_datasets_description",
                "General description of other publicly available datasets not listed above",
            ),
        ),
    ),
    Section("2.2", "Private non-publicly available datasets obtained from third parties"),
    Section(
        "2.2.1",
        "Datasets commercially licensed by rightsholders or their representatives",
        (Field("licensed_description", "Description of the licensed content"),),
    ),
    Section(
        "2.2.2",
        "Private datasets obtained from other third parties",
        (
            Field(
                "other_private_datasets_used",
                "Have you obtained private datasets from third parties that are not "
                "licensed as described in Section 2.2.1?",
                _Y,
            ),
            Field("other_private_datasets", "List of private datasets, if publicly known", _L),
            Field("other_private_datasets_description", "General description of the datasets"),
        ),
    ),
    Section(
        "2.3",
        "Data crawled and scraped from online sources",
        (
            Field("crawlers_used", "Were crawlers used by the provider or on its behalf?", _Y),
            Field("crawlers", "Crawler name(s)/identifier(s)", _L),
            Field("crawler_purposes", "Purposes of the crawler(s)"),
            Field("crawler_behaviour", "General description of crawler behaviour"),
            Field("crawl_period", "Period of data collection"),
            Field(
                "crawled_content",
                "Comprehensive description of the type of content and online sources crawled",
            ),
        ),
    ),
    Section(
        "2.4",
        "User data",
        (
            Field(
                "user_data_model",
                "Was data from user interactions with the AI model (e.g. user input and "
                "prompts) used to train the model?",
                _Y,
            ),
            Field(
                "user_data_services",
                "Was data collected from user interactions with the provider's other "
                "services or products used to train the model?",
                _Y,
            ),
            Field(
                "user_data_description",
                "Description of the provider's services or products used to collect user data",
            ),
        ),
    ),
    Section(
        "2.5",
        "Synthetic data",
        (
            Field(
                "synthetic_data_used",
                "Was synthetic AI-generated data created by the provider or on its behalf "
                "to train the model?",
                _Y,
            ),
            Field(
                "synthetic_data_models",
                "General-purpose AI model(s) used to generate the synthetic data",
                _L,
            ),
            Field("synthetic_data_description", "Description of the synthetic data"),
        ),
    ),
    Section(
        "2.6",
        "Other sources of data",
        (
            Field(
                "other_sources_used",
                "Have data sources other than those described in Sections 2.1 to 2.5 been "
                "used to train the model?",
                _Y,
            ),
            Field("other_sources_description", "Description of the other sources"),
        ),
    ),
    # Template, section 3: "Data processing aspects".
    Section("3", "Data processing aspects"),
    Section(
        "3.1",
        "Respect of reservation of rights from text and data mining exception or limitation",
        (
            Field(
                "code_of_practice_signatory",
                "Are you a Signatory to the General-Purpose AI Code of Practice?",
                _Y,
            ),
            Field(
                "tdm_measures",
                "Description of the measures implemented to respect reservations of rights "
                "from the text and data mining exception or limitation",
            ),
        ),
    ),
    Section(
        "3.2",
        "Removal of illegal content",
        (Field("illegal_content_measures", "General description of measures taken"),),
    ),
    Section("3.3", "Other information", (Field("other_information", "Other information"),)),
)

_BY_NUMBER = {s.number: s for s in SECTIONS}


def section(number: str) -> Section:
    """The template's section ``number`` (``"2.3"``); ``KeyError`` for none."""
    return _BY_NUMBER[number]


# What each kind of reservation signal is, in one sentence, for section 3.1: a reader
# learns what the run looked for, not only that it counted something.
SIGNAL_SENTENCES: Mapping[str, str] = MappingProxyType(
    {
        "content-usage-header": "An IETF AI-preferences Content-Usage statement in the "
        "item's HTTP response headers.",
        "content-usage-robots": "An IETF AI-preferences Content-Usage line in the site's "
        "robots.txt.",
        "robots-agent": "robots.txt rules (RFC 9309) that disallow the item's path to an AI "
        "crawler's user agent.",
        "content-signal": "A Content-Signal line in the site's robots.txt that withholds "
        "the use (such as ai-train=no).",
        "rsl": "An RSL 1.0 licence document, or a robots.txt License line pointing to one, "
        "whose terms do not permit the use.",
        "tdmrep-header": "The TDM Reservation Protocol's tdm-reservation: 1 HTTP header "
        "(W3C TDMRep).",
        "tdmrep-meta": "A TDM Reservation Protocol tdm-reservation meta tag in the page's HTML.",
        "tdmrep-json": "The site's /.well-known/tdmrep.json file reserving the item's path "
        "(TDM Reservation Protocol).",
        "tdmrep-epub": "A TDM Reservation Protocol reservation in an EPUB's package metadata.",
        "tdmrep-pdf": "A TDM Reservation Protocol reservation in a PDF's XMP metadata.",
        "x-robots-tag": "An X-Robots-Tag HTTP header carrying noai or noimageai.",
        "robots-meta": "A robots meta tag carrying noai or noimageai in the page's HTML.",
        "ai-txt": "The site's ai.txt file disallowing the item's path.",
        "cawg": "A CAWG (or earlier C2PA) training-and-data-mining assertion embedded in the "
        "media file.",
        "iptc": "The IPTC PLUS Data Mining property (plus:DataMining) in the image's XMP "
        "metadata prohibiting the use.",
    }
)


def signal_sentence(signal: str) -> str:
    """What ``signal`` is, in one sentence; a kind this list does not know yet is named
    as the gate named it, never left out."""
    return SIGNAL_SENTENCES.get(signal, f"A reservation signal the gate names {signal!r}.")

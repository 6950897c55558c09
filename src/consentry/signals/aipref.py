"""IETF AI-preferences: the vocabulary (draft-ietf-aipref-vocab-07) and its HTTP
attachment, the ``Content-Usage`` header field (draft-ietf-aipref-attach-05 §2).

A statement of preference is an RFC 9651 dictionary whose keys are category labels and
whose values are the tokens ``y`` (allow) and ``n`` (disallow), e.g. ``train-ai=n,
search=y`` (vocab-07 §6). The newest draft's two labels tile: ``train-ai`` and
``search`` never include one another (vocab-07 §3, §5). Labels of earlier drafts are
still read, each resolved within the hierarchy its own draft drew, and flagged outdated.

Unreadable input is reported as a ``Problem`` beside the statements, which the gate
reads as reserving every category: never a silent allow. Nothing here raises on input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from http_sfv.dictionary import Dictionary
from http_sfv.item import InnerList, Item
from http_sfv.types import Token

from consentry.signals.model import Problem, Reservation, Signal, Source, Statement
from consentry.terms import Category, Permission, Terms

__all__ = [
    "AIPREF_LABELS",
    "AiprefLabel",
    "content_usage_unsaid",
    "read_content_usage",
    "write_content_usage",
]


@dataclass(frozen=True, slots=True)
class AiprefLabel:
    """What one AI-preferences label covers in consentry's categories.

    ``depth`` places it in its draft's hierarchy: where several labels of a statement
    cover a category, the deepest (most specific) one decides it.
    """

    label: str
    covers: frozenset[Category]
    depth: int
    outdated: bool
    defined_in: str


# Everything the earlier drafts called automated processing or text and data mining:
# every use of the asset itself. Publishing a model's output is consentry's own
# category and no draft's label reaches it.
_AUTOMATED_PROCESSING = frozenset(
    {
        Category.TRAIN_AI,
        Category.TRAIN_OTHER,
        Category.AI_INPUT,
        Category.SEARCH,
        Category.DATA_MINING,
    }
)
_TRAINING = frozenset({Category.TRAIN_AI, Category.TRAIN_OTHER})
_EXPLICIT = 9  # vocab-07's labels tile, so each is the most specific word for its use


def _label(
    label: str, covers: Iterable[Category], depth: int, defined_in: str, *, outdated: bool = True
) -> AiprefLabel:
    return AiprefLabel(label, frozenset(covers), depth, outdated, defined_in)


AIPREF_LABELS: Mapping[str, AiprefLabel] = MappingProxyType(
    {
        # vocab-07 §6.1, Table 1: the two current labels (case sensitive).
        "train-ai": _label(
            "train-ai",
            [Category.TRAIN_AI],
            _EXPLICIT,
            "draft-ietf-aipref-vocab-04 to -07",
            outdated=False,
        ),
        "search": _label(
            "search",
            [Category.SEARCH],
            _EXPLICIT,
            "draft-ietf-aipref-vocab-01 to -07",
            outdated=False,
        ),
        # vocab-01 §4 and its registry ("Subset Of"): tdm > ai > genai; search and
        # inference are subsets of tdm.
        "tdm": _label("tdm", _AUTOMATED_PROCESSING, 0, "draft-ietf-aipref-vocab-01"),
        "ai": _label("ai", _TRAINING, 1, "draft-ietf-aipref-vocab-01"),
        "genai": _label("genai", [Category.TRAIN_AI], 2, "draft-ietf-aipref-vocab-01"),
        "inference": _label("inference", [Category.AI_INPUT], 1, "draft-ietf-aipref-vocab-01"),
        # vocab-02 §4: all > train-ai (AI Training) > train-genai; ai-use and search are
        # subsets of all.
        "all": _label("all", _AUTOMATED_PROCESSING, 0, "draft-ietf-aipref-vocab-02"),
        "ai-use": _label("ai-use", [Category.AI_INPUT], 1, "draft-ietf-aipref-vocab-02"),
        "train-genai": _label(
            "train-genai", [Category.TRAIN_AI], 2, "draft-ietf-aipref-vocab-02 and -03"
        ),
        # vocab-03 §4 and -04 §4: bots is Automated Processing; in -04 search is a
        # subset of ai-output ("AI Output"), itself a subset of bots.
        "bots": _label("bots", _AUTOMATED_PROCESSING, 0, "draft-ietf-aipref-vocab-03 and -04"),
        "ai-output": _label(
            "ai-output", [Category.AI_INPUT, Category.SEARCH], 1, "draft-ietf-aipref-vocab-04"
        ),
    }
)
"""Every label read, current and outdated, by its exact (case-sensitive) spelling."""

# In vocab-02 and -03 ``train-ai`` named "AI Training", training any model, with
# ``train-genai`` beneath it; since -04 it names generative training alone. A statement
# that also uses a label only those drafts define was written to them, and its
# ``train-ai`` is read in their sense.
_AI_TRAINING_02 = _label("train-ai", _TRAINING, 1, "draft-ietf-aipref-vocab-02 and -03")
_WRITTEN_TO_02 = frozenset({"all", "ai-use", "train-genai"})

# vocab-07 §6.2: allow and disallow are the single-byte tokens y and n.
_PERMISSIONS = {"y": Permission.ALLOW, "n": Permission.DENY}
_WRITTEN = {Permission.ALLOW: "y", Permission.DENY: "n"}


def read_content_usage(
    value: str | bytes,
    *,
    place: str = "HTTP header Content-Usage",
    signal: Signal = Signal.CONTENT_USAGE_HEADER,
    agent: str | None = None,
) -> Reservation:
    """The preferences one statement of preference states, per consentry category.

    ``value`` is a ``Content-Usage`` field value (repeated field lines joined with
    commas, RFC 9651 §4.2) or the preference part of a robots.txt ``Content-Usage``
    rule. Each statement keeps ``place``, ``signal`` and ``agent``. A value that is not
    an RFC 9651 dictionary, or a label this module knows whose value is not the token
    ``y`` or ``n``, becomes a ``Problem`` naming the input and the fix. Never raises.
    """
    source = Source(signal, place)
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    if not text.strip(" \t"):
        # RFC 9651 §4.2.2: an empty dictionary; it states no preference.
        return Reservation()
    try:
        members = _parse_dictionary(text)
    except ValueError as exc:
        return Reservation(problems=(Problem(source, _unparsable(text, exc)),))

    preferences: dict[str, tuple[Permission, str]] = {}
    problems: list[Problem] = []
    for key, member in members.items():
        if key not in AIPREF_LABELS:
            continue  # vocab-07 §6.4: unknown labels MUST be ignored
        # vocab-07 §6.5: only a Token y or n is a preference; parameters are ignored
        # (§6.5.2) and a key given twice keeps its last value (§6.5.1, RFC 9651 §4.2.2).
        written = member.value if isinstance(member, Item) else None
        if isinstance(written, Token) and str(written) in _PERMISSIONS:
            preferences[key] = (_PERMISSIONS[str(written)], f"{key}={written}")
        else:
            problems.append(Problem(source, _not_y_or_n(key, member)))
    statements = _resolve(preferences, source, agent)
    return Reservation(statements, tuple(problems))


def _parse_dictionary(text: str) -> Mapping[str, Item | InnerList]:
    dictionary = Dictionary()
    try:
        # vocab-07 §6.3: the format is bytes; ASCII or UTF-8 encodes the text.
        dictionary.parse(text.encode("utf-8"))
    except (ValueError, IndexError, TypeError) as exc:
        raise ValueError(str(exc.__cause__ or exc)) from exc
    return dict(dictionary.items())


def _resolve(
    preferences: Mapping[str, tuple[Permission, str]], source: Source, agent: str | None
) -> tuple[Statement, ...]:
    """Per category, the preference of the most specific label that covers it.

    vocab-01 to -06 ("Statements of Preference", "Applying Statements of Preference"):
    a preference for a general category applies where its more specific category has
    none of its own. vocab-07 §3 and §5 drop the nesting, which its two labels never
    had. Labels of equal depth from different drafts all apply; the most restrictive
    wins (vocab-07 §5.1) when the gate combines them.
    """
    labels = dict(AIPREF_LABELS)
    if preferences.keys() & _WRITTEN_TO_02:
        labels["train-ai"] = _AI_TRAINING_02
    statements: list[Statement] = []
    for category in Category:
        covering = [key for key in preferences if category in labels[key].covers]
        if not covering:
            continue
        deepest = max(labels[key].depth for key in covering)
        for key in covering:
            if labels[key].depth == deepest:
                permission, label = preferences[key]
                outdated = labels[key].outdated
                statements.append(
                    Statement(category, permission, source, label, outdated=outdated, agent=agent)
                )
    return tuple(statements)


def _unparsable(text: str, exc: ValueError) -> str:
    shown = _quoted(text)
    if text != text.lower() and _parses(text.lower()):
        return (
            f"Content-Usage value {shown} has upper-case letters, and labels and values "
            f"are case-sensitive (draft-ietf-aipref-vocab-07 §6.1); write {_quoted(text.lower())}"
        )
    reason = str(exc).rstrip(".") or "it does not parse"
    return (
        f"Content-Usage value {shown} is not a structured-field dictionary ({reason}); "
        'write labels with y or n separated by commas, e.g. "train-ai=n, search=y"'
    )


def _parses(text: str) -> bool:
    try:
        _parse_dictionary(text)
    except ValueError:
        return False
    return True


def _not_y_or_n(key: str, member: Item | InnerList) -> str:
    if isinstance(member, InnerList):
        found = "an inner list"
    elif member.value is True:
        found = "no value (a bare key is the Boolean true)"
    elif isinstance(member.value, Token):
        found = f"the token {_quoted(str(member.value))}"
    elif isinstance(member.value, str):
        found = f"the string {_quoted(member.value)}"
    else:
        found = f"the value {member!s}"
    return (
        f"Content-Usage label {_quoted(key)} has {found} where the token y or n belongs, "
        f"so its preference is unknown; write {key}=y or {key}=n"
    )


def _quoted(text: str, limit: int = 80) -> str:
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return '"' + shown.replace('"', '\\"') + '"'


# vocab-07 §6.1: the categories the newest vocabulary has a label for.
_CURRENT_LABELS: Mapping[Category, str] = MappingProxyType(
    {Category.TRAIN_AI: "train-ai", Category.SEARCH: "search"}
)


def write_content_usage(terms: Terms) -> str:
    """The ``Content-Usage`` value stating ``terms`` in vocab-07's labels, e.g.
    ``train-ai=n, search=y``.

    A category the terms leave out takes consentry's default, licence
    (``Terms.permission``). A licence has no AI-preferences value: it is written as
    ``n``, the safe reading, so that nobody takes a use the owner means to license.
    ``content_usage_unsaid`` says what this value leaves out.
    """
    members = []
    for category, label in _CURRENT_LABELS.items():
        permission = terms.permission(category)
        members.append(f"{label}={_WRITTEN.get(permission, 'n')}")
    return ", ".join(members)


def content_usage_unsaid(terms: Terms) -> tuple[str, ...]:
    """One sentence per part of ``terms`` that ``write_content_usage`` cannot state, each
    beginning with the category (or ``price:``, ``conditions:``) it is about."""
    unsaid: list[str] = []
    for category in Category:
        permission = terms.permission(category)
        label = _CURRENT_LABELS.get(category)
        if label is None:
            unsaid.append(
                f"{category.value}: AI-preferences has no label for it "
                f"(draft-ietf-aipref-vocab-07 §6.1), so Content-Usage says nothing of its "
                f"{permission.value}"
            )
        elif permission is Permission.LICENSE:
            unsaid.append(
                f"{category.value}: reserved for licensing, which AI-preferences cannot say; "
                f"written as {label}=n, the safe reading, so a licensee has to ask"
            )
    unsaid.extend(_price_and_conditions(terms, "Content-Usage"))
    return tuple(unsaid)


def _price_and_conditions(terms: Terms, where: str) -> list[str]:
    out = []
    if terms.price is not None:
        out.append(f"price: {terms.price.describe()} has no place in {where}")
    conditions = terms.conditions.to_json()
    if conditions:
        named = ", ".join(sorted(conditions))
        out.append(f"conditions: {named} have no place in {where}")
    return out

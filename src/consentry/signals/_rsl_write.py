"""Terms written as an RSL 1.0 licence document (RSL-SPEC-1.0,
https://rslstandard.org/rsl); ``consentry.signals.rsl`` reads them back.

RSL's licences are alternatives a client may choose among, and a licence without a
usage list reaches every use it does not prohibit (§3.5). So each permission gets its
own licence, and the denied uses are prohibited in every one, that no licence can be
taken for more than the owner offers; where RSL cannot say a category apart, it is
written as the stricter permission and ``unsaid`` says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType

from consentry.signals._rsl_vocabulary import RSL_CATEGORIES, RSL_NS, TRAINING, ordered
from consentry.signals.model import Rendering
from consentry.terms import Category, Permission, Price, PriceUnit, Terms
from consentry.terms.money import amount_text

__all__ = ["write_rsl"]

# The value each category is written as; other data mining has none of its own and is
# reached only by a licence without a usage list (or by "all").
_WRITTEN = MappingProxyType(
    {
        "ai-train": TRAINING,
        "ai-input ai-index": frozenset({Category.AI_INPUT}),
        "search": frozenset({Category.SEARCH}),
    }
)
# The payment type a licence of each value asks when it is reserved for licensing: the
# metered types of §3.7, and a purchase for the licence that reaches other mining.
_METERED = MappingProxyType({"ai-train": "training", "ai-input ai-index": "use", "search": "crawl"})


def write_rsl(terms: Terms, *, content_url: str, license_server: str | None = None) -> Rendering:
    """An RSL 1.0 licence document for ``terms`` on the assets ``content_url`` names
    (an RFC 9309 path pattern or a full URL), with ``license_server`` as the content's
    OLP server when given.

    One free licence permits the allowed uses, one paid licence per use reserved for
    licensing (payment ``training``, with the price when it is per work; ``use``;
    ``crawl``), and every licence prohibits the denied uses. When every category
    agrees the document says ``all``. ``unsaid`` names what RSL cannot state.
    """
    said = {c: terms.permission(c) for c in ordered(RSL_CATEGORIES)}
    unsaid: list[str] = []
    licences: list[list[str]] = []
    if len(set(said.values())) == 1:
        licences.append(_licence_all(next(iter(said.values())), terms))
        priced = Permission.LICENSE in said.values() and _per_work(terms)
    else:
        values = {
            value: _strictest(said[c] for c in covered) for value, covered in _WRITTEN.items()
        }
        if said[Category.TRAIN_AI] is not said[Category.TRAIN_OTHER]:
            looser = next(c for c in ordered(TRAINING) if said[c] is not values["ai-train"])
            unsaid.append(
                f"{looser.value}: RSL's ai-train covers all training, so its "
                f"{said[looser].value} is written as the stricter {values['ai-train'].value}"
            )
        denied = [v for v, p in values.items() if p is Permission.DENY]
        allowed = [v for v, p in values.items() if p is Permission.ALLOW]
        licensed = [v for v, p in values.items() if p is Permission.LICENSE]
        priced = "ai-train" in licensed and _per_work(terms)
        mining = said[Category.DATA_MINING]
        if mining is not Permission.DENY and (licensed if mining is Permission.ALLOW else allowed):
            # Only a licence with no usage list reaches other mining, and it reaches every
            # use not prohibited: beside a paid licence a free one would give those uses
            # away, and a paid one would license the allowed uses.
            unsaid.append(
                f"data-mining: RSL reaches other mining only by a licence with no usage list, "
                f"which would reach the other uses too; its {mining.value} is written as deny"
            )
            mining = Permission.DENY
        if mining is Permission.ALLOW:
            licences.append(_licence(None, denied))
        elif allowed:
            licences.append(_licence(allowed, denied))
        for value in licensed:
            price = terms.price if value == "ai-train" and _per_work(terms) else None
            licences.append(_licence([value], denied, _METERED[value], price))
        if mining is Permission.LICENSE:
            licences.append(_licence(None, denied, "purchase"))
        if not licences:  # every value denied; only a training category was looser
            licences.append(_licence(None, ["all"]))
    if terms.price is not None and not priced:
        unsaid.append(
            f"price: {terms.price.describe()} has no RSL payment type: only training meters in "
            "a consentry unit (per work), and then only when training is reserved for licensing"
        )
    if license_server is not None:
        unsaid.extend(
            f"{c.value}: allowed, but with a license server every use takes a licence "
            "(<content server>), so it reads as license"
            for c in said
            if said[c] is Permission.ALLOW
        )
    unsaid.append(
        f"publish-output: RSL has no usage value for publishing output, so it says "
        f"nothing of its {terms.permission(Category.PUBLISH_OUTPUT).value}"
    )
    conditions = terms.conditions.to_json()
    if conditions:
        unsaid.append(
            f"conditions: {', '.join(sorted(conditions))} have no place in RSL's usage terms"
        )
    server = f' server="{_escape(license_server)}"' if license_server is not None else ""
    body = "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<rsl xmlns="{RSL_NS}">',
            f'  <content url="{_escape(content_url)}"{server}>',
            *(line for licence in licences for line in licence),
            "  </content>",
            "</rsl>",
            "",
        ]
    )
    return Rendering("license.xml", text=body, unsaid=tuple(unsaid))


def _per_work(terms: Terms) -> bool:
    return terms.price is not None and terms.price.unit is PriceUnit.WORK


def _strictest(permissions: Iterable[Permission]) -> Permission:
    ranked = (Permission.ALLOW, Permission.LICENSE, Permission.DENY)
    return max(permissions, key=ranked.index)


def _licence_all(permission: Permission, terms: Terms) -> list[str]:
    if permission is Permission.DENY:
        return _licence(None, ["all"])
    if permission is Permission.ALLOW:
        return _licence(["all"], [])
    price = terms.price if _per_work(terms) else None
    return _licence(["all"], [], "training" if price else "purchase", price)


def _licence(
    permits: list[str] | None,
    prohibits: list[str],
    payment: str | None = None,
    price: Price | None = None,
) -> list[str]:
    lines = ["    <license>"]
    if permits is not None:
        lines.append(f'      <permits type="usage">{" ".join(permits)}</permits>')
    if prohibits:
        lines.append(f'      <prohibits type="usage">{" ".join(prohibits)}</prohibits>')
    if payment is not None and price is None:
        lines.append(f'      <payment type="{payment}"/>')
    elif payment is not None and price is not None:
        lines += [
            f'      <payment type="{payment}">',
            f'        <amount currency="{price.currency}">{amount_text(price.amount)}</amount>',
            "      </payment>",
        ]
    return [*lines, "    </license>"]


def _escape(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )

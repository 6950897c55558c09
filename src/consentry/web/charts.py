"""Charts drawn on the server as SVG text: a pure function from figures to markup, so a
page shows them without a script and a screen reader reads them (a ``<title>``, a
``<desc>``, ``role="img"``; the page puts a table of the same figures beside each).

Colours and sizes are SVG attributes, not ``style=``: the pages' Content-Security-Policy
allows no inline style."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

__all__ = ["Bar", "bar_chart"]

_WIDTH = 640
_LABEL = 200  # room for the bars' names, left of the bars
_VALUE = 130  # room for the figures, right of the bars
_ROW = 34
_BAR = 22
_TOP = 8
_INK = "#1b1b1f"
_FILL = "#1d4ed8"
_TRACK = "#e4e7ee"
_MAX_NAME = 28


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: what it is, its figure, and the figure as the page writes it."""

    label: str
    value: Decimal
    shown: str


def _short(text: str) -> str:
    return text if len(text) <= _MAX_NAME else text[: _MAX_NAME - 1] + "…"


def bar_chart(bars: Sequence[Bar], *, title: str, description: str, chart_id: str) -> str:
    """A horizontal bar chart of ``bars`` (largest first as given), every bar scaled to
    the largest figure. ``chart_id`` keeps the ids of two charts on one page apart.
    An empty ``bars`` draws the frame with a sentence saying there is nothing yet."""
    height = _TOP * 2 + _ROW * max(len(bars), 1)
    track = _WIDTH - _LABEL - _VALUE
    top = max((bar.value for bar in bars), default=Decimal(0))
    ident = escape(chart_id, quote=True)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {height}" '
        f'width="{_WIDTH}" height="{height}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" font-family="system-ui, sans-serif" '
        f'font-size="14">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
    ]
    if not bars:
        out.append(
            f'<text x="{_WIDTH // 2}" y="{height // 2 + 5}" text-anchor="middle" '
            f'fill="{_INK}">Nothing to chart yet</text>'
        )
    for row, bar in enumerate(bars):
        y = _TOP + row * _ROW
        share = Decimal(0) if top <= 0 else max(bar.value, Decimal(0)) / top
        length = round(float(share) * track)
        middle = y + _BAR // 2 + 5
        out += [
            f'<text x="{_LABEL - 10}" y="{middle}" text-anchor="end" fill="{_INK}">'
            f"{escape(_short(bar.label))}</text>",
            f'<rect x="{_LABEL}" y="{y}" width="{track}" height="{_BAR}" rx="3" fill="{_TRACK}"/>',
            f'<rect x="{_LABEL}" y="{y}" width="{max(length, 2)}" height="{_BAR}" rx="3" '
            f'fill="{_FILL}"/>',
            f'<text x="{_LABEL + track + 10}" y="{middle}" fill="{_INK}">'
            f"{escape(bar.shown)}</text>",
        ]
    out.append("</svg>")
    return "\n".join(out)

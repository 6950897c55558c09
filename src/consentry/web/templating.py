"""Pages rendered from Jinja2 templates (autoescaped), each with what every page shows:
who is signed in, the browser's CSRF token, the links of their role."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from consentry.clock import format_time
from consentry.web.sessions import remember_browser, visit_of
from consentry.web.words import purposes_words, scope_words

__all__ = ["TEMPLATES", "render"]

TEMPLATES = Path(__file__).parent / "templates"


def _when(moment: datetime | str | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return moment.strftime("%-d %b %Y, %H:%M UTC")


def _money(amount: Decimal | int | float | str, currency: str = "") -> str:
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    text = f"{value:,.2f}"
    return f"{text} {currency}".strip()


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


_ENVIRONMENT = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "svg"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENVIRONMENT.filters.update(
    when=_when, money=_money, iso=format_time, uses=purposes_words, scope=scope_words
)
_ENVIRONMENT.globals.update(plural=_plural)


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """``template`` with ``context``, and the visit's account and CSRF token."""
    visit = visit_of(request)
    page = _ENVIRONMENT.get_template(template).render(
        {
            "path": request.url.path,
            "account": visit.account,
            "csrf": visit.csrf,
            **(context or {}),
        }
    )
    response = HTMLResponse(page, status_code=status_code)
    response.headers["content-security-policy"] = _POLICY
    response.headers["x-content-type-options"] = "nosniff"
    response.headers["referrer-policy"] = "same-origin"
    response.headers["x-frame-options"] = "DENY"
    remember_browser(response, visit)
    return response


# Scripts and styles from this site only, no inline script: a value that slipped past
# the escaping could not run.
_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

"""The crawler gate's decisions that need no licence server (RSL 1.0 §6.3): who is a
crawler, what is open to one, what a crawler without a usable token is told."""

from __future__ import annotations

import asyncio
import re

import pytest

from consentry.api.crawler_gate import (
    CrawlerAuthorizer,
    GateConfig,
    Verdict,
    known_crawlers,
)
from consentry.errors import ConfigurationError

SITE = "https://ada.example"


def _config(**changes: object) -> GateConfig:
    settings: dict[str, object] = {
        "site": SITE,
        "licence": f"{SITE}/license.xml",
        "server": "https://registry.example/rsl/own_ada",
        "client_id": "own_ada",
        "client_secret": "olp_secret_value",
        **changes,
    }
    return GateConfig(**settings)  # type: ignore[arg-type]


def _decide(config: GateConfig, target: str, agent: str | None, auth: str | None = None) -> Verdict:
    return asyncio.run(CrawlerAuthorizer(config).decide(target, agent, auth))


def test_the_packaged_list_names_the_known_ai_crawlers() -> None:
    tokens = {crawler.token for crawler in known_crawlers()}
    assert {"GPTBot", "ClaudeBot", "CCBot"} <= tokens


@pytest.mark.parametrize(
    ("agent", "crawler"),
    [
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2", True),
        ("gptbot", True),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", False),
        ("NotGPTBotAtAll/1.0", False),
        (None, False),
    ],
)
def test_a_crawler_is_known_by_its_product_token_as_a_word(
    agent: str | None, crawler: bool
) -> None:
    verdict = _decide(_config(agents=("GPTBot",)), "/page", agent)
    assert verdict.allowed is not crawler


def test_a_license_credential_makes_any_request_a_crawlers() -> None:
    verdict = _decide(_config(agents=("GPTBot",)), "/page", "Firefox", "License !!!")
    assert (verdict.status, verdict.error) == (401, "invalid_token")


def test_without_a_token_a_crawler_is_told_where_the_licence_is() -> None:
    free = _decide(_config(agents=("GPTBot",)), "/page?x=1", "GPTBot/1.2", "Bearer abc")
    assert (free.status, free.error) == (401, "invalid_request")
    paid = _decide(_config(agents=("GPTBot",), paid=True), "/page", "GPTBot/1.2")
    assert paid.status == 402
    headers = dict(paid.headers(_config()))
    assert headers["Link"] == f'<{SITE}/license.xml>; rel="license"; type="application/rsl+xml"'
    challenge = headers["WWW-Authenticate"]
    assert re.fullmatch(r'License error="invalid_request", error_description="[^"]+"', challenge)
    assert headers["Cache-Control"] == "no-store"


def test_the_licence_and_robots_txt_are_open_to_crawlers() -> None:
    config = _config(agents=("GPTBot",))
    for path in ("/license.xml", "/robots.txt"):
        assert _decide(config, path, "GPTBot/1.2").allowed
    elsewhere = _config(agents=("GPTBot",), licence="https://other.example/license.xml")
    assert not _decide(elsewhere, "/license.xml", "GPTBot/1.2").allowed


def test_a_quote_in_a_description_cannot_break_the_challenge() -> None:
    verdict = Verdict(403, error="insufficient_scope", description='not "this" \\ page')
    challenge = dict(verdict.headers(_config()))["WWW-Authenticate"]
    assert challenge.endswith('error_description="not \\"this\\" \\\\ page"')


@pytest.mark.parametrize(
    "changes",
    [
        {"site": "example.com"},
        {"site": "https://example.com/blog"},
        {"licence": "/license.xml"},
        {"server": "ftp://registry.example"},
        {"client_secret": ""},
        {"cache_seconds": -1.0},
    ],
)
def test_a_gate_configured_wrongly_says_so(changes: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        _config(**changes)


def test_the_client_secret_is_never_shown() -> None:
    config = _config()
    assert "olp_secret_value" not in repr(config)
    assert config.site == SITE

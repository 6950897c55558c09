"""RSL licence tokens on a real database (SQLite, and PostgreSQL when configured): issued
only on a grant its owner signed that is the licensee's own and in force, stored only as
a hash, and inactive the moment their grant is revoked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, text

from consentry.registry import Actor as RegistryActor
from consentry.registry import PartyKind, Registry, Scope, ScopeKind
from consentry.registry.licence_server import LicenceServer
from consentry.registry.licence_tokens import token_digest
from consentry.registry.olp_clients import ClientAuthenticationError
from consentry.registry.rsl_requests import LicenceAsk, OlpCode, TokenRefusedError
from consentry.store.models import LicenceTokenRow, OlpClientRow
from consentry.terms import Category
from tests.conftest import Actor

TRAIN = (
    '<license xmlns="https://rslstandard.org/rsl"><permits type="usage">ai-train</permits>'
    "</license>"
)
SEARCH = '<license><permits type="usage">search</permits></license>'
HOUR = timedelta(hours=1)


def _ask(
    licence: str = TRAIN, resource: str = "https://ada.example/", grant_id: str | None = None
) -> LicenceAsk:
    return LicenceAsk.read(resource=resource, licence=licence, grant_id=grant_id)


def _grant(
    registry: Registry,
    owner: Actor,
    licensee: Actor,
    purposes: tuple[Category, ...] = (Category.TRAIN_AI, Category.TRAIN_OTHER),
    scope: Scope | None = None,
) -> str:
    request = registry.licensing.request(
        licensee.id,
        licensee.key,
        scope=scope or Scope(ScopeKind.OWNER, (owner.id,)),
        purposes=purposes,
    )
    return registry.licensing.grant(request.id, owner.id, owner.key).id


@pytest.fixture
def parties(registry: Registry, make_owner, make_licensee):  # type: ignore[no-untyped-def]
    return make_owner("Ada"), make_owner("Bea"), make_licensee("Lab"), make_licensee("Rival")


def test_a_token_on_the_licensees_own_grant_is_active_until_the_grant_is_revoked(
    registry: Registry, parties, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    ada, _, lab, _ = parties
    grant_id = _grant(registry, ada, lab)
    tokens = LicenceServer.of(registry).tokens
    issued = tokens.issue(lab.actor, owner_id=ada.id, ask=_ask(), lifetime=HOUR)
    assert issued.grant_id == grant_id
    assert issued.uses == {Category.TRAIN_AI, Category.TRAIN_OTHER}
    assert issued.token.startswith("rsl_") and len(issued.token) > 40
    assert timedelta(minutes=59) < issued.expires_at - issued.issued_at <= HOUR
    assert issued.token not in repr(issued)

    active = tokens.introspect(ada.actor, issued.token, "https://ada.example/poems/1")
    assert active is not None and active.permitted and active.grant_id == grant_id
    assert active.licensee_id == lab.id and active.licence == TRAIN
    elsewhere = tokens.introspect(ada.actor, issued.token, "https://other.example/")
    assert elsewhere is not None and not elsewhere.permitted and elsewhere.reason

    # Only the token's hash is stored, nowhere its value.
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM licence_tokens")).all()
    assert len(rows) == 1 and issued.token not in repr(rows)
    assert rows[0].digest == token_digest(issued.token)

    registry.licensing.revoke(grant_id, ada.id, ada.key)
    assert tokens.introspect(ada.actor, issued.token, "https://ada.example/poems/1") is None
    with pytest.raises(TokenRefusedError) as refused:
        tokens.issue(lab.actor, owner_id=ada.id, ask=_ask(), lifetime=HOUR)
    assert refused.value.code is OlpCode.INVALID_LICENSE
    assert "revoked" in str(refused.value)


def test_no_token_without_a_grant_of_ones_own_that_covers_the_ask(
    registry: Registry, parties
) -> None:  # type: ignore[no-untyped-def]
    ada, bea, lab, rival = parties
    tokens = LicenceServer.of(registry).tokens
    lab_grant = _grant(registry, ada, lab, purposes=(Category.SEARCH,))
    # A request that was never granted is no basis.
    pending = registry.licensing.request(
        rival.id, rival.key, scope=Scope(ScopeKind.OWNER, (ada.id,)), purposes=[Category.SEARCH]
    )
    cases = [
        (rival, ada.id, _ask(SEARCH, grant_id=lab_grant)),  # someone else's grant
        (rival, ada.id, _ask(SEARCH)),  # only a request, never granted
        (rival, ada.id, _ask(SEARCH, grant_id=pending.id)),
        (lab, ada.id, _ask(TRAIN)),  # a grant for search, not training
        (lab, bea.id, _ask(SEARCH)),  # a grant from another owner
    ]
    for licensee, owner_id, ask in cases:
        with pytest.raises(TokenRefusedError) as refused:
            tokens.issue(licensee.actor, owner_id=owner_id, ask=ask, lifetime=HOUR)
        assert refused.value.code is OlpCode.INVALID_LICENSE, str(refused.value)
    # Someone else's grant reads as no grant at all.
    with pytest.raises(TokenRefusedError, match=f"no grant {lab_grant} from owner"):
        tokens.issue(
            rival.actor, owner_id=ada.id, ask=_ask(SEARCH, grant_id=lab_grant), lifetime=HOUR
        )

    with pytest.raises(TokenRefusedError) as refused:
        tokens.issue(ada.actor, owner_id=ada.id, ask=_ask(SEARCH), lifetime=HOUR)
    assert refused.value.code is OlpCode.UNAUTHORIZED_CLIENT
    with pytest.raises(TokenRefusedError) as refused:
        tokens.issue(lab.actor, owner_id="own_nosuchowner", ask=_ask(SEARCH), lifetime=HOUR)
    assert refused.value.code is OlpCode.INVALID_RESOURCE


def test_a_grant_of_some_works_is_no_basis_for_a_token_of_urls(
    registry: Registry, parties, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    ada, _, lab, _ = parties
    from tests.integration.test_registry import _register

    work = _register(registry, ada, ["GPL-3"])[0].work
    _grant(
        registry, ada, lab, purposes=(Category.SEARCH,), scope=Scope(ScopeKind.WORKS, (work.id,))
    )
    with pytest.raises(TokenRefusedError, match="cannot tie to URLs"):
        LicenceServer.of(registry).tokens.issue(
            lab.actor, owner_id=ada.id, ask=_ask(SEARCH), lifetime=HOUR
        )


def test_a_token_expires_with_its_lifetime_and_answers_only_its_owner(
    registry: Registry, parties
) -> None:  # type: ignore[no-untyped-def]
    ada, bea, lab, _ = parties
    _grant(registry, ada, lab, purposes=(Category.SEARCH,))
    tokens = LicenceServer.of(registry).tokens
    short = tokens.issue(
        lab.actor, owner_id=ada.id, ask=_ask(SEARCH), lifetime=timedelta(seconds=1)
    )
    assert short.expires_in == 1
    assert tokens.introspect(bea.actor, short.token, "https://ada.example/") is None
    with pytest.raises(TokenRefusedError) as refused:
        tokens.introspect(lab.actor, short.token, "https://ada.example/")
    assert refused.value.code is OlpCode.UNAUTHORIZED_CLIENT
    assert tokens.introspect(ada.actor, "rsl_" + "A" * 43, "https://ada.example/") is None
    import time

    time.sleep(1.1)
    assert tokens.introspect(ada.actor, short.token, "https://ada.example/") is None


def test_a_scheduled_revocation_ends_the_token_when_it_takes_effect(
    registry: Registry, parties
) -> None:  # type: ignore[no-untyped-def]
    from consentry.clock import utc_now

    ada, _, lab, _ = parties
    grant_id = _grant(registry, ada, lab, purposes=(Category.SEARCH,))
    soon = utc_now() + timedelta(minutes=5)
    registry.licensing.revoke(grant_id, ada.id, ada.key, effective_at=soon)
    issued = LicenceServer.of(registry).tokens.issue(
        lab.actor, owner_id=ada.id, ask=_ask(SEARCH), lifetime=HOUR
    )
    assert issued.expires_at == soon


def test_a_key_that_is_not_the_partys_own_is_refused(registry: Registry, parties) -> None:  # type: ignore[no-untyped-def]
    from consentry.crypto import KeyPair
    from consentry.errors import PermissionDeniedError

    ada, _, lab, _ = parties
    _grant(registry, ada, lab, purposes=(Category.SEARCH,))
    impostor = RegistryActor(lab.id, PartyKind.LICENSEE, KeyPair.generate().public)
    with pytest.raises(PermissionDeniedError):
        LicenceServer.of(registry).tokens.issue(
            impostor, owner_id=ada.id, ask=_ask(SEARCH), lifetime=HOUR
        )


def test_client_credentials_are_kept_as_a_hash_and_a_new_one_replaces_the_old(
    registry: Registry, parties, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    ada, _, lab, _ = parties
    clients = LicenceServer.of(registry).clients
    first = clients.issue(lab.actor)
    assert first.client_id == lab.id and first.client_secret not in repr(first)
    assert clients.actor_of(lab.id, first.client_secret) == lab.actor
    second = clients.issue(lab.actor)
    with pytest.raises(ClientAuthenticationError):
        clients.actor_of(lab.id, first.client_secret)
    assert clients.actor_of(lab.id, second.client_secret).kind is PartyKind.LICENSEE
    for client_id, secret in [(ada.id, second.client_secret), ("lic_nosuch", "x"), (lab.id, "")]:
        with pytest.raises(ClientAuthenticationError):
            clients.actor_of(client_id, secret)
    with engine.connect() as connection:
        stored = connection.execute(select(OlpClientRow)).all()
    assert len(stored) == 1 and second.client_secret not in repr(stored)
    with engine.connect() as connection:
        assert connection.execute(select(LicenceTokenRow)).all() == []

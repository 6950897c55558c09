"""Licensing over RSL: the registry as an RSL licence server (RSL 1.0 §5, the Open
License Protocol). A licensee asks for a licence token on a grant its owner signed and
that is in force; the owner's site asks, at each crawl, whether a token is still good
for a page (introspection), which it is only while its grant is; each party gets client
credentials for the server with a request signed by its own key.
"""

from __future__ import annotations

from datetime import timedelta

from consentry.app.workspace import Workspace
from consentry.registry import Actor, PartyKind
from consentry.registry.licence_server import LicenceServer
from consentry.registry.licence_tokens import ActiveToken, IssuedToken
from consentry.registry.olp_clients import ClientAuthenticationError, ClientCredentials
from consentry.registry.rsl_requests import (
    RSL_MEDIA_TYPE,
    LicenceAsk,
    OlpCode,
    TokenRefusedError,
)
from consentry.signals import Rendering
from consentry.signals.rsl import write_rsl

__all__ = [
    "DEFAULT_TOKEN_LIFETIME",
    "RSL_MEDIA_TYPE",
    "ActiveToken",
    "ClientAuthenticationError",
    "ClientCredentials",
    "IssuedToken",
    "OlpCode",
    "TokenRefusedError",
    "client_of_credentials",
    "introspect_licence_token",
    "issue_client_credentials",
    "issue_licence_token",
    "owner_licence_document",
]

DEFAULT_TOKEN_LIFETIME = timedelta(hours=1)


def owner_licence_document(ws: Workspace, owner_id: str, *, server: str) -> Rendering:
    """The owner's terms in force as an RSL 1.0 licence document for all of their
    content (``<content url="/">``, a path pattern on whichever site points to it), with
    this registry's licence server for them (``server``/rsl/``owner_id``) as its
    ``server``: what the owner's robots.txt ``License`` line can name. Raises
    ``NotFoundError`` for an owner the registry does not know."""
    ws.party(owner_id, PartyKind.OWNER)
    terms = ws.registry.terms.effective(owner_id).terms
    return write_rsl(terms, content_url="/", license_server=f"{server.rstrip('/')}/rsl/{owner_id}")


def issue_licence_token(
    ws: Workspace,
    *,
    licensee_id: str,
    owner_id: str,
    resource: str | None,
    licence: str | None,
    licence_type: str | None = None,
    grant_id: str | None = None,
    lifetime: timedelta = DEFAULT_TOKEN_LIFETIME,
) -> IssuedToken:
    """A licence token for the licensee on its grant from the owner that licenses what
    the ``<license>`` element asks for ``resource`` now (RSL 1.0 §5.4).

    Raises ``TokenRefusedError`` (its ``code`` says which OLP refusal), and
    ``PermissionDeniedError`` when the workspace does not act for that licensee."""
    ask = LicenceAsk.read(
        resource=resource, licence=licence, licence_type=licence_type, grant_id=grant_id
    )
    licensee = ws.actor(licensee_id, PartyKind.LICENSEE)
    return LicenceServer.of(ws.registry).tokens.issue(
        licensee, owner_id=owner_id, ask=ask, lifetime=lifetime
    )


def introspect_licence_token(
    ws: Workspace, *, owner_id: str, token: str, resource: str
) -> ActiveToken | None:
    """What the token licenses, if it is active now (None when not), and whether it
    permits the asset at ``resource`` (RSL 1.0 §5.5), for the owner whose content it is.

    Raises ``TokenRefusedError`` (``unauthorized_client``) for a licensee, and
    ``PermissionDeniedError`` when the workspace does not act for that owner."""
    owner = ws.actor(owner_id, PartyKind.OWNER)
    return LicenceServer.of(ws.registry).tokens.introspect(owner, token, resource)


def issue_client_credentials(ws: Workspace, party_id: str) -> ClientCredentials:
    """New client credentials for the party (RSL 1.0 §5.3), in place of any it had; the
    secret is in what this returns and nowhere else."""
    return LicenceServer.of(ws.registry).clients.issue(ws.actor(party_id))


def client_of_credentials(ws: Workspace, client_id: str, client_secret: str) -> Actor:
    """The party whose client credentials these are; ``ClientAuthenticationError``
    when they are no party's."""
    return LicenceServer.of(ws.registry).clients.actor_of(client_id, client_secret)

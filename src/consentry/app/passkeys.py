"""Passkeys (WebAuthn), an account's alternative to its password. Like the password, a
passkey only signs a person in to the pages; it never signs consent, which stays with
the party's Ed25519 key. The challenge each ceremony answers is made here and kept by
the caller (the pages keep it in a cookie bound to the browser) until it is answered."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidCBORData,
    InvalidJSONStructure,
    InvalidRegistrationResponse,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from consentry.app.accounts import SignedIn, open_session
from consentry.app.workspace import Workspace
from consentry.errors import PermissionDeniedError, ReplayedRequestError, VerificationError
from consentry.registry import Account
from consentry.registry.accounts import Passkey

__all__ = [
    "Ceremony",
    "enrol_passkey",
    "passkey_enrolment",
    "passkey_sign_in",
    "passkeys_of",
    "sign_in_with_passkey",
]

_RP_NAME = "consentry registry"
# What WebAuthn's answers can fail with when they are malformed or do not verify.
_REFUSED = (
    InvalidRegistrationResponse,
    InvalidAuthenticationResponse,
    InvalidJSONStructure,
    InvalidCBORData,
    ValueError,
    KeyError,
    TypeError,
)


@dataclass(frozen=True, slots=True)
class Ceremony:
    """What the browser is asked (``options``, JSON for ``navigator.credentials``) and
    the challenge its answer must sign."""

    options: str
    challenge: bytes


def _spend(ws: Workspace, challenge: bytes) -> None:
    """Each challenge is answered once: kept, as a signed request's nonce is, by every
    worker, while its ceremony could still be answered."""
    try:
        ws.registry.access.remember_nonce("webauthn", hashlib.sha256(challenge).hexdigest())
    except ReplayedRequestError:
        raise PermissionDeniedError(
            "this passkey answer was sent before; press the passkey button again"
        ) from None


def passkeys_of(ws: Workspace, account: Account) -> list[Passkey]:
    return ws.registry.accounts.passkeys_of(account.id)


def passkey_enrolment(ws: Workspace, account: Account, *, rp_id: str) -> Ceremony:
    """Ask the browser to make a passkey for ``account`` on this site (``rp_id``: the
    site's host name). A passkey it already has is not made twice."""
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=_RP_NAME,
        user_id=account.id.encode("ascii"),
        user_name=account.email,
        user_display_name=account.name,
        challenge=secrets.token_bytes(32),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(key.credential_id))
            for key in passkeys_of(ws, account)
        ],
    )
    return Ceremony(options_to_json(options), options.challenge)


def enrol_passkey(
    ws: Workspace,
    account: Account,
    credential: str,
    *,
    challenge: bytes,
    rp_id: str,
    origin: str,
) -> Passkey:
    """Keep the passkey the browser made, once its answer verifies against the
    challenge, this site and this origin."""
    _spend(ws, challenge)
    try:
        verified = verify_registration_response(
            credential=json.loads(credential),
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            require_user_verification=True,
        )
    except _REFUSED as exc:
        raise VerificationError(
            f"the passkey the browser made did not verify ({exc}); try adding it again"
        ) from None
    return ws.registry.accounts.add_passkey(
        account.id,
        bytes_to_base64url(verified.credential_id),
        verified.credential_public_key,
        verified.sign_count,
    )


def passkey_sign_in(*, rp_id: str) -> Ceremony:
    """Ask the browser for any passkey it holds for this site (it offers the person
    the ones it has: no e-mail address is typed)."""
    options = generate_authentication_options(
        rp_id=rp_id,
        challenge=secrets.token_bytes(32),
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return Ceremony(options_to_json(options), options.challenge)


def sign_in_with_passkey(
    ws: Workspace, credential: str, *, challenge: bytes, rp_id: str, origin: str
) -> SignedIn:
    """Sign in the account whose passkey signed the challenge. A passkey whose count
    did not grow (a copy of the authenticator, or a replayed answer) is refused."""
    _spend(ws, challenge)
    refused = PermissionDeniedError(
        "that passkey did not sign you in; try again, or sign in with your password"
    )
    try:
        answer = json.loads(credential)
        found = ws.registry.accounts.passkey(str(answer["id"]))
    except _REFUSED:
        raise refused from None
    if found is None:
        raise refused
    try:
        verified = verify_authentication_response(
            credential=answer,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=found.public_key,
            credential_current_sign_count=found.sign_count,
            require_user_verification=True,
        )
    except _REFUSED:
        raise refused from None
    if not ws.registry.accounts.note_passkey_use(
        found.credential_id, found.sign_count, verified.new_sign_count
    ):
        raise refused  # another sign-in with the same answer came first
    return open_session(ws, ws.registry.accounts.get(found.account_id))

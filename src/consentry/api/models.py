"""The bodies requests carry, as the OpenAPI document describes them. Records the
service answers with are each record's own ``to_json``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AcceptBody",
    "CounterBody",
    "DenyBody",
    "GrantBody",
    "PartyBody",
    "ProblemModel",
    "RequestBody",
    "RevokeBody",
    "ScopeModel",
    "SigningModel",
    "SigningRequestModel",
]

_ID = Field(min_length=3, max_length=40, pattern=r"^[a-z]{3}_[a-z2-7]{1,36}$")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SigningModel(_Body):
    """Round two and after: the token of round one and the signatures made since, by
    the SHA-256 (hex) of the message each signs (base64 signatures)."""

    token: str = Field(max_length=1000)
    signatures: dict[str, str] = Field(max_length=100_000)


class ProblemModel(BaseModel):
    """An RFC 9457 problem: ``type`` says which refusal, ``detail`` what to do."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


class SigningRequestModel(BaseModel):
    """202: sign these messages (base64), in any order, and send the request again with
    ``signing``."""

    token: str
    messages: list[str]
    expires_at: str


class Change(_Body):
    signing: SigningModel | None = None


class PartyBody(Change):
    id: str = _ID
    name: str = Field(min_length=1, max_length=200)
    public_key: str = Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")
    invitation: str | None = Field(default=None, max_length=200)


class ScopeModel(_Body):
    kind: str = Field(pattern=r"^(works|owner|collection)$")
    ids: list[str] = Field(min_length=1, max_length=10_000)


class PriceModel(_Body):
    per: str = Field(max_length=20)
    amount: str = Field(max_length=60)
    currency: str = Field(max_length=10)


class RequestBody(Change):
    scope: ScopeModel
    purposes: list[str] = Field(min_length=1, max_length=20)
    not_after: str | None = Field(default=None, max_length=40)
    offer: PriceModel | None = None
    commercial: bool = True


class GrantBody(Change):
    pass


class AcceptBody(Change):
    pass


class DenyBody(Change):
    reason: str | None = Field(default=None, max_length=2000)


class CounterBody(Change):
    purposes: list[str] | None = Field(default=None, max_length=20)
    not_after: str | None = Field(default=None, max_length=40)
    price: PriceModel | None = None


class RevokeBody(Change):
    effective_at: str | None = Field(default=None, max_length=40)
    reason: str | None = Field(default=None, max_length=2000)


def dump(model: BaseModel | None) -> dict[str, Any] | None:
    return None if model is None else model.model_dump(mode="json")

"""SQLAlchemy 2 models. Rows never leave the registry's service layer.

Signed objects (works, terms, requests, grants, revocations, events) keep their RFC 8785
canonical body, signer key id and signature: the body is the truth, verified on every
load; the other columns exist to query by.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AccountRow",
    "Base",
    "CollectionRow",
    "DisputeRow",
    "EventRow",
    "FingerprintRow",
    "GrantRow",
    "InvitationRow",
    "LicenceTokenRow",
    "LicenseRequestRow",
    "LicenseeRow",
    "LogCheckpointRow",
    "LogEntryRow",
    "LogIdentityRow",
    "LogManifestWorksRow",
    "LogSaltRow",
    "LogStateRow",
    "OlpClientRow",
    "OwnerRow",
    "PasskeyRow",
    "PublicKeyRow",
    "RequestNonceRow",
    "RevocationRow",
    "TermsRow",
    "UTCDateTime",
    "WebSessionRow",
    "WorkRow",
    "WorkSignalRow",
]

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)


class _Signed:
    body: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(96))


class PublicKeyRow(Base):
    __tablename__ = "public_keys"
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    party_id: Mapped[str] = mapped_column(String(40), index=True)
    public_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OwnerRow(Base):
    __tablename__ = "owners"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(ForeignKey("public_keys.key_id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LicenseeRow(Base):
    __tablename__ = "licensees"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(ForeignKey("public_keys.key_id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CollectionRow(Base):
    __tablename__ = "collections"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WorkRow(_Signed, Base):
    """A registered work. ``content`` is the exact digest of the content the work holds,
    unique, so that of two owners registering the same content at once the database
    lets one in and refuses the other. It is NULL for a work that holds none: content
    that normalises to nothing (registered before that was refused), or the later of
    two owners' works of one content registered at once before the rule was enforced
    (revision 0004 keeps both as signed; the first registered holds the content)."""

    __tablename__ = "works"
    __table_args__ = (
        UniqueConstraint("owner_id", "digest"),
        Index("uq_works_content", "content", unique=True),
        # Works are listed in the order they were registered, a page at a time.
        Index("ix_works_registered", "created_at", "id"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.id"), index=True)
    collection_id: Mapped[str | None] = mapped_column(
        ForeignKey("collections.id"), index=True, nullable=True
    )
    digest: Mapped[str] = mapped_column(String(64), index=True)
    content: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    media_type: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    spdx: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FingerprintRow(Base):
    __tablename__ = "fingerprints"
    work_id: Mapped[str] = mapped_column(ForeignKey("works.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    params_version: Mapped[str] = mapped_column(String(16))
    value: Mapped[bytes] = mapped_column(LargeBinary)
    quality: Mapped[int | None] = mapped_column(Integer, nullable=True)


class DisputeRow(Base):
    __tablename__ = "disputes"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    work_id: Mapped[str] = mapped_column(ForeignKey("works.id"), index=True)
    claimant_id: Mapped[str] = mapped_column(ForeignKey("owners.id"), index=True)
    path: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TermsRow(_Signed, Base):
    __tablename__ = "terms"
    __table_args__ = (UniqueConstraint("target_id", "version"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.id"), index=True)
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LicenseRequestRow(_Signed, Base):
    __tablename__ = "license_requests"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    licensee_id: Mapped[str] = mapped_column(ForeignKey("licensees.id"), index=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.id"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    counter_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    counter_key_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    counter_signature: Mapped[str | None] = mapped_column(String(96), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GrantRow(_Signed, Base):
    __tablename__ = "grants"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("license_requests.id"), unique=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.id"), index=True)
    licensee_id: Mapped[str] = mapped_column(ForeignKey("licensees.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RevocationRow(_Signed, Base):
    __tablename__ = "revocations"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.id"), unique=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.id"), index=True)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EventRow(_Signed, Base):
    """Append-only: one row per change, written in the change's own transaction."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_subject", "subject_id"),
        # A party's own events of a kind (a lab's runs, on its pages).
        Index("ix_events_actor_kind", "actor_id", "kind"),
    )
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LogEntryRow(Base):
    """The log itself, append-only like the events: leaf ``idx`` of the tree."""

    __tablename__ = "log_entries"
    idx: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    event_seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("events.seq"), unique=True
    )
    data: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LogStateRow(Base):
    """One row: the sequenced size, advanced by compare-and-swap so that two
    sequencers never hand out the same index."""

    __tablename__ = "log_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)


class LogIdentityRow(Base):
    """One row: the log's origin and public key. The private key stays in the
    operator's home; every other machine reads the identity from here."""

    __tablename__ = "log_identity"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    origin: Mapped[str] = mapped_column(String(200))
    public_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LogCheckpointRow(Base):
    """Every checkpoint the log signed, with the cosignatures gathered since."""

    __tablename__ = "log_checkpoints"
    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LogSaltRow(Base):
    """The erasable half of each commitment: delete the salt and the commitment on the
    log can no longer be tied to its value. ``party_id``: whose data it is."""

    __tablename__ = "log_salts"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    party_id: Mapped[str] = mapped_column(String(40), index=True)


class LogManifestWorksRow(Base):
    """A manifest's sorted work commitments (32 bytes each): the leaves of the tree
    whose root its log leaf carries, kept so that proofs survive another work's
    erasure."""

    __tablename__ = "log_manifest_works"
    event_seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("events.seq"), primary_key=True
    )
    commitments: Mapped[bytes] = mapped_column(LargeBinary)


class RequestNonceRow(Base):
    """A signed HTTP request's nonce, kept while its signature could still be accepted,
    so that the same request sent again is refused as a replay by every server worker."""

    __tablename__ = "request_nonces"
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(100), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class InvitationRow(Base):
    """An invitation to register with a registry served invite-only. Only the SHA-256 of
    the token is kept: the token itself is a secret its holder was given once."""

    __tablename__ = "invitations"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    note: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AccountRow(Base):
    """A person's account on the registry's pages: how they sign in (an argon2id hash,
    never the password), and the party they proved they hold the key of. The account
    grants no consent: every change is still signed with the party's own key."""

    __tablename__ = "accounts"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10))
    password_hash: Mapped[str] = mapped_column(String(200))
    party_id: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    failed_signins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebSessionRow(Base):
    """A signed-in browser. Only the SHA-256 of its cookie's token is kept, so a copy of
    the database signs no one in."""

    __tablename__ = "web_sessions"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40), ForeignKey("accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class PasskeyRow(Base):
    """A passkey (WebAuthn credential) an account signs in with: its public key and the
    count its authenticator last reported, which must grow (a cloned one would not)."""

    __tablename__ = "passkeys"
    credential_id: Mapped[str] = mapped_column(String(400), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40), ForeignKey("accounts.id"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LicenceTokenRow(Base):
    """An RSL licence token the registry issued on a grant (RSL 1.0 §5.4). Only the
    SHA-256 of the token is kept: the token is a bearer secret its holder was given once,
    and a copy of the database must not let anyone crawl as a licensee. ``resource`` is
    the content URL it licenses, ``uses`` its categories (space-separated), ``licence``
    the ``<license>`` element it was asked with."""

    __tablename__ = "licence_tokens"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.id"), index=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.id"), index=True)
    licensee_id: Mapped[str] = mapped_column(ForeignKey("licensees.id"), index=True)
    resource: Mapped[str] = mapped_column(Text)
    uses: Mapped[str] = mapped_column(String(200))
    licence: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class OlpClientRow(Base):
    """A party's client credentials for the RSL licence server (RSL 1.0 §5.3: HTTP Basic
    ``client_id:client_secret``); ``party_id`` is the client id. Only the SHA-256 of the
    secret is kept, and a new secret replaces the old one."""

    __tablename__ = "olp_clients"
    party_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WorkSignalRow(Base):
    """One thing a signal said about a work when its owner registered it from a site
    (``work register --site``): the statement, in the terms categories, and where it
    was read. A row without a category is a signal that could not be read, its
    ``label`` saying why. Not signed: it records what the site said, and grants or
    reserves nothing itself (terms do, signed). A work's rows are replaced together
    each time its owner registers it again, so they say what the site says now."""

    __tablename__ = "work_signals"
    __table_args__ = (
        CheckConstraint("(category IS NULL) = (permission IS NULL)", name="statement_or_problem"),
    )
    work_id: Mapped[str] = mapped_column(ForeignKey("works.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    signal: Mapped[str] = mapped_column(String(40))
    place: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(20), nullable=True)
    permission: Mapped[str | None] = mapped_column(String(10), nullable=True)
    label: Mapped[str] = mapped_column(Text)
    outdated: Mapped[bool] = mapped_column(Boolean)
    agent: Mapped[str | None] = mapped_column(Text, nullable=True)
    licence: Mapped[str | None] = mapped_column(Text, nullable=True)
    price: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)

"""The database tables (SQLAlchemy 2 declarative). Alembic migrations mirror these.

Ids from Discord are 64-bit snowflakes (BigInteger). Money is stored in micro-dollars as
integers, so sums are exact on every backend.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
AUTO_ID = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored in UTC and read back aware (UTC) on every backend.

    SQLite keeps no offset: without this, a time in the configured zone would be stored as
    its wall-clock reading, and comparisons (cooldowns) and ordering (history) would break
    across zones and daylight-saving changes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: pass an aware one")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base of every table; Python `int` maps to BIGINT (snowflakes need 64 bits)."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        int: BigInteger,
        datetime: UtcDateTime(),
    }


class Picture(Base):
    """One posted picture and where it came from (its lineage)."""

    __tablename__ = "pictures"

    id: Mapped[int] = mapped_column(AUTO_ID, primary_key=True, autoincrement=True)
    guild_id: Mapped[int | None]
    channel_id: Mapped[int]
    message_id: Mapped[int | None]  # shared by the pictures of a set
    number: Mapped[int | None] = mapped_column(Integer)  # place in a set (1…); None alone
    job_id: Mapped[int | None]  # the job that made it (its set: the same job)
    requester_id: Mapped[int]
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("pictures.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))  # imagine | reroll | refine | edit | variation
    description: Mapped[str] = mapped_column(Text)
    prompt: Mapped[str] = mapped_column(Text)
    instruction: Mapped[str | None] = mapped_column(Text)
    size: Mapped[str] = mapped_column(String(16))
    quality: Mapped[str] = mapped_column(String(16))
    style: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(64))
    cost_micros: Mapped[int] = mapped_column(default=0)
    image_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    # The audit channel's line about it (one per job: on each picture of a set); its channel
    # is the job's `spec.audit_channel_id`. /forget-me deletes it (it quotes the prompt).
    audit_message_id: Mapped[int | None]

    __table_args__ = (
        Index("ix_pictures_requester", "requester_id", "created_at"),
        Index("ix_pictures_message", "message_id"),
        Index("ix_pictures_job", "job_id"),
    )


class GuildConfig(Base):
    """A server's settings, as one JSON document (validated by `bot.policy.GuildSettings`)."""

    __tablename__ = "guild_settings"

    guild_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    document: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class Counter(Base):
    """Pictures and money per (guild, user, period); user 0 is the whole guild, guild 0 DMs.

    `pictures` counts admitted pictures (under way or made); `reserved_micros` is money held
    for pictures under way; `spent_micros` is settled. Day rows are per user and per guild,
    month rows per guild only.
    """

    __tablename__ = "usage_counters"

    guild_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    period: Mapped[str] = mapped_column(String(10), primary_key=True)  # 2026-11-26 or 2026-11
    pictures: Mapped[int] = mapped_column(Integer, default=0)
    reserved_micros: Mapped[int] = mapped_column(default=0)
    spent_micros: Mapped[int] = mapped_column(default=0)


NEVER = datetime(2000, 1, 1, tzinfo=UTC)


class Cooldown(Base):
    """When a user last started a picture in a guild (for cooldowns).

    A row created before the user's first picture holds `NEVER`.
    """

    __tablename__ = "cooldowns"

    guild_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_at: Mapped[datetime]


class Ledger(Base):
    """One row per admitted job: reserved, then settled to the real cost or released."""

    __tablename__ = "ledger"

    id: Mapped[int] = mapped_column(AUTO_ID, primary_key=True, autoincrement=True)
    guild_id: Mapped[int]
    user_id: Mapped[int]
    day: Mapped[str] = mapped_column(String(10))
    month: Mapped[str] = mapped_column(String(7))
    state: Mapped[str] = mapped_column(String(10))  # reserved | settled | released
    estimate_micros: Mapped[int]
    pictures: Mapped[int] = mapped_column(Integer, default=1)  # how many it counts
    cost_micros: Mapped[int] = mapped_column(default=0)
    picture_id: Mapped[int | None] = mapped_column(ForeignKey("pictures.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_ledger_guild_day", "guild_id", "day"),)


class JobRow(Base):
    """One request for a picture, from submission to its end: the job's record of truth.

    It holds everything needed to run or finish the job in another process or after a
    restart: who and where, what to make (`spec`, JSON), where to show it (an interaction
    token until it expires, or a channel message to reply to), its state and its
    reservation. The token is a secret: cleared when the job ends.
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(AUTO_ID, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # imagine | reroll | refine | prompt | variation
    state: Mapped[str] = mapped_column(String(10))  # queued running posting done failed cancelled
    guild_id: Mapped[int | None]
    channel_id: Mapped[int]
    user_id: Mapped[int]
    spec: Mapped[str] = mapped_column(Text)  # JSON: request, options, texts (bot.storage.jobs)
    prompt: Mapped[str | None] = mapped_column(Text)  # painted as is (set late for variations)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("pictures.id", ondelete="SET NULL"))
    batch: Mapped[str | None] = mapped_column(String(32))  # the takes of one Variations press
    take: Mapped[int | None] = mapped_column(Integer)  # 0-based index within the batch
    running_cap: Mapped[int | None] = mapped_column(Integer)
    token: Mapped[str | None] = mapped_column(Text)  # interaction token (a secret)
    token_expires_at: Mapped[datetime | None]
    public: Mapped[bool] = mapped_column(default=False)  # a public "thinking…" to answer
    reply_to_id: Mapped[int | None]  # without a token: the message to answer in a reply
    message_id: Mapped[int | None]  # the bot's own message showing the job, once known
    upload_limit: Mapped[int]
    reservation_id: Mapped[int] = mapped_column(ForeignKey("ledger.id"))
    cooldown_previous: Mapped[datetime | None]  # what releasing the reservation puts back
    picture_id: Mapped[int | None] = mapped_column(ForeignKey("pictures.id", ondelete="SET NULL"))
    outcome: Mapped[str | None] = mapped_column(Text)  # the sentence a failed job ended with
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Several processes (workers): who holds the job, until when, and whether it has its
    # turn to paint (the shared line, bot.storage.turns); unused by a single process.
    holder: Mapped[str | None] = mapped_column(String(40))
    lease_until: Mapped[datetime | None]
    has_turn: Mapped[bool] = mapped_column(default=False)
    resumed: Mapped[bool] = mapped_column(default=False)  # lost its turn to a provider pause
    # A press that may come twice (a preview's Paint) makes at most one job: its key.
    once_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_jobs_state", "state"),
        Index("ix_jobs_person", "guild_id", "user_id", "state"),
        Index("ix_jobs_batch", "batch"),
        Index("ix_jobs_server_started", "guild_id", "started_at"),
        Index("ix_jobs_person_started", "guild_id", "user_id", "started_at"),
        Index("ix_jobs_once", "once_key", unique=True),
    )

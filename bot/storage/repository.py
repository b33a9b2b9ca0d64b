"""The one repository: server settings, atomic quota/budget reservations, picture lineage.

Reservations are conditional UPDATEs on counter rows inside one transaction: a row only
changes if the limit still holds, so concurrent requests can never overrun a limit (row
locks on PostgreSQL, the single writer on SQLite). Settling and releasing flip a ledger row
out of the "reserved" state exactly once, so nothing is charged twice or lost.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.policy import GuildSettings, Limits, Refused
from bot.storage.database import make_sessions
from bot.storage.tables import Cooldown, Counter, GuildConfig, Ledger, Picture

log = logging.getLogger(__name__)

GUILD_WIDE = 0  # user_id of a guild's own counters
DMS = 0  # guild_id used for direct messages


@dataclass(frozen=True, slots=True)
class Periods:
    """The day and month a moment falls in, in the configured time zone."""

    day: str  # 2026-11-26
    month: str  # 2026-11

    @classmethod
    def of(cls, moment: datetime) -> Periods:
        """The periods of an aware `moment` (already in the configured zone)."""
        return cls(moment.strftime("%Y-%m-%d"), moment.strftime("%Y-%m"))


@dataclass(frozen=True, slots=True)
class Reservation:
    """An admitted job's hold on quota and budget."""

    id: int
    guild_id: int
    user_id: int
    periods: Periods
    estimate_micros: int


@dataclass(frozen=True, slots=True)
class Usage:
    """Pictures and money counted for one (guild, user, period)."""

    pictures: int = 0
    reserved_micros: int = 0
    spent_micros: int = 0


@dataclass(frozen=True, slots=True)
class NewPicture:
    """What is recorded about a posted picture."""

    guild_id: int | None
    channel_id: int
    message_id: int
    requester_id: int
    parent_id: int | None
    kind: str
    description: str
    prompt: str
    instruction: str | None
    size: str
    quality: str
    style: str
    model: str
    cost_micros: int
    image_url: str | None


class Store:
    """All reads and writes of Picasso's data."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions: async_sessionmaker[AsyncSession] = make_sessions(engine)
        self._dialect = engine.dialect.name
        # SQLite has one writer; queueing writers here avoids "database is locked" storms.
        self._write_lock = asyncio.Lock() if self._dialect == "sqlite" else None

    # --- settings ----------------------------------------------------------------------------

    async def guild_settings(self, guild_id: int | None) -> GuildSettings:
        """A server's settings (the defaults for DMs and servers that never changed any)."""
        if guild_id is None:
            return GuildSettings()
        async with self._sessions() as session:
            row = await session.get(GuildConfig, guild_id)
        return GuildSettings.from_json(row.document if row else None)

    async def save_guild_settings(
        self, guild_id: int, settings: GuildSettings, now: datetime
    ) -> None:
        """Replace a server's settings."""
        async with self._writing() as session:
            row = await session.get(GuildConfig, guild_id)
            if row is None:
                session.add(
                    GuildConfig(guild_id=guild_id, document=settings.to_json(), updated_at=now)
                )
            else:
                row.document, row.updated_at = settings.to_json(), now

    # --- quota and budget --------------------------------------------------------------------

    def _insert_ignore(self, table: Any) -> Any:
        dialect = postgresql if self._dialect == "postgresql" else sqlite
        return dialect.insert(table).on_conflict_do_nothing()

    @staticmethod
    def _key(table: type[Counter], guild_id: int, user_id: int, period: str) -> Any:
        return (table.guild_id == guild_id) & (table.user_id == user_id) & (table.period == period)

    async def _take(
        self,
        session: AsyncSession,
        guild_id: int,
        user_id: int,
        period: str,
        *,
        pictures: int | None,
        micros: int | None,
        estimate: int,
        count: bool,
    ) -> bool:
        """Count one picture and hold `estimate` on a counter if its limits still allow."""
        await session.execute(
            self._insert_ignore(Counter).values(
                guild_id=guild_id,
                user_id=user_id,
                period=period,
                pictures=0,
                reserved_micros=0,
                spent_micros=0,
            )
        )
        condition = self._key(Counter, guild_id, user_id, period)
        if pictures is not None:
            condition &= Counter.pictures < pictures
        if micros is not None:
            condition &= Counter.spent_micros + Counter.reserved_micros + estimate <= micros
        result = await session.execute(
            update(Counter)
            .where(condition)
            .values(
                pictures=Counter.pictures + (1 if count else 0),
                reserved_micros=Counter.reserved_micros + estimate,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _cool_down(
        self, session: AsyncSession, guild_id: int, user_id: int, seconds: int, now: datetime
    ) -> float:
        """0 if the cooldown has passed (and restart it), else the seconds still to wait."""
        await session.execute(
            self._insert_ignore(Cooldown).values(
                guild_id=guild_id, user_id=user_id, last_at=now - timedelta(days=1)
            )
        )
        if seconds <= 0:
            return 0.0
        ready = (Cooldown.guild_id == guild_id) & (Cooldown.user_id == user_id)
        result = await session.execute(
            update(Cooldown)
            .where(ready & (Cooldown.last_at <= now - timedelta(seconds=seconds)))
            .values(last_at=now)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            return 0.0
        last = (await session.execute(select(Cooldown.last_at).where(ready))).scalar_one()
        if last.tzinfo is None:  # SQLite hands back naive datetimes
            last = last.replace(tzinfo=now.tzinfo)
        return max(0.1, seconds - (now - last).total_seconds())

    async def reserve(
        self,
        guild_id: int | None,
        user_id: int,
        limits: Limits,
        estimate_micros: int,
        now: datetime,
        periods: Periods,
    ) -> Reservation:
        """Admit one picture against every limit at once, or raise `Refused` naming the limit.

        Either every counter takes the picture or none does (one transaction).
        """
        guild = DMS if guild_id is None else guild_id
        async with self._writing() as session:
            wait = await self._cool_down(session, guild, user_id, limits.cooldown_seconds, now)
            if wait:
                raise Refused(f"Slow down — you can make another picture in {wait:.0f} s.")
            checks = (
                (
                    user_id,
                    periods.day,
                    limits.user_daily_pictures,
                    limits.user_daily_micros,
                    True,
                    "You've reached your picture limit for today — it resets at midnight.",
                    "You've reached your spending limit for today — it resets at midnight.",
                ),
                (
                    GUILD_WIDE,
                    periods.day,
                    limits.guild_daily_pictures,
                    limits.guild_daily_micros,
                    True,
                    "This server has reached its picture limit for today — try tomorrow.",
                    "This server has reached its image budget for today — try tomorrow.",
                ),
                (
                    GUILD_WIDE,
                    periods.month,
                    None,
                    limits.guild_monthly_micros,
                    False,
                    "",
                    "This server has reached its image budget for this month.",
                ),
            )
            for who, period, pictures, micros, count, quota_text, budget_text in checks:
                taken = await self._take(
                    session,
                    guild,
                    who,
                    period,
                    pictures=pictures,
                    micros=micros,
                    estimate=estimate_micros,
                    count=count,
                )
                if not taken:
                    await session.rollback()
                    over_quota = pictures is not None and await self._at_quota(
                        session, guild, who, period, pictures
                    )
                    raise Refused(quota_text if over_quota else budget_text)
            ledger = Ledger(
                guild_id=guild,
                user_id=user_id,
                day=periods.day,
                month=periods.month,
                state="reserved",
                estimate_micros=estimate_micros,
                cost_micros=0,
                created_at=now,
            )
            session.add(ledger)
            await session.flush()
            return Reservation(ledger.id, guild, user_id, periods, estimate_micros)

    async def _at_quota(
        self, session: AsyncSession, guild_id: int, user_id: int, period: str, pictures: int
    ) -> bool:
        counted = await session.scalar(
            select(Counter.pictures).where(self._key(Counter, guild_id, user_id, period))
        )
        return (counted or 0) >= pictures

    async def _close(
        self,
        reservation: Reservation,
        *,
        state: str,
        cost_micros: int,
        picture_id: int | None,
        now: datetime,
    ) -> bool:
        settled = state == "settled"
        async with self._writing() as session:
            flipped = await session.execute(
                update(Ledger)
                .where((Ledger.id == reservation.id) & (Ledger.state == "reserved"))
                .values(state=state, cost_micros=cost_micros, picture_id=picture_id, closed_at=now)
            )
            if not flipped.rowcount:  # type: ignore[attr-defined]
                log.warning("reservation %d was already closed; not counted again", reservation.id)
                return False
            periods = reservation.periods
            for who, period, counted in (
                (reservation.user_id, periods.day, True),
                (GUILD_WIDE, periods.day, True),
                (GUILD_WIDE, periods.month, False),
            ):
                await session.execute(
                    update(Counter)
                    .where(self._key(Counter, reservation.guild_id, who, period))
                    .values(
                        reserved_micros=Counter.reserved_micros - reservation.estimate_micros,
                        spent_micros=Counter.spent_micros + cost_micros,
                        pictures=Counter.pictures - (0 if settled or not counted else 1),
                    )
                )
        return True

    async def settle(
        self, reservation: Reservation, cost_micros: int, picture_id: int | None, now: datetime
    ) -> bool:
        """Charge the real cost instead of the estimate; False if it was already closed."""
        return await self._close(
            reservation, state="settled", cost_micros=cost_micros, picture_id=picture_id, now=now
        )

    async def release(self, reservation: Reservation, now: datetime) -> bool:
        """Give back the picture and the money held; False if it was already closed."""
        return await self._close(
            reservation, state="released", cost_micros=0, picture_id=None, now=now
        )

    async def usage(self, guild_id: int | None, user_id: int, period: str) -> Usage:
        """What one (guild, user or GUILD_WIDE, period) counter holds."""
        guild = DMS if guild_id is None else guild_id
        async with self._sessions() as session:
            row = await session.get(Counter, (guild, user_id, period))
        if row is None:
            return Usage()
        return Usage(row.pictures, row.reserved_micros, row.spent_micros)

    async def cooldown_left(
        self, guild_id: int | None, user_id: int, seconds: int, now: datetime
    ) -> float:
        """Seconds until `user_id` may ask again under a `seconds` cooldown (0 = now)."""
        guild = DMS if guild_id is None else guild_id
        async with self._sessions() as session:
            row = await session.get(Cooldown, (guild, user_id))
        if row is None or seconds <= 0:
            return 0.0
        last = row.last_at if row.last_at.tzinfo else row.last_at.replace(tzinfo=now.tzinfo)
        return max(0.0, seconds - (now - last).total_seconds())

    async def reset_user(self, guild_id: int, user_id: int, periods: Periods) -> None:
        """Forget a user's pictures and spend for today, and their cooldown."""
        async with self._writing() as session:
            await session.execute(
                update(Counter)
                .where(self._key(Counter, guild_id, user_id, periods.day))
                .values(pictures=0, spent_micros=0)
            )
            await session.execute(
                delete(Cooldown).where(
                    (Cooldown.guild_id == guild_id) & (Cooldown.user_id == user_id)
                )
            )

    # --- pictures ----------------------------------------------------------------------------

    async def add_picture(self, picture: NewPicture, now: datetime) -> int:
        """Record a posted picture; returns its id."""
        async with self._writing() as session:
            row = Picture(**dataclasses.asdict(picture), created_at=now)
            session.add(row)
            await session.flush()
            return row.id

    async def picture(self, picture_id: int) -> Picture | None:
        """A picture by id."""
        async with self._sessions() as session:
            return await session.get(Picture, picture_id)

    async def picture_by_message(self, message_id: int) -> Picture | None:
        """The picture posted as `message_id`, if that message is one of ours."""
        async with self._sessions() as session:
            return await session.scalar(select(Picture).where(Picture.message_id == message_id))

    async def forget_message(self, message_id: int) -> None:
        """The message is gone: keep the lineage row but drop its message id."""
        async with self._writing() as session:
            await session.execute(
                update(Picture).where(Picture.message_id == message_id).values(message_id=None)
            )

    async def history(
        self, user_id: int, guild_id: int | None, *, limit: int, offset: int = 0
    ) -> Sequence[Picture]:
        """A user's pictures in a server (or everywhere for None), newest first."""
        query = select(Picture).where(Picture.requester_id == user_id)
        if guild_id is not None:
            query = query.where(Picture.guild_id == guild_id)
        query = query.order_by(Picture.created_at.desc(), Picture.id.desc())
        async with self._sessions() as session:
            return (await session.scalars(query.limit(limit).offset(offset))).all()

    async def ancestry(self, picture_id: int, *, limit: int = 50) -> list[Picture]:
        """The chain from a picture back to its first ancestor, the picture itself first."""
        chain: list[Picture] = []
        async with self._sessions() as session:
            current = await session.get(Picture, picture_id)
            while current is not None and len(chain) < limit:
                chain.append(current)
                if current.parent_id is None:
                    break
                current = await session.get(Picture, current.parent_id)
        return chain

    # --- plumbing ----------------------------------------------------------------------------

    def _writing(self) -> _WriteSession:
        return _WriteSession(self._sessions, self._write_lock)


class _WriteSession:
    """A session in a transaction that commits on success, under the SQLite write lock."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], lock: asyncio.Lock | None
    ) -> None:
        self._sessions = sessions
        self._lock = lock
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> AsyncSession:
        if self._lock is not None:
            await self._lock.acquire()
        self._session = self._sessions()
        await self._session.begin()
        return self._session

    async def __aexit__(self, kind: Any, error: Any, trace: Any) -> None:
        assert self._session is not None
        try:
            if kind is None and self._session.in_transaction():
                await self._session.commit()
            else:
                await self._session.rollback()
        finally:
            await self._session.close()
            if self._lock is not None:
                self._lock.release()

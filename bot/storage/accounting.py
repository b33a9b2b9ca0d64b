"""Quota, budget and cooldown accounting: atomic reservations, settled or released once.

A reservation is one write transaction of conditional UPDATEs on counter rows: a row only
changes if its limit still holds, so concurrent requests can never overrun a limit (row
locks on PostgreSQL, re-checked after the wait; the single writer on SQLite). Every
transaction takes its row locks in the same order (cooldown → user day → server day →
server month → bot day → bot month), so two of them never wait for each other. The bot's
rows (`BOT_WIDE`) count every server and the DMs together, for the operator's caps.
Settling and releasing flip the ledger row out of "reserved" exactly once, so nothing is
charged twice or lost.

`check_admission` answers "would this be admitted now?" by making that very reservation
and rolling it back: the same decisions, nothing held. `charge` books money already spent
(a preview's prompt writing) as a ledger row settled at once: counted in every budget, no
picture counted, no cooldown started, and no limit refuses it (the money is gone).
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.policy import NO_LIMITS, LimitKind, LimitReached, Limits
from bot.storage.counting import (
    BOT_WIDE,
    DMS,
    GUILD_WIDE,
    RELEASED,
    RESERVED,
    SETTLED,
    Check,
    Periods,
    Reservation,
    Usage,
    checks,
    counted_rows,
)
from bot.storage.database import Sessions
from bot.storage.tables import NEVER, Cooldown, Counter, Ledger

log = logging.getLogger(__name__)


def _counter(guild_id: int, user_id: int, period: str) -> Any:
    return (
        (Counter.guild_id == guild_id) & (Counter.user_id == user_id) & (Counter.period == period)
    )


def _cooldown(guild_id: int, user_id: int) -> Any:
    return (Cooldown.guild_id == guild_id) & (Cooldown.user_id == user_id)


class _Rehearsed(Exception):
    """Rolls back a reservation made only to see whether it would be admitted."""


class Accounting(Sessions):
    """The accounting half of `Store`: quotas, budgets and cooldowns."""

    # --- admission ---------------------------------------------------------------------------

    async def reserve(
        self,
        guild_id: int | None,
        user_id: int,
        limits: Limits,
        estimate_micros: int,
        now: datetime,
        *,
        pictures: int = 1,
    ) -> Reservation:
        """Admit `pictures` pictures (one request) against every limit at once, or raise
        `LimitReached` naming the limit: the whole set is admitted or none of it.

        `now` is aware and in the configured zone: its day and month are the periods counted.
        Either every counter takes the pictures and the cooldown restarts, or nothing changes.
        """
        async with self._writing() as session:
            return await self._reserve(
                session, guild_id, user_id, limits, estimate_micros, now, pictures=pictures
            )

    async def check_admission(
        self,
        guild_id: int | None,
        user_id: int,
        limits: Limits,
        estimate_micros: int,
        now: datetime,
        *,
        pictures: int = 1,
    ) -> None:
        """Raise `LimitReached` as `reserve` would for the same request, changing nothing:
        the reservation is made in a transaction that is then rolled back."""
        try:
            async with self._writing() as session:
                await self._reserve(
                    session, guild_id, user_id, limits, estimate_micros, now, pictures=pictures
                )
                raise _Rehearsed
        except _Rehearsed:
            return

    async def _reserve(
        self,
        session: AsyncSession,
        guild_id: int | None,
        user_id: int,
        limits: Limits,
        estimate_micros: int,
        now: datetime,
        *,
        pictures: int = 1,
    ) -> Reservation:
        """`reserve` inside the caller's transaction (a job row joins the same step)."""
        guild = DMS if guild_id is None else guild_id
        previous = await self._restart_cooldown(
            session, guild, user_id, limits.cooldown_seconds, now
        )
        held = await self._hold(session, guild, user_id, limits, estimate_micros, now, pictures)
        return dataclasses.replace(held, started_at=now, previous_start=previous)

    async def _hold(
        self,
        session: AsyncSession,
        guild: int,
        user_id: int,
        limits: Limits,
        estimate_micros: int,
        now: datetime,
        pictures: int,
    ) -> Reservation:
        """Count `pictures` and hold `estimate_micros` on every counter whose limits allow
        it, with a reserved ledger row; raise `LimitReached` at the first that does not."""
        periods = Periods.of(now)
        for check in checks(user_id, limits, periods):
            where = guild if check.guild_id is None else check.guild_id
            if not await self._take(session, where, check, estimate_micros, pictures):
                raise await self._refusal(session, where, check, pictures)
        ledger = Ledger(
            guild_id=guild,
            user_id=user_id,
            day=periods.day,
            month=periods.month,
            state=RESERVED,
            estimate_micros=estimate_micros,
            pictures=pictures,
            cost_micros=0,
            created_at=now,
        )
        session.add(ledger)
        await session.flush()
        return Reservation(ledger.id, guild, user_id, periods, estimate_micros, pictures=pictures)

    async def _restart_cooldown(
        self, session: AsyncSession, guild_id: int, user_id: int, seconds: int, now: datetime
    ) -> datetime:
        """Refuse if the cooldown is still running, else restart it; returns the last start.

        The start is recorded even without a cooldown, so one set later counts from it.
        """
        await session.execute(
            self._insert_ignore(Cooldown).values(guild_id=guild_id, user_id=user_id, last_at=NEVER)
        )
        where = _cooldown(guild_id, user_id)
        last = await session.scalar(select(Cooldown.last_at).where(where).with_for_update())
        assert last is not None  # inserted just above if it was missing
        wait = seconds - (now - last).total_seconds()
        if seconds > 0 and wait > 0:
            raise LimitReached(LimitKind.COOLDOWN, seconds, wait_seconds=wait)
        await session.execute(update(Cooldown).where(where).values(last_at=now))
        return last

    async def _take(
        self, session: AsyncSession, guild_id: int, check: Check, estimate: int, pictures: int
    ) -> bool:
        """Count `pictures` and hold `estimate` on a counter if its limits still allow it."""
        await session.execute(
            self._insert_ignore(Counter).values(
                guild_id=guild_id,
                user_id=check.user_id,
                period=check.period,
                pictures=0,
                reserved_micros=0,
                spent_micros=0,
            )
        )
        condition = _counter(guild_id, check.user_id, check.period)
        if check.pictures is not None:
            condition &= Counter.pictures + pictures <= check.pictures
        if check.micros is not None:
            condition &= Counter.spent_micros + Counter.reserved_micros + estimate <= check.micros
        result = await session.execute(
            update(Counter)
            .where(condition)
            .values(
                pictures=Counter.pictures + pictures,
                reserved_micros=Counter.reserved_micros + estimate,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _refusal(
        self, session: AsyncSession, guild_id: int, check: Check, pictures: int
    ) -> LimitReached:
        """Which of a counter's two limits refused (the picture count wins a tie)."""
        counted = await session.scalar(
            select(Counter.pictures).where(_counter(guild_id, check.user_id, check.period))
        )
        if check.pictures is not None and check.pictures_kind is not None:
            if (counted or 0) + pictures > check.pictures:
                left = max(0, check.pictures - (counted or 0))
                return LimitReached(check.pictures_kind, check.pictures, left=left, asked=pictures)
        assert check.micros is not None
        return LimitReached(check.micros_kind, check.micros)

    async def charge(
        self, guild_id: int | None, user_id: int, cost_micros: int, now: datetime
    ) -> int:
        """Book `cost_micros` already spent (a preview's chat and moderation calls) on the
        day and month of `now`: a ledger row settled at once, counted as money on every
        counter `reserve` counts on, without a picture or a cooldown. Returns the row's id."""
        guild = DMS if guild_id is None else guild_id
        async with self._writing() as session:
            held = await self._hold(session, guild, user_id, NO_LIMITS, 0, now, pictures=0)
            await self._close(session, held, SETTLED, cost_micros, None, now)
            return held.id

    # --- settling ----------------------------------------------------------------------------

    async def settle(
        self, reservation: Reservation, cost_micros: int, picture_id: int | None, now: datetime
    ) -> bool:
        """Charge the real cost instead of the estimate; False if it was already closed."""
        async with self._writing() as session:
            return await self._close(session, reservation, SETTLED, cost_micros, picture_id, now)

    async def release(self, reservation: Reservation, now: datetime) -> bool:
        """Give back the picture, the money held and the cooldown; False if already closed."""
        async with self._writing() as session:
            return await self._close(session, reservation, RELEASED, 0, None, now)

    async def _close(
        self,
        session: AsyncSession,
        reservation: Reservation,
        state: str,
        cost_micros: int,
        picture_id: int | None,
        now: datetime,
    ) -> bool:
        flipped = await session.execute(
            update(Ledger)
            .where((Ledger.id == reservation.id) & (Ledger.state == RESERVED))
            .values(state=state, cost_micros=cost_micros, picture_id=picture_id, closed_at=now)
        )
        if not flipped.rowcount:  # type: ignore[attr-defined]
            log.warning("reservation %d was already closed; not counted again", reservation.id)
            return False
        released = state == RELEASED
        guild, user = reservation.guild_id, reservation.user_id
        if released and reservation.started_at and reservation.previous_start:
            # Only if no later picture restarted the cooldown since.
            await session.execute(
                update(Cooldown)
                .where(_cooldown(guild, user) & (Cooldown.last_at == reservation.started_at))
                .values(last_at=reservation.previous_start)
            )
        for where, who, period in counted_rows(guild, user, reservation.periods):
            given_back = reservation.pictures
            pictures = (
                case((Counter.pictures > given_back, Counter.pictures - given_back), else_=0)
                if released
                else Counter.pictures
            )
            await session.execute(
                update(Counter)
                .where(_counter(where, who, period))
                .values(
                    reserved_micros=Counter.reserved_micros - reservation.estimate_micros,
                    spent_micros=Counter.spent_micros + cost_micros,
                    pictures=pictures,
                )
            )
        return True

    # --- reading and resetting ---------------------------------------------------------------

    async def usage(self, guild_id: int | None, user_id: int, period: str) -> Usage:
        """What one (guild, user or GUILD_WIDE, period) counter holds."""
        guild = DMS if guild_id is None else guild_id
        async with self._reading() as session:
            row = await session.get(Counter, (guild, user_id, period))
        if row is None:
            return Usage()
        return Usage(row.pictures, row.reserved_micros, row.spent_micros)

    async def top_servers(self, period: str, limit: int = 10) -> list[tuple[int, Usage]]:
        """The servers (DMS for direct messages) that spent and hold the most in `period`."""
        total = Counter.spent_micros + Counter.reserved_micros
        query = (
            select(Counter)
            .where(
                (Counter.user_id == GUILD_WIDE)
                & (Counter.period == period)
                & (Counter.guild_id != BOT_WIDE)
            )
            .order_by(total.desc(), Counter.guild_id)
            .limit(limit)
        )
        async with self._reading() as session:
            rows = (await session.scalars(query)).all()
        return [
            (row.guild_id, Usage(row.pictures, row.reserved_micros, row.spent_micros))
            for row in rows
        ]

    async def cooldown_left(
        self, guild_id: int | None, user_id: int, seconds: int, now: datetime
    ) -> float:
        """Seconds until `user_id` may ask again under a `seconds` cooldown (0 = now)."""
        if seconds <= 0:
            return 0.0
        guild = DMS if guild_id is None else guild_id
        async with self._reading() as session:
            row = await session.get(Cooldown, (guild, user_id))
        if row is None:
            return 0.0
        return max(0.0, seconds - (now - row.last_at).total_seconds())

    async def ledger_entry(self, reservation_id: int) -> Ledger | None:
        """The ledger row of a reservation."""
        async with self._reading() as session:
            return await session.get(Ledger, reservation_id)

    async def reset_user(self, guild_id: int | None, user_id: int, periods: Periods) -> None:
        """Forget a person's pictures and spend for today, and their cooldown.

        Pictures still under way stay counted (they settle or release as usual), so a reset
        never hands out more than the limit. Server-wide counters keep everything: money
        spent is spent.
        """
        guild = DMS if guild_id is None else guild_id
        async with self._writing() as session:
            await session.execute(delete(Cooldown).where(_cooldown(guild, user_id)))
            where = _counter(guild, user_id, periods.day)
            locked = await session.scalar(select(Counter.pictures).where(where).with_for_update())
            if locked is None:
                return
            # Counted after the lock, so a reservation committed meanwhile is seen.
            under_way = await session.scalar(
                select(func.coalesce(func.sum(Ledger.pictures), 0)).where(
                    (Ledger.guild_id == guild)
                    & (Ledger.user_id == user_id)
                    & (Ledger.day == periods.day)
                    & (Ledger.state == RESERVED)
                )
            )
            await session.execute(
                update(Counter).where(where).values(pictures=under_way or 0, spent_micros=0)
            )

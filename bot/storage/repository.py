"""The one repository: server settings, atomic quota/budget reservations, picture lineage.

The accounting half (reservations, settling, usage) lives in `bot.storage.accounting`, the
reports over many days in `bot.storage.reports`; `Store` is the one object the rest of the bot
talks to.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, overload

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.models import ERASED, MAX_ID, GuildSettings, ImageRequest, PictureRecord
from bot.storage.counting import BOT_WIDE, DMS, GUILD_WIDE, Periods, Reservation, Usage
from bot.storage.job_records import LIVE, JobSpec
from bot.storage.jobs import Jobs
from bot.storage.reports import Reports
from bot.storage.tables import GuildConfig, JobRow, Picture
from bot.storage.turns import Turns

__all__ = ["BOT_WIDE", "DMS", "GUILD_WIDE", "Periods", "Reservation", "Store", "Usage"]

log = logging.getLogger(__name__)


class Store(Jobs, Reports, Turns):
    """All reads and writes of Picasso's data (`Store(engine)`).

    `new_server`: the settings a server (or the DMs) has until its admins change one.
    """

    def __init__(self, engine: AsyncEngine, *, new_server: GuildSettings = GuildSettings()) -> None:
        super().__init__(engine)
        self._new_server = new_server

    # --- settings ----------------------------------------------------------------------------

    async def guild_settings(self, guild_id: int | None) -> GuildSettings:
        """A server's settings (None: the bot-wide settings for DMs); `new_server` if never set."""
        async with self._reading() as session:
            row = await session.get(GuildConfig, DMS if guild_id is None else guild_id)
        return GuildSettings.from_json(row.document) if row else self._new_server

    async def save_guild_settings(
        self, guild_id: int | None, settings: GuildSettings, now: datetime
    ) -> None:
        """Replace a server's settings (None: the DM settings)."""
        await self.update_guild_settings(guild_id, lambda _: settings, now)

    async def update_guild_settings(
        self,
        guild_id: int | None,
        change: Callable[[GuildSettings], GuildSettings],
        now: datetime,
    ) -> GuildSettings:
        """Apply `change` to a server's current settings atomically; returns the new settings.

        Read and write happen under one row lock, so two admins changing different settings
        at the same moment both get their change. Whatever `change` raises aborts it.
        """
        guild = DMS if guild_id is None else guild_id
        async with self._writing() as session:
            await session.execute(
                self._insert_ignore(GuildConfig).values(
                    guild_id=guild, document=self._new_server.to_json(), updated_at=now
                )
            )
            document = await session.scalar(
                select(GuildConfig.document).where(GuildConfig.guild_id == guild).with_for_update()
            )
            settings = change(GuildSettings.from_json(document))
            await session.execute(
                update(GuildConfig)
                .where(GuildConfig.guild_id == guild)
                .values(document=settings.to_json(), updated_at=now)
            )
        return settings

    # --- pictures ----------------------------------------------------------------------------

    async def picture(self, picture_id: int) -> PictureRecord | None:
        """A picture by id."""
        if not 0 <= picture_id <= MAX_ID:
            return None
        async with self._reading() as session:
            return _record(await session.get(Picture, picture_id))

    async def pictures_by_message(self, message_id: int) -> list[PictureRecord]:
        """The pictures posted in `message_id` (one, or a set in number order); none if that
        message is not one of ours."""
        if not 0 <= message_id <= MAX_ID:
            return []
        query = (
            select(Picture)
            .where(Picture.message_id == message_id)
            .order_by(Picture.number, Picture.id)
        )
        async with self._reading() as session:
            rows = (await session.scalars(query)).all()
        return [_record(row) for row in rows]

    async def erase_picture(self, picture_id: int) -> None:
        """Forget what a picture showed and where: its description, prompt and change, its
        message and file, and the words in its job. Its cost and ledger row stay."""
        async with self._writing() as session:
            await _erase(session, Picture.id == picture_id, JobRow.picture_id == picture_id)

    async def forget_person(self, guild_id: int | None, user_id: int) -> int | None:
        """Erase every picture `user_id` asked for in a server (None: in DMs) and the words of
        their ended jobs there; returns how many pictures, or None (nothing erased) while a
        job of theirs is under way there — checked in the same transaction, its rows
        locked. Amounts in the ledger stay."""
        pictures = (Picture.requester_id == user_id) & _in_guild(Picture.guild_id, guild_id)
        theirs = (JobRow.user_id == user_id) & _in_guild(JobRow.guild_id, guild_id)
        live = theirs & JobRow.state.in_([state.value for state in LIVE])
        async with self._writing() as session:
            if (await session.scalars(select(JobRow.id).where(live).with_for_update())).first():
                return None
            return await _erase(
                session, pictures, theirs & ~JobRow.state.in_([s.value for s in LIVE])
            )

    async def history(
        self, user_id: int, guild_id: int | None, *, limit: int, offset: int = 0
    ) -> list[PictureRecord]:
        """A user's pictures in a server (or everywhere for None), newest first."""
        query = select(Picture).where(Picture.requester_id == user_id)
        if guild_id is not None:
            query = query.where(Picture.guild_id == guild_id)
        query = query.order_by(Picture.created_at.desc(), Picture.id.desc())
        async with self._reading() as session:
            rows = (await session.scalars(query.limit(limit).offset(offset))).all()
        return [_record(row) for row in rows]

    async def ancestry(self, picture_id: int, *, limit: int = 50) -> list[PictureRecord]:
        """The chain from a picture back to its first ancestor, the picture itself first."""
        chain: list[PictureRecord] = []
        async with self._reading() as session:
            current = await session.get(Picture, picture_id)
            while current is not None and len(chain) < limit:
                chain.append(_record(current))
                if current.parent_id is None:
                    break
                current = await session.get(Picture, current.parent_id)
        return chain


@overload
def _record(row: Picture) -> PictureRecord: ...
@overload
def _record(row: None) -> None: ...
def _record(row: Picture | None) -> PictureRecord | None:
    """The frozen record of a picture row (the rest of the bot never sees ORM rows)."""
    if row is None:
        return None
    return PictureRecord(**{name: getattr(row, name) for name in _PICTURE_FIELDS})


_PICTURE_FIELDS = tuple(field.name for field in dataclasses.fields(PictureRecord))


_ERASED_SPEC = JobSpec(request=ImageRequest(ERASED)).to_json()


def _in_guild(column: Any, guild_id: int | None) -> Any:
    return column.is_(None) if guild_id is None else column == guild_id


async def _erase(session: AsyncSession, pictures: Any, jobs: Any) -> int:
    """Replace the words of the `pictures` and `jobs` rows matched (in one transaction)."""
    erased = await session.execute(
        update(Picture)
        .where(pictures)
        .values(
            description=ERASED, prompt=ERASED, instruction=None, message_id=None, image_url=None
        )
    )
    await session.execute(update(JobRow).where(jobs).values(spec=_ERASED_SPEC, prompt=None))
    return int(erased.rowcount)  # type: ignore[attr-defined]

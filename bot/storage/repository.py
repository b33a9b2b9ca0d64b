"""The one repository: server settings, atomic quota/budget reservations, picture lineage.

The accounting half (reservations, settling, usage) lives in `bot.storage.accounting`, the
reports over many days in `bot.storage.reports`; `Store` is the one object the rest of the bot
talks to.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, overload

from sqlalchemy import CTE, select, true, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import aliased

from bot.models import ERASED, MAX_ID, GuildSettings, ImageRequest, PictureRecord
from bot.storage.counting import BOT_WIDE, DMS, GUILD_WIDE, Periods, Reservation, Usage
from bot.storage.job_records import LIVE, JobSpec
from bot.storage.jobs import Jobs
from bot.storage.reports import Reports
from bot.storage.tables import GuildConfig, JobRow, Picture
from bot.storage.turns import Turns

__all__ = [
    "BOT_WIDE",
    "DMS",
    "GUILD_WIDE",
    "AuditLine",
    "Forgotten",
    "Periods",
    "Reservation",
    "Store",
    "Unfinished",
    "Usage",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AuditLine:
    """An audit-channel message about erased pictures (one per job): the person's own
    picture's is deleted; a copy's (someone else's picture made from theirs) keeps its line,
    but not the words it quotes."""

    channel_id: int
    message_id: int
    copy: bool


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What /forget-me erased: the person's pictures, the pictures others made from them,
    and the audit lines about both (to delete or clear on Discord, after the commit)."""

    pictures: int
    copies: int
    audit_lines: tuple[AuditLine, ...] = ()


class Unfinished(StrEnum):
    """Why /forget-me erased nothing: a job that still needs the words is under way."""

    THEIRS = "theirs"  # one of the person's own
    COPY = "copy"  # someone's reroll, refinement or variation of a picture to erase


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

    async def forget_person(self, guild_id: int | None, user_id: int) -> Forgotten | Unfinished:
        """/forget-me: erase `user_id`'s words in a server (None: everywhere — every server,
        the DMs, and every place the bot was used through a user install), and every copy of
        them others made, in one transaction. Refused (`Unfinished`, nothing erased) while a
        job of theirs there, or a job made from a picture to erase, is under way — checked
        in the same transaction, its rows locked.

        Theirs: the pictures they asked for there lose their description, prompt, change
        (instruction) and file address; their ended jobs there lose the words of their spec
        (description, change), the attached pictures' and parent's addresses, their display
        name and avatar, and their prompt.

        The copies rule: a picture made from one of theirs — its `parent_id` leads to one of
        theirs, through any number of steps, whoever asked for it and wherever — repeats
        their words: a reroll paints the parent's prompt again, a refinement rewrites the
        parent's prompt with a change (an edit, a hand-edited prompt: the same), a variation
        is written from the parent's description, and each keeps the parent's description.
        So its description and prompt become `ERASED`; its own change (instruction) is its
        requester's words and stays, as do its row, its message and file, and its job's
        options. Every job made from such a picture (`parent_id` in the chain: ended, with
        or without a picture) loses its description and prompt the same way.

        What stays: every row and every amount — costs, counts, dates, sizes and models, who
        asked, the chain of parents (so chains still read and add up), the messages (🗑️
        Delete still finds a picture), the ledger and the counters.

        Personal settings: there are none yet (no per-person table). Once there are, erase
        them here when `guild_id` is None (everywhere), in this same transaction.
        """
        theirs = (Picture.requester_id == user_id) & _within(Picture.guild_id, guild_id)
        their_jobs = (JobRow.user_id == user_id) & _within(JobRow.guild_id, guild_id)
        chain = select(_made_from(theirs).c.id)
        live = JobRow.state.in_([state.value for state in LIVE])
        copy_jobs = JobRow.parent_id.in_(chain)
        async with self._writing() as session:
            for reason, busy in (
                (Unfinished.THEIRS, their_jobs & live),
                (Unfinished.COPY, copy_jobs & live),
            ):
                if (await session.scalars(select(JobRow.id).where(busy).with_for_update())).first():
                    return reason
            lines = await _audit_lines(session, Picture.id.in_(chain), theirs)
            jobs = (
                await session.execute(
                    select(JobRow.id, JobRow.spec, JobRow.user_id, JobRow.guild_id).where(
                        ~live & (their_jobs | copy_jobs)
                    )
                )
            ).all()
            if jobs:
                await session.execute(
                    update(JobRow),
                    [
                        {
                            "id": job_id,
                            "spec": _without_words(
                                spec, theirs=user == user_id and guild_id in (None, guild)
                            ),
                            "prompt": None,
                        }
                        for job_id, spec, user, guild in jobs
                    ],
                )
            erased = await session.execute(
                update(Picture)
                .where(Picture.id.in_(chain))
                .values(description=ERASED, prompt=ERASED)
                .execution_options(synchronize_session=False)
            )
            own = await session.execute(
                update(Picture)
                .where(theirs)
                .values(instruction=None, image_url=None)
                .execution_options(synchronize_session=False)
            )
        pictures = int(own.rowcount)  # type: ignore[attr-defined]
        copies = int(erased.rowcount) - pictures  # type: ignore[attr-defined]
        return Forgotten(pictures, copies, lines)

    async def record_audit_line(self, job_id: int, message_id: int) -> bool:
        """Note on job `job_id`'s pictures the audit-channel message posted about them (so
        that /forget-me can delete it). False if their words were erased meanwhile (a
        /forget-me or 🗑️ Delete between the picture and its line): the line should go."""
        async with self._writing() as session:
            await session.execute(
                update(Picture)
                .where(Picture.job_id == job_id)
                .values(audit_message_id=message_id)
                .execution_options(synchronize_session=False)
            )
            prompts = (
                await session.scalars(select(Picture.prompt).where(Picture.job_id == job_id))
            ).all()
        return ERASED not in prompts

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


def _within(column: Any, guild_id: int | None) -> Any:
    """Rows in a server; None: everywhere (every server and the DMs)."""
    return true() if guild_id is None else column == guild_id


def _made_from(theirs: Any) -> CTE:
    """The ids of the pictures `theirs` matches and of every picture made from them, through
    any number of steps (`parent_id`, followed down: a recursive CTE, nested in the query
    that uses it, so that an UPDATE still starts with UPDATE and reports its row count)."""
    anchor = select(Picture.id).where(theirs).cte("made_from", recursive=True, nesting=True)
    child = aliased(Picture)
    return anchor.union(select(child.id).join(anchor, child.parent_id == anchor.c.id))


def _without_words(spec: str, *, theirs: bool) -> str:
    """A job's stored spec without the forgotten person's words: a copy's loses its
    description (its own change stays); theirs also its change, the addresses of what it
    was made from, and their display name and avatar. Options and sizes stay."""
    stored = JobSpec.from_json(spec)
    request = dataclasses.replace(stored.request, description=ERASED)
    if not theirs:
        return dataclasses.replace(stored, request=request).to_json()
    return dataclasses.replace(
        stored,
        request=request,
        instruction=None,
        image_urls=(),
        uploads=(),
        origin_url=None,
        requester_name="",
        requester_avatar=None,
    ).to_json()


async def _audit_lines(session: AsyncSession, pictures: Any, theirs: Any) -> tuple[AuditLine, ...]:
    """The audit lines about the `pictures` matched (one per message), each marked a copy
    unless it is about a picture `theirs` matches; where each was posted is in its job."""
    query = (
        select(Picture.audit_message_id, JobRow.spec, theirs)
        .join(JobRow, JobRow.id == Picture.job_id)
        .where(pictures & Picture.audit_message_id.is_not(None))
    )
    lines: dict[int, AuditLine] = {}
    for message_id, spec, own in (await session.execute(query)).all():
        channel_id = JobSpec.from_json(spec).audit_channel_id
        if channel_id is not None:
            lines[message_id] = AuditLine(channel_id, message_id, copy=not own)
    return tuple(lines.values())


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

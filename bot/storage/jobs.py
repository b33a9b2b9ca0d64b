"""Jobs in the database: submitted with their reservation, moved through their states, ended
exactly once with the reservation settled or released in the same transaction (the records
themselves are in `bot.storage.job_records`).

A job's row, not the process, is the truth: a restart reads the unfinished ones back
(`unfinished`) and resumes or ends them.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Secret
from bot.models import MAX_ID, NewPicture, PostedPicture
from bot.policy import LimitKind, LimitReached, Limits
from bot.storage.accounting import Accounting
from bot.storage.counting import RELEASED, SETTLED, Periods, Reservation
from bot.storage.job_records import (
    LIVE,
    AlreadyDone,
    Delivery,
    JobEnded,
    JobKind,
    JobRecord,
    JobSpec,
    JobState,
    NewJob,
)
from bot.storage.tables import JobRow, Ledger, Picture

log = logging.getLogger(__name__)


def _record(row: JobRow, ledger: Ledger) -> JobRecord:
    reservation = Reservation(
        ledger.id,
        ledger.guild_id,
        ledger.user_id,
        Periods(ledger.day, ledger.month),
        ledger.estimate_micros,
        ledger.created_at,
        row.cooldown_previous,
        ledger.pictures,
    )
    return JobRecord(
        id=row.id,
        kind=JobKind(row.kind),
        state=JobState(row.state),
        guild_id=row.guild_id,
        user_id=row.user_id,
        spec=JobSpec.from_json(row.spec),
        delivery=Delivery(
            channel_id=row.channel_id,
            token=Secret(row.token) if row.token else None,
            token_expires_at=row.token_expires_at,
            public=row.public,
            reply_to_id=row.reply_to_id,
            message_id=row.message_id,
            upload_limit=row.upload_limit,
        ),
        prompt=row.prompt,
        parent_id=row.parent_id,
        batch=row.batch,
        take=row.take,
        running_cap=row.running_cap,
        reservation=reservation,
        picture_id=row.picture_id,
        outcome=row.outcome,
        attempts=row.attempts,
        created_at=row.created_at,
        started_at=row.started_at,
        holder=row.holder,
    )


def _live(guild_id: int | None, user_id: int | None) -> Any:
    """Unfinished jobs in a server (None: the DMs), only `user_id`'s when given."""
    guild = JobRow.guild_id.is_(None) if guild_id is None else JobRow.guild_id == guild_id
    live = guild & JobRow.state.in_([s.value for s in LIVE])
    return live if user_id is None else live & (JobRow.user_id == user_id)


def _mine(job: JobRecord) -> Any:
    """The job's row, still held by whoever held it when `job` was read."""
    held = JobRow.holder.is_(None) if job.holder is None else JobRow.holder == job.holder
    return (JobRow.id == job.id) & held


class Jobs(Accounting):
    """The jobs half of `Store`."""

    async def submit_job(
        self, new: NewJob, limits: Limits, estimate_micros: int, now: datetime
    ) -> JobRecord:
        """Admit `new` against every limit and record it as queued, in one transaction.

        Raises `LimitReached` naming the limit (jobs in flight, quota, budget, cooldown), or
        `AlreadyDone` when a job with its `once` key exists; then nothing is recorded or
        reserved.
        """
        async with self._writing() as session:
            await self._check_in_flight(session, new, limits)
            reservation = await self._reserve(
                session,
                new.guild_id,
                new.user_id,
                limits,
                estimate_micros,
                now,
                pictures=new.spec.request.count,
            )
            delivery = new.delivery
            row = JobRow(
                kind=new.kind.value,
                state=JobState.QUEUED.value,
                guild_id=new.guild_id,
                channel_id=delivery.channel_id,
                user_id=new.user_id,
                spec=new.spec.to_json(),
                prompt=new.prompt,
                parent_id=new.parent_id,
                batch=new.batch,
                take=new.take,
                running_cap=limits.user_running,
                token=delivery.token.get() if delivery.token else None,
                token_expires_at=delivery.token_expires_at,
                public=delivery.public,
                reply_to_id=delivery.reply_to_id,
                message_id=delivery.message_id,
                upload_limit=delivery.upload_limit,
                reservation_id=reservation.id,
                cooldown_previous=reservation.previous_start,
                attempts=0,
                created_at=now,
                once_key=new.once,
            )
            session.add(row)
            try:
                await session.flush()
            except IntegrityError as error:  # the whole admission rolls back with it
                if new.once is not None and "once" in str(error.orig):
                    raise AlreadyDone(new.once) from error
                raise
            ledger = await session.get(Ledger, reservation.id)
            assert ledger is not None
            return _record(row, ledger)

    async def _check_in_flight(self, session: AsyncSession, new: NewJob, limits: Limits) -> None:
        if limits.user_running is None or limits.user_queued is None:
            return
        most = limits.user_running + limits.user_queued
        live = await session.scalar(
            select(func.count()).select_from(JobRow).where(_live(new.guild_id, new.user_id))
        )
        if (live or 0) >= most:
            raise LimitReached(LimitKind.IN_FLIGHT, most)

    async def job(self, job_id: int) -> JobRecord | None:
        """A job by id."""
        if not 0 <= job_id <= MAX_ID:
            return None
        async with self._reading() as session:
            row = await session.get(JobRow, job_id)
            if row is None:
                return None
            ledger = await session.get(Ledger, row.reservation_id)
            assert ledger is not None
            return _record(row, ledger)

    async def _jobs(self, where: Any) -> list[JobRecord]:
        query = (
            select(JobRow, Ledger)
            .join(Ledger, Ledger.id == JobRow.reservation_id)
            .where(where)
            .order_by(JobRow.id)
        )
        async with self._reading() as session:
            return [_record(row, ledger) for row, ledger in (await session.execute(query)).all()]

    async def unfinished_jobs(self) -> list[JobRecord]:
        """Every job not yet ended (queued, running or posting), oldest first."""
        return await self._jobs(JobRow.state.in_([s.value for s in LIVE]))

    async def unheld_jobs(self, now: datetime) -> list[JobRecord]:
        """Every unfinished job no live holder leases (in several processes: never held,
        let go, or its holder's lease ran out), oldest first."""
        unheld = (
            JobRow.holder.is_(None) | JobRow.lease_until.is_(None) | (JobRow.lease_until <= now)
        )
        return await self._jobs(JobRow.state.in_([s.value for s in LIVE]) & unheld)

    async def live_jobs(self, guild_id: int | None, user_id: int | None = None) -> list[JobRecord]:
        """The jobs queued, running or posting in a server (None: the DMs), oldest first;
        only `user_id`'s when given."""
        return await self._jobs(_live(guild_id, user_id))

    async def batch_jobs(self, batch: str) -> list[JobRecord]:
        """The takes of one batch, in take order."""
        return sorted(await self._jobs(JobRow.batch == batch), key=lambda job: job.take or 0)

    async def jobs_in_flight(self, guild_id: int | None, user_id: int) -> int:
        """How many of a person's jobs are queued, running or posting."""
        async with self._reading() as session:
            count = await session.scalar(
                select(func.count()).select_from(JobRow).where(_live(guild_id, user_id))
            )
        return count or 0

    async def _move(self, job: JobRecord, states: Sequence[JobState], **values: Any) -> bool:
        async with self._writing() as session:
            moved = await session.execute(
                update(JobRow)
                .where(_mine(job) & JobRow.state.in_([s.value for s in states]))
                .values(**values)
            )
        return bool(moved.rowcount)  # type: ignore[attr-defined]

    async def start_job(self, job: JobRecord, now: datetime) -> bool:
        """queued → running (one more attempt); False if it is no longer queued (or no
        longer held by the process that read it)."""
        return await self._move(
            job,
            (JobState.QUEUED,),
            state=JobState.RUNNING.value,
            attempts=JobRow.attempts + 1,
            started_at=now,
        )

    async def requeue_job(self, job: JobRecord) -> bool:
        """running/posting → queued (to run again after a restart or a stop); False if it
        had ended (or is no longer held by the process that read it)."""
        return await self._move(
            job,
            (JobState.RUNNING, JobState.POSTING),
            state=JobState.QUEUED.value,
            has_turn=False,
            resumed=False,
        )

    async def set_batch_prompts(self, batch: str, prompts: Sequence[str]) -> None:
        """Give each take of `batch` its prompt, unless it has one already (first wins)."""
        async with self._writing() as session:
            for take, prompt in enumerate(prompts):
                await session.execute(
                    update(JobRow)
                    .where((JobRow.batch == batch) & (JobRow.take == take))
                    .where(JobRow.prompt.is_(None))
                    .values(prompt=prompt)
                )

    async def begin_posting(
        self, job: JobRecord, pictures: Sequence[NewPicture], now: datetime
    ) -> list[int]:
        """running → posting, with the pictures' rows made (without their message) so that
        their buttons can carry their ids in the one message that posts them. Returns the
        ids, in order (the job's `picture_id` is the first).

        Rows an earlier run of the job began and never saw posted (a crash mid-post) keep
        their ids, so that a message Discord made then, and returns again for the job's
        nonce, carries buttons of these very pictures.

        Raises `JobEnded` (and records nothing) if the job is no longer running (or posting:
        the same step tried again), or no longer held by the process that read it.
        """
        async with self._writing() as session:
            pending = (Picture.job_id == job.id) & Picture.message_id.is_(None)
            begun = list(
                (await session.scalars(select(Picture).where(pending).order_by(Picture.id))).all()
            )
            if len(begun) == len(pictures):
                rows = begun
                for row, picture in zip(rows, pictures, strict=True):
                    for name, value in dataclasses.asdict(picture).items():
                        setattr(row, name, value)
            else:
                await self._drop_pending_pictures(session, job.id)
                rows = [
                    Picture(**dataclasses.asdict(picture), job_id=job.id, created_at=now)
                    for picture in pictures
                ]
                session.add_all(rows)
            await session.flush()
            # Posting already: this very step, tried again after its answer was lost.
            posting = (JobState.RUNNING.value, JobState.POSTING.value)
            moved = await session.execute(
                update(JobRow)
                .where(_mine(job) & JobRow.state.in_(posting))
                .values(state=JobState.POSTING.value, picture_id=rows[0].id)
            )
            if not moved.rowcount:  # type: ignore[attr-defined]
                raise JobEnded(f"job {job.id} ended before its picture was posted")
            return [row.id for row in rows]

    async def complete_job(
        self,
        job: JobRecord,
        posted: Sequence[PostedPicture],
        message_id: int,
        now: datetime,
    ) -> None:
        """The pictures are posted: record where, charge their real cost, end the job — at
        once."""
        async with self._writing() as session:
            for picture in posted:
                await session.execute(
                    update(Picture)
                    .where(Picture.id == picture.id)
                    .values(
                        message_id=message_id,
                        image_url=picture.image_url,
                        cost_micros=picture.cost_micros,
                    )
                )
            cost = sum(picture.cost_micros for picture in posted)
            first = posted[0].id
            await self._close(session, job.reservation, SETTLED, cost, first, now)
            await self._end(session, _mine(job), JobState.DONE, None, now, message_id=message_id)

    async def end_job(
        self,
        job: JobRecord,
        state: JobState,
        outcome: str | None,
        now: datetime,
        *,
        only_queued: bool = False,
        cost_micros: int = 0,
    ) -> bool:
        """End an unfinished job as failed or cancelled: its reservation is released (but
        `cost_micros`, what its prompt writing and checks cost, is charged) and any picture
        row it began is dropped, in one transaction. False if it had ended already (or, with
        `only_queued`, if it had started)."""
        assert state in (JobState.FAILED, JobState.CANCELLED)
        states = (JobState.QUEUED,) if only_queued else LIVE
        # A job still waiting may be cancelled whoever holds it; any other end is its
        # holder's (the process that read it), so a job taken over is ended by one process.
        which = (JobRow.id == job.id) if only_queued else _mine(job)
        async with self._writing() as session:
            ended = await self._end(session, which, state, outcome, now, states=states)
            if ended:
                await self._drop_pending_pictures(session, job.id)
                await self._close(session, job.reservation, RELEASED, cost_micros, None, now)
            return ended

    async def _end(
        self,
        session: AsyncSession,
        which: Any,
        state: JobState,
        outcome: str | None,
        now: datetime,
        *,
        states: Sequence[JobState] = LIVE,
        **values: Any,
    ) -> bool:
        ended = await session.execute(
            update(JobRow)
            .where(which & JobRow.state.in_([s.value for s in states]))
            .values(state=state.value, outcome=outcome, token=None, finished_at=now, **values)
        )
        return bool(ended.rowcount)  # type: ignore[attr-defined]

    async def _drop_pending_pictures(self, session: AsyncSession, job_id: int) -> None:
        """Delete the picture rows a job began but never posted (message still unknown)."""
        await session.execute(update(JobRow).where(JobRow.id == job_id).values(picture_id=None))
        await session.execute(
            delete(Picture).where((Picture.job_id == job_id) & Picture.message_id.is_(None))
        )

    # --- for health checks and metrics ---------------------------------------------------------

    async def job_counts(self) -> dict[JobState, int]:
        """How many jobs are in each state (a state with none is left out)."""
        query = select(JobRow.state, func.count()).group_by(JobRow.state)
        async with self._reading() as session:
            rows = (await session.execute(query)).all()
        return {JobState(state): count for state, count in rows}

    async def ping(self) -> None:
        """One trivial query (SELECT 1); raises if the database can't be reached."""
        async with self._reading() as session:
            await session.execute(select(1))

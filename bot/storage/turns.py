"""The shared line in the database: which painting worker holds a job, and whose turn it is.

With several processes (`ROLE=worker`), no process sees the others' jobs, so the line is
kept in the job rows every process shares, and decided by the same rules as in one process
(`bot.jobs.rules`), applied to the rows read under a lock:

- a worker **holds** a job while it waits for its turn and while it paints it: `holder`,
  renewed before `lease_until` runs out. A lease that runs out means its worker died; the
  next worker to get the job takes it over (the sweep puts it back on the queue).
- the line's **candidates** are the held jobs waiting for a turn: queued ones, and running
  ones that lost their turn to a provider pause (`resumed`: they go first).
- turns are given in one transaction serialised by a lock (an advisory lock on PostgreSQL;
  SQLite has one writer): the rules see every candidate of every process, the turns running
  everywhere (`has_turn` with a live lease) and when each server and person last started.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Final

from sqlalchemy import and_, func, or_, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.jobs.rules import Candidate, Person, Ranking, Served, Server, rank
from bot.storage.database import Sessions
from bot.storage.job_records import LIVE, JobState
from bot.storage.tables import JobRow

# Any 64-bit number no other user of the database locks with: "picasso line".
LINE_LOCK: Final = 0x7069636173736F
_LIVE_STATES: Final = [state.value for state in LIVE]


class Hold(Enum):
    """What became of a request to hold a job."""

    HELD = "held"  # this holder has it now
    BUSY = "busy"  # another holder's lease is still running
    ENDED = "ended"  # the job is over (or never was)


@dataclass(frozen=True, slots=True)
class Holding:
    """The answer to `hold`: the outcome, the job's state, and (BUSY) until when."""

    hold: Hold
    state: JobState | None = None
    lease_until: datetime | None = None
    took_over: bool = False  # the job was held by a holder whose lease ran out


@dataclass(frozen=True, slots=True)
class Turn:
    """The line's answer for one job: granted, or its place (1: next), or over for it:
    ended (cancelled, taken over) or past its start-by time."""

    granted: bool
    position: int | None = None
    ended: bool = False
    expired: bool = False


def _turn_taken(now: datetime) -> Any:
    """A live job whose turn is running (its holder's lease too)."""
    return JobRow.has_turn & (JobRow.lease_until > now) & JobRow.state.in_(_LIVE_STATES)


def _for_a_turn() -> Any:
    """A job waiting for a turn: queued, or running and resumed after a pause."""
    return ~JobRow.has_turn & (
        (JobRow.state == JobState.QUEUED.value)
        | ((JobRow.state == JobState.RUNNING.value) & JobRow.resumed)
    )


def _waiting(now: datetime) -> Any:
    """A job waiting for a turn, held by a live holder: a candidate of the line."""
    return JobRow.holder.is_not(None) & (JobRow.lease_until > now) & _for_a_turn()


class Turns(Sessions):
    """The shared line's half of `Store`."""

    async def hold(self, job_id: int, holder: str, now: datetime, lease: timedelta) -> Holding:
        """Take (or keep) the hold of a live job for `lease` from `now`."""
        async with self._writing() as session:
            row = await session.get(JobRow, job_id, with_for_update=True)
            if row is None or JobState(row.state) not in LIVE:
                return Holding(Hold.ENDED)
            mine = row.holder == holder
            expired = row.lease_until is None or row.lease_until <= now
            if not mine and row.holder is not None and not expired:
                return Holding(Hold.BUSY, JobState(row.state), row.lease_until)
            took_over = not mine and row.holder is not None
            row.holder, row.lease_until = holder, now + lease
            if took_over:
                row.has_turn = row.resumed = False
            return Holding(Hold.HELD, JobState(row.state), row.lease_until, took_over)

    async def renew_holds(
        self, held: Mapping[int, str], now: datetime, lease: timedelta
    ) -> set[int]:
        """Extend the leases of these jobs (id → its holder) in one statement; returns the
        ids whose hold was no longer their holder's (taken over, or never theirs)."""
        if not held:
            return set()
        async with self._writing() as session:
            renewed = await session.scalars(
                update(JobRow)
                .where(tuple_(JobRow.id, JobRow.holder).in_(list(held.items())))
                .values(lease_until=now + lease)
                .returning(JobRow.id)
            )
            kept = set(renewed.all())
        return set(held) - kept

    async def end_turn(self, job_id: int, holder: str) -> bool:
        """The job's turn is over (it painted, or waits out a provider pause); still held."""
        return await self._held(job_id, holder, {"has_turn": False})

    async def release_hold(self, job_id: int, holder: str) -> bool:
        """Let go of the job: no holder, no lease, no turn."""
        gone = {"holder": None, "lease_until": None, "has_turn": False, "resumed": False}
        return await self._held(job_id, holder, gone)

    async def _held(self, job_id: int, holder: str, values: dict[str, Any]) -> bool:
        async with self._writing() as session:
            moved = await session.execute(
                update(JobRow)
                .where((JobRow.id == job_id) & (JobRow.holder == holder))
                .values(**values)
            )
        return bool(moved.rowcount)  # type: ignore[attr-defined]

    async def take_turns(
        self,
        waiting: Mapping[int, str],
        now: datetime,
        lease: timedelta,
        concurrency: int,
        *,
        first: Collection[int] = (),
        start_margin: timedelta = timedelta(0),
    ) -> dict[int, Turn]:
        """Give each of these held jobs (id → its holder) its turn if the line's rules allow
        it now, in one transaction, renewing their leases either way: one process asks for
        all the jobs it holds at once. `first`: running jobs that lost their turn to a
        provider pause; they wait again as resumed, ahead of everyone. A job's start-by is
        its interaction's expiry less `start_margin`."""
        async with self._writing() as session:
            await self._lock_line(session)
            mine = await self._renew_waiting(session, waiting, now, lease, first)
            ranking = await self._rank(session, now, concurrency, start_margin)
            turns = {job_id: Turn(False, ended=True) for job_id in waiting if job_id not in mine}
            granted = [c for c in ranking.start if c.job_id in mine]
            await self._grant(session, granted, now)
            turns.update((c.job_id, Turn(True)) for c in granted)
            turns.update((c.job_id, Turn(False, expired=True)) for c in ranking.expired)
            for position, candidate in _positions(ranking):
                if candidate.job_id in mine and candidate.job_id not in turns:
                    turns[candidate.job_id] = Turn(False, position=position)
            for job_id in mine:
                turns.setdefault(job_id, Turn(False))
            return turns

    async def _renew_waiting(
        self,
        session: AsyncSession,
        waiting: Mapping[int, str],
        now: datetime,
        lease: timedelta,
        first: Collection[int],
    ) -> set[int]:
        """Renew the leases of the jobs asking that are still theirs and waiting (the resumed
        ones marked so); returns their ids."""
        if not waiting:
            return set()
        asking = tuple_(JobRow.id, JobRow.holder).in_(list(waiting.items()))
        if first:
            await session.execute(
                update(JobRow)
                .where(asking & JobRow.id.in_(list(first)))
                .where((JobRow.state == JobState.RUNNING.value) & ~JobRow.has_turn)
                .values(resumed=True)
            )
        renewed = await session.scalars(
            update(JobRow)
            .where(asking & _for_a_turn())
            .values(lease_until=now + lease)
            .returning(JobRow.id)
        )
        return set(renewed.all())

    async def _grant(self, session: AsyncSession, granted: list[Candidate], now: datetime) -> None:
        """Their turn runs: a fresh start is a serve of its server and person (its start
        time); a resumed job had its serve already."""
        fresh = [c.job_id for c in granted if not c.resumed]
        resumed = [c.job_id for c in granted if c.resumed]
        if fresh:
            await session.execute(
                update(JobRow).where(JobRow.id.in_(fresh)).values(has_turn=True, started_at=now)
            )
        if resumed:
            await session.execute(
                update(JobRow).where(JobRow.id.in_(resumed)).values(has_turn=True, resumed=False)
            )

    async def line_positions(
        self, now: datetime, concurrency: int, *, start_margin: timedelta = timedelta(0)
    ) -> dict[int, int]:
        """Where each job waiting in the shared line stands (1: next to start)."""
        async with self._reading() as session:
            ranking = await self._rank(session, now, concurrency, start_margin)
        return {candidate.job_id: position for position, candidate in _positions(ranking)}

    async def waiting_count(self, now: datetime) -> int:
        """How many held jobs wait for a turn."""
        async with self._reading() as session:
            count = await session.scalar(
                select(func.count()).select_from(JobRow).where(_waiting(now))
            )
        return count or 0

    async def _lock_line(self, session: AsyncSession) -> None:
        if self._dialect == "postgresql":
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LINE_LOCK})

    async def _rank(
        self, session: AsyncSession, now: datetime, concurrency: int, start_margin: timedelta
    ) -> Ranking:
        """The line's rules over every candidate, with the turns running now and when each
        of their servers and people last started."""
        candidates = await self._candidates(session, now, start_margin)
        running: dict[Person, int] = {}
        turns = select(JobRow.guild_id, JobRow.user_id, func.count()).where(_turn_taken(now))
        for guild, user, count in await session.execute(
            turns.group_by(JobRow.guild_id, JobRow.user_id)
        ):
            running[(guild, user)] = count
        return rank(
            candidates,
            free=concurrency - sum(running.values()),
            running=running,
            served=await self._served(session, candidates),
            now=now.timestamp(),
        )

    async def _candidates(
        self, session: AsyncSession, now: datetime, start_margin: timedelta
    ) -> list[Candidate]:
        query = select(
            JobRow.id,
            JobRow.guild_id,
            JobRow.user_id,
            JobRow.resumed,
            JobRow.running_cap,
            JobRow.token_expires_at,
            JobRow.token.is_not(None),
        ).where(_waiting(now))
        return [
            Candidate(
                job_id,
                guild,
                user,
                arrival=job_id,
                resumed=resumed,
                cap=cap,
                start_by=(expires - start_margin).timestamp() if has_token and expires else None,
            )
            for job_id, guild, user, resumed, cap, expires, has_token in await session.execute(
                query
            )
        ]

    async def _served(self, session: AsyncSession, candidates: Iterable[Candidate]) -> Served:
        """When the candidates' servers and people last started a turn (by `started_at`)."""
        servers = {c.server for c in candidates}
        people = {c.person for c in candidates}
        served = Served()
        if not servers:
            return served
        last = func.max(JobRow.started_at)
        by_server = (
            select(JobRow.guild_id, last)
            .where(_among(JobRow.guild_id, servers) & JobRow.started_at.is_not(None))
            .group_by(JobRow.guild_id)
        )
        for server, started in await session.execute(by_server):
            if started is not None:
                served.servers[server] = started.timestamp()
        by_person = (
            select(JobRow.guild_id, JobRow.user_id, last)
            .where(_people(people) & JobRow.started_at.is_not(None))
            .group_by(JobRow.guild_id, JobRow.user_id)
        )
        for server, user, started in await session.execute(by_person):
            if started is not None:
                served.people[(server, user)] = started.timestamp()
        return served


def _positions(ranking: Ranking) -> Iterable[tuple[int, Candidate]]:
    """Everyone not yet painting, in the order they start: those the rules would start now
    (whichever process holds them), then the line."""
    return enumerate((*ranking.start, *ranking.line), start=1)


def _among(column: Any, servers: set[Server]) -> Any:
    """`column` is one of `servers` (None: direct messages)."""
    known = [server for server in servers if server is not None]
    found = column.in_(known)
    return or_(found, column.is_(None)) if None in servers else found


def _people(people: set[Person]) -> Any:
    """The row is one of `people` ((server, user); a None server: direct messages)."""
    pairs = [(server, user) for server, user in people if server is not None]
    dms = [user for server, user in people if server is None]
    found = tuple_(JobRow.guild_id, JobRow.user_id).in_(pairs)
    return or_(found, and_(JobRow.guild_id.is_(None), JobRow.user_id.in_(dms))) if dms else found

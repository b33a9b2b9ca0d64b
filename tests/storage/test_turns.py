"""The shared line in the database (several painting workers): holds, leases and turns, on
both backends. Which job goes first is the rules' (tests/unit/bot/jobs/test_rules.py) and the
conformance suite's (tests/unit/bot/jobs/test_line_conformance.py); here, that the rows feed
them right: turns running everywhere, last starts, resumed jobs, caps, deadlines."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from bot.storage.job_records import JobRecord, JobState
from bot.storage.repository import Store
from bot.storage.turns import Hold, Turn
from tests.storage.records import limits, new_job

ALICE, BOB, CAROL = 1001, 1002, 1003
OTHER_SERVER = 4343
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)
MARGIN = timedelta(minutes=5)  # a job must start this long before its interaction expires


async def submitted(
    store: Store, user: int, *, running: int | None = 2, guild: int = 4242
) -> JobRecord:
    return await store.submit_job(
        new_job(user, guild=guild), limits(user_running=running), 1_000, NOW
    )


async def held(store: Store, job: JobRecord, holder: str, now: datetime = NOW) -> JobRecord:
    """`job` held by `holder`, as that holder reads it."""
    holding = await store.hold(job.id, holder, now, LEASE)
    assert holding.hold is Hold.HELD, holding
    return dataclasses.replace(job, holder=holder)


async def take_turn(
    store: Store,
    job: JobRecord,
    holder: str,
    concurrency: int = 1,
    *,
    now: datetime = NOW,
    first: Collection[int] = (),
) -> Turn:
    return (await store.take_turns({job.id: holder}, now, LEASE, concurrency, first=first))[job.id]


async def turn(store: Store, job: JobRecord, holder: str, concurrency: int = 1) -> bool:
    return (await take_turn(store, job, holder, concurrency)).granted


async def test_a_job_is_held_by_one_worker_until_its_lease_runs_out(store: Store) -> None:
    job = await submitted(store, ALICE)
    await held(store, job, "w1")
    busy = await store.hold(job.id, "w2", NOW + timedelta(seconds=10), LEASE)
    assert busy.hold is Hold.BUSY and busy.lease_until == NOW + LEASE
    await held(store, job, "w1", NOW + timedelta(seconds=10))  # renewing is holding again
    later = NOW + timedelta(seconds=41)
    taken = await store.hold(job.id, "w2", later, LEASE)
    assert (taken.hold, taken.took_over, taken.state) == (Hold.HELD, True, JobState.QUEUED)
    assert await store.renew_holds({job.id: "w1"}, later, LEASE) == {job.id}  # w1 lost it
    assert await store.renew_holds({job.id: "w2"}, later, LEASE) == set()


async def test_an_ended_job_cannot_be_held(store: Store) -> None:
    job = await submitted(store, ALICE)
    await store.end_job(job, JobState.CANCELLED, "cancelled", NOW)
    assert (await store.hold(job.id, "w1", NOW, LEASE)).hold is Hold.ENDED
    assert (await store.hold(424242, "w1", NOW, LEASE)).hold is Hold.ENDED


async def test_turns_never_exceed_the_concurrency_across_holders(store: Store) -> None:
    submitted_jobs = [await submitted(store, user) for user in (ALICE, BOB, CAROL)]
    jobs = [await held(store, job, f"w{n}") for n, job in enumerate(submitted_jobs)]
    granted = await asyncio.gather(*(turn(store, j, f"w{n}", 2) for n, j in enumerate(jobs)))
    assert sorted(granted) == [False, True, True]
    waiting = jobs[granted.index(False)]
    ran = jobs[granted.index(True)]
    assert not await turn(store, waiting, f"w{jobs.index(waiting)}", 2)
    assert await store.end_job(ran, JobState.FAILED, "It was refused.", NOW)  # a slot frees
    assert await turn(store, waiting, f"w{jobs.index(waiting)}", 2)


async def test_the_person_served_longest_ago_goes_first(store: Store) -> None:
    alices = [await submitted(store, ALICE, running=None) for _ in range(3)]
    first = await held(store, alices[0], "w1")
    assert await turn(store, first, "w1")
    assert await store.start_job(first, NOW)
    for job in alices[1:]:
        await held(store, job, "w1")
    bobs = await held(store, await submitted(store, BOB), "w2")
    await store.end_turn(first.id, "w1")  # a slot frees: bob, never served, is next
    refused = await take_turn(store, alices[1], "w1")
    assert (refused.granted, refused.position) == (False, 2)
    positions = await store.line_positions(NOW, 1)
    assert positions == {bobs.id: 1, alices[1].id: 2, alices[2].id: 3}
    assert await turn(store, bobs, "w2")


async def test_a_person_at_their_running_cap_lets_others_pass(store: Store) -> None:
    first, second = [await submitted(store, ALICE, running=1) for _ in range(2)]
    bobs = await submitted(store, BOB)
    for job in (first, second, bobs):
        await held(store, job, "w1")
    assert await turn(store, first, "w1", 3)
    assert not await turn(store, second, "w1", 3)  # alice has one painting already
    assert await turn(store, bobs, "w1", 3)


async def test_a_running_cap_counts_one_server_and_person(store: Store) -> None:
    """The cap is per server and person (where the setting lives): alice painting in one
    server does not hold back her job in another."""
    here = await held(store, await submitted(store, ALICE, running=1), "w1")
    there = await held(store, await submitted(store, ALICE, running=1, guild=OTHER_SERVER), "w1")
    assert await turn(store, here, "w1", 3)
    assert await turn(store, there, "w1", 3)


async def test_a_turn_whose_lease_ran_out_frees_its_slot(store: Store) -> None:
    dead, alive = await submitted(store, ALICE), await submitted(store, BOB)
    await held(store, dead, "gone")
    assert await turn(store, dead, "gone")
    await held(store, alive, "w2")
    assert not await turn(store, alive, "w2")
    later = NOW + LEASE + timedelta(seconds=1)
    await held(store, alive, "w2", later)
    assert (await take_turn(store, alive, "w2", now=later)).granted


async def painting_then_paused(store: Store, user: int, holder: str) -> JobRecord:
    """A job that had its turn, started, and lost its turn to a provider pause."""
    job = await held(store, await submitted(store, user), holder)
    assert await turn(store, job, holder, 2)
    assert await store.start_job(job, NOW)
    assert await store.end_turn(job.id, holder)
    return job


async def test_a_job_that_lost_its_turn_to_a_pause_goes_first(store: Store) -> None:
    alices = await painting_then_paused(store, ALICE, "w1")
    bobs = await held(store, await submitted(store, BOB), "w2")
    assert (await take_turn(store, alices, "w1", first={alices.id})).granted
    refused = await take_turn(store, bobs, "w2")
    assert (refused.granted, refused.position) == (False, 1)


async def test_every_process_sees_a_resumed_job_go_first(store: Store) -> None:
    """A resumed job that asked while the slots were full is first for everyone: the slot
    that frees is its, even when another process asks first."""
    alices = await painting_then_paused(store, ALICE, "w1")
    carols = await held(store, await submitted(store, CAROL), "w3")
    assert await turn(store, carols, "w3")  # the one slot is taken
    assert not (await take_turn(store, alices, "w1", first={alices.id})).granted
    bobs = await held(store, await submitted(store, BOB), "w2")
    assert await store.end_turn(carols.id, "w3")  # the slot frees
    refused = await take_turn(store, bobs, "w2")
    assert (refused.granted, refused.position) == (False, 2)  # alice, resumed, is first
    assert (await take_turn(store, alices, "w1")).granted
    job = await store.job(alices.id)
    assert job is not None and job.state is JobState.RUNNING and job.attempts == 1


async def test_a_job_past_its_start_by_time_is_not_given_a_turn(store: Store) -> None:
    """A job whose interaction expires within the margin is expired, and takes no slot."""
    fresh = new_job(ALICE)
    expiring = dataclasses.replace(
        fresh, delivery=dataclasses.replace(fresh.delivery, token_expires_at=NOW + MARGIN / 2)
    )
    late = await store.submit_job(expiring, limits(user_running=2), 1_000, NOW)
    await held(store, late, "w1")
    bobs = await held(store, await submitted(store, BOB), "w2")
    answers = await store.take_turns(
        {late.id: "w1", bobs.id: "w2"}, NOW, LEASE, 1, start_margin=MARGIN
    )
    assert answers[late.id] == Turn(False, expired=True)
    assert answers[bobs.id] == Turn(True)  # the slot went to the job that can still answer


async def test_jobs_nobody_holds_are_found_for_the_sweep(store: Store) -> None:
    never, held_now, lapsed = [await submitted(store, user) for user in (ALICE, BOB, CAROL)]
    await held(store, held_now, "w1")
    await held(store, lapsed, "gone", NOW - LEASE - timedelta(seconds=1))
    ended = await submitted(store, ALICE)
    assert await store.end_job(ended, JobState.CANCELLED, "Cancelled.", NOW)
    found = [job.id for job in await store.unheld_jobs(NOW)]
    assert found == [never.id, lapsed.id]


async def test_servers_take_turns_before_people_do(store: Store) -> None:
    busy_server = [await submitted(store, user) for user in (ALICE, BOB)]
    painting = await held(store, busy_server[0], "w1")
    assert await turn(store, painting, "w1")
    assert await store.start_job(painting, NOW)  # this server was just served
    await held(store, busy_server[1], "w1")  # bob, never served, but in the served server
    other = await store.submit_job(
        new_job(CAROL, guild=OTHER_SERVER), limits(user_running=2), 1_000, NOW
    )
    await held(store, other, "w2")
    assert await store.line_positions(NOW, 1) == {other.id: 1, busy_server[1].id: 2}

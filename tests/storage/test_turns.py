"""The shared line in the database (several painting workers): holds, leases and turns, on
both backends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.storage.job_records import JobRecord, JobState
from bot.storage.repository import Store
from bot.storage.turns import Hold
from tests.storage.records import limits, new_job

ALICE, BOB, CAROL = 1001, 1002, 1003
OTHER_SERVER = 4343
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


async def submitted(store: Store, user: int, *, running: int | None = 2) -> JobRecord:
    return await store.submit_job(new_job(user), limits(user_running=running), 1_000, NOW)


async def held(store: Store, job: JobRecord, holder: str, now: datetime = NOW) -> None:
    holding = await store.hold(job.id, holder, now, LEASE)
    assert holding.hold is Hold.HELD, holding


async def turn(store: Store, job: JobRecord, holder: str, concurrency: int = 1) -> bool:
    return (await store.take_turn(job.id, holder, NOW, LEASE, concurrency)).granted


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
    jobs = [await submitted(store, user) for user in (ALICE, BOB, CAROL)]
    for n, job in enumerate(jobs):
        await held(store, job, f"w{n}")
    granted = await asyncio.gather(*(turn(store, j, f"w{n}", 2) for n, j in enumerate(jobs)))
    assert sorted(granted) == [False, True, True]
    waiting = jobs[granted.index(False)]
    ran = jobs[granted.index(True)]
    assert not await turn(store, waiting, f"w{jobs.index(waiting)}", 2)
    assert await store.end_job(ran, JobState.FAILED, "It was refused.", NOW)  # a slot frees
    assert await turn(store, waiting, f"w{jobs.index(waiting)}", 2)


async def test_the_person_served_longest_ago_goes_first(store: Store) -> None:
    alices = [await submitted(store, ALICE, running=None) for _ in range(3)]
    await held(store, alices[0], "w1")
    assert await turn(store, alices[0], "w1")
    await store.start_job(alices[0].id, NOW)
    for job in alices[1:]:
        await held(store, job, "w1")
    bobs = await submitted(store, BOB)
    await held(store, bobs, "w2")
    await store.end_turn(alices[0].id, "w1")  # a slot frees: bob, never served, is next
    refused = await store.take_turn(alices[1].id, "w1", NOW, LEASE, 1)
    assert (refused.granted, refused.position) == (False, 2)
    positions = await store.line_positions(NOW)
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


async def test_a_turn_whose_lease_ran_out_frees_its_slot(store: Store) -> None:
    dead, alive = await submitted(store, ALICE), await submitted(store, BOB)
    await held(store, dead, "gone")
    assert await turn(store, dead, "gone")
    await held(store, alive, "w2")
    assert not await turn(store, alive, "w2")
    later = NOW + LEASE + timedelta(seconds=1)
    await held(store, alive, "w2", later)
    assert (await store.take_turn(alive.id, "w2", later, LEASE, 1)).granted


async def test_a_job_that_lost_its_turn_to_a_pause_goes_first(store: Store) -> None:
    bobs, alices = await submitted(store, BOB), await submitted(store, ALICE)
    await held(store, alices, "w1")
    await store.start_job(alices.id, NOW - timedelta(minutes=1))  # alice was served before
    await store.requeue_job(alices.id)
    await held(store, bobs, "w2")
    assert not (await store.take_turn(alices.id, "w1", NOW, LEASE, 1)).granted
    resumed = await store.take_turn(alices.id, "w1", NOW, LEASE, 1, first=True)
    assert resumed.granted


async def test_servers_take_turns_before_people_do(store: Store) -> None:
    busy_server = [await submitted(store, user) for user in (ALICE, BOB)]
    await held(store, busy_server[0], "w1")
    assert await turn(store, busy_server[0], "w1")
    await store.start_job(busy_server[0].id, NOW)  # this server was just served
    await held(store, busy_server[1], "w1")  # bob, never served, but in the served server
    other = await store.submit_job(
        new_job(CAROL, guild=OTHER_SERVER), limits(user_running=2), 1_000, NOW
    )
    await held(store, other, "w2")
    assert await store.line_positions(NOW) == {other.id: 1, busy_server[1].id: 2}

"""Jobs as records on both databases: submitted with their reservation, ended exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.models import PostedPicture
from bot.policy import LimitKind, LimitReached
from bot.storage.job_records import JobEnded, JobKind, JobState
from bot.storage.repository import Periods, Store
from tests.storage.records import GUILD, TOKEN, limits, new_job, new_picture

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TODAY = Periods.of(NOW)
ALICE, BOB = 1001, 1002
EST = 40_000


async def test_a_submitted_job_holds_its_reservation_and_everything_to_run_it(
    store: Store,
) -> None:
    job = await store.submit_job(new_job(ALICE), limits(), EST, NOW)
    assert (job.state, job.kind, job.attempts) == (JobState.QUEUED, JobKind.IMAGINE, 0)
    assert job.delivery.token is not None and job.delivery.token.get() == TOKEN
    assert TOKEN not in repr(job)  # the token is a secret
    assert job.spec.request.description == "a cat"
    assert job.reservation.estimate_micros == EST
    usage = await store.usage(GUILD, ALICE, TODAY.day)
    assert (usage.pictures, usage.reserved_micros) == (1, EST)
    assert [j.id for j in await store.unfinished_jobs()] == [job.id]
    assert await store.jobs_in_flight(GUILD, ALICE) == 1
    assert await store.jobs_in_flight(GUILD, BOB) == 0


async def test_jobs_beyond_running_and_queued_are_refused_and_leave_nothing(store: Store) -> None:
    rules = limits(user_running=1, user_queued=1)
    for _ in range(2):
        await store.submit_job(new_job(ALICE), rules, EST, NOW)
    with pytest.raises(LimitReached) as caught:
        await store.submit_job(new_job(ALICE), rules, EST, NOW)
    assert caught.value.kind is LimitKind.IN_FLIGHT
    assert await store.jobs_in_flight(GUILD, ALICE) == 2
    assert (await store.usage(GUILD, ALICE, TODAY.day)).pictures == 2  # the third reserved nothing
    await store.submit_job(new_job(BOB), rules, EST, NOW)  # per person
    await store.submit_job(new_job(ALICE, guild=None), rules, EST, NOW)  # DMs count apart


async def test_live_jobs_are_a_servers_or_one_persons_unfinished_ones_oldest_first(
    store: Store,
) -> None:
    first = await store.submit_job(new_job(ALICE), limits(), EST, NOW)
    bobs = await store.submit_job(new_job(BOB), limits(), EST, NOW)
    second = await store.submit_job(new_job(ALICE), limits(), EST, NOW)
    in_dms = await store.submit_job(new_job(ALICE, guild=None), limits(), EST, NOW)
    ended = await store.submit_job(new_job(ALICE), limits(), EST, NOW)
    await store.end_job(ended, JobState.CANCELLED, "cancelled", NOW)
    assert await store.start_job(first, NOW + timedelta(seconds=5))

    server = await store.live_jobs(GUILD)
    assert [j.id for j in server] == [first.id, bobs.id, second.id]
    assert [j.started_at for j in server] == [NOW + timedelta(seconds=5), None, None]
    assert [j.id for j in await store.live_jobs(GUILD, ALICE)] == [first.id, second.id]
    assert [j.id for j in await store.live_jobs(None, ALICE)] == [in_dms.id]
    assert await store.live_jobs(None, BOB) == []


async def test_a_quota_refusal_records_no_job(store: Store) -> None:
    rules = limits(user_daily_pictures=1)
    await store.submit_job(new_job(ALICE), rules, EST, NOW)
    with pytest.raises(LimitReached):
        await store.submit_job(new_job(ALICE), rules, EST, NOW)
    assert len(await store.unfinished_jobs()) == 1


async def test_a_job_starts_once_and_a_crashed_one_can_be_queued_again(store: Store) -> None:
    job = await store.submit_job(new_job(ALICE), limits(), EST, NOW)
    assert await store.start_job(job, NOW)
    assert not await store.start_job(job, NOW)  # not queued any more
    assert await store.requeue_job(job)
    assert await store.start_job(job, NOW)
    stored = await store.job(job.id)
    assert stored is not None and (stored.state, stored.attempts) == (JobState.RUNNING, 2)


async def test_completing_posts_the_picture_settles_and_forgets_the_token(store: Store) -> None:
    job = await store.submit_job(new_job(ALICE), limits(), EST, NOW)
    await store.start_job(job, NOW)
    [picture_id] = await store.begin_posting(job, [new_picture(1, user=ALICE, cost=9_000)], NOW)
    posting = await store.job(job.id)
    assert posting is not None and (posting.state, posting.picture_id) == (
        JobState.POSTING,
        picture_id,
    )
    await store.complete_job(job, [PostedPicture(picture_id, "https://cdn/p.png", 9_000)], 555, NOW)
    done = await store.job(job.id)
    assert done is not None and done.state is JobState.DONE and done.delivery.token is None
    picture = await store.picture(picture_id)
    assert picture is not None and (picture.message_id, picture.cost_micros) == (555, 9_000)
    entry = await store.ledger_entry(job.reservation.id)
    assert entry is not None and (entry.state, entry.picture_id) == ("settled", picture_id)
    usage = await store.usage(GUILD, ALICE, TODAY.day)
    assert (usage.pictures, usage.reserved_micros, usage.spent_micros) == (1, 0, 9_000)
    assert not await store.end_job(done, JobState.FAILED, "late", NOW)  # ended once only
    assert await store.unfinished_jobs() == []


@pytest.mark.parametrize("state", [JobState.FAILED, JobState.CANCELLED])
async def test_ending_releases_everything_and_drops_an_unposted_picture(
    store: Store, state: JobState
) -> None:
    rules = limits(user_daily_pictures=1, cooldown_seconds=60)
    job = await store.submit_job(new_job(ALICE), rules, EST, NOW)
    await store.start_job(job, NOW)
    [picture_id] = await store.begin_posting(job, [new_picture(1, user=ALICE)], NOW)
    assert await store.end_job(job, state, "Discord refused the upload.", NOW)
    assert not await store.end_job(job, state, "again", NOW)
    ended = await store.job(job.id)
    assert ended is not None
    assert (ended.state, ended.outcome, ended.delivery.token) == (
        state,
        "Discord refused the upload.",
        None,
    )
    assert await store.picture(picture_id) is None
    usage = await store.usage(GUILD, ALICE, TODAY.day)
    assert (usage.pictures, usage.reserved_micros, usage.spent_micros) == (0, 0, 0)
    # The quota and the cooldown are given back: the next request is admitted at once.
    await store.submit_job(new_job(ALICE), rules, EST, NOW + timedelta(seconds=1))


async def test_a_job_ended_elsewhere_is_not_posted(store: Store) -> None:
    job = await store.submit_job(new_job(ALICE), limits(), EST, NOW)
    assert await store.end_job(job, JobState.CANCELLED, "cancelled", NOW, only_queued=True)
    with pytest.raises(JobEnded):
        await store.begin_posting(job, [new_picture(1, user=ALICE)], NOW)
    assert await store.history(ALICE, GUILD, limit=5) == []  # no picture row was left


async def test_only_a_queued_job_is_ended_when_only_queued_ones_may_be(store: Store) -> None:
    job = await store.submit_job(new_job(ALICE), limits(), EST, NOW)
    await store.start_job(job, NOW)
    assert not await store.end_job(job, JobState.CANCELLED, "cancelled", NOW, only_queued=True)
    running = await store.job(job.id)
    assert running is not None and running.state is JobState.RUNNING


async def test_the_first_take_to_write_the_batch_prompts_wins(store: Store) -> None:
    takes = [
        await store.submit_job(
            new_job(ALICE, kind=JobKind.VARIATION, batch="b1", take=n), limits(), EST, NOW
        )
        for n in range(3)
    ]
    await store.set_batch_prompts("b1", ["one", "two", "three"])
    await store.set_batch_prompts("b1", ["uno", "dos", "tres"])
    batch = await store.batch_jobs("b1")
    assert [job.id for job in batch] == [job.id for job in takes]
    assert [job.prompt for job in batch] == ["one", "two", "three"]

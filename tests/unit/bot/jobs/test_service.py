"""bot/jobs/service.py on real SQLite: submit, cancel, stop without
losing a job, and recover after a restart with no reservation left open.

Images and chat are doubles, the Publisher records what it is told; the line reads a
fake monotonic clock. A job "paints" until the test opens `images.hold`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from bot.errors import (
    JobCancelled,
    PicassoError,
    ProviderBusy,
    QueueDown,
    ShuttingDown,
    WaitedTooLong,
)
from bot.jobs.cluster import ClusterEngine
from bot.jobs.runner import MAX_ATTEMPTS, RESTARTED, START_PATIENCE
from bot.jobs.service import NOT_WAITING, NOT_YOURS, QUEUE_DESCRIPTION_CHARS, STARTED
from bot.models import GuildSettings, ImageRequest, Stage, Who
from bot.policy import Refused
from bot.storage.job_records import Delivery, JobKind, JobRecord, JobState
from bot.storage.repository import GUILD_WIDE, Store
from bot.studio import Order, Studio
from tests.storage.records import new_picture
from tests.unit.doubles import ScriptedImages, until
from tests.unit.jobs_rig import (
    ALICE,
    BOB,
    CHANNEL,
    GUILD,
    NOW,
    REPLY,
    TODAY,
    Rig,
    make_rig,
    opened,
    order,
    token_delivery,
)

pytestmark = pytest.mark.timeout(10)  # a lost wake-up fails, it does not hang

ROOMY = GuildSettings(user_running=5, user_queued=5)


@pytest.fixture
async def rig(store: Store, downloads: aiohttp.ClientSession) -> AsyncIterator[Rig]:
    made = make_rig(store, downloads)
    made.images.hold = asyncio.Event()
    yield made
    made.paint()
    await made.service.stop(grace=1)


async def painting_and_waiting(rig: Rig, running: JobRecord, waiting: JobRecord) -> None:
    """Wait until `running` paints (held by `images.hold`) and `waiting` waits in line."""
    await until(
        lambda: (
            (running.id, Stage.PAINTING) in rig.stages() and rig.line.place(waiting.id) is not None
        )
    )


async def test_the_requester_cancels_a_waiting_job_before_anything_is_painted(rig: Rig) -> None:
    running = await rig.service.submit(order())
    waiting = await rig.service.submit(order())
    await painting_and_waiting(rig, running, waiting)

    await rig.service.cancel(waiting.id, ALICE)
    await until(lambda: bool(rig.publisher.said(waiting.id)))

    cancelled = await rig.state(waiting)
    assert (cancelled.state, cancelled.attempts) == (JobState.CANCELLED, 0)
    assert rig.publisher.said(waiting.id) == [JobCancelled.user_message]
    assert rig.publisher.said(waiting.id)[0].startswith("❌ Cancelled")
    assert await rig.ledger_state(waiting) == "released"
    rig.paint()
    await rig.drained()
    assert len(rig.images.calls) == 1  # the running job's only
    assert rig.publisher.posted(waiting.id) == []
    used = await rig.store.usage(GUILD, ALICE, TODAY)
    assert (used.pictures, used.reserved_micros) == (1, 0)


async def test_only_the_requester_may_cancel_and_only_while_it_waits(rig: Rig) -> None:
    running = await rig.service.submit(order())
    waiting = await rig.service.submit(order())
    await painting_and_waiting(rig, running, waiting)

    with pytest.raises(Refused) as not_yours:
        await rig.service.cancel(waiting.id, BOB)
    assert not_yours.value.user_message == NOT_YOURS
    with pytest.raises(PicassoError) as started:
        await rig.service.cancel(running.id, ALICE)
    assert started.value.user_message == STARTED

    rig.paint()
    await rig.drained()
    for job in (running, waiting):
        assert (await rig.state(job)).state is JobState.DONE
        assert len(rig.publisher.posted(job.id)) == 1
    assert rig.publisher.sentences == []


async def test_a_queued_job_outside_this_line_is_cancelled_here(rig: Rig) -> None:
    """Left queued by an earlier run (or about to enter the line): no runner waits for it."""
    job = await rig.studio.admit(order())

    await rig.service.cancel(job.id, ALICE)

    assert (await rig.state(job)).state is JobState.CANCELLED
    assert rig.publisher.said(job.id) == [JobCancelled.user_message]
    assert await rig.ledger_state(job) == "released"
    with pytest.raises(PicassoError) as again:
        await rig.service.cancel(job.id, ALICE)
    assert again.value.user_message == NOT_WAITING


async def test_a_job_that_starts_while_being_cancelled_is_either_cancelled_or_paid_for(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig.paint()
    job = await rig.studio.admit(order())
    read, go_on = asyncio.Event(), asyncio.Event()
    job_of = rig.store.job

    async def read_then_stall(job_id: int) -> JobRecord | None:
        record = await job_of(job_id)
        read.set()
        await go_on.wait()  # meanwhile its turn comes and the runner starts it
        return record

    monkeypatch.setattr(rig.store, "job", read_then_stall)
    cancelling = asyncio.create_task(rig.service.cancel(job.id, ALICE))
    await read.wait()
    assert await rig.service.engine.sweep() == 1  # its runner starts (as submit() would start it)
    await until(lambda: (job.id, Stage.EXPANDING) in rig.stages())
    go_on.set()
    refusal = (await asyncio.gather(cancelling, return_exceptions=True))[0]
    await rig.drained()

    ended = await rig.state(job)
    if ended.state is JobState.CANCELLED:
        assert rig.publisher.posted(job.id) == [] and rig.images.calls == []
    else:
        assert isinstance(refusal, PicassoError) and refusal.user_message == STARTED
        assert ended.state is JobState.DONE and rig.publisher.sentences == []
        assert await rig.ledger_state(job) == "settled"


async def test_the_queue_lists_jobs_being_made_then_waiting_ones_in_the_order_they_start(
    rig: Rig,
) -> None:
    running = await rig.service.submit(order())
    long = ImageRequest("a very long description " * 10)
    waiting = [await rig.service.submit(order(request=long)), await rig.service.submit(order())]
    bobs = await rig.service.submit(order(user=BOB))
    elsewhere = Order(JobKind.IMAGINE, Who(ALICE, GUILD + 1, CHANNEL), ImageRequest("x"), REPLY)
    await rig.service.submit(elsewhere)
    in_line = [*waiting, bobs]
    await until(lambda: all(rig.line.place(job.id) for job in in_line))
    await painting_and_waiting(rig, running, bobs)
    entering = await rig.studio.admit(order())  # recorded, not yet in this process's line

    mine = await rig.service.queue(GUILD, ALICE)

    assert [e.job_id for e in mine] == [running.id, *(j.id for j in waiting), entering.id]
    being_made, first, second, last = mine
    assert (being_made.state, being_made.started_at, being_made.position) == (
        JobState.RUNNING,
        NOW,
        None,
    )
    assert not being_made.waiting and all(e.waiting for e in mine[1:])
    for entry in (first, second):
        place = rig.line.place(entry.job_id)
        assert place is not None and entry.position == place.position
    assert first.position and second.position and first.position < second.position
    assert len(first.description) <= QUEUE_DESCRIPTION_CHARS and first.description.endswith("…")
    assert (last.position, last.started_at, last.description) == (None, None, "a cat")
    server = await rig.service.queue(GUILD, None)
    places = {job.id: rig.line.place(job.id) for job in in_line}
    by_place = sorted(places, key=lambda job_id: places[job_id].position)  # type: ignore[union-attr]
    assert [e.job_id for e in server] == [running.id, *by_place, entering.id]
    assert {e.user_id for e in server} == {ALICE, BOB}
    assert [e.job_id for e in await rig.service.queue(GUILD, BOB)] == [bobs.id]
    await rig.service.cancel(waiting[0].id, ALICE)
    await until(lambda: bool(rig.publisher.said(waiting[0].id)))
    assert waiting[0].id not in [e.job_id for e in await rig.service.queue(GUILD, ALICE)]


async def test_stop_lets_the_running_job_post_and_keeps_the_waiting_one_queued(
    rig: Rig,
) -> None:
    running = await rig.service.submit(order())
    waiting = await rig.service.submit(order())
    await painting_and_waiting(rig, running, waiting)

    stopping = asyncio.create_task(rig.service.stop(grace=5))
    await until(
        lambda: any(s.restarting for job_id, s in rig.publisher.statuses if job_id == waiting.id)
    )
    assert not stopping.done()  # the running job holds the stop for its grace
    rig.paint()
    await stopping

    assert (await rig.state(running)).state is JobState.DONE
    assert len(rig.publisher.posted(running.id)) == 1
    kept = await rig.state(waiting)
    assert (kept.state, kept.attempts, kept.delivery.token is not None) == (
        JobState.QUEUED,
        0,
        True,
    )
    assert await rig.ledger_state(waiting) == "reserved"
    assert rig.publisher.said(waiting.id) == []
    assert len(rig.images.calls) == 1
    with pytest.raises(ShuttingDown):
        await rig.service.submit(order(user=BOB))


async def test_stop_keeps_a_job_waiting_out_a_429_queued(
    store: Store, downloads: aiohttp.ClientSession
) -> None:
    images = ScriptedImages({0: ProviderBusy(30, passing=True)})
    rig = make_rig(store, downloads, images=images)
    job = await rig.service.submit(order())
    await until(lambda: len(images.calls) == 1 and rig.line.place(job.id) is not None)

    await rig.service.stop(grace=1)

    assert any(s.restarting for job_id, s in rig.publisher.statuses if job_id == job.id)
    assert await rig.ledger_state(job) == "reserved"
    kept = await rig.state(job)
    assert kept.state is JobState.QUEUED


@dataclass
class LeftBehind:
    """Jobs a previous run left unfinished, as a crash leaves them."""

    queued: JobRecord
    running: JobRecord
    posting: JobRecord  # its picture row begun, never posted
    replying: JobRecord  # a reply in a channel: no token, no deadline
    late_queued: JobRecord  # tokens that no longer leave time to answer
    late_running: JobRecord
    worn_out: JobRecord  # cut short MAX_ATTEMPTS times already
    pending_picture: int


async def leave_behind(store: Store, studio: Studio) -> LeftBehind:
    async def left(
        state: JobState, delivery: Delivery | None = None, *, starts: int = 1
    ) -> JobRecord:
        job = await studio.admit(order(delivery=delivery), ROOMY)
        if state is not JobState.QUEUED:
            for attempt in range(starts):
                if attempt:
                    assert await store.requeue_job(job)
                assert await store.start_job(job, NOW)
        return job

    posting = await left(JobState.RUNNING)
    [pending] = await store.begin_posting(posting, [new_picture(0, user=ALICE)], NOW)
    late = token_delivery(timedelta(minutes=4))
    return LeftBehind(
        queued=await left(JobState.QUEUED),
        running=await left(JobState.RUNNING),
        posting=posting,
        replying=await left(JobState.RUNNING, REPLY),
        late_queued=await left(JobState.QUEUED, late),
        late_running=await left(JobState.RUNNING, late),
        worn_out=await left(JobState.RUNNING, starts=MAX_ATTEMPTS),
        pending_picture=pending,
    )


async def test_recover_resumes_reruns_or_ends_every_job_and_leaves_no_reservation_open(
    tmp_path: Path, downloads: aiohttp.ClientSession
) -> None:
    path = tmp_path / "picasso.db"
    async with opened(path) as before:
        left = await leave_behind(before, make_rig(before, downloads).studio)

    async with opened(path) as store:  # the next start: a fresh process, the same database
        after = make_rig(store, downloads, concurrency=2)
        assert await after.service.engine.sweep() == 4
        await after.drained()

        for job, attempts in (
            (left.queued, 1),
            (left.running, 2),
            (left.posting, 2),
            (left.replying, 2),
        ):
            done = await after.state(job)
            assert (done.state, done.attempts) == (JobState.DONE, attempts)
            assert after.publisher.posted(job.id) == [done.picture_id]
            assert after.publisher.said(job.id) == []
        # The row begun before the crash is gone (SQLite may hand its id to the new one).
        pending = await store.picture(left.pending_picture)
        assert pending is None or pending.message_id is not None
        for job, sentence in (
            (left.late_queued, WaitedTooLong.user_message),
            (left.late_running, RESTARTED),
            (left.worn_out, RESTARTED),
        ):
            assert (await after.state(job)).state is JobState.FAILED
            assert after.publisher.said(job.id) == [sentence]
            assert await after.ledger_state(job) == "released"
        assert len(after.images.calls) == 4
        assert await store.unfinished_jobs() == []
        for who in (ALICE, GUILD_WIDE):
            used = await store.usage(GUILD, who, TODAY)
            assert (used.pictures, used.reserved_micros) == (4, 0)


class DownQueue:
    """A job queue whose Redis does not answer."""

    async def put(self, job_id: int) -> None:
        raise ConnectionError("Redis is down")


async def test_a_job_the_queue_cannot_take_ends_with_one_sentence_and_nothing_held(
    rig: Rig,
) -> None:
    down: Any = SimpleNamespace(queue=DownQueue())  # launching reads nothing else
    cluster = ClusterEngine(rig.runner, rig.store, down, down, sweep_every=3600, now=rig.studio.now)
    local, rig.service.engine = rig.service.engine, cluster
    job = await rig.service.submit(order())
    assert rig.publisher.said(job.id) == [QueueDown.user_message]
    ended = await rig.store.job(job.id)
    assert ended is not None and ended.state is JobState.FAILED
    usage = await rig.store.usage(GUILD, ALICE, TODAY)
    assert (usage.pictures, usage.reserved_micros) == (0, 0)
    rig.service.engine = local  # the rig stops its own engine


async def test_a_reply_left_longer_than_its_patience_ends_instead_of_running(
    tmp_path: Path, downloads: aiohttp.ClientSession
) -> None:
    """A reply of the bot's own has no token to expire, yet no job waits forever: one left
    unfinished past `START_PATIENCE` is ended, its money released, not painted."""
    path = tmp_path / "picasso.db"
    async with opened(path) as before:
        studio = make_rig(before, downloads).studio
        job = await studio.admit(order(delivery=REPLY), ROOMY)
    async with opened(path) as store:
        later = make_rig(store, downloads, now=NOW + START_PATIENCE + timedelta(seconds=1))
        assert await later.service.engine.sweep() == 0
        ended = await later.state(job)
        assert ended.state is JobState.FAILED
        assert later.publisher.said(job.id) == [WaitedTooLong.user_message]
        assert await later.ledger_state(job) == "released"
        assert later.images.calls == []

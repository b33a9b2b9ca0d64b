"""bot/jobs/runner.py on real SQLite: a job record in, one posted picture or one sentence out,
with its reservation settled or released.

Images and chat are doubles, the Publisher records what it is told, and the scheduler and
the runner read a fake monotonic clock that only the tests move (then `poke()`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Protocol

import aiohttp
import pytest

from bot.errors import (
    APOLOGY,
    ProviderBusy,
    ProviderUnavailable,
    UploadFailed,
    WaitedTooLong,
)
from bot.imaging.pricing import DEFAULT_PRICES, ChatTokens, TokenUsage, cost_micros, price_for
from bot.jobs.runner import START_MARGIN
from bot.models import Stage
from bot.storage.job_records import JobKind, JobRecord, JobState
from bot.storage.repository import GUILD_WIDE, Store
from tests.storage.records import post_picture
from tests.unit.doubles import ScriptedChat, ScriptedImages, until
from tests.unit.jobs_rig import (
    ALICE,
    BOB,
    GUILD,
    NOW,
    TODAY,
    Rig,
    make_rig,
    order,
    token_delivery,
)

pytestmark = pytest.mark.timeout(10)  # a lost wake-up fails, it does not hang

USAGE = TokenUsage(text_in=100, image_in=0, image_out=1000)
COST = cost_micros(USAGE, price_for("gpt-image-2", DEFAULT_PRICES))  # the real cost, not the hold


class MakeRig(Protocol):
    def __call__(
        self,
        *,
        concurrency: int = 1,
        chat: ScriptedChat | None = None,
        images: ScriptedImages | None = None,
    ) -> Rig: ...


@pytest.fixture
def rig_here(store: Store, downloads: aiohttp.ClientSession) -> MakeRig:
    """Rigs on the test's database; images report USAGE unless the test gives its own."""

    def make(
        *,
        concurrency: int = 1,
        chat: ScriptedChat | None = None,
        images: ScriptedImages | None = None,
    ) -> Rig:
        images = images or ScriptedImages(usage=USAGE)
        return make_rig(store, downloads, concurrency=concurrency, chat=chat, images=images)

    return make


async def assert_released(rig: Rig, job: JobRecord) -> None:
    """Nothing of the job is counted any more and no picture row is left behind."""
    ended = await rig.state(job)
    assert ended.delivery.token is None and ended.picture_id is None
    assert await rig.ledger_state(job) == "released"
    for who in (ALICE, GUILD_WIDE):
        used = await rig.store.usage(GUILD, who, TODAY)
        assert (used.pictures, used.reserved_micros, used.spent_micros) == (0, 0, 0)


async def test_a_painted_job_is_posted_once_and_charged_its_real_cost(rig_here: MakeRig) -> None:
    rig = rig_here()
    parent = await post_picture(rig.store, 1, NOW, user=BOB, guild=GUILD)
    job = await rig.admit(order(JobKind.REROLL, prompt="A cat, painted again.", parent_id=parent))
    assert job.reservation.estimate_micros > COST  # so that settling shows the real cost

    await rig.runner.run(job)

    assert [prompt for prompt, _ in rig.images.calls] == ["A cat, painted again."]
    assert rig.chat.asked == []  # a reroll paints its prompt as it is
    done = await rig.state(job)
    assert (done.state, done.attempts, done.outcome, done.delivery.token) == (
        JobState.DONE,
        1,
        None,
        None,
    )
    assert rig.publisher.posted(job.id) == [done.picture_id]
    [(_, posted)] = rig.publisher.recorded_posts
    assert done.delivery.message_id == posted.message_id
    assert rig.publisher.sentences == []
    picture = await rig.store.picture(done.picture_id or 0)
    assert picture is not None
    assert (picture.kind, picture.parent_id, picture.requester_id) == ("reroll", parent, ALICE)
    assert (picture.message_id, picture.image_url, picture.cost_micros) == (
        posted.message_id,
        posted.image_urls[0],
        COST,
    )
    entry = await rig.store.ledger_entry(job.reservation.id)
    assert entry is not None and (entry.state, entry.cost_micros, entry.picture_id) == (
        "settled",
        COST,
        picture.id,
    )
    used = await rig.store.usage(GUILD, ALICE, TODAY)
    assert (used.pictures, used.reserved_micros, used.spent_micros) == (1, 0, COST)
    stages = [status.stage for job_id, status in rig.publisher.statuses if job_id == job.id]
    assert stages == [Stage.PAINTING]  # a reroll paints its prompt: no "writing a prompt"


async def test_a_jobs_settled_cost_includes_its_prompt_writing(rig_here: MakeRig) -> None:
    """The person is charged what the provider bills: the picture and the chat calls that
    wrote its prompt (a set's variation prompts too, written before its plan)."""
    rig = rig_here(chat=ScriptedChat(tokens=ChatTokens(2000, 300)))
    written = round(2000 * 0.75 + 300 * 4.5)  # the default CHAT_PRICES of gpt-5.4-mini
    job = await rig.admit(order())  # expanded by the chat model
    takes = [
        await rig.admit(order(JobKind.VARIATION, batch="b1", take=take, takes=2))
        for take in range(2)
    ]

    for each in (job, *takes):
        await rig.runner.run(each)

    charged = []
    for each in (job, *takes):
        entry = await rig.store.ledger_entry(each.reservation.id)
        assert entry is not None and entry.state == "settled"
        charged.append(entry.cost_micros)
        picture = await rig.store.picture((await rig.state(each)).picture_id or 0)
        assert picture is not None and picture.cost_micros == entry.cost_micros
    assert len(rig.chat.asked) == 2  # one prompt, then the set's prompts in one call
    assert charged == [COST + written, COST + written, COST]  # the first take wrote them
    used = await rig.store.usage(GUILD, ALICE, TODAY)
    assert (used.pictures, used.reserved_micros, used.spent_micros) == (3, 0, sum(charged))


async def test_a_failed_paint_ends_in_its_sentence_and_releases_everything(
    rig_here: MakeRig,
) -> None:
    rig = rig_here(images=ScriptedImages({0: ProviderUnavailable()}, usage=USAGE))
    job = await rig.admit(order())

    await rig.runner.run(job)

    failed = await rig.state(job)
    assert (failed.state, failed.outcome) == (JobState.FAILED, ProviderUnavailable.user_message)
    assert rig.publisher.said(job.id) == [ProviderUnavailable.user_message]
    assert rig.publisher.pictures == []
    await assert_released(rig, job)


async def test_a_failed_job_still_pays_the_prompt_writing_the_provider_billed(
    rig_here: MakeRig,
) -> None:
    """Nothing painted, nothing counted against the picture limits, but the chat call that
    wrote the prompt is billed by the provider either way: it is charged (else a loop of
    failing requests would be free prompt writing)."""
    rig = rig_here(
        chat=ScriptedChat(tokens=ChatTokens(2000, 300)),
        images=ScriptedImages({0: ProviderUnavailable()}, usage=USAGE),
    )
    written = round(2000 * 0.75 + 300 * 4.5)  # the default CHAT_PRICES of gpt-5.4-mini
    job = await rig.admit(order())

    await rig.runner.run(job)

    assert (await rig.state(job)).state is JobState.FAILED
    entry = await rig.store.ledger_entry(job.reservation.id)
    assert entry is not None and (entry.state, entry.cost_micros) == ("released", written)
    used = await rig.store.usage(GUILD, ALICE, TODAY)
    assert (used.pictures, used.reserved_micros, used.spent_micros) == (0, 0, written)


async def test_a_refused_post_ends_in_one_sentence_and_costs_nothing(rig_here: MakeRig) -> None:
    rig = rig_here()
    rig.publisher.refuse = UploadFailed()
    job = await rig.admit(order())

    await rig.runner.run(job)

    [picture_id] = rig.publisher.posted(job.id)  # tried once, not again
    assert await rig.store.picture(picture_id) is None  # the pending row is gone
    assert rig.publisher.said(job.id) == [UploadFailed.user_message]
    assert rig.publisher.recorded_posts == []
    assert (await rig.state(job)).state is JobState.FAILED
    await assert_released(rig, job)


async def test_a_job_posted_and_paid_for_is_never_ended_again(rig_here: MakeRig) -> None:
    rig = rig_here()
    rig.publisher.refuse_record = RuntimeError("the audit channel is gone")
    job = await rig.admit(order())

    await rig.runner.run(job)

    done = await rig.state(job)
    assert done.state is JobState.DONE
    assert rig.publisher.sentences == []  # no apology under a posted picture
    assert await rig.ledger_state(job) == "settled"


async def test_an_unexpected_error_ends_in_the_apology_and_logs_its_traceback(
    rig_here: MakeRig,
    caplog: pytest.LogCaptureFixture,
) -> None:
    surprise = RuntimeError("the disk is on fire")
    rig = rig_here(images=ScriptedImages({0: surprise}, usage=USAGE))
    job = await rig.admit(order())

    with caplog.at_level(logging.ERROR, logger="bot.jobs.runner"):
        await rig.runner.run(job)

    assert rig.publisher.said(job.id) == [APOLOGY]
    failed = await rig.state(job)
    assert (failed.state, failed.outcome) == (JobState.FAILED, APOLOGY)
    assert "disk" not in APOLOGY  # the person reads no internals; the log keeps them
    [logged] = [r for r in caplog.records if r.exc_info and r.exc_info[1] is surprise]
    assert str(job.id) in logged.getMessage()
    await assert_released(rig, job)


async def test_a_passing_429_pauses_everyone_and_the_same_job_paints_first_after(
    rig_here: MakeRig,
) -> None:
    rig = rig_here(images=ScriptedImages({0: ProviderBusy(0.05, passing=True)}, usage=USAGE))
    first = await rig.admit(order())
    second = await rig.admit(order(user=BOB))
    runs = [asyncio.create_task(rig.runner.run(job)) for job in (first, second)]

    # The 429 sends the first job back to the head of the line; the pause holds everyone.
    await until(lambda: len(rig.images.calls) == 1 and rig.line.place(first.id) is not None)
    for _ in range(20):
        await asyncio.sleep(0)
    assert len(rig.images.calls) == 1
    assert [ticket.job_id for ticket, _ in rig.line.waiting()] == [first.id, second.id]

    rig.clock.now += 0.05
    rig.line.poke()
    await asyncio.gather(*runs)

    assert [job_id for job_id, _ in rig.publisher.pictures] == [first.id, second.id]
    assert len(rig.images.calls) == 3
    assert len(rig.chat.asked) == 2  # one plan per job: the first one's was not made again
    assert rig.publisher.sentences == []
    again = await rig.state(first)
    assert (again.state, again.attempts) == (JobState.DONE, 1)


async def test_a_429_out_of_quota_ends_in_the_busy_sentence(rig_here: MakeRig) -> None:
    busy = ProviderBusy(30, passing=False)
    rig = rig_here(images=ScriptedImages({0: busy}, usage=USAGE))
    job = await rig.admit(order())

    await rig.runner.run(job)

    assert len(rig.images.calls) == 1
    assert rig.publisher.said(job.id) == [busy.user_message]
    assert "busy" in busy.user_message
    await assert_released(rig, job)


@pytest.mark.parametrize(
    ("expires_in", "painted"),
    [(START_MARGIN - timedelta(seconds=1), False), (START_MARGIN + timedelta(seconds=1), True)],
)
async def test_a_job_starts_only_while_its_token_leaves_time_to_answer(
    rig_here: MakeRig,
    expires_in: timedelta,
    painted: bool,
) -> None:
    rig = rig_here()
    job = await rig.admit(order(delivery=token_delivery(expires_in)))

    await rig.runner.run(job)

    ended = await rig.state(job)
    if painted:
        assert ended.state is JobState.DONE
        return
    assert (ended.state, ended.attempts) == (JobState.FAILED, 0)
    assert rig.publisher.said(job.id) == [WaitedTooLong.user_message]
    assert rig.images.calls == [] and rig.chat.asked == []
    await assert_released(rig, job)


async def test_the_takes_of_one_batch_share_one_chat_call_for_their_prompts(
    rig_here: MakeRig,
) -> None:
    rig = rig_here(
        concurrency=2, chat=ScriptedChat("1. A red cat.\n2. A blue cat.\n3. A green cat.")
    )
    takes = [
        await rig.admit(order(JobKind.VARIATION, batch="press-1", take=take, takes=3))
        for take in range(3)
    ]

    # Two takes start at once: one writes every take's prompt, the other waits and reads its own.
    await asyncio.gather(rig.runner.run(takes[2]), rig.runner.run(takes[0]))
    stored = await rig.store.batch_jobs("press-1")
    assert [job.prompt for job in stored] == ["A red cat.", "A blue cat.", "A green cat."]
    await rig.runner.run(takes[1])

    assert len(rig.chat.asked) == 1
    assert sorted(prompt for prompt, _ in rig.images.calls) == [
        "A blue cat.",
        "A green cat.",
        "A red cat.",
    ]
    for take, job in enumerate(takes):
        picture = await rig.store.picture((await rig.state(job)).picture_id or 0)
        assert picture is not None and (picture.kind, picture.prompt) == (
            "variation",
            stored[take].prompt,
        )

"""bot/studio.py on real SQLite: admission (policy, shaping, the reservation with the job
row, in one step) and the named services the cogs call instead of the store."""

from __future__ import annotations

import aiohttp
import pytest

from bot.errors import PicassoError
from bot.models import ERASED, GuildSettings, ImageRequest, Quality, Size, Who
from bot.policy import LimitKind, LimitReached, Refused, limit_sentence
from bot.storage.job_records import JobKind, JobState
from bot.storage.repository import Store
from bot.studio import SpendCaps, Studio
from tests.storage.records import post_picture
from tests.unit.jobs_rig import ALICE, BOB, CHANNEL, GUILD, NOW, TODAY, Rig, make_rig, order


@pytest.fixture
def rig(store: Store, downloads: aiohttp.ClientSession) -> Rig:
    return make_rig(store, downloads)


async def test_admission_refuses_beyond_running_and_queued_and_records_nothing(
    rig: Rig,
) -> None:
    settings = GuildSettings(user_running=1, user_queued=1)
    for _ in range(2):
        await rig.studio.admit(order(), settings)

    with pytest.raises(LimitReached) as refused:
        await rig.studio.admit(order(), settings)

    assert refused.value.kind is LimitKind.IN_FLIGHT
    assert refused.value.user_message == limit_sentence(LimitKind.IN_FLIGHT, 2)
    assert len(await rig.store.unfinished_jobs()) == 2
    assert (await rig.store.usage(GUILD, ALICE, TODAY)).pictures == 2  # the third held nothing
    await rig.studio.admit(order(user=BOB), settings)  # per person


async def test_admission_shapes_the_request_and_stores_the_servers_choices(rig: Rig) -> None:
    settings = GuildSettings(max_size="square", max_quality="medium", style_guide="muted")
    wanted = ImageRequest("a cat", size=Size.LANDSCAPE, quality=Quality.HIGH)

    job = await rig.studio.admit(order(request=wanted), settings)

    assert (job.spec.request.size, job.spec.request.quality) == (Size.SQUARE, Quality.MEDIUM)
    assert job.spec.note == (
        "This server's settings applied: size limited to square, quality limited to medium."
    )
    assert job.spec.options.style_guide == "muted"
    assert job.reservation.estimate_micros == rig.studio.estimate(settings, job.spec.request)


async def test_admission_checks_what_was_typed_for_blocked_words(rig: Rig) -> None:
    settings = GuildSettings(blocked_words=("dragon",))
    with pytest.raises(Refused, match="blocked"):
        await rig.studio.admit(order(JobKind.REFINE, text="add a dragon"), settings)
    assert await rig.store.unfinished_jobs() == []


async def test_an_edit_holds_more_than_painting_anew(rig: Rig) -> None:
    request = ImageRequest("a cat", quality=Quality.LOW)
    anew = rig.studio.estimate(GuildSettings(), request)
    assert rig.studio.estimate(GuildSettings(), request, input_images=1) > anew > 0


async def test_settings_change_atomically_per_server(rig: Rig) -> None:
    studio = rig.studio
    changed = await studio.change_settings(GUILD, lambda s: s.replace(cooldown_seconds=30))
    assert changed.cooldown_seconds == 30
    assert (await studio.settings_for(GUILD)).cooldown_seconds == 30
    assert (await studio.settings_for(None)).cooldown_seconds == 0  # DMs are their own


async def test_pictures_are_found_listed_traced_and_erased(rig: Rig) -> None:
    studio, store = rig.studio, rig.store
    first = await post_picture(store, 900, NOW, user=ALICE)
    second = await post_picture(store, 901, NOW, user=ALICE, parent=first)

    found = await studio.picture_by_message(901)
    assert found is not None and found.id == second and found.parent_id == first
    assert [p.id for p in await studio.ancestry(second)] == [second, first]
    assert [p.id for p in await studio.history(ALICE, GUILD, limit=1, offset=1)] == [first]

    await studio.erase_picture(second)
    assert await studio.picture_by_message(901) is None
    erased = await studio.picture(second)
    assert erased is not None and erased.message_id is None and erased.prompt == ERASED
    assert erased.parent_id == first  # the lineage stays


async def test_models_a_server_may_choose(rig: Rig) -> None:
    assert rig.studio.default_model in rig.studio.known_models()
    assert "gpt-image-2" in rig.studio.known_models()  # priced in the default table


async def test_standing_counts_what_is_under_way(rig: Rig) -> None:
    await rig.studio.admit(order(), GuildSettings())
    standing = await rig.studio.standing(Who(ALICE, GUILD, CHANNEL))
    assert (standing.in_flight, standing.user_today.pictures) == (1, 1)


async def test_the_bots_caps_join_every_admission(rig: Rig) -> None:
    capped = SpendCaps(daily_micros=1)
    studio = Studio(rig.store, rig.studio.pipeline, {}, clock=lambda: NOW, bot_budget=capped)
    with pytest.raises(LimitReached) as refused:
        await studio.admit(order(), GuildSettings())
    assert refused.value.kind is LimitKind.BOT_DAILY_BUDGET
    assert refused.value.user_message == (
        "The bot's image budget for today is used up — please try again tomorrow."
    )


async def test_the_operator_sees_the_whole_bots_usage(rig: Rig) -> None:
    await rig.studio.admit(order(), GuildSettings())
    await rig.studio.admit(order(user=BOB), GuildSettings())
    usage = await rig.studio.bot_usage()
    assert usage.today.pictures == usage.month.pictures == 2
    assert {guild for guild, _ in usage.top_servers} == {GUILD}


async def test_a_person_is_forgotten_only_once_nothing_of_theirs_is_under_way(rig: Rig) -> None:
    await post_picture(rig.store, 900, NOW, user=ALICE)
    waiting = await rig.studio.admit(order(), GuildSettings())
    with pytest.raises(PicassoError, match="wait until they are finished"):
        await rig.studio.forget_person(GUILD, ALICE)
    await rig.store.end_job(waiting, JobState.CANCELLED, None, NOW)
    assert await rig.studio.forget_person(GUILD, ALICE) == 1


async def test_attached_pictures_are_held_for_as_edit_inputs(rig: Rig) -> None:
    settings = GuildSettings()
    job = await rig.studio.admit(order(uploads=("https://cdn/a.png",)), settings)
    assert job.spec.uploads == ("https://cdn/a.png",)
    assert job.reservation.estimate_micros == rig.studio.estimate(
        settings, job.spec.request, input_images=1
    )
    reply = await rig.studio.admit(order(JobKind.REFINE, uploads=("u1", "u2")), settings)
    assert reply.reservation.estimate_micros == rig.studio.estimate(
        settings,
        reply.spec.request,
        input_images=3,  # the bot's picture and both of yours
    )


async def test_a_preview_expands_and_prices_but_paints_and_reserves_nothing(rig: Rig) -> None:
    settings = GuildSettings(max_quality="medium")
    wanted = ImageRequest("a cat", quality=Quality.HIGH)

    preview = await rig.studio.preview(Who(ALICE, GUILD, CHANNEL), wanted, settings)

    assert (preview.prompt, preview.expanded) == ("A detailed prompt.", True)
    assert preview.request.quality is Quality.MEDIUM  # the server's ceiling, as admit applies
    assert preview.note == "This server's settings applied: quality limited to medium."
    assert preview.estimate_micros == rig.studio.estimate(settings, preview.request) > 0
    assert rig.images.calls == []
    assert await rig.store.unfinished_jobs() == []
    assert (await rig.store.usage(GUILD, ALICE, TODAY)).pictures == 0


async def test_a_preview_checks_blocked_words_before_asking_the_chat_model(rig: Rig) -> None:
    settings = GuildSettings(blocked_words=("dragon",))
    with pytest.raises(Refused, match="blocked"):
        await rig.studio.preview(Who(ALICE, GUILD, CHANNEL), ImageRequest("a dragon"), settings)
    assert rig.chat.asked == []

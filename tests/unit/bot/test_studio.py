"""bot/studio.py on real SQLite: admission (policy, shaping, the reservation with the job
row, in one step) and the named services the cogs call instead of the store."""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp
import pytest

from bot.errors import ModerationBlocked, PicassoError
from bot.imaging.pipeline import Pipeline
from bot.imaging.pricing import DEFAULT_PRICES, ChatTokens
from bot.models import ERASED, GuildSettings, ImageRequest, Quality, Size, Who
from bot.policy import LimitKind, LimitReached, Refused, limit_sentence
from bot.storage.job_records import JobKind, JobState
from bot.storage.repository import BOT_WIDE, GUILD_WIDE, Forgotten, Store
from bot.studio import SpendCaps, Studio
from tests.storage.records import post_picture
from tests.unit.doubles import ScriptedChat
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
    settings = GuildSettings(max_size="square", max_quality=Quality.MEDIUM, style_guide="muted")
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
    assert await rig.studio.forget_person(GUILD, ALICE) == Forgotten(pictures=1, copies=0)


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
    settings = GuildSettings(max_quality=Quality.MEDIUM)
    wanted = ImageRequest("a cat", quality=Quality.HIGH)

    preview = await rig.studio.preview(Who(ALICE, GUILD, CHANNEL), wanted, settings)

    assert (preview.prompt, preview.expanded) == ("A detailed prompt.", True)
    assert preview.request.quality is Quality.MEDIUM  # the server's ceiling, as admit applies
    assert preview.note == "This server's settings applied: quality limited to medium."
    assert preview.estimate_micros == rig.studio.estimate(settings, preview.request) > 0
    assert rig.images.calls == []
    assert await rig.store.unfinished_jobs() == []
    assert (await rig.store.usage(GUILD, ALICE, TODAY)).pictures == 0


PROMPT_TOKENS = ChatTokens(2000, 300)  # what the chat double bills for each prompt
PROMPT_COST = round(2000 * 0.75 + 300 * 4.5)  # at the default CHAT_PRICES of gpt-5.4-mini


@pytest.fixture
def metered(store: Store, downloads: aiohttp.ClientSession) -> Rig:
    """A rig whose prompt writer bills PROMPT_TOKENS for each prompt."""
    return make_rig(store, downloads, chat=ScriptedChat(tokens=PROMPT_TOKENS))


@pytest.mark.parametrize(
    ("settings", "kind"),
    [
        (GuildSettings(user_daily_pictures=1), LimitKind.USER_PICTURES),
        (GuildSettings(cooldown_seconds=60), LimitKind.COOLDOWN),
        (GuildSettings(user_daily_usd=0.2), LimitKind.USER_DAILY_BUDGET),
    ],
)
async def test_a_preview_past_a_limit_is_refused_as_imagine_is_before_any_model_call(
    rig: Rig, settings: GuildSettings, kind: LimitKind
) -> None:
    """Measured before: at the daily limit, a preview still asked the chat model."""
    await rig.studio.admit(order(request=ImageRequest("a cat", quality=Quality.HIGH)), settings)
    with pytest.raises(LimitReached) as admitted:
        await rig.studio.admit(order(), settings)

    with pytest.raises(LimitReached) as previewed:
        await rig.studio.preview(Who(ALICE, GUILD, CHANNEL), ImageRequest("a cat"), settings)

    assert previewed.value.kind is admitted.value.kind is kind
    assert previewed.value.user_message == admitted.value.user_message  # the same sentence
    assert rig.chat.asked == []
    assert (await rig.store.usage(GUILD, ALICE, TODAY)).pictures == 1  # nothing held


async def test_a_previews_prompt_writing_is_charged_and_counted_without_a_picture(
    metered: Rig,
) -> None:
    rig, who = metered, Who(ALICE, GUILD, CHANNEL)
    settings = GuildSettings(user_daily_pictures=1, cooldown_seconds=60)

    previews = [await rig.studio.preview(who, ImageRequest("a cat"), settings) for _ in range(3)]

    assert [preview.charged_micros for preview in previews] == [PROMPT_COST] * 3
    for place, person, period in (
        (GUILD, ALICE, TODAY),
        (GUILD, GUILD_WIDE, TODAY),
        (GUILD, GUILD_WIDE, TODAY[:7]),
        (BOT_WIDE, GUILD_WIDE, TODAY[:7]),
    ):
        used = await rig.store.usage(place, person, period)
        assert (used.pictures, used.reserved_micros, used.spent_micros) == (0, 0, 3 * PROMPT_COST)
    standing = await rig.studio.standing(who)  # what /quota shows
    assert standing.user_today.spent_micros == 3 * PROMPT_COST
    assert standing.cooldown_left == 0  # a preview starts no cooldown
    await rig.studio.admit(order(), settings)  # Paint right after: within every limit


async def test_a_preview_its_content_check_refuses_is_still_charged(metered: Rig) -> None:
    class FlagsAll:
        async def flagged(self, texts: list[str], images: Sequence[bytes] = ()) -> list[str]:
            return ["violence"]

    pipeline = Pipeline(metered.chat, metered.images, prices=DEFAULT_PRICES, moderator=FlagsAll())
    studio = Studio(metered.store, pipeline, DEFAULT_PRICES, clock=lambda: NOW)
    with pytest.raises(ModerationBlocked):
        await studio.preview(Who(ALICE, GUILD, CHANNEL), ImageRequest("a cat"), GuildSettings())
    used = await metered.store.usage(GUILD, ALICE, TODAY)
    assert (used.pictures, used.spent_micros) == (0, PROMPT_COST)


async def test_a_preview_checks_blocked_words_before_asking_the_chat_model(rig: Rig) -> None:
    settings = GuildSettings(blocked_words=("dragon",))
    with pytest.raises(Refused, match="blocked"):
        await rig.studio.preview(Who(ALICE, GUILD, CHANNEL), ImageRequest("a dragon"), settings)
    assert rig.chat.asked == []

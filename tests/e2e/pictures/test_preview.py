"""Prompt preview end to end: `/imagine preview:true` (or the server's default) shows the
prompt and its cost privately, paints nothing and holds nothing until 🎨 Paint; ✏️ Edit
prompt paints the edited text as written; ✖ Discard and time end a preview. A preview is
refused as the picture would be, before any model call, and only its prompt writing is
charged (free here unless a test prices the chat model: see conftest's CHAT_PRICES)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any, cast

import pytest

from bot.app import Picasso
from bot.formatting import usd
from cogs.pictures.preview import DISCARDED, EXPIRED, NOT_YOURS, PAINTED_ALREADY, PAINTING
from tests.e2e.admin_kit import PICTURE, admin_says, draw, outcome
from tests.e2e.conftest import ALICE, BOB, CHANNEL_ID, GUILD_ID, StartBot, jobs_ended, stop_bot
from tests.e2e.picture_kit import (
    button_ids,
    imagine,
    is_picture,
    is_private,
    is_sentence,
    settled,
    use_settings,
)
from tests.fakes.discord_api import FakeDiscord, FakeInteraction
from tests.fakes.openai_api import FakeOpenAI


async def shown_preview(interaction: FakeInteraction) -> dict[str, Any]:
    """Wait for the private preview (an embed with buttons) and return it."""
    await interaction.wait_done(
        lambda i: bool(i.shown and i.shown.get("embeds") and button_ids(i.shown))
    )
    message = interaction.shown
    assert message is not None and is_private(message), message
    return message


async def ask_preview(
    discord_fake: FakeDiscord, description: str, **options: Any
) -> dict[str, Any]:
    """Run /imagine with `options` and return the private preview."""
    interaction = await imagine(discord_fake, description, wait=False, **options)
    return await shown_preview(interaction)


async def press(
    discord_fake: FakeDiscord, message: dict[str, Any], action: str, user_id: int = ALICE
) -> FakeInteraction:
    """Press 🎨 Paint, ✏️ Edit prompt or ✖ Discard under a preview."""
    custom_id = next(c for c in button_ids(message) if c.startswith(f"picasso:preview:{action}:"))
    return await discord_fake.click(
        int(message["id"]),
        custom_id,
        user_id=user_id,
        guild_id=GUILD_ID,
        channel_id=int(message["channel_id"]),
    )


def last_painted(openai_fake: FakeOpenAI) -> str:
    """The prompt of the last image request."""
    painted = [r.json for r in openai_fake.requests if r.endpoint == "images"]
    return str(cast(dict[str, Any], painted[-1])["prompt"])


def private_answer(interaction: FakeInteraction) -> dict[str, Any]:
    """The message a press was answered with, privately."""
    message = interaction.callbacks[0]["data"]
    assert is_private(message), message
    return cast(dict[str, Any], message)


def preview_ttl(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Shorten how long a preview lasts, in the module the running bot loaded (each start of
    the bot loads its cogs anew)."""
    monkeypatch.setattr(sys.modules["cogs.pictures.preview"], "PREVIEW_TTL", seconds)


async def nothing_held(bot: Picasso) -> None:
    """No picture counted and no money held or spent in the test guild today."""
    today, _ = await bot.studio.server_usage(GUILD_ID)
    assert today.pictures == 0 and today.spent_micros == 0


async def test_a_preview_shows_the_prompt_and_cost_then_paint_paints_exactly_it(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    bot = await start_bot()
    message = await ask_preview(discord_fake, "a beach sunset", preview=True)

    embed = message["embeds"][0]
    assert embed["title"] == "a beach sunset"
    prompt = embed["description"]
    assert "a beach sunset" in prompt and prompt != "a beach sunset"  # expanded
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Estimated cost"].startswith("$")
    assert openai_fake.count("images") == 0
    await nothing_held(bot)

    painting = await press(discord_fake, message, "paint")
    result = await settled(painting)

    assert is_picture(result) and not is_private(result), result
    assert openai_fake.count("images") == 1
    assert last_painted(openai_fake) == prompt  # painted as previewed, not expanded again
    assert (await bot.studio.server_usage(GUILD_ID))[0].pictures == 1
    assert discord_fake.messages[int(message["id"])]["content"] == PAINTING
    assert discord_fake.messages[int(message["id"])]["components"] == []
    # The picture the preview showed: a new picture whose prompt the chat model wrote.
    recorded = await bot.studio.picture_by_message(int(result["id"]))
    assert recorded is not None and recorded.kind == "imagine"
    assert result["embeds"][0]["footer"]["text"] == "Prompt expanded by the chat model"
    assert not any("🧠" in (edit.get("content") or "") for edit in painting.edits)


async def test_a_preview_of_a_set_estimates_the_set_and_paints_it(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    bot = await start_bot()
    one = await ask_preview(discord_fake, "a beach sunset", preview=True, quality="low")
    three = await ask_preview(discord_fake, "a beach sunset", preview=True, quality="low", count=3)
    costs = [
        {f["name"]: f["value"] for f in message["embeds"][0]["fields"]} for message in (one, three)
    ]
    assert "Pictures" not in costs[0] and costs[1]["Pictures"] == "3"
    single = float(costs[0]["Estimated cost"].lstrip("$"))
    assert float(costs[1]["Estimated cost"].lstrip("$")) == pytest.approx(3 * single, rel=0.01)
    result = await settled(await press(discord_fake, three, "paint"))
    assert is_picture(result) and len(result["attachments"]) == 3
    [call] = [r.json for r in openai_fake.requests if r.endpoint == "images"]
    assert cast(dict[str, Any], call)["n"] == 3
    assert (await bot.studio.server_usage(GUILD_ID))[0].pictures == 3


async def test_edit_prompt_paints_the_edited_text_as_written(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    bot = await start_bot()
    message = await ask_preview(discord_fake, "a beach sunset", preview=True)
    prompt = message["embeds"][0]["description"]

    opening = await press(discord_fake, message, "edit")
    await opening.wait_responded()
    form = opening.callbacks[0]
    assert form["type"] == 9  # the form is the first answer
    fields = [c for row in form["data"]["components"] for c in row.get("components", [])]
    assert [f.get("value") for f in fields] == [prompt]  # pre-filled with the prompt

    edited = "A lighthouse at dusk, oil on canvas, no people"
    submitted = await discord_fake.submit_modal(
        form["data"]["custom_id"],
        {"prompt": edited},
        user_id=ALICE,
        guild_id=GUILD_ID,
        channel_id=int(message["channel_id"]),
    )
    result = await settled(submitted)

    assert is_picture(result) and not is_private(result), result
    assert last_painted(openai_fake) == edited
    assert openai_fake.count("images") == 1
    recorded = await bot.studio.picture_by_message(int(result["id"]))
    assert recorded is not None and recorded.kind == "prompt"  # the person's own prompt
    assert result["embeds"][0]["footer"]["text"] == "Your words, as written"


async def test_discard_says_so_and_paints_nothing(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    bot = await start_bot()
    message = await ask_preview(discord_fake, "a beach sunset", preview=True)

    discarding = await press(discord_fake, message, "discard")
    await discarding.wait_done()

    now = discord_fake.messages[int(message["id"])]
    assert now["content"] == DISCARDED and not now["embeds"] and not button_ids(now)
    await jobs_ended()
    assert openai_fake.count("images") == 0
    await nothing_held(bot)


async def test_only_the_person_who_asked_may_paint(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot()
    message = await ask_preview(discord_fake, "a beach sunset", preview=True)

    for action in ("paint", "edit", "discard"):
        pressing = await press(discord_fake, message, action, user_id=BOB)
        await pressing.wait_responded()
        assert private_answer(pressing)["content"] == NOT_YOURS

    await jobs_ended()
    assert openai_fake.count("images") == 0
    assert button_ids(discord_fake.messages[int(message["id"])])  # still Alice's to use


async def test_the_servers_default_makes_a_plain_imagine_a_private_preview(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    bot = await start_bot()
    await use_settings(bot, preview=True)

    interaction = await imagine(discord_fake, "a beach sunset", wait=False)
    message = await shown_preview(interaction)

    assert interaction.original is None  # the public "thinking…" went
    assert message["embeds"][0]["title"] == "a beach sunset"
    assert openai_fake.count("images") == 0

    painted = await imagine(discord_fake, "a quiet harbour", preview=False)
    assert is_picture(painted.original) and openai_fake.count("images") == 1


async def test_a_preview_left_alone_expires_with_a_sentence(
    start_bot: StartBot,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await start_bot()
    preview_ttl(monkeypatch, 0.3)
    message = await ask_preview(discord_fake, "a beach sunset", preview=True)

    await discord_fake.wait_for(
        lambda: discord_fake.messages[int(message["id"])]["content"] == EXPIRED,
        5,
        what="the preview to expire",
    )
    assert not button_ids(discord_fake.messages[int(message["id"])])


async def test_a_press_on_an_old_preview_answers_that_it_expired(
    start_bot: StartBot,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await start_bot()
    message = await ask_preview(discord_fake, "a beach sunset", preview=True)
    preview_ttl(monkeypatch, 0.0)  # as if its expiry were lost in a restart

    painting = await press(discord_fake, message, "paint")
    await painting.wait_responded()

    assert private_answer(painting)["content"] == EXPIRED
    await jobs_ended()
    assert openai_fake.count("images") == 0


def said(interaction: FakeInteraction) -> str:
    """The sentence a press ended with (its response, or the follow-up replacing it)."""
    shown = interaction.shown
    assert shown is not None
    return str(shown.get("content") or "")


async def test_paint_pressed_twice_makes_one_picture_and_one_charge(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    """Measured before: two image requests, two pictures, both charged."""
    bot = await start_bot()
    message = await ask_preview(discord_fake, "a beach sunset", preview=True)
    first, second = await asyncio.gather(
        press(discord_fake, message, "paint"), press(discord_fake, message, "paint")
    )
    shown = [await settled(first), await settled(second)]
    assert sorted(is_picture(message) for message in shown) == [False, True]
    refused = first if not is_picture(shown[0]) else second
    assert said(refused) == PAINTED_ALREADY
    assert openai_fake.count("images") == 1
    assert (await bot.studio.server_usage(GUILD_ID))[0].pictures == 1


async def test_a_preview_painted_after_a_restart_paints_once(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    """The preview's state is in the database: a bot that restarted since it showed the
    preview (and so can no longer take its buttons away) still paints it once."""
    before = await start_bot()
    message = await ask_preview(discord_fake, "a beach sunset", preview=True)
    await stop_bot(before)
    after = await start_bot()
    assert is_picture(await settled(await press(discord_fake, message, "paint")))
    assert button_ids(discord_fake.messages[int(message["id"])])  # it could not take them away
    again = await press(discord_fake, message, "paint")
    await settled(again)
    assert said(again) == PAINTED_ALREADY
    assert openai_fake.count("images") == 1
    assert (await after.studio.server_usage(GUILD_ID))[0].pictures == 1


# --- what a preview is checked against and charged ---------------------------------------------

PRICED_CHAT = '{"gpt-5.4-mini": {"input": 100, "output": 100}}'  # a cent a preview, or so


async def preview_or_refusal(discord_fake: FakeDiscord, description: str) -> FakeInteraction:
    """Ask for a preview; return once it is shown (with its buttons) or refused."""
    interaction = await imagine(discord_fake, description, wait=False, preview=True)
    await interaction.wait_done(
        lambda i: bool(i.shown and (button_ids(i.shown) or is_sentence(i.shown)))
    )
    await jobs_ended()
    return interaction


def model_calls(openai_fake: FakeOpenAI) -> tuple[int, int]:
    """The chat and moderation requests the fake OpenAI received."""
    return openai_fake.count("chat"), openai_fake.count("moderations")


async def test_a_preview_at_the_daily_limit_is_refused_before_any_model_call(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    """Measured before: the chat and moderation calls were made and a preview was shown."""
    await start_bot(PARTIAL_IMAGES="0")
    await admin_says(discord_fake, "limits", user_daily_pictures=1)
    assert await draw(discord_fake) == PICTURE
    asked = model_calls(openai_fake)
    assert asked >= (1, 1)

    refused = await preview_or_refusal(discord_fake, "a beach sunset")

    assert refused.shown is not None and is_private(refused.shown)
    assert not refused.shown.get("embeds") and not button_ids(refused.shown)
    said = outcome(refused)
    assert said.startswith("You've reached your daily limit of 1 picture — it resets in "), said
    assert said.endswith(", at midnight UTC.")  # /imagine's sentence, word for word
    assert model_calls(openai_fake) == asked  # no chat and no moderation request


async def test_paint_right_after_a_preview_is_not_refused_by_a_cooldown(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    bot = await start_bot(PARTIAL_IMAGES="0", CHAT_PRICES=PRICED_CHAT)
    await admin_says(discord_fake, "limits", cooldown_seconds=600)
    message = await ask_preview(discord_fake, "a beach sunset", preview=True)

    result = await settled(await press(discord_fake, message, "paint"))

    assert is_picture(result), result  # the preview started no cooldown
    assert (await bot.studio.server_usage(GUILD_ID))[0].pictures == 1
    asked = model_calls(openai_fake)
    refused = await preview_or_refusal(discord_fake, "a quiet harbour")  # the picture did
    assert outcome(refused).startswith("Slow down — you can make another picture in ")
    assert model_calls(openai_fake) == asked


async def test_a_loop_of_previews_is_charged_until_the_budget_refuses_it(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    """Measured before: previews were free, so a loop of them was unbounded spend."""
    bot = await start_bot(PARTIAL_IMAGES="0", CHAT_PRICES=PRICED_CHAT)
    await admin_says(discord_fake, "budget", user_daily_usd=0.2)
    store, day = bot.studio.store, bot.studio.periods().day
    spent = [0]
    for _ in range(20):
        shown = await preview_or_refusal(discord_fake, "a beach sunset")
        if not button_ids(shown.shown or {}):
            break
        footer = (shown.shown or {})["embeds"][0]["footer"]["text"]
        assert footer.startswith("Nothing is painted until you press 🎨 Paint; writing this")
        used = await store.usage(GUILD_ID, ALICE, day)
        assert used.pictures == 0 and used.reserved_micros == 0
        assert used.spent_micros > spent[-1]  # every preview's prompt writing is charged
        spent.append(used.spent_micros)
    else:
        raise AssertionError("twenty previews were never refused")

    assert len(spent) > 2  # several previews, each charged, before the budget said no
    assert outcome(shown).startswith("Your daily spending limit of $0.20 has too little left")
    asked = model_calls(openai_fake)
    assert (await preview_or_refusal(discord_fake, "a beach sunset")).shown is not None
    assert model_calls(openai_fake) == asked  # refused ones cost nothing
    assert openai_fake.count("images") == 0
    quota = await discord_fake.invoke(
        "quota", {}, user_id=ALICE, guild_id=GUILD_ID, channel_id=CHANNEL_ID
    )
    await quota.wait_done()
    assert quota.original is not None
    lines = quota.original["embeds"][0]["description"].split("\n")
    assert f"Your money today: {usd(200_000 - spent[-1])} of $0.20 left" in lines
    assert "Your pictures today: no limit" in lines

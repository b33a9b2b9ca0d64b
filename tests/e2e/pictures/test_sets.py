"""Several pictures from one request (`/imagine count:`), end to end: one provider call, one
message with the pictures numbered, every picture refined, rerolled or deleted on its own,
and the whole set admitted against the limits or none of it."""

from __future__ import annotations

from typing import Any, cast

from bot.studio import Studio
from tests.e2e.admin_kit import admin_says
from tests.e2e.conftest import ALICE, CHANNEL_ID, GUILD_ID, StartBot
from tests.e2e.picture_kit import (
    button_ids,
    imagine,
    is_picture,
    is_sentence,
    picture_id,
    reply_to,
    scripted_chat,
    settled,
)
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.openai_api import FakeOpenAI

FAST = {"PARTIAL_IMAGES": "0"}


async def four_pictures(discord_fake: FakeDiscord, count: int = 4) -> dict[str, Any]:
    """Run /imagine count:`count` and return the message showing the set."""
    interaction = await imagine(discord_fake, "a lighthouse at dusk", count=count)
    message = interaction.original
    assert is_picture(message), message
    assert message is not None
    return message


def ids_by_number(message: dict[str, Any]) -> dict[int, int]:
    """Picture id by its number in the set, read off the labels of the rows of buttons."""
    found: dict[int, int] = {}
    for row in message["components"]:
        for button in row["components"]:
            if button["custom_id"].startswith("picasso:reroll:"):
                found[int(button["label"])] = int(button["custom_id"].rsplit(":", 1)[1])
    return found


async def press(
    discord_fake: FakeDiscord, message: dict[str, Any], action: str, picture: int
) -> Any:
    """Press `action`'s button of picture id `picture` under `message` as alice."""
    return await discord_fake.click(
        int(message["id"]),
        f"picasso:{action}:{picture}",
        user_id=ALICE,
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
    )


async def test_four_pictures_come_from_one_call_in_one_numbered_message(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    bot = await start_bot(**FAST)
    message = await four_pictures(discord_fake)
    [call] = [r for r in openai_fake.requests if r.endpoint == "images"]
    assert cast(dict[str, Any], call.json)["n"] == 4
    assert len(message["attachments"]) == 4 and len(message["_files"]) == 4
    head, *pictures = message["embeds"]
    assert head["title"] == "a lighthouse at dusk" and "image" not in head
    assert [embed["description"] for embed in pictures] == ["**#1**", "**#2**", "**#3**", "**#4**"]
    assert [len(row["components"]) for row in message["components"]] == [5, 5, 5, 5]
    numbered = ids_by_number(message)
    assert sorted(numbered) == [1, 2, 3, 4]
    studio: Studio = bot.studio
    recorded = await studio.pictures_by_message(int(message["id"]))
    assert [(p.id, p.number) for p in recorded] == [(numbered[n], n) for n in range(1, 5)]
    assert len({p.image_url for p in recorded}) == 4  # each its own file
    usage = await studio.store.usage(GUILD_ID, ALICE, studio.periods().day)
    assert usage.pictures == 4 and usage.reserved_micros == 0
    assert usage.spent_micros == sum(p.cost_micros for p in recorded) > 0


async def test_one_of_four_is_refined_on_its_own(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.chat_reply = scripted_chat
    bot = await start_bot(**FAST)
    message = await four_pictures(discord_fake)
    third = ids_by_number(message)[3]
    opened = await press(discord_fake, message, "refine", third)
    await opened.wait_responded()
    assert opened.callbacks[0]["data"]["custom_id"] == f"picasso:refine-modal:{third}"
    submitted = await discord_fake.submit_modal(
        f"picasso:refine-modal:{third}",
        {"instruction": "make it night"},
        user_id=ALICE,
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
    )
    refined = await settled(submitted)
    assert is_picture(refined) and len(refined["attachments"]) == 1  # one picture, not four
    child = await bot.studio.picture(picture_id(refined))
    assert child is not None and (child.parent_id, child.kind) == (third, "refine")
    images = [cast(dict[str, Any], r.json) for r in openai_fake.requests if r.endpoint == "images"]
    assert [body.get("n", 1) for body in images] == [4, 1]


async def test_a_reply_to_a_set_names_the_picture_by_its_number(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.chat_reply = scripted_chat
    bot = await start_bot(**FAST, MESSAGE_CONTENT_INTENT="true")
    message = await four_pictures(discord_fake, count=2)
    unnamed = await reply_to(discord_fake, message, "make it night")
    assert is_sentence(unnamed)
    assert unnamed["content"] == (
        "That message has 2 pictures — start your reply with the number of the one to "
        "change, like “#2 make it night”."
    )
    missing = await reply_to(discord_fake, message, "#3 make it night")
    assert missing["content"] == "That message has no picture #3 — it shows #1, #2."
    refined = await reply_to(discord_fake, message, "#2 make it night")
    assert is_picture(refined)
    child = await bot.studio.picture(picture_id(refined))
    assert child is not None and child.parent_id == ids_by_number(message)[2]
    assert child.instruction == "make it night"


async def test_deleting_one_picture_of_a_set_takes_out_only_it(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    bot = await start_bot(**FAST)
    message = await four_pictures(discord_fake, count=3)
    numbered = ids_by_number(message)
    deleted = await press(discord_fake, message, "delete", numbered[2])
    await deleted.wait_done(lambda i: bool(i.shown and i.shown.get("content")))
    shown = discord_fake.messages[int(message["id"])]
    assert [e.get("description") for e in shown["embeds"][1:]] == ["**#1**", "**#3**"]
    assert sorted(a["filename"] for a in shown["attachments"]) == ["picasso-1.png", "picasso-3.png"]
    assert not any(c.endswith(f":{numbered[2]}") for c in button_ids(shown))
    assert len(button_ids(shown)) == 10
    left = await bot.studio.pictures_by_message(int(message["id"]))
    assert [p.number for p in left] == [1, 3]
    for number in (1, 3):
        gone = await press(discord_fake, shown, "delete", numbered[number])
        await gone.wait_done(lambda i: bool(i.shown and i.shown.get("content")))
        shown = discord_fake.messages.get(int(message["id"]), shown)
    assert int(message["id"]) not in discord_fake.messages  # the last one takes the message


async def test_a_set_is_admitted_whole_or_refused_whole(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    bot = await start_bot(**FAST)
    await admin_says(discord_fake, "limits", user_daily_pictures=3)
    refused = await imagine(discord_fake, "four boats", count=4)
    assert refused.shown is not None
    assert refused.shown["content"] == "You have only 3 pictures left today — ask for fewer."
    assert openai_fake.count("images") == 0
    usage = await bot.studio.store.usage(GUILD_ID, ALICE, bot.studio.periods().day)
    assert usage.pictures == 0
    three = await four_pictures(discord_fake, count=3)
    assert len(three["attachments"]) == 3


async def test_the_servers_maximum_caps_the_count_and_says_so(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot(**FAST)
    await admin_says(discord_fake, "defaults", max_count=2)
    message = await four_pictures(discord_fake, count=4)
    assert len(message["attachments"]) == 2
    assert message["embeds"][0]["footer"]["text"] == (
        "This server's settings applied: at most 2 pictures at a time."
    )

"""/history end to end: a person's pictures page by page, and the chain behind a picture."""

from __future__ import annotations

from typing import Any

import pytest

from cogs.common.answering import APOLOGY
from cogs.history.commands import NOT_A_PICTURE, NOT_FOUND
from cogs.history.pages import PAGE_SIZE
from tests.e2e.conftest import ALICE, BOB, CHANNEL_ID, GUILD_ID, StartBot
from tests.e2e.picture_kit import (
    database_down,
    imagine_picture,
    is_private,
    jump,
    picture_id,
    reply_to,
    scripted_chat,
)
from tests.fakes.discord_api import FakeDiscord, FakeInteraction
from tests.fakes.openai_api import FakeOpenAI


async def history(
    discord_fake: FakeDiscord, user_id: int = ALICE, **options: Any
) -> dict[str, Any]:
    """Run /history; the private answer (a listing, a chain or a sentence)."""
    interaction = await discord_fake.invoke(
        "history", options, user_id=user_id, guild_id=GUILD_ID, channel_id=CHANNEL_ID
    )
    return await private_answer(interaction)


async def open_menu(discord_fake: FakeDiscord, message: dict[str, Any]) -> dict[str, Any]:
    """Use the "Picture history" message command on `message` (as alice); its private answer."""
    interaction = await discord_fake.use_message_command(
        "Picture history",
        int(message["id"]),
        user_id=ALICE,
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
    )
    return await private_answer(interaction)


async def private_answer(interaction: FakeInteraction) -> dict[str, Any]:
    """Wait until the loading message became an embed or a sentence; check it is private."""
    await interaction.wait_done(
        lambda i: bool(i.original and (i.original.get("embeds") or i.original.get("content")))
    )
    assert interaction.original is not None and is_private(interaction.original)
    return interaction.original


def lines(message: dict[str, Any]) -> list[str]:
    """The listing lines of a history embed."""
    return message["embeds"][0]["description"].splitlines()


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Newer/Older buttons by label."""
    return {
        b["label"]: b for row in message["components"] for b in row["components"] if b.get("label")
    }


async def turn_page(
    discord_fake: FakeDiscord, message: dict[str, Any], label: str, user_id: int = ALICE
) -> FakeInteraction:
    """Press Newer/Older on a listing and wait until the bot answered."""
    button = buttons(message)[label]
    before = message["embeds"][0]["footer"]["text"]
    interaction = await discord_fake.click(
        int(message["id"]),
        button["custom_id"],
        user_id=user_id,
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
    )
    await interaction.wait_done(
        lambda i: (
            bool(i.callbacks and i.callbacks[0]["type"] == 4)
            or message["embeds"][0]["footer"]["text"] != before
        )
    )
    return interaction


async def test_history_pages_through_my_pictures_newest_first(
    start_bot: StartBot,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bot = await start_bot(PARTIAL_IMAGES="0")
    mine = [
        await imagine_picture(discord_fake, f"picture number {n}") for n in range(PAGE_SIZE + 1)
    ]
    await imagine_picture(discord_fake, "bob's own picture", user_id=BOB)

    first = await history(discord_fake)
    assert len(lines(first)) == PAGE_SIZE
    assert "picture number 8" in lines(first)[0] and jump(mine[-1]) in lines(first)[0]
    assert all("bob" not in line for line in lines(first))
    assert buttons(first)["Newer"]["disabled"] and not buttons(first)["Older"]["disabled"]

    await turn_page(discord_fake, first, "Older")
    assert len(lines(first)) == 1 and jump(mine[0]) in lines(first)[0]
    assert buttons(first)["Older"]["disabled"]
    assert first["embeds"][0]["footer"]["text"].startswith("Page 2")

    await turn_page(discord_fake, first, "Newer")
    assert len(lines(first)) == PAGE_SIZE

    refused = await turn_page(discord_fake, first, "Older", user_id=BOB)
    assert "someone else's" in refused.callbacks[0]["data"]["content"]
    assert is_private(refused.callbacks[0]["data"])
    assert first["embeds"][0]["footer"]["text"].startswith("Page 1")

    monkeypatch.setattr(bot.studio.store, "history", database_down)
    failed = await discord_fake.click(
        int(first["id"]),
        buttons(first)["Older"]["custom_id"],
        user_id=ALICE,
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
    )
    await failed.wait_done(lambda i: bool(i.followups))
    assert [m["content"] for m in failed.followups] == [APOLOGY]
    assert is_private(failed.followups[0])
    assert first["embeds"][0]["footer"]["text"].startswith("Page 1")  # the listing stays


async def test_history_of_a_picture_shows_its_chain_oldest_first(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.chat_reply = scripted_chat
    await start_bot()
    original = await imagine_picture(discord_fake, "a quiet harbour")
    night = await reply_to(discord_fake, original, "make it night")
    fog = await reply_to(discord_fake, night, "add fog")

    chain = await history(discord_fake, picture=jump(fog))
    steps = lines(chain)
    assert len(steps) == 3
    for step, message, words in zip(
        steps, (original, night, fog), ("a quiet harbour", "make it night", "add fog"), strict=True
    ):
        assert jump(message) in step and words in step
    assert "imagined" in steps[0] and "refined" in steps[2]
    assert chain["embeds"][0]["title"] == f"Where picture #{picture_id(fog)} came from"

    by_number = await history(discord_fake, user_id=BOB, picture=f"#{picture_id(night)}")
    assert len(lines(by_number)) == 2
    by_message_id = await history(discord_fake, picture=night["id"])
    assert lines(by_message_id) == lines(by_number)

    unknown = await history(discord_fake, picture="not a picture")
    assert unknown["content"] == NOT_FOUND


async def test_the_picture_history_context_menu(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.chat_reply = scripted_chat
    await start_bot()
    original = await imagine_picture(discord_fake, "a quiet harbour")
    night = await reply_to(discord_fake, original, "make it night")

    shown = await open_menu(discord_fake, night)
    assert len(lines(shown)) == 2
    assert jump(original) in lines(shown)[0] and jump(night) in lines(shown)[1]
    someone = await discord_fake.post_message(CHANNEL_ID, "hello", author_id=BOB, guild_id=GUILD_ID)
    assert (await open_menu(discord_fake, someone))["content"] == NOT_A_PICTURE

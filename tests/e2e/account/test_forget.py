"""/forget-me and 🗑️ Delete end to end: a person's words leave the database, the amounts
stay, and a forgotten picture can no longer be iterated on."""

from __future__ import annotations

from typing import Any

from bot.app import Picasso
from bot.models import ERASED
from bot.storage.repository import GUILD_WIDE
from cogs.account.forget import NOT_YOURS
from cogs.account.render import FORGET_ASK, KEPT
from cogs.pictures.orders import GONE
from tests.e2e.conftest import ALICE, BOB, CHANNEL_ID, GUILD_ID, StartBot
from tests.e2e.picture_kit import click, imagine_picture, is_private, picture_id
from tests.fakes.discord_api import FakeDiscord, FakeInteraction


async def ask_to_forget(discord_fake: FakeDiscord, user_id: int = ALICE) -> dict[str, Any]:
    """Run /forget-me; the private question with its two buttons."""
    interaction = await discord_fake.invoke(
        "forget-me", {}, user_id=user_id, guild_id=GUILD_ID, channel_id=CHANNEL_ID
    )
    await interaction.wait_done(lambda i: i.original is not None)
    assert interaction.original is not None and is_private(interaction.original)
    return interaction.original


async def answer(
    discord_fake: FakeDiscord, question: dict[str, Any], label: str, user_id: int = ALICE
) -> FakeInteraction:
    """Press `label` under the question; wait until the bot answered."""
    buttons = {b["label"]: b for row in question["components"] for b in row["components"]}
    pressed = await discord_fake.click(
        int(question["id"]),
        buttons[label]["custom_id"],
        user_id=user_id,
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
    )
    await pressed.wait_done(
        lambda i: (
            bool(i.callbacks and i.callbacks[0]["type"] == 4)  # told privately
            or question.get("content") != FORGET_ASK
        )  # the question became the answer
    )
    return pressed


async def test_forget_me_erases_the_askers_words_after_they_confirm(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    bot = await start_bot(PARTIAL_IMAGES="0")
    mine = await imagine_picture(discord_fake, "my secret garden")
    theirs = await imagine_picture(discord_fake, "bob's boat", user_id=BOB)
    question = await ask_to_forget(discord_fake)
    assert question["content"] == FORGET_ASK
    assert question["components"][0]["components"][0]["label"] == "Forget me"

    intruder = await answer(discord_fake, question, "Forget me", user_id=BOB)
    assert intruder.original is not None and is_private(intruder.original)
    assert intruder.original["content"] == NOT_YOURS
    assert await words(bot, mine) == "my secret garden"  # nothing happened

    await answer(discord_fake, question, "Forget me")
    assert (
        question["content"]
        == "Done — I erased your words from 1 picture here. Amounts spent stay, without words."
    )
    assert question["components"] == []
    assert await words(bot, mine) == ERASED
    assert await words(bot, theirs) == "bob's boat"
    spent = await bot.studio.store.usage(GUILD_ID, GUILD_WIDE, bot.studio.periods().day)
    assert spent.pictures == 2 and spent.spent_micros > 0  # the books keep the amounts

    reroll = await click(discord_fake, mine, "reroll")
    await reroll.wait_done(lambda i: bool(i.followups))
    assert [m["content"] for m in reroll.followups] == [GONE]  # nothing left to paint from


async def test_keep_my_data_changes_nothing(start_bot: StartBot, discord_fake: FakeDiscord) -> None:
    bot = await start_bot(PARTIAL_IMAGES="0")
    mine = await imagine_picture(discord_fake, "my secret garden")
    question = await ask_to_forget(discord_fake)
    await answer(discord_fake, question, "Keep my data")
    assert question["content"] == KEPT
    assert await words(bot, mine) == "my secret garden"


async def test_delete_erases_the_pictures_words_but_keeps_its_cost(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    bot = await start_bot(PARTIAL_IMAGES="0")
    picture = await imagine_picture(discord_fake, "my secret garden")
    deleted = await click(discord_fake, picture, "delete")
    await deleted.wait_done(lambda i: bool(i.original and i.original.get("content")))
    stored = await bot.studio.picture(picture_id(picture))
    assert stored is not None
    assert (stored.description, stored.prompt, stored.message_id) == (ERASED, ERASED, None)
    assert stored.cost_micros > 0


async def words(bot: Picasso, message: dict[str, Any]) -> str:
    """The description stored for the picture posted as `message`."""
    stored = await bot.studio.picture(picture_id(message))
    assert stored is not None
    return stored.description

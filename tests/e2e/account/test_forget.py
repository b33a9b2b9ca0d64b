"""/forget-me and 🗑️ Delete end to end: a person's words leave the database — theirs and
the copies others made of their pictures — and the audit channel, in one server or
everywhere; the amounts stay, and a forgotten picture can no longer be iterated on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.app import Picasso
from bot.models import ERASED
from bot.storage.job_records import JobSpec
from bot.storage.repository import GUILD_WIDE
from bot.storage.tables import JobRow, Picture
from bot.studio import WORDS_ERASED
from cogs.account.forget import NOT_YOURS
from cogs.account.render import (
    FORGET_ASK,
    FORGET_ASK_EVERYWHERE,
    FORGET_KEEPS,
    KEPT,
    forget_question,
)
from tests.e2e.admin_kit import admin_says
from tests.e2e.conftest import ALICE, BOB, CHANNEL_ID, GUILD_ID, OTHER_CHANNEL_ID, StartBot
from tests.e2e.picture_kit import click, imagine, imagine_picture, is_private, picture_id, settled
from tests.fakes.discord_api import FakeDiscord, FakeInteraction

OTHER_GUILD, OTHER_GUILD_CHANNEL = 6001, 6002
HERE: dict[str, Any] = {"guild_id": GUILD_ID, "channel_id": CHANNEL_ID}


async def ask_to_forget(
    discord_fake: FakeDiscord, user_id: int = ALICE, *, where: dict[str, Any] = HERE, **options: Any
) -> dict[str, Any]:
    """Run /forget-me (`where`: its guild_id and channel_id); the private question with its
    two buttons."""
    interaction = await discord_fake.invoke("forget-me", options, user_id=user_id, **where)
    await interaction.wait_done(lambda i: i.original is not None)
    assert interaction.original is not None and is_private(interaction.original)
    return interaction.original


async def answer(
    discord_fake: FakeDiscord,
    question: dict[str, Any],
    label: str,
    user_id: int = ALICE,
    *,
    where: dict[str, Any] = HERE,
) -> FakeInteraction:
    """Press `label` under the question; wait until the bot answered."""
    asked = question["content"]
    buttons = {b["label"]: b for row in question["components"] for b in row["components"]}
    pressed = await discord_fake.click(
        int(question["id"]), buttons[label]["custom_id"], user_id=user_id, **where
    )
    await pressed.wait_done(
        lambda i: (
            bool(i.callbacks and i.callbacks[0]["type"] == 4)  # told privately
            or question.get("content") != asked
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
    assert question["content"] == f"{FORGET_ASK}\n\n{FORGET_KEEPS}"
    assert question["components"][0]["components"][0]["label"] == "Forget me"

    intruder = await answer(discord_fake, question, "Forget me", user_id=BOB)
    assert intruder.original is not None and is_private(intruder.original)
    assert intruder.original["content"] == NOT_YOURS
    assert await words(bot, mine) == "my secret garden"  # nothing happened

    await answer(discord_fake, question, "Forget me")
    assert question["content"] == (
        "Done — I erased your words from 1 picture in this server.\n\n"
        "What stays, without words: what each picture cost, how many you made, when and "
        "where, with which settings, and which picture was made from which — so the books "
        "and limits still add up. Your pictures stay posted on Discord: I don't delete "
        "posted pictures — 🗑️ Delete under a picture removes it."
    )
    assert question["components"] == []
    assert await words(bot, mine) == ERASED
    assert await words(bot, theirs) == "bob's boat"
    spent = await bot.studio.store.usage(GUILD_ID, GUILD_WIDE, bot.studio.periods().day)
    assert spent.pictures == 2 and spent.spent_micros > 0  # the books keep the amounts

    reroll = await click(discord_fake, mine, "reroll")
    await reroll.wait_done(lambda i: bool(i.followups))
    assert [m["content"] for m in reroll.followups] == [WORDS_ERASED]  # nothing to paint from
    deleted = await click(discord_fake, mine, "delete")  # as the reply says: 🗑️ still works
    await deleted.wait_done(lambda i: bool(i.original and i.original.get("content")))
    assert int(mine["id"]) in discord_fake.deleted_messages


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


async def test_forget_me_erases_the_copies_others_made_and_the_audit_lines(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    """The measured case: alice's picture rerolled by bob; alice forgets — her words leave
    both pictures' rows and both jobs' rows, her audit line is deleted, bob's keeps all
    but the prompt it quoted."""
    bot = await start_bot(PARTIAL_IMAGES="0")
    await admin_says(discord_fake, "audit-channel", channel=OTHER_CHANNEL_ID)
    mine = await imagine_picture(discord_fake, "my secret garden")
    bobs = await settled(await click(discord_fake, mine, "reroll", user_id=BOB))
    unrelated = await imagine_picture(discord_fake, "bob's boat", user_id=BOB)
    await discord_fake.wait_for(lambda: len(audit_lines(discord_fake)) == 3, what="3 lines")
    mine_line, bobs_line, unrelated_line = audit_lines(discord_fake)
    assert "secret garden" in bobs_line["content"]  # the reroll quotes her prompt
    assert len(await rows_with(bot, "secret garden")) == 4  # 2 pictures, 2 jobs

    question = await ask_to_forget(discord_fake)
    await answer(discord_fake, question, "Forget me")

    assert question["content"] == (
        "Done — I erased your words from 1 picture in this server. They are gone from 1 "
        "picture others made from yours, too. I'm taking them out of the audit channel as "
        f"well.\n\n{FORGET_KEEPS}"
    )
    assert await rows_with(bot, "secret garden") == []
    for message in (mine, bobs):
        stored = await bot.studio.picture(picture_id(message))
        assert stored is not None and (stored.description, stored.prompt) == (ERASED, ERASED)
    copy = await bot.studio.picture(picture_id(bobs))
    assert copy is not None and copy.parent_id == picture_id(mine)  # the chain stays
    assert copy.requester_id == BOB and copy.message_id == int(bobs["id"]) and copy.cost_micros
    assert await words(bot, unrelated) == "bob's boat"

    await discord_fake.wait_for(
        lambda: int(mine_line["id"]) in discord_fake.deleted_messages, what="her line deleted"
    )
    await discord_fake.wait_for(
        lambda: bobs_line["content"].endswith(f"\n> {ERASED}"), what="bob's line cleared"
    )
    assert bobs_line["content"].startswith(f"🖼️ <@{BOB}> in <#{CHANNEL_ID}> · $")
    assert "secret garden" not in bobs_line["content"]
    assert audit_lines(discord_fake) == [bobs_line, unrelated_line]
    assert "bob's boat" in unrelated_line["content"]


async def test_forget_me_in_a_dm_erases_every_server_and_the_dms(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    discord_fake.add_guild(OTHER_GUILD, channel_ids=[OTHER_GUILD_CHANNEL], members=[ALICE, BOB])
    bot = await start_bot(PARTIAL_IMAGES="0")
    dm: dict[str, Any] = {"guild_id": None, "channel_id": discord_fake.dm_channel(ALICE).id}
    there: dict[str, Any] = {"guild_id": OTHER_GUILD, "channel_id": OTHER_GUILD_CHANNEL}
    mine = [
        await imagine_picture(discord_fake, "my secret garden"),
        await picture_in(discord_fake, "my secret orchard", **there),
        await picture_in(discord_fake, "my secret pond", **dm),
    ]
    theirs = await picture_in(discord_fake, "bob's boat", user_id=BOB, **there)

    question = await ask_to_forget(discord_fake, where=dm)
    assert question["content"] == forget_question(everywhere=True)
    assert FORGET_ASK_EVERYWHERE in question["content"]
    await answer(discord_fake, question, "Forget me", where=dm)

    assert question["content"] == (
        "Done — I erased your words from 3 pictures, in every server and in our direct "
        f"messages.\n\n{FORGET_KEEPS}"
    )
    assert [await words(bot, message) for message in mine] == [ERASED] * 3
    assert await rows_with(bot, "my secret") == []
    assert await words(bot, theirs) == "bob's boat"


async def test_forget_me_keeps_to_the_server_unless_asked_everywhere(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    discord_fake.add_guild(OTHER_GUILD, channel_ids=[OTHER_GUILD_CHANNEL], members=[ALICE, BOB])
    bot = await start_bot(PARTIAL_IMAGES="0")
    here = await imagine_picture(discord_fake, "my secret garden")
    there = await picture_in(
        discord_fake, "my secret orchard", guild_id=OTHER_GUILD, channel_id=OTHER_GUILD_CHANNEL
    )

    await answer(discord_fake, await ask_to_forget(discord_fake), "Forget me")
    assert [await words(bot, here), await words(bot, there)] == [ERASED, "my secret orchard"]

    question = await ask_to_forget(discord_fake, everywhere=True)
    assert question["content"] == forget_question(everywhere=True)
    await answer(discord_fake, question, "Forget me")
    assert question["content"].startswith(
        "Done — I erased your words from 2 pictures, in every server and in our direct messages."
    )
    assert await words(bot, there) == ERASED


async def picture_in(
    discord_fake: FakeDiscord, description: str, *, user_id: int = ALICE, **where: Any
) -> dict[str, Any]:
    """Run /imagine in another place (`guild_id`, `channel_id`); the finished message."""
    interaction = await imagine(discord_fake, description, user_id=user_id, **where)
    assert interaction.original is not None
    return interaction.original


def audit_lines(discord_fake: FakeDiscord) -> list[dict[str, Any]]:
    """The audit channel's messages, oldest first."""
    return discord_fake.channel_messages(OTHER_CHANNEL_ID)


async def rows_with(bot: Picasso, text: str) -> list[str]:
    """Every picture and job row whose words still hold `text` (read through the store)."""
    async with bot.studio.store._sessions() as session:
        pictures = (await session.scalars(select(Picture))).all()
        jobs = (await session.scalars(select(JobRow))).all()
    found = [
        f"picture {row.id}"
        for row in pictures
        if text in f"{row.description} {row.prompt} {row.instruction}"
    ]
    for job in jobs:
        spec = JobSpec.from_json(job.spec)
        words = f"{spec.request.description} {spec.instruction} {job.prompt}"
        if text in words:
            found.append(f"job {job.id}")
    return found


async def words(bot: Picasso, message: dict[str, Any]) -> str:
    """The description stored for the picture posted as `message`."""
    stored = await bot.studio.picture(picture_id(message))
    assert stored is not None
    return stored.description

"""/queue end to end: a person's own pictures on the way with ❌ Cancel, privately; a
server admin's view of the whole server's line; never anyone else's jobs for a member."""

from __future__ import annotations

from typing import Any

from bot.storage.job_records import JobState
from tests.e2e.conftest import ALICE, BOB, CHANNEL_ID, GUILD_ID, StartBot, jobs_ended
from tests.e2e.picture_kit import ADMIN_PERMISSIONS, button_ids, imagine, is_picture, is_private
from tests.e2e.pictures.test_queue import cancel_id, in_line
from tests.fakes.discord_api import DEFAULT_MEMBER_PERMISSIONS, FakeDiscord, FakeInteraction
from tests.fakes.openai_api import FakeOpenAI, Gate


async def ask_queue(
    discord_fake: FakeDiscord, user_id: int, permissions: int = DEFAULT_MEMBER_PERMISSIONS
) -> FakeInteraction:
    interaction = await discord_fake.invoke(
        "queue",
        {},
        user_id=user_id,
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
        permissions=permissions,
    )
    await interaction.wait_done()
    assert interaction.ephemeral and interaction.original is not None
    assert interaction.edits[-1]["allowed_mentions"]["parse"] == []  # mentions never ping
    return interaction


def listed(interaction: FakeInteraction) -> list[str]:
    """The listing's lines: each job's number and state, then what was asked for."""
    assert interaction.original is not None
    return str(interaction.original["embeds"][0]["description"]).split("\n")


def labels(message: dict[str, Any]) -> list[str]:
    return [b["label"] for row in message.get("components") or [] for b in row["components"]]


def job_id(waiting: FakeInteraction) -> int:
    """A waiting request's job id, from the ❌ Cancel under it."""
    return int(cancel_id(waiting).rsplit(":", 1)[1])


async def painting_one(
    discord_fake: FakeDiscord, painting: Gate, *asked: tuple[str, int]
) -> list[FakeInteraction]:
    """Ask for pictures (description, who) one after another, each once the one before is
    painting (held at `painting` until the test opens it) or in line (so the line's order
    is the order asked in)."""
    interactions: list[FakeInteraction] = []
    for description, user in asked:
        asking = await imagine(discord_fake, description, user_id=user, wait=False)
        if interactions:
            await asking.wait_done(in_line)
        else:
            await discord_fake.wait_for(lambda: painting.waiting == 1, what="the first to paint")
        interactions.append(asking)
    return interactions


async def test_the_asker_sees_their_line_and_cancels_from_it(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    painting = openai_fake.hold_images()  # the first paints while the test looks at the line
    bot = await start_bot(IMAGE_CONCURRENCY="1")
    first, second, third = await painting_one(
        discord_fake, painting, ("a red fox", ALICE), ("a blue whale", ALICE), ("an owl", ALICE)
    )
    ids = [1, job_id(second), job_id(third)]

    shown = await ask_queue(discord_fake, ALICE)

    lines = listed(shown)
    assert lines[0].startswith(f"**#{ids[0]}** · 🎨 Being made, started <t:"), lines
    assert lines[1:] == [
        "a red fox",
        f"**#{ids[1]}** · ⏳ In line — position 1",
        "a blue whale",
        f"**#{ids[2]}** · ⏳ In line — position 2",
        "an owl",
    ]
    assert shown.original is not None
    assert button_ids(shown.original) == [f"picasso:cancel:{n}" for n in ids[1:]]
    assert labels(shown.original) == [f"Cancel #{n}" for n in ids[1:]]

    pressed = await discord_fake.click(
        int(shown.original["id"]),
        f"picasso:cancel:{ids[1]}",
        user_id=ALICE,
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
    )
    await pressed.wait_done(lambda i: bool(i.followups))
    assert [m["content"] for m in pressed.followups] == [
        f"❌ Cancelled #{ids[1]} — nothing was painted or charged."
    ]
    assert is_private(pressed.followups[0])
    await second.wait_done(lambda i: bool(i.followups))
    assert second.original is None  # its own "in line" message is gone, as after any cancel
    painting.open()
    for made in (first, third):
        await made.wait_done(lambda i: is_picture(i.original), timeout=30)
    await jobs_ended()
    assert openai_fake.count("images") == 2  # nothing was painted for the cancelled one
    cancelled = await bot.studio.store.job(ids[1])
    assert cancelled is not None and cancelled.state is JobState.CANCELLED


async def test_a_member_sees_only_their_own_and_an_admin_the_whole_servers_line(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    painting = openai_fake.hold_images()  # the first paints while the test looks at the line
    await start_bot(IMAGE_CONCURRENCY="1")
    _, alices, bobs = await painting_one(
        discord_fake, painting, ("alice paints", ALICE), ("alice waits", ALICE), ("bob", BOB)
    )
    alice_waiting, bob_waiting = job_id(alices), job_id(bobs)

    member = await ask_queue(discord_fake, BOB)
    assert listed(member) == [f"**#{bob_waiting}** · ⏳ In line — position 1", "bob"]
    assert member.original is not None
    assert member.original["embeds"][0]["title"] == "Your pictures on the way"
    assert labels(member.original) == [f"Cancel #{bob_waiting}"]

    admin = await ask_queue(discord_fake, ALICE, ADMIN_PERMISSIONS)
    assert admin.original is not None
    assert admin.original["embeds"][0]["title"] == "Pictures on the way in this server"
    lines = listed(admin)
    assert lines[0].startswith(f"**#1** <@{ALICE}> · 🎨 Being made"), lines
    assert lines[2:] == [  # bob's turn comes before alice's second: people take turns
        f"**#{bob_waiting}** <@{BOB}> · ⏳ In line — position 1",
        "bob",
        f"**#{alice_waiting}** <@{ALICE}> · ⏳ In line — position 2",
        "alice waits",
    ]
    assert labels(admin.original) == [f"Cancel #{alice_waiting}"]  # only her own

    painting.open()
    await bobs.wait_done(lambda i: is_picture(i.original), timeout=30)
    await alices.wait_done(lambda i: is_picture(i.original), timeout=30)
    await jobs_ended()
    emptied = await ask_queue(discord_fake, BOB)
    assert emptied.original is not None and emptied.original["embeds"] == []
    assert emptied.original["content"] == "You have no pictures waiting or being made here."
    server = await ask_queue(discord_fake, ALICE, ADMIN_PERMISSIONS)
    assert server.original is not None
    assert server.original["content"] == "No pictures are waiting or being made in this server."

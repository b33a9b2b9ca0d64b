"""The buttons under every picture, end to end: what each does and who may press it."""

from __future__ import annotations

import asyncio
import re
from typing import Any, cast

import pytest

from bot.errors import StorageUnavailable
from bot.lineage import DELETE_REFUSAL, REMIX_REFUSAL
from cogs.common.answering import CANNOT_POST
from cogs.pictures.refine import FORM_BUSY
from tests.e2e.conftest import (
    ALICE,
    BOB,
    CHANNEL_ID,
    GUILD_ID,
    StartBot,
    jobs_ended,
    stop_bot,
)
from tests.e2e.picture_kit import (
    ADMIN_PERMISSIONS,
    button_ids,
    chat_inputs,
    click,
    field,
    imagine_picture,
    is_picture,
    is_private,
    jump,
    picture_id,
    scripted_chat,
    settled,
    submit_refine,
    use_settings,
)
from tests.fakes.discord_api import FakeDiscord, FakeInteraction
from tests.fakes.openai_api import FakeOpenAI


def generated_prompts(openai_fake: FakeOpenAI) -> list[str]:
    """The prompts of every image generation request, in order."""
    return [
        cast(dict[str, Any], r.json)["prompt"]
        for r in openai_fake.requests
        if r.endpoint == "images"
    ]


async def refused_privately(interaction: FakeInteraction) -> str:
    """The text of an ephemeral refusal (after a public "thinking" it is a follow-up)."""
    await interaction.wait_done(
        lambda i: bool(i.followups) or bool(i.callbacks and i.callbacks[0]["type"] == 4)
    )
    if interaction.followups:
        assert interaction.original is None, "the public 'thinking' message must go"
        message = interaction.followups[-1]
    else:
        message = interaction.callbacks[0]["data"]
    assert is_private(message), message
    return str(message["content"])


async def test_every_picture_carries_five_buttons_keyed_by_its_id(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    bot = await start_bot()
    message = await imagine_picture(discord_fake, "a red barn")
    recorded = await bot.studio.picture_by_message(int(message["id"]))
    assert recorded is not None
    assert button_ids(message) == [
        f"picasso:{action}:{recorded.id}"
        for action in ("reroll", "refine", "vary", "prompt", "delete")
    ]
    assert recorded.image_url == message["attachments"][0]["url"]


async def test_reroll_paints_the_same_prompt_again_under_a_public_thinking(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    bot = await start_bot()
    original = await imagine_picture(discord_fake, "a red barn")
    chats = openai_fake.count("chat")
    interaction = await click(discord_fake, original, "reroll")
    rerolled = await settled(interaction)

    assert interaction.callbacks[0]["type"] == 5 and not interaction.ephemeral
    assert all(r.at > interaction.callbacks[0]["at"] for r in openai_fake.requests[-2:])
    assert is_picture(rerolled)
    first, second = generated_prompts(openai_fake)
    assert first == second == original["embeds"][0]["description"]
    assert openai_fake.count("chat") == chats  # no new prompt was written
    assert jump(original) in field(rerolled, "Reroll of")
    row = await bot.studio.store.picture(picture_id(rerolled))
    assert row is not None and (row.kind, row.parent_id) == ("reroll", picture_id(original))


async def test_refine_button_opens_a_modal_and_applies_the_instruction(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.chat_reply = scripted_chat
    bot = await start_bot()
    original = await imagine_picture(discord_fake, "a red barn")
    opened = await click(discord_fake, original, "refine")
    await opened.wait_responded()
    modal = opened.callbacks[0]
    assert modal["type"] == 9
    assert modal["data"]["custom_id"] == f"picasso:refine-modal:{picture_id(original)}"
    inputs = [c for row in modal["data"]["components"] for c in row["components"]]
    prompt_input = next(c for c in inputs if c["custom_id"] == "prompt")
    assert prompt_input["value"] == original["embeds"][0]["description"]

    submitted = await submit_refine(
        discord_fake, original, instruction="make it night", prompt=prompt_input["value"]
    )
    refined = await settled(submitted)
    assert submitted.callbacks[0]["type"] == 5
    assert is_picture(refined)
    assert field(refined, "What changed") == "make it night"
    assert chat_inputs(openai_fake, "You revise prompts")[-1].endswith("CHANGE:\nmake it night")
    row = await bot.studio.store.picture(picture_id(refined))
    assert row is not None
    assert (row.kind, row.instruction, row.parent_id) == (
        "refine",
        "make it night",
        picture_id(original),
    )


async def test_a_prompt_edited_in_the_modal_is_painted_as_written(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    bot = await start_bot()
    original = await imagine_picture(discord_fake, "a red barn")
    await (await click(discord_fake, original, "refine")).wait_responded()
    chats = openai_fake.count("chat")
    submitted = await submit_refine(
        discord_fake, original, prompt="A green barn in flat colours, seen from above."
    )
    painted = await settled(submitted)
    assert generated_prompts(openai_fake)[-1] == "A green barn in flat colours, seen from above."
    assert openai_fake.count("chat") == chats
    assert painted["embeds"][0]["description"] == "A green barn in flat colours, seen from above."
    row = await bot.studio.store.picture(picture_id(painted))
    assert row is not None and row.kind == "prompt"

    await (await click(discord_fake, painted, "refine")).wait_responded()
    unchanged = await submit_refine(
        discord_fake, painted, prompt="A green barn in flat colours, seen from above."
    )
    assert (await settled(unchanged))["content"].startswith("Say what should change")


async def test_variations_post_each_take_as_a_reply_with_its_own_lineage(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.chat_reply = scripted_chat
    bot = await start_bot()  # the default two running turns per person: fewer than the takes
    source = await imagine_picture(discord_fake, "a red barn")
    openai_fake.fail_next("images", mode="timeout", delay=0.5)  # one take paints slowly
    interaction = await click(discord_fake, source, "vary")
    await interaction.wait_done(
        lambda i: (i.original or {}).get("content", "").startswith("🎲 3 of 3")
    )

    assert interaction.callbacks[0]["type"] == 5 and not interaction.ephemeral
    takes = [
        m
        for m in discord_fake.channel_messages(CHANNEL_ID)
        if (m.get("message_reference") or {}).get("message_id") == source["id"]
    ]
    assert len(takes) == 3 and all(is_picture(take) for take in takes)
    assert sorted(field(t, "Variation of") for t in takes) == [
        f"[this picture]({jump(source)}) · take {n} of 3" for n in (1, 2, 3)
    ]
    prompts = generated_prompts(openai_fake)[1:]
    assert sorted(prompts) == [f"Take {n}: a red barn, seen another way." for n in (1, 2, 3)]
    assert len(chat_inputs(openai_fake, "You write prompts")) == 1  # one call writes all takes
    await jobs_ended()
    for take in takes:
        assert interaction.original is not None
        assert jump(take) in interaction.original["content"]
        row = await bot.studio.store.picture(picture_id(take))
        assert row is not None
        assert (row.kind, row.parent_id, row.requester_id) == (
            "variation",
            picture_id(source),
            ALICE,
        )


async def test_variations_count_against_the_daily_limit(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.chat_reply = scripted_chat
    bot = await start_bot()
    await use_settings(bot, user_daily_pictures=2)
    source = await imagine_picture(discord_fake, "a red barn")
    interaction = await click(discord_fake, source, "vary")
    await interaction.wait_done(
        lambda i: (i.original or {}).get("content", "").startswith("🎲 1 of 3")
    )
    await interaction.wait_done(lambda i: any(is_private(m) for m in i.followups))
    assert interaction.original is not None
    summary = interaction.original["content"]
    made = re.fullmatch(
        rf"🎲 1 of 3 variations of \[this picture\]\({re.escape(jump(source))}\): "
        r"\[take 1\]\(\S+\)",
        summary,
    )
    assert made is not None, summary
    # Why the others were not started is told privately, once for both.
    told = [m["content"] for m in interaction.followups if is_private(m)]
    assert len(told) == 1 and told[0].startswith(
        "Takes 2 and 3 not started: You've reached your daily limit of 2 pictures — it resets"
    )
    await jobs_ended()
    assert openai_fake.count("images") == 2
    assert len(await bot.studio.store.history(ALICE, GUILD_ID, limit=10)) == 2


async def test_prompt_button_shows_the_full_prompt_to_the_presser_only(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot()
    original = await imagine_picture(discord_fake, "a red barn")
    interaction = await click(discord_fake, original, "prompt", user_id=BOB)
    shown = await settled(interaction)
    assert interaction.ephemeral
    assert original["embeds"][0]["description"] in shown["content"]
    assert shown["_pinged"] == set()


async def test_delete_is_for_the_requester_and_server_admins(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    bot = await start_bot()
    first = await imagine_picture(discord_fake, "a red barn")
    second = await imagine_picture(discord_fake, "a blue barn")

    refused = await click(discord_fake, first, "delete", user_id=BOB)
    assert (await settled(refused))["content"] == DELETE_REFUSAL
    assert refused.ephemeral
    assert int(first["id"]) in discord_fake.messages

    mine = await click(discord_fake, first, "delete")
    assert (await settled(mine))["content"].startswith("🗑️")
    assert int(first["id"]) in discord_fake.deleted_messages
    admin = await click(discord_fake, second, "delete", user_id=BOB, permissions=ADMIN_PERMISSIONS)
    told = await settled(admin)
    assert told["content"] == "🗑️ Deleted the picture." and is_private(told)
    assert int(second["id"]) in discord_fake.deleted_messages

    rows = await bot.studio.store.history(ALICE, GUILD_ID, limit=10)
    assert len(rows) == 2 and all(row.message_id is None for row in rows)  # lineage stays


async def test_with_remix_by_requester_others_are_refused_privately(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    bot = await start_bot()
    await use_settings(bot, remix="requester")
    original = await imagine_picture(discord_fake, "a red barn")
    for action in ("reroll", "vary", "refine"):
        interaction = await click(discord_fake, original, action, user_id=BOB)
        assert await refused_privately(interaction) == REMIX_REFUSAL, action
    assert openai_fake.count("images") == 1

    admin = await click(
        discord_fake, original, "reroll", user_id=BOB, permissions=ADMIN_PERMISSIONS
    )
    assert is_picture(await settled(admin))
    own = await click(discord_fake, original, "reroll")
    assert is_picture(await settled(own))


async def test_a_failed_reroll_ends_in_one_sentence_and_costs_nothing(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    bot = await start_bot()
    original = await imagine_picture(discord_fake, "a red barn")
    openai_fake.fail_next(
        "images",
        status=429,
        code="insufficient_quota",
        type="insufficient_quota",
        message="You exceeded your current quota.",
    )
    interaction = await click(discord_fake, original, "reroll")
    said = await settled(interaction)
    assert said["content"] == "The image service is busy right now — try again in 30 s."
    assert said["components"] == []
    assert len(await bot.studio.store.history(ALICE, GUILD_ID, limit=10)) == 1


async def test_refine_answers_within_discord_s_window_even_when_the_lookup_is_slow(
    start_bot: StartBot,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bot = await start_bot()
    original = await imagine_picture(discord_fake, "a red barn")
    store = bot.studio.store
    lookup = store.picture
    unblocked = asyncio.Event()

    async def stuck_until_unblocked(picture_id: int) -> Any:
        await unblocked.wait()  # e.g. a database busy with a long write
        return await lookup(picture_id)

    monkeypatch.setattr(store, "picture", stuck_until_unblocked)
    pressed = await click(discord_fake, original, "refine")
    response = await pressed.wait_responded()  # the fake refuses anything after 3 s
    assert response["type"] == 4 and is_private(response["data"])
    assert response["data"]["content"] == FORM_BUSY

    unblocked.set()
    again = await click(discord_fake, original, "refine")
    assert (await again.wait_responded())["type"] == 9  # the form, once the database answers


async def test_variations_where_the_bot_may_not_post_say_so_before_any_painting(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.chat_reply = scripted_chat
    await start_bot()
    source = await imagine_picture(discord_fake, "a red barn")
    discord_fake.forbid_bot(CHANNEL_ID)  # an admin took Send Messages away from the bot

    interaction = await click(discord_fake, source, "vary")
    assert await refused_privately(interaction) == CANNOT_POST
    assert (openai_fake.count("chat"), openai_fake.count("images")) == (1, 1)  # the source's
    # Answers to interactions need no channel permission: a reroll still works.
    assert is_picture(await settled(await click(discord_fake, source, "reroll")))


async def test_variations_that_discord_refuses_to_post_end_in_one_reason(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.chat_reply = scripted_chat
    bot = await start_bot()
    source = await imagine_picture(discord_fake, "a red barn")
    painting = openai_fake.hold_images()  # the takes are painted once the test says so
    interaction = await click(discord_fake, source, "vary")
    await interaction.wait_responded()
    discord_fake.forbid_bot(CHANNEL_ID)  # taken away after the press, before the takes post
    painting.open()

    await interaction.wait_done(
        lambda i: "takes 1, 2 and 3" in (i.original or {}).get("content", "")
    )
    assert interaction.original is not None
    assert interaction.original["content"].endswith(f": takes 1, 2 and 3: {CANNOT_POST}")
    assert len(await bot.studio.store.history(ALICE, GUILD_ID, limit=10)) == 1  # none charged


async def test_a_take_cut_short_while_posting_is_posted_once_after_a_restart(
    start_bot: StartBot,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A take whose message Discord made, but whose bot stopped before recording it, is
    painted again by the next start (the provider can't say it was billed) and sent again:
    with the same nonce, Discord returns the message it made, so the channel shows it once."""
    openai_fake.chat_reply = scripted_chat
    before = await start_bot(SHUTDOWN_GRACE="1")
    source = await imagine_picture(discord_fake, "a red barn")
    settle = before.studio.store.complete_job

    async def never_recorded(job: Any, *args: Any, **kwargs: Any) -> None:
        if job.kind.value == "variation":
            raise StorageUnavailable(detail="away for as long as this bot runs")
        await settle(job, *args, **kwargs)

    monkeypatch.setattr(before.studio.store, "complete_job", never_recorded)
    await click(discord_fake, source, "vary")

    def takes() -> list[dict[str, Any]]:
        return [
            m
            for m in discord_fake.channel_messages(CHANNEL_ID)
            if (m.get("message_reference") or {}).get("message_id") == source["id"]
        ]

    await discord_fake.wait_for(lambda: len(takes()) == 3, what="three takes posted")
    await stop_bot(before)  # painted and posted, never recorded: left posting
    assert openai_fake.count("images") == 4
    after = await start_bot()  # the next start runs them again
    await discord_fake.wait_for(lambda: openai_fake.count("images") == 7, what="repainted")
    await jobs_ended()
    assert len(takes()) == 3  # each take's message made once: sent again, returned again
    nonces = sorted(str(take.get("nonce")) for take in takes())
    assert len(set(nonces)) == 3 and all(nonce.startswith("p") for nonce in nonces)
    for take in takes():  # its buttons are of the pictures recorded for it
        row = await after.studio.store.picture(picture_id(take))
        assert row is not None and row.message_id == int(take["id"])

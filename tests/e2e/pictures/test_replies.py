"""Reply to refine, end to end: chains, restarts, the intent trade-off, edit mode, failures."""

from __future__ import annotations

import pytest

from cogs.common.answering import APOLOGY
from cogs.pictures.replies import ACKNOWLEDGEMENT, HINT_EMPTY, HINT_NO_TEXT
from tests.e2e.conftest import ALICE, BOB, CHANNEL_ID, GUILD_ID, StartBot, stop_bot
from tests.e2e.picture_kit import (
    bot_posts_with,
    bot_reply_to,
    chat_inputs,
    click,
    database_down,
    field,
    image_of,
    imagine_picture,
    is_picture,
    jump,
    picture_id,
    reply_to,
    scripted_chat,
    settled,
    submit_refine,
    use_settings,
)
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.openai_api import FakeOpenAI

REVISE = "You revise prompts"


async def test_a_three_deep_reply_chain_revises_the_latest_prompt(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.chat_reply = scripted_chat
    bot = await start_bot()
    original = await imagine_picture(discord_fake, "a quiet harbour")
    first = await reply_to(discord_fake, original, "make it night")
    second = await reply_to(discord_fake, first, "add a red umbrella")
    third = await reply_to(discord_fake, second, "in winter")

    for parent, child in ((original, first), (first, second), (second, third)):
        assert is_picture(child)
        assert jump(parent) in field(child, "Refined from")
    assert field(third, "What changed") == "in winter"
    assert third["embeds"][0]["title"] == "a quiet harbour"  # the description carries on

    revisions = chat_inputs(openai_fake, REVISE)
    assert len(revisions) == 3
    second_prompt = second["embeds"][0]["description"]
    assert second_prompt in revisions[2] and "in winter" in revisions[2]
    assert "make it night" not in revisions[2].split("CHANGE:")[1]

    store = bot.studio.store
    chain = await store.ancestry(picture_id(third))
    assert [p.message_id for p in chain] == [int(m["id"]) for m in (third, second, first, original)]
    assert [p.kind for p in chain] == ["refine", "refine", "refine", "imagine"]
    assert [p.instruction for p in chain[:3]] == [
        "in winter",
        "add a red umbrella",
        "make it night",
    ]
    assert chain[0].prompt == third["embeds"][0]["description"]
    assert chain[0].cost_micros > 0 and chain[0].requester_id == ALICE
    # Each refinement was acknowledged at once with a reply that became the picture.
    assert len(bot_posts_with(discord_fake, ACKNOWLEDGEMENT)) == 3
    assert all(m["_pinged"] == set() for m in (first, second, third))


async def test_replying_to_an_older_picture_branches_from_it(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.chat_reply = scripted_chat
    bot = await start_bot()
    original = await imagine_picture(discord_fake, "a fox")
    await reply_to(discord_fake, original, "make it night")
    branch = await reply_to(discord_fake, original, "make it snowy")
    chain = await bot.studio.store.ancestry(picture_id(branch))
    assert [p.message_id for p in chain] == [int(branch["id"]), int(original["id"])]
    assert chat_inputs(openai_fake, REVISE)[-1] == (
        f"CURRENT PROMPT:\n{original['embeds'][0]['description']}\n\nCHANGE:\nmake it snowy"
    )


async def test_a_restart_mid_chain_keeps_replies_and_old_buttons_working(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.chat_reply = scripted_chat
    first_bot = await start_bot()
    original = await imagine_picture(discord_fake, "a lighthouse")
    refined = await reply_to(discord_fake, original, "make it night")
    await (await click(discord_fake, refined, "refine")).wait_responded()  # a form left open
    await stop_bot(first_bot)

    bot = await start_bot()
    deeper = await reply_to(discord_fake, refined, "add fog")
    assert is_picture(deeper)
    chain = await bot.studio.store.ancestry(picture_id(deeper))
    assert [p.message_id for p in chain] == [int(m["id"]) for m in (deeper, refined, original)]

    reroll = await settled(await click(discord_fake, original, "reroll"))
    assert jump(original) in field(reroll, "Reroll of")
    form = await submit_refine(discord_fake, refined, instruction="add stars")
    assert field(await settled(form), "What changed") == "add stars"
    prompt = await settled(await click(discord_fake, refined, "prompt"))
    assert "A revised scene, now make it night." in prompt["content"]


async def test_replies_to_other_messages_are_ignored(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot(MESSAGE_CONTENT_INTENT="true")
    someone = await discord_fake.post_message(
        CHANNEL_ID, "look at this", author_id=BOB, guild_id=GUILD_ID
    )
    answer = await discord_fake.post_message(
        CHANNEL_ID, "make it night", author_id=ALICE, guild_id=GUILD_ID, reply_to=int(someone["id"])
    )
    # A picture made afterwards proves the bot had read (and skipped) the earlier reply.
    await imagine_picture(discord_fake, "a marker picture")
    bot_messages = [
        m
        for m in discord_fake.channel_messages(CHANNEL_ID)
        if int(m["author"]["id"]) == discord_fake.bot_user_id
    ]
    assert all(
        (m.get("message_reference") or {}).get("message_id") != answer["id"] for m in bot_messages
    )
    assert len(bot_messages) == 1
    assert openai_fake.count("chat") == 1  # only the marker's expansion


async def test_without_the_intent_an_unpinged_reply_gets_a_hint(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot()
    original = await imagine_picture(discord_fake, "a red kite")
    hint = await reply_to(discord_fake, original, "make it night", reply_ping=False)
    assert hint["content"] == HINT_NO_TEXT
    assert hint["_pinged"] == set()
    assert openai_fake.count("images") == 1

    # A second unpinged reply soon after gets no second hint (one is enough).
    again = await discord_fake.post_message(
        CHANNEL_ID,
        "nice!",
        author_id=ALICE,
        guild_id=GUILD_ID,
        reply_to=int(original["id"]),
        reply_ping=False,
    )
    await imagine_picture(discord_fake, "a marker picture")  # the bot has read the reply
    answers = [
        m
        for m in discord_fake.channel_messages(CHANNEL_ID)
        if (m.get("message_reference") or {}).get("message_id") == again["id"]
    ]
    assert answers == []


async def test_without_the_intent_a_ping_reply_works_and_the_mention_is_stripped(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.chat_reply = scripted_chat
    await start_bot()
    original = await imagine_picture(discord_fake, "a red kite")
    refined = await reply_to(discord_fake, original, "make it night", mention_bot=True)
    assert is_picture(refined)
    assert field(refined, "What changed") == "make it night"
    assert chat_inputs(openai_fake, REVISE)[0].endswith("CHANGE:\nmake it night")
    empty = await reply_to(discord_fake, original, "", mention_bot=True)
    assert empty["content"] == HINT_EMPTY


async def test_with_the_intent_a_reply_without_ping_works(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.chat_reply = scripted_chat
    await start_bot(MESSAGE_CONTENT_INTENT="true")
    original = await imagine_picture(discord_fake, "a red kite")
    refined = await reply_to(discord_fake, original, "make it night", reply_ping=False)
    assert is_picture(refined)
    assert field(refined, "What changed") == "make it night"


async def test_edit_mode_sends_the_parent_picture_as_png(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.chat_reply = scripted_chat
    bot = await start_bot()
    await use_settings(bot, refine_mode="edit")
    original = await imagine_picture(discord_fake, "a blue vase")
    refined = await reply_to(discord_fake, original, "make it night")

    edits = [r for r in openai_fake.requests if r.endpoint == "edits"]
    assert len(edits) == 1
    (name, _, content_type, data), *_ = edits[0].files
    assert (name, content_type) == ("image", "image/png")
    assert data == original["_files"][0][2]  # the very bytes of the posted parent
    assert edits[0].form is not None
    assert edits[0].form["prompt"] == "A revised scene, now make it night."
    assert openai_fake.count("images") == 1  # only the original was generated
    assert jump(original) in field(refined, "Edited from")
    assert image_of(refined).format == "PNG"
    chain = await bot.studio.store.ancestry(picture_id(refined))
    assert chain[0].kind == "edit"


async def test_auto_mode_edits_only_local_changes(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.chat_reply = scripted_chat  # "local" in the change → LOCAL: yes
    bot = await start_bot()
    await use_settings(bot, refine_mode="auto")
    original = await imagine_picture(discord_fake, "a blue vase")
    await reply_to(discord_fake, original, "make it night")
    assert openai_fake.count("edits") == 0
    await reply_to(discord_fake, original, "a local tweak: add a flower")
    assert openai_fake.count("edits") == 1


async def test_edit_mode_falls_back_to_reimagining_when_the_parent_is_gone(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.chat_reply = scripted_chat
    bot = await start_bot()
    await use_settings(bot, refine_mode="edit")
    original = await imagine_picture(discord_fake, "a blue vase")
    discord_fake.attachment_data.clear()  # the CDN lost the file: downloads now 404
    refined = await reply_to(discord_fake, original, "make it night")
    assert is_picture(refined)
    assert openai_fake.count("edits") == 0
    assert "could not be fetched" in refined["embeds"][0]["footer"]["text"]
    assert jump(original) in field(refined, "Refined from")


async def test_a_provider_failure_turns_the_reply_into_one_sentence(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.chat_reply = scripted_chat
    bot = await start_bot(PARTIAL_IMAGES="0")
    original = await imagine_picture(discord_fake, "a castle")
    openai_fake.fail_next(
        "images", status=400, code="moderation_blocked", type="image_generation_user_error"
    )
    answer = await reply_to(discord_fake, original, "make it scary")
    assert answer["content"] == (
        "Your request was rejected by the safety system — try rephrasing it."
    )
    assert answer["components"] == [] and answer["_files"] == []
    assert len(await bot.studio.store.history(ALICE, GUILD_ID, limit=10)) == 1


async def test_reply_refinements_follow_the_remix_setting_and_blocked_words(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    bot = await start_bot()
    await use_settings(bot, remix="requester", blocked_words=("dragon",))
    original = await imagine_picture(discord_fake, "a castle")
    refused = await reply_to(discord_fake, original, "make it night", author_id=BOB)
    assert refused["content"].startswith("On this server only the person who asked")
    blocked = await reply_to(discord_fake, original, "add a dragon")
    assert "blocked" in blocked["content"]
    assert openai_fake.count("images") == 1


async def test_echoed_instructions_never_ping(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.chat_reply = scripted_chat
    await start_bot()
    original = await imagine_picture(discord_fake, "a castle")
    refined = await reply_to(discord_fake, original, "add @everyone and <@7002> on the walls")
    assert is_picture(refined)
    assert refined["_pinged"] == set()
    user_reply = await discord_fake.post_message(
        CHANNEL_ID, "again", author_id=ALICE, guild_id=GUILD_ID, reply_to=int(refined["id"])
    )
    again = await bot_reply_to(discord_fake, int(user_reply["id"]))
    assert again["_pinged"] == set()


async def test_a_reply_the_bot_cannot_look_up_still_gets_one_sentence(
    start_bot: StartBot,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bot = await start_bot()
    original = await imagine_picture(discord_fake, "a castle")
    monkeypatch.setattr(bot.studio.store, "pictures_by_message", database_down)
    answer = await reply_to(discord_fake, original, "make it night", mention_bot=True)
    assert answer["content"] == APOLOGY
    assert answer["_pinged"] == set()
    assert openai_fake.count("chat") == 1  # only the original's expansion


async def test_a_reply_where_the_bot_may_not_post_paints_nothing(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot()
    original = await imagine_picture(discord_fake, "a castle")
    discord_fake.forbid_bot(CHANNEL_ID)
    reply = await discord_fake.post_message(
        CHANNEL_ID,
        "make it night",
        author_id=ALICE,
        guild_id=GUILD_ID,
        reply_to=int(original["id"]),
        mention_bot=True,
    )

    def refused() -> list[str]:
        return [r.path for r in discord_fake.requests if r.method == "POST" and r.status == 403]

    await discord_fake.wait_for(lambda: bool(refused()), what="the bot's attempt to answer")
    assert refused() == [f"/channels/{CHANNEL_ID}/messages"]
    # Nobody could see a picture here, so none is written or painted.
    assert (openai_fake.count("chat"), openai_fake.count("images")) == (1, 1)  # the original's
    later = [
        m for m in discord_fake.channel_messages(CHANNEL_ID) if int(m["id"]) > int(reply["id"])
    ]
    assert later == []

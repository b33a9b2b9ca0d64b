"""/imagine end to end: the real bot, the real discord.py and openai clients, both fakes."""

from __future__ import annotations

import asyncio

from bot.app import Clocks
from tests.clocks import ManualClock
from tests.e2e.conftest import CHANNEL_ID, GUILD_ID, StartBot
from tests.e2e.picture_kit import image_of, imagine, settled
from tests.fakes.discord_api import FakeDiscord, FakeInteraction
from tests.fakes.openai_api import FakeOpenAI


def shows(interaction: FakeInteraction, start: str) -> bool:
    """The person's message reads `start…` now."""
    return str((interaction.original or {}).get("content") or "").startswith(start)


async def test_imagine_defers_first_then_posts_the_picture(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot()
    interaction = await imagine(discord_fake, "a beach sunset")

    assert interaction.callbacks[0]["type"] == 5  # deferred "thinking"
    deferred_at = interaction.callbacks[0]["at"]
    assert openai_fake.requests, "no provider call was made"
    assert all(request.at > deferred_at for request in openai_fake.requests)

    assert interaction.original is not None
    assert image_of(interaction.original).format == "PNG"
    embed = interaction.original["embeds"][0]
    assert embed["title"] == "a beach sunset"
    assert "a beach sunset" in embed["description"]  # the fake's expansion keeps the words
    assert embed["description"] != "a beach sunset"
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert fields["Model"] == "gpt-image-2"
    assert "1024x1024" in fields["Size · quality"]
    assert fields["Est. cost"].startswith("$")
    attachment = interaction.original["attachments"][0]
    assert attachment["filename"] == "picasso.png"
    assert embed["image"]["url"] == attachment["url"]  # the embed shows the uploaded file
    assert interaction.original["_pinged"] == set()


async def test_progress_stages_are_shown_while_painting(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    picture = openai_fake.hold_images()  # the picture comes once the painting line is shown
    await start_bot(PARTIAL_IMAGES="0")
    interaction = await imagine(discord_fake, "a lighthouse in a storm", wait=False)
    await interaction.wait_done(lambda i: shows(i, "🎨"))  # at most one edit per 2 s: it waits
    picture.open()
    await settled(interaction)
    contents = [edit.get("content") or "" for edit in interaction.edits]
    writing = next(i for i, c in enumerate(contents) if c.startswith("🧠"))
    painting = next(i for i, c in enumerate(contents) if c.startswith("🎨"))
    assert writing < painting


async def test_streaming_model_shows_partial_previews(
    start_bot: StartBot,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
) -> None:
    """Progress is paced on a clock the test moves, and the stream comes event by event."""
    pacing = ManualClock()
    stream = openai_fake.hold_images()
    await start_bot(clocks=Clocks(pacing=pacing, sleep=pacing.sleep), PARTIAL_IMAGES="2")
    interaction = await imagine(discord_fake, "a fox in snow", wait=False)
    await discord_fake.wait_for(lambda: stream.waiting == 1, what="the stream to start")
    pacing.advance(2)  # the "painting" line, held back 2 s after the "writing" one, goes out
    await interaction.wait_done(lambda i: shows(i, "🎨 Painting your picture…"))
    pacing.advance(2)  # a while later: the next line may go out at once
    stream.let_through()  # the first preview
    await interaction.wait_done(lambda i: shows(i, "🎨 Painting your picture… (preview 1)"))
    stream.open()  # the second preview right after it, then the picture
    await settled(interaction)
    previews = [edit for edit in interaction.edits if "preview" in (edit.get("content") or "")]
    # One edit per 2 s at most: the first preview is shown, the second gives way to the
    # picture that follows it.
    assert [edit["content"] for edit in previews] == ["🎨 Painting your picture… (preview 1)"]
    assert all(edit["_files"] for edit in previews)
    generation = [r for r in openai_fake.requests if r.path.endswith("/images/generations")]
    assert generation[0].json is not None
    assert generation[0].json["stream"] is True
    assert generation[0].json["partial_images"] == 2
    assert interaction.original is not None
    assert image_of(interaction.original).format == "PNG"


async def test_chat_request_carries_the_description_only_as_user_text(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot()
    await imagine(discord_fake, "a cat astronaut", style="anime")
    chat = [r for r in openai_fake.requests if r.path.endswith("/chat/completions")]
    assert len(chat) == 1
    assert chat[0].json is not None
    messages = chat[0].json["messages"]
    system = [m for m in messages if m["role"] in ("system", "developer")]
    user = [m for m in messages if m["role"] == "user"]
    assert all("a cat astronaut" not in m["content"] for m in system)
    assert "anime" in system[0]["content"]
    assert user == [{"role": "user", "content": "a cat astronaut"}]
    assert chat[0].json["model"] == "gpt-5.4-mini"


async def test_options_map_to_api_parameters(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot(
        IMAGE_MODEL="gpt-image-1.5",
        MODERATION_MODEL="omni-moderation-2024-09-26",
        PARTIAL_IMAGES="0",
    )
    interaction = await imagine(
        discord_fake, "a castle", size="landscape", quality="high", expand=False
    )
    assert openai_fake.count("chat") == 0
    moderation = [r.json for r in openai_fake.requests if r.endpoint == "moderations"]
    assert moderation == [{"model": "omni-moderation-2024-09-26", "input": ["a castle"]}]
    generation = [r for r in openai_fake.requests if r.path.endswith("/images/generations")]
    assert len(generation) == 1
    body = generation[0].json
    assert body is not None
    assert body["model"] == "gpt-image-1.5"
    assert body["size"] == "1536x1024"
    assert body["quality"] == "high"
    assert body["prompt"] == "a castle"
    assert "stream" not in body
    assert "response_format" not in body and "style" not in body
    assert interaction.original is not None
    embed = interaction.original["embeds"][0]
    assert embed["description"] == "a castle"
    assert embed["footer"]["text"] == "Your words, as written"


async def test_portrait_size_reaches_the_api(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot()
    await imagine(discord_fake, "a tall tower", size="portrait", quality="low")
    body = [r for r in openai_fake.requests if r.path.endswith("/images/generations")][0].json
    assert body is not None
    assert (body["size"], body["quality"]) == ("1024x1536", "low")


async def test_empty_expansion_falls_back_and_says_so(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.chat_reply = "   "
    await start_bot()
    interaction = await imagine(discord_fake, "a red balloon")
    assert interaction.original is not None
    embed = interaction.original["embeds"][0]
    assert embed["description"] == "a red balloon"
    assert "used as written" in embed["footer"]["text"]
    body = [r for r in openai_fake.requests if r.path.endswith("/images/generations")][0].json
    assert body is not None
    assert body["prompt"] == "a red balloon"


async def test_overlong_expansion_falls_back(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.chat_reply = "word " * 2000
    await start_bot()
    interaction = await imagine(discord_fake, "a blue door")
    assert interaction.original is not None
    assert interaction.original["embeds"][0]["description"] == "a blue door"


async def test_everyone_in_a_description_pings_nobody(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot()
    interaction = await imagine(discord_fake, "@everyone look at <@7002> and <@&5001>")
    assert interaction.original is not None
    assert interaction.original["embeds"]
    assert interaction.original["_pinged"] == set()
    for message in discord_fake.channel_messages(CHANNEL_ID):
        assert message["_pinged"] == set(), message


async def test_fifty_concurrent_requests_are_all_deferred_and_answered(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.image_latency = 0.2
    crowd = [8000 + n for n in range(50)]  # fifty people, one picture each
    for user_id in crowd:
        discord_fake.add_user(user_id, f"user{user_id}")
    discord_fake.add_guild(GUILD_ID + 1, channel_ids=[CHANNEL_ID + 100], members=crowd)
    await start_bot(IMAGE_CONCURRENCY="4", PARTIAL_IMAGES="0")
    interactions = await asyncio.gather(
        *[
            discord_fake.invoke(
                "imagine",
                {"description": f"picture number {n}"},
                user_id=user_id,
                guild_id=GUILD_ID + 1,
                channel_id=CHANNEL_ID + 100,
            )
            for n, user_id in enumerate(crowd)
        ]
    )
    await asyncio.gather(*(settled(i, timeout=60) for i in interactions))
    for interaction in interactions:
        assert interaction.callbacks[0]["type"] == 5
        assert len(interaction.callbacks) == 1
        assert interaction.original is not None
        assert interaction.original["embeds"], interaction.original["content"]
    assert openai_fake.count("images") == 50
    queued = [
        i for i in interactions if any("In line" in (e.get("content") or "") for e in i.edits)
    ]
    assert queued, "with 4 slots and 50 requests some must have waited in line"

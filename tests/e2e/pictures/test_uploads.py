"""Your own picture, end to end: /imagine with an attached image goes to the image edit
endpoint (checked by moderation with the words first), and a reply with a picture attached
edits the bot's picture with it."""

from __future__ import annotations

import hashlib
import io
from typing import Any

from PIL import Image

from bot.imaging.pipeline import UPLOAD_NOTE
from bot.models import MAX_UPLOAD_BYTES
from tests.e2e.conftest import CHANNEL_ID, StartBot
from tests.e2e.picture_kit import imagine, imagine_picture, is_picture, reply_to
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.openai_api import FakeOpenAI, Recorded

FAST = {"PARTIAL_IMAGES": "0"}
FLAGGED = "Your request was flagged by this server's content check — try rephrasing it."


def png(colour: str = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "PNG")
    return out.getvalue()


def edits(openai_fake: FakeOpenAI) -> list[Recorded]:
    return [r for r in openai_fake.requests if r.endpoint == "edits"]


def pictures_sent(request: Recorded) -> list[bytes]:
    return [data for name, _, _, data in request.files if name.startswith("image")]


def attached(discord_fake: FakeDiscord, data: bytes, name: str = "mine.png") -> dict[str, Any]:
    return discord_fake.make_attachment(name, data, channel_id=CHANNEL_ID)


async def test_an_attached_picture_is_edited_as_the_description_says(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot(**FAST)
    mine = png()
    done = await imagine(discord_fake, "make it a watercolour", image=attached(discord_fake, mine))
    assert is_picture(done.original)
    assert done.original is not None
    assert done.original["embeds"][0]["footer"]["text"] == UPLOAD_NOTE
    [edit] = edits(openai_fake)
    assert pictures_sent(edit) == [mine]
    assert edit.form is not None and edit.form["prompt"] == "make it a watercolour"
    assert openai_fake.count("images") == 0  # nothing painted from scratch
    moderated = [r.json for r in openai_fake.requests if r.endpoint == "moderations"]
    assert any(isinstance(body, dict) and "image_url" in str(body["input"]) for body in moderated)


async def test_a_flagged_picture_is_refused_before_anything_is_painted(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot(**FAST)
    mine = png("red")
    openai_fake.flagged_images.add(hashlib.sha256(mine).hexdigest())
    done = await imagine(discord_fake, "a portrait", image=attached(discord_fake, mine))
    assert [m["content"] for m in done.followups] == [FLAGGED]
    assert edits(openai_fake) == [] and openai_fake.count("images") == 0


async def test_only_pictures_of_a_usable_size_can_be_attached(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot(**FAST)
    text_file = discord_fake.make_attachment("notes.txt", b"hello", channel_id=CHANNEL_ID)
    refused = await imagine(discord_fake, "a cat", image=text_file, wait=False)
    await refused.wait_done(lambda i: bool(i.callbacks))
    assert refused.original is not None
    assert refused.original["content"].startswith("Attach a PNG, JPEG or WebP picture")
    huge = attached(discord_fake, png())
    huge["size"] = MAX_UPLOAD_BYTES + 1  # what Discord says of the file
    too_big = await imagine(discord_fake, "a cat", image=huge, wait=False)
    await too_big.wait_done(lambda i: bool(i.callbacks))
    assert too_big.original is not None
    assert too_big.original["content"].startswith("That picture is too large")
    assert openai_fake.requests == []


async def test_a_reply_with_a_picture_edits_the_bots_picture_with_it(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot(**FAST)
    picture = await imagine_picture(discord_fake, "a quiet harbour")
    mine = png("orange")
    answer = await reply_to(
        discord_fake,
        picture,
        "put this boat in it",
        mention_bot=True,
        attachments=[("boat.png", mine, "image/png")],
    )
    assert is_picture(answer)
    [edit] = edits(openai_fake)
    sent = pictures_sent(edit)
    assert len(sent) == 2 and sent[1] == mine  # the bot's picture first, then yours


async def test_a_reply_with_something_else_attached_is_answered_in_one_sentence(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot(**FAST)
    picture = await imagine_picture(discord_fake, "a quiet harbour")
    answer = await reply_to(
        discord_fake,
        picture,
        "use my notes",
        mention_bot=True,
        attachments=[("notes.txt", b"hello", "text/plain")],
    )
    assert answer["content"].startswith("Attach a PNG, JPEG or WebP picture")
    assert edits(openai_fake) == [] and openai_fake.count("images") == 1  # only the first

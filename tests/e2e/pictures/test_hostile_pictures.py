"""Pictures people give us cost nothing (issue 18): a decompression bomb is refused in one
sentence before anything is reserved, a payload that lies about its size is refused from the
file's own header, animated pictures and other formats dressed as PNG are refused by their
content, a large photo reaches the image model scaled down to its largest edge, and a parent
picture fetched for an edit is held to the same rules."""

from __future__ import annotations

import io
from functools import cache
from typing import Any

from PIL import Image

from bot.errors import PictureRefused
from bot.imaging.inputs import ANIMATED, MAX_INPUT_EDGE, MAX_INPUT_SIDE, TOO_LARGE
from tests.e2e.conftest import ALICE, CHANNEL_ID, GUILD_ID, StartBot
from tests.e2e.picture_kit import (
    imagine,
    imagine_picture,
    is_picture,
    reply_to,
    scripted_chat,
    settled,
    use_settings,
)
from tests.fakes.discord_api import FakeDiscord, FakeInteraction
from tests.fakes.openai_api import FakeOpenAI, Recorded

FAST = {"PARTIAL_IMAGES": "0"}
BOMB_REFUSAL = TOO_LARGE.format(width=12000, height=12000, side=MAX_INPUT_SIDE, megapixels=24)


@cache
def bomb() -> bytes:
    """A 12000×12000 one-colour JPEG: ~2.25 MB on the wire, 576 MB once decoded."""
    out = io.BytesIO()
    Image.new("RGB", (12000, 12000), "teal").save(out, "JPEG")
    return out.getvalue()


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.linear_gradient("L").resize((width, height)).convert("RGB").save(out, "JPEG")
    return out.getvalue()


def moving(fmt: str) -> bytes:
    out = io.BytesIO()
    frames = [Image.new("RGB", (64, 48), colour) for colour in ("red", "blue")]
    frames[0].save(out, fmt, save_all=True, append_images=frames[1:], duration=100)
    return out.getvalue()


def edits(openai_fake: FakeOpenAI) -> list[Recorded]:
    return [r for r in openai_fake.requests if r.endpoint == "edits"]


def pictures_sent(request: Recorded) -> list[bytes]:
    return [data for name, _, _, data in request.files if name.startswith("image")]


def attached(
    discord_fake: FakeDiscord, data: bytes, name: str, content_type: str | None = None
) -> dict[str, Any]:
    return discord_fake.make_attachment(name, data, content_type, channel_id=CHANNEL_ID)


async def refusal(interaction: FakeInteraction) -> str:
    """The one sentence a person is left with (on the response, or its follow-up)."""
    shown = await settled(interaction)
    assert not is_picture(shown), shown
    return str(shown["content"])


async def test_a_bomb_is_refused_in_one_sentence_before_anything_is_reserved(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    bot = await start_bot(**FAST)
    picture = attached(discord_fake, bomb(), "bomb.jpg")
    assert (picture["width"], picture["height"]) == (12000, 12000)  # as Discord says
    answer = await imagine(discord_fake, "make it pop", image=picture, wait=False)
    await answer.wait_done(lambda i: bool(i.callbacks))
    assert answer.original is not None and answer.original["content"] == BOMB_REFUSAL
    store = bot.studio.store
    assert await store.job(1) is None and await store.ledger_entry(1) is None  # no job at all
    usage = await store.usage(GUILD_ID, ALICE, bot.studio.periods().day)
    assert (usage.pictures, usage.reserved_micros, usage.spent_micros) == (0, 0, 0)
    assert openai_fake.requests == []


async def test_a_payload_that_lies_is_refused_from_the_files_own_header(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    bot = await start_bot(**FAST)
    liar = attached(discord_fake, bomb(), "small.jpg")
    liar["width"], liar["height"] = 64, 48  # what the payload claims
    answer = await imagine(discord_fake, "make it pop", image=liar, wait=False)
    assert await refusal(answer) == BOMB_REFUSAL
    assert openai_fake.requests == []  # not even moderation: nothing left the bot
    store = bot.studio.store
    entry = await store.ledger_entry(1)
    assert entry is not None and (entry.state, entry.cost_micros) == ("released", 0)
    usage = await store.usage(GUILD_ID, ALICE, bot.studio.periods().day)
    assert (usage.pictures, usage.reserved_micros, usage.spent_micros) == (0, 0, 0)


async def test_animated_pictures_and_other_formats_dressed_as_pngs_are_refused(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot(**FAST)
    for data, name, kind, sentence in (
        (moving("WEBP"), "moving.webp", "image/webp", ANIMATED),
        (moving("PNG"), "moving.png", "image/png", ANIMATED),  # an APNG
        (moving("GIF"), "moving.png", "image/png", PictureRefused.user_message),
    ):
        picture = attached(discord_fake, data, name, kind)
        answer = await imagine(discord_fake, "make it pop", image=picture, wait=False)
        assert await refusal(answer) == sentence, name
    assert openai_fake.requests == []


async def test_a_large_photo_reaches_the_model_scaled_to_its_largest_edge(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot(**FAST)
    photo = attached(discord_fake, jpeg(4000, 3000), "photo.jpg")
    done = await imagine(discord_fake, "make it a watercolour", image=photo)
    assert is_picture(done.original)
    [edit] = edits(openai_fake)
    [sent] = pictures_sent(edit)
    with Image.open(io.BytesIO(sent)) as image:
        assert image.format == "PNG"
        assert image.size == (MAX_INPUT_EDGE, MAX_INPUT_EDGE * 3 // 4)  # its ratio kept


async def test_a_reply_with_a_bomb_attached_is_refused(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot(**FAST)
    picture = await imagine_picture(discord_fake, "a quiet harbour")
    answer = await reply_to(
        discord_fake,
        picture,
        "put this in it",
        mention_bot=True,
        attachments=[("bomb.jpg", bomb(), "image/jpeg")],
    )
    assert answer["content"] == BOMB_REFUSAL
    assert edits(openai_fake) == [] and openai_fake.count("images") == 1  # only the first


async def test_a_parent_picture_is_held_to_the_same_rules(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.chat_reply = scripted_chat
    bot = await start_bot(**FAST)
    await use_settings(bot, refine_mode="edit")
    original = await imagine_picture(discord_fake, "a blue vase")
    stored = int(original["attachments"][0]["id"])
    name, kind, _ = discord_fake.attachment_data[stored]
    discord_fake.attachment_data[stored] = (name, kind, bomb())  # the CDN now serves a bomb
    refined = await reply_to(discord_fake, original, "make it night")
    assert is_picture(refined)  # painted anew from the prompt, as when the parent is gone
    assert "could not be fetched" in refined["embeds"][0]["footer"]["text"]
    assert edits(openai_fake) == []

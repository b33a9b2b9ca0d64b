"""Helpers for the end-to-end tests: make pictures, press their buttons, reply to them, and
read what a person is left looking at (a picture with its buttons, or one sentence)."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from typing import Any

from PIL import Image

from bot.app import Picasso
from bot.i18n import LANGUAGES, translate
from bot.models import GuildSettings
from cogs.pictures.replies import ACKNOWLEDGEMENT
from tests.e2e.conftest import ALICE, CHANNEL_ID, GUILD_ID, jobs_ended
from tests.fakes.discord_api import DEFAULT_MEMBER_PERMISSIONS, FakeDiscord, FakeInteraction
from tests.fakes.discord_rules import FLAG_EPHEMERAL

MANAGE_GUILD = 1 << 5
ADMIN_PERMISSIONS = DEFAULT_MEMBER_PERMISSIONS | MANAGE_GUILD
# How the bot's lines begin while it is still working (progress, not an answer): a reply's
# "✏️ Refining…" in any language (other lines starting with ✏️ are answers).
WORKING = ("🧠", "🎨", "⏳", "🎲", *(translate(ACKNOWLEDGEMENT, lang) for lang in LANGUAGES))


# --- reading messages ----------------------------------------------------------------------


def button_ids(message: dict[str, Any]) -> list[str]:
    """The custom_ids of the buttons on a message."""
    return [
        button["custom_id"]
        for row in message.get("components") or []
        for button in row.get("components") or []
        if button.get("custom_id")
    ]


def is_picture(message: dict[str, Any] | None) -> bool:
    """A finished result: the picture, its embed and its buttons (added once it is recorded)."""
    return bool(
        message and message.get("embeds") and message.get("attachments") and button_ids(message)
    )


def is_sentence(message: dict[str, Any] | None) -> bool:
    """A final sentence (not a progress line)."""
    content = (message or {}).get("content") or ""
    return bool(content) and not content.startswith(WORKING) and not (message or {}).get("embeds")


def is_final(message: dict[str, Any] | None) -> bool:
    """A picture with buttons, or one sentence."""
    return is_picture(message) or is_sentence(message)


def is_private(message: dict[str, Any]) -> bool:
    """Only the person who asked sees it (ephemeral)."""
    return bool(int(message.get("flags") or 0) & FLAG_EPHEMERAL)


def field(message: dict[str, Any], name: str) -> str:
    """The value of the embed field called `name`."""
    fields = {f["name"]: f["value"] for f in message["embeds"][0].get("fields", [])}
    return fields[name]


def jump(message: dict[str, Any]) -> str:
    """The jump URL of a message in the test guild."""
    return f"https://discord.com/channels/{GUILD_ID}/{message['channel_id']}/{message['id']}"


def picture_id(message: dict[str, Any]) -> int:
    """The picture id carried by a result message's buttons."""
    reroll = next(c for c in button_ids(message) if c.startswith("picasso:reroll:"))
    return int(reroll.rsplit(":", 1)[1])


def image_of(message: dict[str, Any]) -> Image.Image:
    """The one picture uploaded with a message, decoded."""
    files = message["_files"]
    assert len(files) == 1, [(name, kind, len(data)) for name, kind, data in files]
    image = Image.open(io.BytesIO(files[0][2]))
    image.load()
    return image


def dump(value: Any) -> str:
    """Compact JSON for assertion messages."""
    return json.dumps(value, default=str)[:500]


# --- acting as people ----------------------------------------------------------------------


async def settled(interaction: FakeInteraction, timeout: float = 30) -> dict[str, Any]:  # noqa: ASYNC109
    """Wait until the person sees a picture with its buttons or a sentence, and the bot has
    finished its bookkeeping (the picture recorded and paid for); return what they see."""
    await interaction.wait_done(lambda i: is_final(i.shown), timeout=timeout)
    await jobs_ended()
    assert interaction.shown is not None
    return interaction.shown


async def imagine(
    discord_fake: FakeDiscord,
    description: str,
    *,
    user_id: int = ALICE,
    guild_id: int | None = GUILD_ID,
    channel_id: int = CHANNEL_ID,
    permissions: int = DEFAULT_MEMBER_PERMISSIONS,
    wait: bool = True,
    **options: Any,
) -> FakeInteraction:
    """Run /imagine with `options`; with `wait`, until it ends in a picture or a sentence."""
    interaction = await discord_fake.invoke(
        "imagine",
        {"description": description, **options},
        user_id=user_id,
        guild_id=guild_id,
        channel_id=channel_id,
        permissions=permissions,
    )
    if wait:
        await settled(interaction)
    return interaction


async def imagine_picture(
    discord_fake: FakeDiscord, description: str, *, user_id: int = ALICE
) -> dict[str, Any]:
    """Run /imagine and return the finished message (with its buttons)."""
    interaction = await imagine(discord_fake, description, user_id=user_id)
    assert is_picture(interaction.original), dump(interaction.shown)
    assert interaction.original is not None
    return interaction.original


async def click(
    discord_fake: FakeDiscord,
    message: dict[str, Any],
    action: str,
    *,
    user_id: int = ALICE,
    permissions: int = DEFAULT_MEMBER_PERMISSIONS,
) -> FakeInteraction:
    """Press the `action` button (reroll, refine, vary, prompt, delete) under a picture."""
    custom_id = next(c for c in button_ids(message) if c.startswith(f"picasso:{action}:"))
    return await discord_fake.click(
        int(message["id"]),
        custom_id,
        user_id=user_id,
        guild_id=GUILD_ID,
        channel_id=int(message["channel_id"]),
        permissions=permissions,
    )


async def submit_refine(
    discord_fake: FakeDiscord, message: dict[str, Any], **values: str
) -> FakeInteraction:
    """Submit the Refine form of the picture `message` as alice (it must have been opened)."""
    return await discord_fake.submit_modal(
        f"picasso:refine-modal:{picture_id(message)}",
        values,
        user_id=ALICE,
        guild_id=GUILD_ID,
        channel_id=int(message["channel_id"]),
    )


async def bot_reply_to(
    discord_fake: FakeDiscord, message_id: int, *, seconds: float = 20
) -> dict[str, Any]:
    """Wait for the bot's reply to `message_id` to be final, and return it."""

    def found() -> dict[str, Any] | None:
        for msg in discord_fake.messages.values():
            ref = msg.get("message_reference") or {}
            author = int(msg["author"]["id"])
            if author == discord_fake.bot_user_id and ref.get("message_id") == str(message_id):
                return msg
        return None

    await discord_fake.wait_for(lambda: is_final(found()), seconds, what="the bot's reply")
    await jobs_ended()
    reply = found()
    assert reply is not None
    return reply


async def reply_to(
    discord_fake: FakeDiscord,
    message: dict[str, Any],
    text: str,
    *,
    author_id: int = ALICE,
    **options: Any,
) -> dict[str, Any]:
    """Reply to `message` as a user, wait for the bot's final answer and return it."""
    posted = await discord_fake.post_message(
        int(message["channel_id"]),
        text,
        author_id=author_id,
        guild_id=GUILD_ID,
        reply_to=int(message["id"]),
        **options,
    )
    return await bot_reply_to(discord_fake, int(posted["id"]))


def bot_posts_with(discord_fake: FakeDiscord, text: str) -> list[Any]:
    """Bodies of the bot's channel message POSTs whose content is `text`."""
    return [
        r.json
        for r in discord_fake.requests
        if r.method == "POST"
        and re.fullmatch(r"/channels/\d+/messages", r.path)
        and (r.json or {}).get("content") == text
    ]


async def database_down(*args: object, **kwargs: object) -> Any:
    """A stand-in for a Store method while the database fails (monkeypatch it in)."""
    raise RuntimeError("database is locked")


async def use_settings(bot: Picasso, **settings: Any) -> None:
    """Give the test guild these settings (the rest default), as an admin would."""
    await bot.studio.store.save_guild_settings(
        GUILD_ID, GuildSettings(**settings), datetime.now(UTC)
    )


# --- the fake chat model ---------------------------------------------------------------------


def scripted_chat(body: dict[str, Any]) -> str | None:
    """A chat_reply for the fake OpenAI: well-formed revisions and variations.

    Expansions get the fake's default answer (None).
    """
    messages = body["messages"]
    system, user = messages[0]["content"], messages[-1]["content"]
    if system.startswith("You revise prompts"):
        change = user.rsplit("CHANGE:\n", 1)[1].strip()
        local = "yes" if "local" in change else "no"
        return f"PROMPT: A revised scene, now {change}.\nCHANGE: {change}\nLOCAL: {local}"
    if system.startswith("You write prompts"):
        count = int(re.search(r"Write (\d+) distinct takes", system).group(1))  # type: ignore[union-attr]
        return "\n".join(f"{n}. Take {n}: {user}, seen another way." for n in range(1, count + 1))
    return None


def chat_inputs(openai_fake: Any, system_start: str) -> list[str]:
    """The last user message of every chat request whose instructions start so."""
    return [
        r.json["messages"][-1]["content"]
        for r in openai_fake.requests
        if r.endpoint == "chat" and r.json["messages"][0]["content"].startswith(system_start)
    ]

"""Helpers for the admin, quota and limit tests: run commands as people, read what they saw."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.e2e.conftest import ALICE, CHANNEL_ID, GUILD_ID
from tests.fakes.discord_api import FakeDiscord, FakeInteraction
from tests.fakes.discord_rules import DEFAULT_MEMBER_PERMISSIONS

MANAGE_GUILD = 1 << 5
ADMIN_PERMISSIONS = DEFAULT_MEMBER_PERMISSIONS | MANAGE_GUILD
PICTURE = "🖼️ picture"
NOT_ADMIN = "Only server admins (Manage Server permission) can change Picasso's settings."
# Low-quality square pictures cost exactly $0.0272 with these rates (272 output tokens).
EXACT_PRICES = '{"gpt-image-2": {"text_in": 0, "image_in": 0, "image_out": 100}}'
LOW_SQUARE_MICROS = 27_200


class FakeClock:
    """A clock the test moves by hand (aware datetimes)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def answer(interaction: FakeInteraction) -> str:
    """The text a person reads as the answer (the original message, or the first response)."""
    shown = interaction.shown
    if shown is not None and shown.get("content"):
        return str(shown["content"])
    data = (interaction.callbacks[0].get("data") or {}) if interaction.callbacks else {}
    return str(data.get("content") or "")


def outcome(interaction: FakeInteraction) -> str:
    """PICTURE if a picture was posted, else the sentence the person read."""
    original = interaction.original
    if original is not None and original.get("embeds") and original.get("attachments"):
        return PICTURE
    return answer(interaction)


def _settled(interaction: FakeInteraction) -> bool:
    original = interaction.original
    if original is not None and original.get("embeds") and original.get("attachments"):
        return True
    text = answer(interaction)
    return bool(text) and not text.startswith(("🧠", "🎨", "⏳"))


async def admin(
    discord_fake: FakeDiscord,
    subcommand: str,
    *,
    user_id: int = ALICE,
    guild_id: int | None = GUILD_ID,
    channel_id: int = CHANNEL_ID,
    permissions: int = ADMIN_PERMISSIONS,
    override: bool = False,
    **options: Any,
) -> FakeInteraction:
    """Run `/imagine-admin <subcommand>` and wait for its answer."""
    interaction = await discord_fake.invoke(
        "imagine-admin",
        options,
        subcommand=subcommand,
        user_id=user_id,
        guild_id=guild_id,
        channel_id=channel_id,
        permissions=permissions,
        permission_override=override,
    )
    await interaction.wait_done()
    return interaction


async def admin_says(discord_fake: FakeDiscord, subcommand: str, **options: Any) -> str:
    """Run an admin command as a server admin; the sentence it answered (checked private)."""
    interaction = await admin(discord_fake, subcommand, **options)
    assert interaction.ephemeral, interaction.callbacks
    return answer(interaction)


async def imagine(
    discord_fake: FakeDiscord,
    description: str = "a quiet harbour",
    *,
    user_id: int = ALICE,
    guild_id: int | None = GUILD_ID,
    channel_id: int = CHANNEL_ID,
    permissions: int = DEFAULT_MEMBER_PERMISSIONS,
    wait: bool = True,
    **options: Any,
) -> FakeInteraction:
    """Run /imagine (low quality unless given) and, with `wait`, wait for its outcome."""
    interaction = await discord_fake.invoke(
        "imagine",
        {"description": description, "quality": "low", **options},
        user_id=user_id,
        guild_id=guild_id,
        channel_id=channel_id,
        permissions=permissions,
    )
    if wait:
        await settled(interaction)
    return interaction


async def settled(interaction: FakeInteraction, timeout: float = 30) -> None:  # noqa: ASYNC109
    """Wait until a picture or a final sentence is shown."""
    await interaction.wait_done(_settled, timeout=timeout)


async def draw(discord_fake: FakeDiscord, description: str = "a quiet harbour", **kw: Any) -> str:
    """Run /imagine and return its outcome (PICTURE or the sentence)."""
    return outcome(await imagine(discord_fake, description, **kw))

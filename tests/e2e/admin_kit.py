"""Helpers for the admin, quota and limit tests: run commands as people, read what they saw."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from tests.e2e.conftest import ALICE, CHANNEL_ID, GUILD_ID
from tests.e2e.picture_kit import ADMIN_PERMISSIONS, imagine, is_picture, is_private, settled
from tests.fakes.discord_api import FakeDiscord, FakeInteraction

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
    return PICTURE if is_picture(interaction.original) else answer(interaction)


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
    assert interaction.shown is not None and is_private(interaction.shown), interaction.callbacks
    return answer(interaction)


async def imagine_low(
    discord_fake: FakeDiscord, description: str = "a quiet harbour", **options: Any
) -> FakeInteraction:
    """Run /imagine at low quality (unless `quality` is given); see `pictures.imagine`."""
    return await imagine(discord_fake, description, **{"quality": "low", **options})


async def draw(discord_fake: FakeDiscord, description: str = "a quiet harbour", **kw: Any) -> str:
    """Run /imagine at low quality and return its outcome (PICTURE or the sentence)."""
    return outcome(await imagine_low(discord_fake, description, **kw))


async def burst(discord_fake: FakeDiscord, count: int) -> list[str]:
    """`count` low-quality /imagine by alice at once; their outcomes, once all are settled."""
    interactions = await asyncio.gather(
        *(imagine_low(discord_fake, f"ship {n}", wait=False) for n in range(count))
    )
    await asyncio.gather(*(settled(i, timeout=60) for i in interactions))
    assert all(i.callbacks[0]["type"] == 5 and len(i.callbacks) == 1 for i in interactions)
    return [outcome(i) for i in interactions]

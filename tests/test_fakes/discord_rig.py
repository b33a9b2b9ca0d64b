"""A small discord.py AutoShardedBot shaped like Picasso (app commands, a persistent button,
a form, a message menu), for driving the fake Discord in its own tests."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import discord
import discord.http
from discord.ext import commands

from tests.fakes.discord_api import FakeDiscord

log = logging.getLogger(__name__)

GUILD, CHANNEL, USER, OTHER = 500, 501, 20, 21
TOKEN = "fake-bot-token"


class Counter(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"counter:(?P<n>[0-9]+)"):
    """A persistent button: ``counter:<n>``."""

    def __init__(self, n: int) -> None:
        super().__init__(discord.ui.Button(label=f"Count {n}", custom_id=f"counter:{n}"))
        self.n = n

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> Counter:
        return cls(int(match["n"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        interaction.client.clicks.append((self.n, interaction.user.id))
        await interaction.response.edit_message(content=f"clicked {self.n}")


class Feedback(discord.ui.Modal, title="Feedback"):
    """A modal with an old-style text input (action row) and a Label-wrapped one."""

    name: discord.ui.TextInput[Any] = discord.ui.TextInput(label="Name", custom_id="name")
    detail: discord.ui.Label[Any] = discord.ui.Label(
        text="Details",
        component=discord.ui.TextInput(
            custom_id="detail", style=discord.TextStyle.long, required=False
        ),
    )

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        assert isinstance(self.detail.component, discord.ui.TextInput)
        interaction.client.submitted.append((self.name.value, self.detail.component.value))
        await interaction.response.send_message(f"thanks {self.name.value}", ephemeral=True)


class PicassoLike(commands.AutoShardedBot):
    """The smallest bot with the shapes Picasso uses."""

    def __init__(self) -> None:
        super().__init__(
            command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.1
        )
        self.seen: list[discord.Message] = []
        self.clicks: list[tuple[int, int]] = []
        self.submitted: list[tuple[str, str]] = []
        self.errors: list[Exception] = []

    async def setup_hook(self) -> None:
        self.add_dynamic_items(Counter)
        tree = self.tree

        @tree.command(description="Draw something")
        async def draw(interaction: discord.Interaction[Any], prompt: str, steps: int = 1) -> None:
            await interaction.response.defer(thinking=True)
            for step in range(steps):
                await interaction.edit_original_response(content=f"step {step}")
            await interaction.edit_original_response(content=f"drew {prompt}")

        @tree.command(description="A persistent button")
        async def button(interaction: discord.Interaction[Any]) -> None:
            view = discord.ui.View(timeout=None)
            view.add_item(Counter(7))
            await interaction.response.send_message("press", view=view)

        @tree.command(description="Answers too late")
        async def slow(interaction: discord.Interaction[Any]) -> None:
            await asyncio.sleep(3.2)
            try:
                await interaction.response.send_message("late")
            except discord.NotFound as exc:
                self.errors.append(exc)

        @tree.command(description="Answers twice")
        async def twice(interaction: discord.Interaction[Any]) -> None:
            await interaction.response.send_message("one")
            try:  # a fresh InteractionResponse forgets discord.py's own "already responded" guard
                await discord.InteractionResponse(interaction).send_message("two")
            except discord.HTTPException as exc:
                self.errors.append(exc)

        @tree.command(description="Uploads a file after thinking")
        async def upload(interaction: discord.Interaction[Any], size: int) -> None:
            await interaction.response.defer(thinking=True, ephemeral=True)
            try:
                await interaction.followup.send(file=discord.File(io.BytesIO(b"x" * size), "a.bin"))
            except discord.HTTPException as exc:
                self.errors.append(exc)
                await interaction.followup.send("too big")

        @tree.command(description="Opens a modal")
        async def feedback(interaction: discord.Interaction[Any]) -> None:
            await interaction.response.send_modal(Feedback())

        @tree.context_menu(name="Echo")
        async def echo(interaction: discord.Interaction[Any], message: discord.Message) -> None:
            await interaction.response.send_message(f"echo {message.content}", ephemeral=True)

        await tree.sync()

    async def on_message(self, message: discord.Message) -> None:
        if message.author.id != self.user.id:  # type: ignore[union-attr]
            self.seen.append(message)


@contextlib.asynccontextmanager
async def running_bot(
    fake: FakeDiscord, make: Callable[[], PicassoLike] = PicassoLike
) -> AsyncIterator[PicassoLike]:
    """A :class:`PicassoLike` (made by ``make``) logged in to ``fake`` and ready on every
    shard; closed on exit."""
    old_base = discord.http.Route.BASE
    discord.http.Route.BASE = fake.api_base
    client = make()
    runner = asyncio.create_task(client.start(TOKEN))
    try:
        await fake.wait_ready()
        await asyncio.wait_for(client.wait_until_ready(), 10)
        yield client
    finally:
        await client.close()
        try:
            await asyncio.wait_for(runner, 5)
        finally:
            discord.http.Route.BASE = old_base


def channel_of(bot: PicassoLike) -> discord.TextChannel:
    channel = bot.get_channel(CHANNEL)
    assert isinstance(channel, discord.TextChannel)
    return channel

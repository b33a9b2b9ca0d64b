"""What the cogs use of the bot they run in: Picasso's services, and the few members of
discord.py's `commands.Bot` they call. Every cog, setup and handler is typed against
`Services`, never against the wiring's `bot.app.Picasso`, so the cogs never import the
wiring (a wall: tests/unit/test_walls.py).

Why one protocol that repeats a few of discord.py's members, rather than "a `commands.Bot`
with Picasso's services": Python has no intersection type, and a Protocol can extend no
concrete class, so "a Bot that also has a studio" could only be a cast at every use or a
nominal base class Picasso must inherit. Spelled out here, every member a cog reaches for is
listed (mypy refuses one that is not), and mypy checks `Picasso` against the whole list
wherever it is handed over as `Services` (`DiscordPublisher(self, …)` in bot/app.py, and
tests/unit/test_walls.py). Taken on trust: `interaction.client` (`cogs.common.context.picasso`),
and the bot discord.py hands to an extension's `setup` (`cogs.common.translator` loads the
cogs on a bare `commands.Bot` to read their commands: setups only build cogs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import discord
    from discord import app_commands
    from discord.ext import commands
    from discord.state import ConnectionState

    from bot.jobs.service import JobService
    from bot.studio import Studio
    from cogs.pictures.publisher import DiscordPublisher


class Services(Protocol):
    """The bot, as far as the cogs go (each member available once the bot is set up)."""

    # Picasso's own.
    @property
    def studio(self) -> Studio:
        """Admission, settings, pictures, history, quotas and spend: queries and changes."""
        ...

    @property
    def jobs(self) -> JobService:
        """Where orders become jobs: submit, cancel, /queue, a set's takes."""
        ...

    @property
    def publisher(self) -> DiscordPublisher:
        """How jobs show themselves on Discord (a set of variations, shown at once)."""
        ...

    # discord.py's `commands.Bot`, the members the cogs call (its own signatures).
    @property
    def user(self) -> discord.ClientUser | None: ...

    @property
    def intents(self) -> discord.Intents: ...

    @property
    def application_id(self) -> int | None: ...

    @property
    def tree(self) -> app_commands.CommandTree[Any]: ...

    @property
    def _connection(self) -> ConnectionState[Any]:
        """discord.py's state: a webhook for an interaction token is made on it (the
        publisher's edits of an original response, which need no gateway)."""
        ...

    async def is_owner(self, user: discord.abc.User, /) -> bool: ...

    def get_partial_messageable(
        self,
        id: int,
        *,
        guild_id: int | None = None,
        type: discord.ChannelType | None = None,
    ) -> discord.PartialMessageable: ...

    def get_cog(self, name: str, /) -> commands.Cog | None: ...

    async def add_cog(self, cog: commands.Cog, /) -> None: ...

    def add_dynamic_items(
        self, *items: type[discord.ui.DynamicItem[discord.ui.Item[Any]]]
    ) -> None: ...

    def remove_dynamic_items(
        self, *items: type[discord.ui.DynamicItem[discord.ui.Item[Any]]]
    ) -> None: ...

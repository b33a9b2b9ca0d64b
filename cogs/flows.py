"""The ways to make a new picture from a posted one: reroll, refine, hand-edited prompt, vary.

Each takes plain ids and a `Surface` to show itself on, goes through `studio.job` (so every
picture counts against the same limits as /imagine) and ends in `publish`, which records
the new picture with its parent. Used by the buttons, the Refine modal and replies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final

import discord

from bot import lineage
from bot.errors import PicassoError
from bot.imaging.files import DownloadFailed, as_png, fetch_image
from bot.imaging.pipeline import ImageLoader, ImageResult, RunOptions
from bot.lineage import picture_url, request_of
from bot.policy import GuildSettings, Who, check_access
from bot.storage.tables import Picture
from bot.studio import Job
from cogs.context import may_post_pictures
from cogs.errors import CANNOT_POST, user_message
from cogs.posting import InteractionSurface, ReplySurface, Surface, SurfaceProgress, publish
from cogs.render import Origin, clip, join

if TYPE_CHECKING:
    from bot.app import Picasso

log = logging.getLogger(__name__)

VARIATIONS: Final = 3
MAX_INSTRUCTION_CHARS: Final = 500
MAX_PARENT_BYTES: Final = 25 * 1024 * 1024
GONE: Final = "That picture is no longer available — it may have been deleted."


def check_instruction(text: str) -> None:
    """Raise `PicassoError` with the user's sentence if `text` can't be a change request."""
    if not text.strip():
        raise PicassoError("Say what should change — for example “make it night”.")
    if len(text) > MAX_INSTRUCTION_CHARS:
        raise PicassoError(
            f"That change is too long — keep it under {MAX_INSTRUCTION_CHARS} characters."
        )


class Flows:
    """Makes new pictures from recorded ones; holds nothing but the bot."""

    def __init__(self, bot: Picasso) -> None:
        self.bot = bot

    async def reroll(
        self,
        who: Who,
        picture: Picture,
        surface: Surface,
        requester: discord.abc.User,
        settings: GuildSettings,
    ) -> None:
        """Paint `picture`'s prompt again, as a new picture."""
        await self._paint(
            who, picture, surface, requester, settings, picture.prompt, lineage.REROLL
        )

    async def paint_prompt(
        self,
        who: Who,
        picture: Picture,
        surface: Surface,
        requester: discord.abc.User,
        settings: GuildSettings,
        prompt: str,
    ) -> None:
        """Paint a prompt edited by hand, exactly as written (checked like typed text)."""
        await self._paint(
            who, picture, surface, requester, settings, prompt, lineage.PROMPT, text=prompt
        )

    async def _paint(
        self,
        who: Who,
        picture: Picture,
        surface: Surface,
        requester: discord.abc.User,
        settings: GuildSettings,
        prompt: str,
        kind: str,
        *,
        text: str | None = None,
    ) -> None:
        studio = self.bot.studio
        progress = SurfaceProgress(surface)
        request = request_of(picture)
        async with studio.job(who, request, settings=settings, text=text, progress=progress) as job:
            result = await studio.pipeline.paint(job.request, prompt, progress, job.options)
            await self._publish_from(picture, job, result, surface, requester, kind)

    async def refine(
        self,
        who: Who,
        picture: Picture,
        surface: Surface,
        requester: discord.abc.User,
        settings: GuildSettings,
        *,
        instruction: str,
        prompt: str | None = None,
        live: discord.Message | None = None,
    ) -> None:
        """A new picture from `picture` changed by `instruction` (re-imagined or edited).

        `prompt` replaces the picture's prompt as the starting point; `live` is the posted
        message, whose attachment URL is fresher than the stored one.
        """
        check_instruction(instruction)
        studio = self.bot.studio
        mode = settings.refine_mode
        progress = SurfaceProgress(surface, refining=True)
        async with studio.job(
            who,
            request_of(picture),
            settings=settings,
            text=instruction,
            progress=progress,
            input_images=0 if mode == "reimagine" else 1,
        ) as job:
            result = await studio.pipeline.refine(
                job.request,
                prompt or picture.prompt,
                instruction,
                progress,
                job.options,
                mode=mode,
                load_image=self._parent_loader(picture, live),
            )
            kind = lineage.EDIT if result.edited else lineage.REFINE
            await self._publish_from(
                picture, job, result, surface, requester, kind, instruction=instruction
            )

    async def _publish_from(
        self,
        parent: Picture,
        job: Job,
        result: ImageResult,
        surface: Surface,
        requester: discord.abc.User,
        kind: str,
        *,
        take: str | None = None,
        instruction: str | None = None,
    ) -> discord.Message:
        """Post `result` as a new picture made from `parent` (`kind` of lineage), linked to it."""
        return await publish(
            self.bot,
            job,
            result,
            surface,
            requester,
            origin=Origin(kind, picture_url(parent), take=take),
            parent_id=parent.id,
            instruction=instruction,
        )

    def _parent_loader(self, picture: Picture, live: discord.Message | None) -> ImageLoader:
        fresh = live.attachments[0].url if live and live.id == picture.message_id else None
        urls = list(dict.fromkeys(url for url in (fresh, picture.image_url) if url))

        async def load() -> bytes:
            failure = DownloadFailed(f"picture {picture.id} has no stored file")
            for url in urls:
                try:
                    return await as_png(
                        await fetch_image(self.bot.downloads, url, MAX_PARENT_BYTES)
                    )
                except DownloadFailed as error:
                    log.info("could not fetch picture %d from its URL: %s", picture.id, error)
                    failure = error
            raise failure

        return load

    async def vary(
        self,
        interaction: discord.Interaction,
        who: Who,
        picture: Picture,
        settings: GuildSettings,
        n: int = VARIATIONS,
    ) -> None:
        """`n` new takes on `picture`'s description, painted side by side, posted together.

        Each take is its own job (its own quota, cost and lineage) and its own reply with
        buttons; the takes wait for each other once painted and are posted in order.
        """
        source = interaction.message
        if source is None:
            raise PicassoError(GONE)
        if not may_post_pictures(interaction):  # the takes are channel messages
            raise PicassoError(CANNOT_POST)
        studio = self.bot.studio
        request = request_of(picture)
        check_access(settings, who, request.description)  # before spending a chat call
        link = f"[this picture]({picture_url(picture)})"
        surface = InteractionSurface(interaction)
        await surface.show(content=f"🎲 {n} variations of {link} are coming — writing them…")
        options = RunOptions(style_guide=settings.style_guide)
        prompts = await studio.pipeline.variation_prompts(request, n, options)
        await surface.show(content=f"🎲 {n} variations of {link} are coming — painting them…")
        batch = _Batch(n)
        outcomes = await asyncio.gather(
            *(
                self._take(who, picture, settings, prompt, i, batch, source, interaction.user)
                for i, prompt in enumerate(prompts)
            ),
            return_exceptions=True,
        )
        await surface.show(content=variations_summary(link, outcomes))

    async def _take(
        self,
        who: Who,
        picture: Picture,
        settings: GuildSettings,
        prompt: str,
        index: int,
        batch: _Batch,
        source: discord.Message,
        requester: discord.abc.User,
    ) -> discord.Message:
        studio = self.bot.studio
        try:
            # The takes share the person's turn: they are one request, and each waiting for
            # the others while holding a turn of its own could wait forever.
            async with studio.job(
                who, request_of(picture), settings=settings, own_turn=False
            ) as job:
                result = await studio.pipeline.paint(job.request, prompt, None, job.options)
                batch.painted()
                await batch.all_painted.wait()
                async with batch.in_order(index):
                    surface = ReplySurface(source)
                    take = f"{index + 1} of {batch.size}"
                    return await self._publish_from(
                        picture, job, result, surface, requester, lineage.VARIATION, take=take
                    )
        finally:
            batch.painted()
            batch.posted(index)


class _Batch:
    """Takes of one variations request: wait until all are painted, then post in order."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.all_painted = asyncio.Event()
        self._painted = 0
        self._counted: set[int] = set()
        self._turns = [asyncio.Event() for _ in range(size)]
        self._turns[0].set()

    def painted(self) -> None:
        """The calling take finished painting or failed (counted once); the last one to
        do so releases them all."""
        task = id(asyncio.current_task())
        if task in self._counted:
            return
        self._counted.add(task)
        self._painted += 1
        if self._painted >= self.size:
            self.all_painted.set()

    @asynccontextmanager
    async def in_order(self, index: int) -> AsyncIterator[None]:
        """Wait for the takes before `index` to be posted (or to have failed)."""
        await self._turns[index].wait()
        yield

    def posted(self, index: int) -> None:
        """Take `index` is out of the way: the next one may post."""
        if index + 1 < self.size:
            self._turns[index + 1].set()


def prompt_text(picture: Picture) -> str:
    """What the 📝 Prompt button shows: the description and the full prompt."""
    head = f"📝 Prompt for “{clip(picture.description, 200)}”:\n"
    return clip(head + picture.prompt, 2000)


def variations_summary(link: str, outcomes: list[Any]) -> str:
    """One line about a batch of variations: a link to each take, and why the others failed
    (each reason once, with the takes it stopped)."""
    parts = []
    failed: dict[str, list[str]] = {}
    for n, outcome in enumerate(outcomes, 1):
        if isinstance(outcome, discord.Message):
            parts.append(f"[take {n}]({outcome.jump_url})")
        else:
            failed.setdefault(user_message(outcome), []).append(str(n))
    for reason, takes in failed.items():
        parts.append(f"{'take' if len(takes) == 1 else 'takes'} {join(takes)}: {reason}")
    made = sum(isinstance(outcome, discord.Message) for outcome in outcomes)
    return clip(f"🎲 {made} of {len(outcomes)} variations of {link}: " + " · ".join(parts), 2000)

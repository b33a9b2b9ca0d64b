"""One picture from a request: expand (chat) → paint (image) → result, with progress events.

No Discord here: the caller passes a `Progress` that renders the stages wherever it likes
(an interaction message, a terminal line, a test's list).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal, Protocol

from bot.errors import Misconfigured, ModerationBlocked, PicassoError
from bot.imaging.files import DownloadFailed
from bot.imaging.pricing import ModelPrice, Usage, cost_micros, estimate_usage, price_for
from bot.imaging.prompts import (
    ChatMessages,
    Revision,
    Style,
    clean_expansion,
    expansion_messages,
    parse_revision,
    parse_variations,
    plain_prompt,
    refine_messages,
    variation_messages,
    with_change,
)
from bot.imaging.providers import ChatModel, GeneratedImage, ImageModel, Moderator
from bot.jobs import SlotQueue

log = logging.getLogger(__name__)

MAX_DESCRIPTION_CHARS = 1000


class Size(Enum):
    """Picture shapes offered to users, mapped to the API's size strings."""

    SQUARE = "1024x1024"
    PORTRAIT = "1024x1536"
    LANDSCAPE = "1536x1024"


class Quality(Enum):
    """Quality levels offered to users (the API's own names)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    AUTO = "auto"


class Stage(Enum):
    """Where a request is, in this order; QUEUED only while it waits (again as its place moves)."""

    QUEUED = "queued"
    EXPANDING = "expanding"
    PAINTING = "painting"


@dataclass(frozen=True, slots=True)
class ImageRequest:
    """What a person asked for."""

    description: str
    size: Size = Size.SQUARE
    quality: Quality = Quality.AUTO
    style: Style = Style.NONE
    expand: bool = True

    def __post_init__(self) -> None:
        check_description(self.description)


def check_description(text: str) -> None:
    """Raise `PicassoError` with the user's sentence if `text` can't be a description."""
    if not text.strip():
        raise PicassoError("Describe the picture you want — the description can't be empty.")
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise PicassoError(
            f"That description is too long — keep it under {MAX_DESCRIPTION_CHARS} characters."
        )


@dataclass(frozen=True, slots=True)
class ImageResult:
    """A finished picture and what it took to make it."""

    request: ImageRequest
    prompt: str
    expanded: bool
    note: str | None
    image: GeneratedImage
    cost_micros: int
    change: str | None = None  # for refinements: what changed, in a few words
    edited: bool = False  # made by editing the parent picture rather than painting anew

    @property
    def cost_usd(self) -> float:
        """What the picture cost, in dollars."""
        return self.cost_micros / 1_000_000


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Per-server choices for one run."""

    model: str | None = None
    style_guide: str = ""
    moderate: bool = False


class Progress(Protocol):
    """Receives a request's progress; implementations must not raise for display problems."""

    async def stage(self, stage: Stage, position: int | None = None) -> None:
        """The request entered `stage` (`position` in the queue for QUEUED)."""
        ...

    async def preview(self, png: bytes, index: int) -> None:
        """A partial picture while painting (streaming models only)."""
        ...


class SilentProgress:
    """A Progress that ignores everything."""

    async def stage(self, stage: Stage, position: int | None = None) -> None:
        return None

    async def preview(self, png: bytes, index: int) -> None:
        return None


ImageLoader = Callable[[], Awaitable[bytes]]
RefineMode = Literal["reimagine", "edit", "auto"]

EXPANSION_FALLBACK_NOTE = (
    "The prompt writer gave no usable answer, so your words were used as written."
)
EXPANSION_UNAVAILABLE_NOTE = (
    "The prompt writer was unavailable, so your words were used as written."
)
REVISION_FALLBACK_NOTE = (
    "The prompt writer gave no usable answer, so your change was added to the prompt as written."
)
REVISION_UNAVAILABLE_NOTE = (
    "The prompt writer was unavailable, so your change was added to the prompt as written."
)
EDIT_FALLBACK_NOTE = (
    "The earlier picture could not be fetched, so this one was painted anew from the prompt."
)


class Pipeline:
    """Runs requests against one chat model, one image model and an optional moderator."""

    def __init__(
        self,
        chat: ChatModel,
        images: ImageModel,
        *,
        slots: SlotQueue,
        prices: Mapping[str, ModelPrice],
        moderator: Moderator | None = None,
    ) -> None:
        self._chat = chat
        self._images = images
        self._slots = slots
        self._prices = prices
        self._moderator = moderator

    @property
    def default_model(self) -> str:
        """The image model used when a server sets none."""
        return self._images.model

    async def _ask(self, messages: ChatMessages) -> tuple[str | None, bool]:
        """(answer, reachable): transient chat failures give (None, False); config errors raise."""
        try:
            return await self._chat.complete(messages), True
        except Misconfigured:
            raise
        except PicassoError as error:
            log.warning("the chat model failed, carrying on without it: %r", error)
            return None, False

    async def expand(
        self, request: ImageRequest, options: RunOptions = RunOptions()
    ) -> tuple[str, bool, str | None]:
        """(prompt, expanded?, note): the chat model's prompt, or the words with a note why not."""
        words = plain_prompt(request.description, request.style)
        if not request.expand:
            return words, False, None
        answer, reachable = await self._ask(
            expansion_messages(request.description, request.style, options.style_guide)
        )
        if not reachable:
            return words, False, EXPANSION_UNAVAILABLE_NOTE
        prompt = clean_expansion(answer)
        if prompt is None:
            log.info("expansion unusable (%d chars), using the description", len(answer or ""))
            return words, False, EXPANSION_FALLBACK_NOTE
        return prompt, True, None

    async def _moderate(self, options: RunOptions, *texts: str) -> None:
        if not options.moderate or self._moderator is None:
            return
        # One check per distinct text (without expansion the prompt is the description).
        categories = await self._moderator.flagged(list(dict.fromkeys(t for t in texts if t)))
        if categories:
            log.info("moderation flagged a request: %s", ", ".join(categories))
            raise ModerationBlocked(categories)

    def _result(
        self,
        request: ImageRequest,
        prompt: str,
        image: GeneratedImage,
        *,
        edited: bool = False,
        **extra: Any,
    ) -> ImageResult:
        usage = image.usage
        if usage == Usage():
            # Charging nothing would let a budget be spent without limit: charge the estimate.
            usage = estimate_usage(
                request.size.value, request.quality.value, input_images=1 if edited else 0
            )
            log.warning("%s reported no usage; charging the estimate", image.model)
        cost = cost_micros(usage, price_for(image.model, self._prices))
        log.info(
            "made %d bytes with %s (%s, %s), cost $%.4f",
            len(image.data),
            image.model,
            request.size.value,
            request.quality.value,
            cost / 1_000_000,
        )
        return ImageResult(
            request=request, prompt=prompt, image=image, cost_micros=cost, edited=edited, **extra
        )

    @asynccontextmanager
    async def _slot(self, progress: Progress) -> AsyncIterator[None]:
        async def queued(position: int) -> None:
            await progress.stage(Stage.QUEUED, position)

        async with self._slots.slot(queued):
            yield

    async def _paint(
        self,
        request: ImageRequest,
        prompt: str,
        progress: Progress,
        options: RunOptions,
        *,
        parent: bytes | None = None,
    ) -> GeneratedImage:
        """Paint `prompt` anew, or as an edit of `parent` when one is given."""
        await progress.stage(Stage.PAINTING)
        size, quality = request.size.value, request.quality.value
        if parent is not None:
            return await self._images.edit(
                parent,
                prompt,
                size=size,
                quality=quality,
                model=options.model,
                on_preview=progress.preview,
            )
        return await self._images.generate(
            prompt, size=size, quality=quality, model=options.model, on_preview=progress.preview
        )

    async def run(
        self,
        request: ImageRequest,
        progress: Progress | None = None,
        options: RunOptions = RunOptions(),
    ) -> ImageResult:
        """Expand and paint `request`, reporting stages; raises `PicassoError` on failure."""
        progress = progress or SilentProgress()
        async with self._slot(progress):
            await progress.stage(Stage.EXPANDING)
            prompt, expanded, note = await self.expand(request, options)
            await self._moderate(options, request.description, prompt)
            image = await self._paint(request, prompt, progress, options)
        return self._result(request, prompt, image, expanded=expanded, note=note)

    async def paint(
        self,
        request: ImageRequest,
        prompt: str,
        progress: Progress | None = None,
        options: RunOptions = RunOptions(),
        *,
        note: str | None = None,
    ) -> ImageResult:
        """Paint `prompt` as it is (a reroll, a variation, a prompt edited by hand)."""
        progress = progress or SilentProgress()
        async with self._slot(progress):
            await self._moderate(options, prompt)
            image = await self._paint(request, prompt, progress, options)
        return self._result(request, prompt, image, expanded=False, note=note)

    async def refine(
        self,
        request: ImageRequest,
        prompt: str,
        instruction: str,
        progress: Progress | None = None,
        options: RunOptions = RunOptions(),
        *,
        mode: RefineMode = "reimagine",
        load_image: ImageLoader | None = None,
    ) -> ImageResult:
        """A new picture from `prompt` changed by `instruction`, painted anew or as an edit.

        In "auto" mode the chat model judges whether the change is local (then: edit).
        `load_image` returns the parent picture as PNG or raises `DownloadFailed`; then the
        picture is painted anew and the result's note says so. Without a usable revision
        the instruction is appended to the prompt.
        """
        progress = progress or SilentProgress()
        async with self._slot(progress):
            await progress.stage(Stage.EXPANDING)
            answer, reachable = await self._ask(refine_messages(prompt, instruction))
            revision = parse_revision(answer, instruction)
            revised, note = revision is not None, None
            if revision is None:
                revision = Revision(with_change(prompt, instruction), instruction, local=False)
                note = REVISION_FALLBACK_NOTE if reachable else REVISION_UNAVAILABLE_NOTE
            await self._moderate(options, instruction, revision.prompt)
            parent = None
            if load_image is not None and (mode == "edit" or (mode == "auto" and revision.local)):
                try:
                    parent = await load_image()
                except DownloadFailed as error:
                    log.warning("the parent picture could not be loaded, re-imagining: %s", error)
                    note = f"{note} {EDIT_FALLBACK_NOTE}" if note else EDIT_FALLBACK_NOTE
            image = await self._paint(request, revision.prompt, progress, options, parent=parent)
        return self._result(
            request,
            revision.prompt,
            image,
            expanded=revised,
            note=note,
            change=revision.change,
            edited=parent is not None,
        )

    async def variation_prompts(
        self, request: ImageRequest, n: int, options: RunOptions = RunOptions()
    ) -> list[str]:
        """`n` distinct prompts for `request` (the chat model's, padded with a plain one)."""
        answer, _ = await self._ask(
            variation_messages(request.description, n, options.style_guide, request.style)
        )
        prompts = parse_variations(answer, n)
        fallback = plain_prompt(request.description, request.style)
        return prompts + [fallback] * (n - len(prompts))

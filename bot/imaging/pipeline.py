"""One picture from a request: expand (chat) → paint (image) → result, with progress events.

No Discord here: the caller passes a `Progress` that renders the stages wherever it likes
(an interaction message, a terminal line, a test's list).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from bot.errors import Misconfigured, PicassoError
from bot.imaging.pricing import ModelPrice, cost_usd, price_for
from bot.imaging.prompts import Style, clean_expansion, expansion_messages, plain_prompt
from bot.imaging.providers import ChatModel, GeneratedImage, ImageModel
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
    """Where a request is; each is reported once, in this order (QUEUED only if it waits)."""

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
        if not self.description.strip():
            raise PicassoError("Describe the picture you want — the description can't be empty.")
        if len(self.description) > MAX_DESCRIPTION_CHARS:
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
    cost_usd: float


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


EXPANSION_FALLBACK_NOTE = (
    "The prompt writer gave no usable answer, so your words were used as written."
)
EXPANSION_UNAVAILABLE_NOTE = (
    "The prompt writer was unavailable, so your words were used as written."
)


class Pipeline:
    """Runs requests against one chat model and one image model."""

    def __init__(
        self,
        chat: ChatModel,
        images: ImageModel,
        *,
        slots: SlotQueue,
        prices: Mapping[str, ModelPrice],
    ) -> None:
        self._chat = chat
        self._images = images
        self._slots = slots
        self._prices = prices

    async def expand(self, request: ImageRequest) -> tuple[str, bool, str | None]:
        """(prompt, expanded?, note): the chat model's prompt, or the words with a note why not."""
        if not request.expand:
            return plain_prompt(request.description, request.style), False, None
        try:
            answer = await self._chat.complete(
                expansion_messages(request.description, request.style)
            )
        except Misconfigured:
            raise
        except PicassoError as error:
            log.warning("expansion failed, painting the description as written: %r", error)
            return (
                plain_prompt(request.description, request.style),
                False,
                EXPANSION_UNAVAILABLE_NOTE,
            )
        prompt = clean_expansion(answer)
        if prompt is None:
            log.info("expansion unusable (%d chars), using the description", len(answer or ""))
            return plain_prompt(request.description, request.style), False, EXPANSION_FALLBACK_NOTE
        return prompt, True, None

    async def run(self, request: ImageRequest, progress: Progress | None = None) -> ImageResult:
        """Make the picture, reporting stages to `progress`; raises `PicassoError` on failure."""
        progress = progress or SilentProgress()

        async def queued(position: int) -> None:
            await progress.stage(Stage.QUEUED, position)

        async with self._slots.slot(queued):
            await progress.stage(Stage.EXPANDING)
            prompt, expanded, note = await self.expand(request)
            await progress.stage(Stage.PAINTING)
            image = await self._images.generate(
                prompt,
                size=request.size.value,
                quality=request.quality.value,
                on_preview=progress.preview,
            )
        cost = cost_usd(image.usage, price_for(image.model, self._prices))
        log.info(
            "painted %d bytes with %s (%s), cost $%.4f",
            len(image.data),
            image.model,
            request.size.value,
            cost,
        )
        return ImageResult(request, prompt, expanded, note, image, cost)

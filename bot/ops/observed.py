"""The pipeline's models with every call watched: a failure counted by its kind, a painting
timed. They wrap any `ChatModel`, `ImageModel` or `Moderator` and change nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.imaging.prompts import ChatMessages
from bot.imaging.providers import ChatModel, GeneratedImage, ImageModel, Moderator

if TYPE_CHECKING:
    from bot.ops.metrics import Metrics


class ObservedChat:
    """A `ChatModel` whose failures are counted."""

    def __init__(self, inner: ChatModel, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def complete(self, messages: ChatMessages, *, safety_id: str | None = None) -> str | None:
        """The inner model's answer."""
        with self._metrics.provider_call("chat"):
            return await self._inner.complete(messages, safety_id=safety_id)


class ObservedImages:
    """An `ImageModel` whose calls are timed and whose failures are counted."""

    def __init__(self, inner: ImageModel, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics
        self.model = inner.model

    async def generate(self, prompt: str, **options: Any) -> GeneratedImage:
        """The inner model's picture(s) for `prompt`."""
        with self._metrics.provider_call("image", painting=True):
            return await self._inner.generate(prompt, **options)

    async def edit(self, image: bytes, prompt: str, **options: Any) -> GeneratedImage:
        """The inner model's edit of `image`."""
        with self._metrics.provider_call("image", painting=True):
            return await self._inner.edit(image, prompt, **options)


class ObservedModerator:
    """A `Moderator` whose failures are counted."""

    def __init__(self, inner: Moderator, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def flagged(self, texts: list[str], images: Sequence[bytes] = ()) -> list[str]:
        """The inner moderator's categories."""
        with self._metrics.provider_call("moderation"):
            return await self._inner.flagged(texts, images)

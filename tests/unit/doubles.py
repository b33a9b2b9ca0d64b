"""Test doubles for unit tests: chat and image models, a progress recorder, a wait helper."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.imaging.pipeline import Stage
from bot.imaging.pricing import Usage
from bot.imaging.prompts import ChatMessages
from bot.imaging.providers import GeneratedImage, PreviewCallback


class ScriptedChat:
    """Answers every request with `answer` (or raises `error`) and keeps what it was asked."""

    def __init__(
        self, answer: str | None = "A detailed prompt.", *, error: Exception | None = None
    ) -> None:
        self.answer = answer
        self.error = error
        self.asked: list[ChatMessages] = []

    async def complete(self, messages: ChatMessages) -> str | None:
        self.asked.append(messages)
        if self.error is not None:
            raise self.error
        return self.answer


class RecordingImages:
    """Records each call as (prompt, parent image or None); `hold` keeps calls waiting."""

    model = "gpt-image-2"

    def __init__(self, usage: Usage | None = None) -> None:
        self.usage = Usage(1, 0, 1) if usage is None else usage
        self.calls: list[tuple[str, bytes | None]] = []
        self.hold: asyncio.Event | None = None

    async def _made(self, prompt: str, parent: bytes | None, model: str | None) -> GeneratedImage:
        self.calls.append((prompt, parent))
        if self.hold is not None:
            await self.hold.wait()
        return GeneratedImage(b"edited" if parent else b"new", self.usage, model or self.model)

    async def generate(
        self,
        prompt: str,
        *,
        size: str,
        quality: str,
        model: str | None = None,
        on_preview: PreviewCallback | None = None,
    ) -> GeneratedImage:
        return await self._made(prompt, None, model)

    async def edit(
        self,
        image: bytes,
        prompt: str,
        *,
        size: str,
        quality: str,
        model: str | None = None,
        on_preview: PreviewCallback | None = None,
    ) -> GeneratedImage:
        return await self._made(prompt, image, model)


class Recorder:
    """A Progress that keeps every stage it is told."""

    def __init__(self) -> None:
        self.stages: list[tuple[Stage, int | None]] = []

    async def stage(self, stage: Stage, position: int | None = None) -> None:
        self.stages.append((stage, position))

    async def preview(self, png: bytes, index: int) -> None:
        return None


async def until(condition: Callable[[], bool]) -> None:
    """Let other tasks run until `condition` holds (failing after a second)."""
    async with asyncio.timeout(1):
        while not condition():
            await asyncio.sleep(0)

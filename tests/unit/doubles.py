"""Test doubles for unit tests: chat and image models, a progress recorder, a job publisher,
a wait helper."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence

from bot.errors import PicassoError
from bot.imaging.pipeline import ImageResult
from bot.imaging.pricing import ChatTokens, TokenUsage, meter_call
from bot.imaging.prompts import ChatMessages
from bot.imaging.providers import GeneratedImage, PreviewCallback
from bot.jobs.runner import Posted, Status
from bot.models import Stage
from bot.storage.job_records import JobRecord


class ScriptedChat:
    """Answers every request with `answer` (or raises `error`) and keeps what it was asked;
    with `tokens`, each answer is metered as a call of `model` billed that many."""

    model = "gpt-5.4-mini"

    def __init__(
        self,
        answer: str | None = "A detailed prompt.",
        *,
        error: Exception | None = None,
        tokens: ChatTokens | None = None,
    ) -> None:
        self.answer = answer
        self.error = error
        self.tokens = tokens
        self.asked: list[ChatMessages] = []
        self.safety_ids: list[str | None] = []  # who each request named

    async def complete(self, messages: ChatMessages, *, safety_id: str | None = None) -> str | None:
        self.asked.append(messages)
        self.safety_ids.append(safety_id)
        if self.error is not None:
            raise self.error
        if self.tokens is not None:
            meter_call("chat", self.model, self.tokens)
        return self.answer


class RecordingImages:
    """Records each call as (prompt, parent image or None); `hold` keeps calls waiting."""

    model = "gpt-image-2"

    def __init__(self, usage: TokenUsage | None = None) -> None:
        self.usage = TokenUsage(1, 0, 1) if usage is None else usage
        self.calls: list[tuple[str, bytes | None]] = []
        self.more: list[tuple[bytes, ...]] = []  # each edit's further input pictures
        self.safety_ids: list[str | None] = []  # who each call named
        self.hold: asyncio.Event | None = None

    async def _made(
        self, prompt: str, parent: bytes | None, model: str | None, n: int = 1
    ) -> GeneratedImage:
        self.calls.append((prompt, parent))
        if self.hold is not None:
            await self.hold.wait()
        data = b"edited" if parent else b"new"
        more = tuple(data + str(i).encode() for i in range(2, n + 1))
        return GeneratedImage(data, self.usage, model or self.model, more)

    async def generate(
        self,
        prompt: str,
        *,
        size: str,
        quality: str,
        model: str | None = None,
        on_preview: PreviewCallback | None = None,
        n: int = 1,
        safety_id: str | None = None,
    ) -> GeneratedImage:
        self.safety_ids.append(safety_id)
        return await self._made(prompt, None, model, n)

    async def edit(
        self,
        image: bytes,
        prompt: str,
        *,
        size: str,
        quality: str,
        model: str | None = None,
        on_preview: PreviewCallback | None = None,
        more: Sequence[bytes] = (),
        n: int = 1,
        safety_id: str | None = None,
    ) -> GeneratedImage:
        self.more.append(tuple(more))
        self.safety_ids.append(safety_id)
        return await self._made(prompt, image, model, n)


class ScriptedImages(RecordingImages):
    """RecordingImages that raises `errors[n]` on its n-th call (0-based), after any `hold`."""

    def __init__(self, errors: dict[int, Exception] | None = None, usage: TokenUsage | None = None):
        super().__init__(usage)
        self.errors = dict(errors or {})

    async def _made(
        self, prompt: str, parent: bytes | None, model: str | None, n: int = 1
    ) -> GeneratedImage:
        error = self.errors.pop(len(self.calls), None)
        image = await super()._made(prompt, parent, model, n)
        if error is not None:
            raise error
        return image


class RecordingPublisher:
    """A job Publisher that keeps every call (by job id); `refuse` makes picture posts fail."""

    def __init__(self) -> None:
        self.statuses: list[tuple[int, Status]] = []
        self.pictures: list[tuple[int, int]] = []  # (job id, picture id)
        self.sentences: list[tuple[int, str]] = []
        self.recorded_posts: list[tuple[int, Posted]] = []
        self.refuse: PicassoError | None = None
        self.refuse_record: Exception | None = None  # `recorded` should never raise; can it?
        self._message_ids = itertools.count(9001)

    async def progress(self, job: JobRecord, status: Status) -> None:
        self.statuses.append((job.id, status))

    async def picture(
        self, job: JobRecord, result: ImageResult, picture_ids: Sequence[int]
    ) -> Posted:
        self.pictures += [(job.id, picture_id) for picture_id in picture_ids]
        if self.refuse is not None:
            raise self.refuse
        urls = tuple(f"https://cdn/{picture_id}" for picture_id in picture_ids)
        return Posted(job.delivery.channel_id, next(self._message_ids), urls)

    async def sentence(self, job: JobRecord, text: str) -> None:
        self.sentences.append((job.id, text))

    async def recorded(self, job: JobRecord, result: ImageResult, posted: Posted) -> None:
        self.recorded_posts.append((job.id, posted))
        if self.refuse_record is not None:
            raise self.refuse_record

    def said(self, job_id: int) -> list[str]:
        """The sentences one job ended with."""
        return [text for job, text in self.sentences if job == job_id]

    def posted(self, job_id: int) -> list[int]:
        """The picture ids one job tried to post."""
        return [picture for job, picture in self.pictures if job == job_id]


class Recorder:
    """A Progress that keeps every stage it is told."""

    def __init__(self) -> None:
        self.stages: list[tuple[Stage, int | None]] = []

    async def stage(self, stage: Stage, position: int | None = None) -> None:
        self.stages.append((stage, position))

    async def preview(self, png: bytes, index: int) -> None:
        return None


async def until(condition: Callable[[], bool]) -> None:
    """Let other tasks run until `condition` holds (failing after a generous 5 s: a bound
    for something to happen, on a machine however busy, not a measure of how fast)."""
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0)


class FakeClock:
    """A monotonic clock that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

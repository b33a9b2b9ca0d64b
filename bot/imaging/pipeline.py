"""One picture from a request: expand (chat) → paint (image) → result, with progress events.

No Discord here: the caller passes a `Progress` that renders the stages wherever it likes
(an interaction message, a terminal line, a test's list). A plan's note is made in the
current language (`bot.i18n`): a job plans in its own task, in its requester's language,
every time it runs (after a restart too), and the note is shown, not stored.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, Protocol

from bot.errors import Misconfigured, ModerationBlocked, PicassoError
from bot.i18n import N_, _
from bot.imaging.files import DownloadFailed
from bot.imaging.pricing import (
    ChatPrice,
    Meter,
    ModelPrice,
    TokenUsage,
    cost_micros,
    estimate_usage,
    metering,
    price_for,
)
from bot.imaging.prompts import (
    ChatMessages,
    Revision,
    clean_expansion,
    expansion_messages,
    parse_revision,
    parse_variations,
    plain_prompt,
    refine_messages,
    variation_messages,
    with_change,
)
from bot.imaging.providers import (
    ChatModel,
    GeneratedImage,
    ImageModel,
    Moderator,
    PreviewCallback,
    SafetyIds,
)
from bot.models import ImageRequest, RefineMode, RunOptions, Stage

log = logging.getLogger(__name__)
P = ParamSpec("P")


@dataclass(frozen=True, slots=True)
class ImageResult:
    """A finished picture and what it took to make it."""

    request: ImageRequest
    prompt: str
    expanded: bool
    note: str | None
    image: GeneratedImage
    cost_micros: int  # the picture(s) and the planning: what the provider bills for them
    change: str | None = None  # for refinements: what changed, in a few words
    edited: bool = False  # made by editing the parent picture rather than painting anew

    @property
    def cost_usd(self) -> float:
        """What the picture (or the set) cost, in dollars."""
        return self.cost_micros / 1_000_000

    @property
    def pictures(self) -> tuple[bytes, ...]:
        """Every picture made (one, or the set of `request.count`), in order."""
        return self.image.pictures

    def costs(self) -> list[int]:
        """What each picture cost, in micro-dollars: the call's cost shared out evenly (the
        first ones take the remainder), summing to `cost_micros` exactly."""
        count = len(self.pictures)
        share, rest = divmod(self.cost_micros, count)
        return [share + (1 if index < rest else 0) for index in range(count)]


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

# msgids: the notes are translated when a plan is made, UPLOAD_FAILED when its error is read.
EXPANSION_FALLBACK_NOTE = N_(
    "The prompt writer gave no usable answer, so your words were used as written."
)
EXPANSION_UNAVAILABLE_NOTE = N_(
    "The prompt writer was unavailable, so your words were used as written."
)
REVISION_FALLBACK_NOTE = N_(
    "The prompt writer gave no usable answer, so your change was added to the prompt as written."
)
REVISION_UNAVAILABLE_NOTE = N_(
    "The prompt writer was unavailable, so your change was added to the prompt as written."
)
UPLOAD_NOTE = N_("Made from the picture you attached.")
UPLOAD_FAILED = N_(
    "I couldn't fetch the picture you attached — it may have been deleted. Attach it again."
)
EDIT_FALLBACK_NOTE = N_(
    "The earlier picture could not be fetched, so this one was painted anew from the prompt."
)


@dataclass(frozen=True, slots=True)
class Plan:
    """What to paint: the prompt (and the picture to edit, if any), and how it came about."""

    prompt: str
    expanded: bool = False
    note: str | None = None
    change: str | None = None  # refinements: what changed, in a few words
    parent: bytes | None = None  # edits: the earlier picture (or the attached one), as PNG
    more: tuple[bytes, ...] = ()  # edits: further pictures the person attached, as PNG
    cost_micros: int = 0  # what planning cost: the chat and moderation calls it made


def _metered(
    planning: Callable[Concatenate[Pipeline, P], Coroutine[Any, Any, Plan]],
) -> Callable[Concatenate[Pipeline, P], Coroutine[Any, Any, Plan]]:
    """A planning method whose plan carries what its chat and moderation calls cost."""

    @functools.wraps(planning)
    async def metered(pipeline: Pipeline, /, *args: P.args, **kwargs: P.kwargs) -> Plan:
        return await pipeline.metered(planning(pipeline, *args, **kwargs))

    return metered


class Pipeline:
    """Plans and paints pictures with one chat model, one image model and a moderator.

    Planning (expand, revise, moderate) and painting are separate steps, so the caller
    decides what waits for a painting turn and what a provider's 429 makes it repeat.
    With `safety_ids`, the chat and image calls of a run for a person (`RunOptions.user_id`)
    name them to the provider by their safety identifier.
    """

    def __init__(
        self,
        chat: ChatModel,
        images: ImageModel,
        *,
        prices: Mapping[str, ModelPrice],
        moderator: Moderator | None = None,
        safety_ids: SafetyIds | None = None,
        chat_prices: Mapping[str, ChatPrice] | None = None,
    ) -> None:
        self._chat = chat
        self._images = images
        self._prices = prices
        self._chat_prices = chat_prices
        self._moderator = moderator
        self._safety_ids = safety_ids

    @property
    def default_model(self) -> str:
        """The image model used when a server sets none."""
        return self._images.model

    def chat_cost(self, meter: Meter) -> int:
        """What the chat and moderation calls `meter` saw cost, at the `CHAT_PRICES` rates."""
        return meter.cost_micros(self._chat_prices)

    async def metered(self, planning: Awaitable[Plan]) -> Plan:
        """`planning`'s plan, carrying what every chat and moderation call made while it
        ran cost (a variation's prompts written on the way too)."""
        with metering() as meter:
            plan = await planning
        return dataclasses.replace(plan, cost_micros=self.chat_cost(meter))

    def _safety_id(self, options: RunOptions) -> str | None:
        """The identifier of the person the run is for, if known."""
        if self._safety_ids is None or options.user_id is None:
            return None
        return self._safety_ids.of(options.user_id)

    async def _ask(self, messages: ChatMessages, options: RunOptions) -> tuple[str | None, bool]:
        """(answer, reachable): transient chat failures give (None, False); config errors raise."""
        try:
            return await self._chat.complete(messages, safety_id=self._safety_id(options)), True
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
            expansion_messages(request.description, request.style, options.style_guide), options
        )
        if not reachable:
            return words, False, _(EXPANSION_UNAVAILABLE_NOTE)
        prompt = clean_expansion(answer)
        if prompt is None:
            log.info("expansion unusable (%d chars), using the description", len(answer or ""))
            return words, False, _(EXPANSION_FALLBACK_NOTE)
        return prompt, True, None

    async def moderate(
        self, options: RunOptions, *texts: str, images: Sequence[bytes] = ()
    ) -> None:
        """Raise `ModerationBlocked` if the server's content check flags any of `texts` or
        of the pictures a person attached."""
        if not options.moderate or self._moderator is None:
            return
        # One check per distinct text (without expansion the prompt is the description).
        distinct = list(dict.fromkeys(t for t in texts if t))
        categories = await self._moderator.flagged(distinct, images)
        if categories:
            log.info("moderation flagged a request: %s", ", ".join(categories))
            raise ModerationBlocked(categories)

    @_metered
    async def plan_imagine(self, request: ImageRequest, options: RunOptions = RunOptions()) -> Plan:
        """Expand the description into a prompt and check both."""
        prompt, expanded, note = await self.expand(request, options)
        await self.moderate(options, request.description, prompt)
        return Plan(prompt, expanded=expanded, note=note)

    @_metered
    async def plan_upload(
        self, request: ImageRequest, uploads: Sequence[bytes], options: RunOptions = RunOptions()
    ) -> Plan:
        """The attached pictures (PNG) changed as the description says: the words (with the
        style) are the edit's prompt as written, checked with the pictures."""
        prompt = plain_prompt(request.description, request.style)
        await self.moderate(options, request.description, prompt, images=uploads)
        return Plan(prompt, note=_(UPLOAD_NOTE), parent=uploads[0], more=tuple(uploads[1:]))

    @_metered
    async def plan_prompt(self, prompt: str, options: RunOptions = RunOptions()) -> Plan:
        """Paint `prompt` as it is (a reroll, a variation, a prompt edited by hand), checked."""
        await self.moderate(options, prompt)
        return Plan(prompt)

    @_metered
    async def plan_refine(
        self,
        prompt: str,
        instruction: str,
        options: RunOptions = RunOptions(),
        *,
        mode: RefineMode = "reimagine",
        load_image: ImageLoader | None = None,
        uploads: Sequence[bytes] = (),
    ) -> Plan:
        """`prompt` changed by `instruction`, to paint anew or as an edit of the parent.

        In "auto" mode the chat model judges whether the change is local (then: edit).
        `load_image` returns the parent picture as PNG or raises `DownloadFailed`; then the
        picture is painted anew and the note says so. Without a usable revision the
        instruction is appended to the prompt. Pictures the person attached (`uploads`, PNG)
        make it an edit of the parent with them, checked with the texts.
        """
        if uploads:
            mode = "edit"
        answer, reachable = await self._ask(refine_messages(prompt, instruction), options)
        revision = parse_revision(answer, instruction)
        revised, note = revision is not None, None
        if revision is None:
            revision = Revision(with_change(prompt, instruction), instruction, local=False)
            note = _(REVISION_FALLBACK_NOTE) if reachable else _(REVISION_UNAVAILABLE_NOTE)
        await self.moderate(options, instruction, revision.prompt, images=uploads)
        parent = None
        if load_image is not None and (mode == "edit" or (mode == "auto" and revision.local)):
            try:
                parent = await load_image()
            except DownloadFailed as error:
                log.warning("the parent picture could not be loaded, re-imagining: %s", error)
                fallback = _(EDIT_FALLBACK_NOTE)
                note = f"{note} {fallback}" if note else fallback
        if parent is None and uploads:  # the parent is gone: edit the attached pictures
            parent, uploads = uploads[0], uploads[1:]
        return Plan(revision.prompt, revised, note, revision.change, parent, tuple(uploads))

    async def paint(
        self,
        request: ImageRequest,
        plan: Plan,
        options: RunOptions = RunOptions(),
        on_preview: PreviewCallback | None = None,
    ) -> ImageResult:
        """Paint `plan` (anew, or as an edit of its parent) and price the picture: its
        result costs the picture(s) and the plan's chat and moderation calls."""
        how: dict[str, Any] = {
            "size": request.size.value,
            "quality": request.quality.value,
            "model": options.model,
            "on_preview": on_preview,
            "n": request.count,
            "safety_id": self._safety_id(options),
        }
        if plan.parent is not None:
            image = await self._images.edit(plan.parent, plan.prompt, more=plan.more, **how)
        else:
            image = await self._images.generate(plan.prompt, **how)
        return self._result(request, plan, image)

    def _result(self, request: ImageRequest, plan: Plan, image: GeneratedImage) -> ImageResult:
        edited = plan.parent is not None
        usage = image.usage
        if usage == TokenUsage():
            # Charging nothing would let a budget be spent without limit: charge the estimate.
            usage = estimate_usage(
                request.size.value,
                request.quality.value,
                input_images=1 + len(plan.more) if edited else 0,
                pictures=request.count,
            )
            log.warning("%s reported no usage; charging the estimate", image.model)
        painted = cost_micros(usage, price_for(image.model, self._prices))
        cost = painted + plan.cost_micros
        log.info(
            "made %d bytes with %s (%s, %s), cost $%.4f (the prompt's writing and checks $%.4f)",
            len(image.data),
            image.model,
            request.size.value,
            request.quality.value,
            cost / 1_000_000,
            plan.cost_micros / 1_000_000,
        )
        return ImageResult(
            request=request,
            prompt=plan.prompt,
            expanded=plan.expanded,
            note=plan.note,
            image=image,
            cost_micros=cost,
            change=plan.change,
            edited=edited,
        )

    async def run(
        self,
        request: ImageRequest,
        progress: Progress | None = None,
        options: RunOptions = RunOptions(),
    ) -> ImageResult:
        """Expand and paint `request` at once, reporting stages (the command line's way)."""
        progress = progress or SilentProgress()
        await progress.stage(Stage.EXPANDING)
        plan = await self.plan_imagine(request, options)
        await progress.stage(Stage.PAINTING)
        return await self.paint(request, plan, options, progress.preview)

    async def variation_prompts(
        self, request: ImageRequest, n: int, options: RunOptions = RunOptions()
    ) -> list[str]:
        """`n` distinct prompts for `request` (the chat model's, padded with a plain one)."""
        answer, _reachable = await self._ask(
            variation_messages(request.description, n, options.style_guide, request.style),
            options,
        )
        prompts = parse_variations(answer, n)
        fallback = plain_prompt(request.description, request.style)
        return prompts + [fallback] * (n - len(prompts))

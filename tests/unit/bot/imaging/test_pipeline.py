"""bot/imaging/pipeline.py without a provider: stages, fallbacks, moderation, what is charged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from bot.errors import Misconfigured, ModerationBlocked, ProviderBusy, ProviderTimeout
from bot.imaging.files import DownloadFailed
from bot.imaging.pipeline import (
    EDIT_FALLBACK_NOTE,
    EXPANSION_FALLBACK_NOTE,
    EXPANSION_UNAVAILABLE_NOTE,
    REVISION_FALLBACK_NOTE,
    REVISION_UNAVAILABLE_NOTE,
    UPLOAD_NOTE,
    ImageResult,
    Pipeline,
    Plan,
)
from bot.imaging.pricing import (
    DEFAULT_PRICES,
    ChatPrice,
    ChatTokens,
    TokenUsage,
    cost_micros,
    estimate_usage,
    meter_call,
    price_for,
)
from bot.imaging.prompts import (
    MAX_PROMPT_CHARS,
)
from bot.imaging.providers import SafetyIds
from bot.models import ImageRequest, Quality, RefineMode, RunOptions, Size, Stage, Style
from tests.unit.doubles import Recorder, RecordingImages, ScriptedChat


class Flagging:
    """A Moderator that flags any text containing "kraken"."""

    def __init__(self) -> None:
        self.checked: list[list[str]] = []
        self.pictures: list[bytes] = []

    async def flagged(self, texts: list[str], images: Sequence[bytes] = ()) -> list[str]:
        self.checked.append(texts)
        self.pictures += images
        flagged = any("kraken" in text for text in texts) or b"kraken" in b"".join(images)
        return ["violence"] if flagged else []


def make(
    chat: ScriptedChat | None = None,
    images: RecordingImages | None = None,
    moderator: Flagging | None = None,
) -> Pipeline:
    return Pipeline(
        chat or ScriptedChat(),
        images or RecordingImages(),
        prices=DEFAULT_PRICES,
        moderator=moderator,
    )


async def test_run_expands_then_paints_the_expansion() -> None:
    images, progress = RecordingImages(), Recorder()
    result = await make(ScriptedChat('"A fox in the snow."'), images).run(
        ImageRequest("a fox"), progress
    )
    assert images.calls == [("A fox in the snow.", None)]
    assert (result.prompt, result.expanded, result.note) == ("A fox in the snow.", True, None)
    assert [stage for stage, _ in progress.stages] == [Stage.EXPANDING, Stage.PAINTING]


@pytest.mark.parametrize(
    ("chat", "note"),
    [
        (ScriptedChat(""), EXPANSION_FALLBACK_NOTE),
        (ScriptedChat(error=ProviderTimeout()), EXPANSION_UNAVAILABLE_NOTE),
    ],
)
async def test_without_an_expansion_the_words_are_painted_and_the_note_says_why(
    chat: ScriptedChat, note: str
) -> None:
    images = RecordingImages()
    result = await make(chat, images).run(ImageRequest("a fox", style=Style.ANIME))
    assert images.calls == [(f"a fox. Style: {Style.ANIME.value}.", None)]
    assert (result.expanded, result.note) == (False, note)


async def test_a_misconfigured_chat_model_is_not_papered_over() -> None:
    images = RecordingImages()
    with pytest.raises(Misconfigured):
        await make(ScriptedChat(error=Misconfigured()), images).run(ImageRequest("a fox"))
    assert images.calls == []


async def test_no_expansion_asked_means_no_chat_call() -> None:
    chat = ScriptedChat()
    result = await make(chat).run(ImageRequest("a fox", expand=False))
    assert chat.asked == []
    assert (result.prompt, result.expanded, result.note) == ("a fox", False, None)


async def test_moderation_checks_words_and_prompt_before_painting() -> None:
    images, moderator = RecordingImages(), Flagging()
    pipeline = make(ScriptedChat("A kraken rising."), images, moderator)
    with pytest.raises(ModerationBlocked) as caught:
        await pipeline.run(ImageRequest("a sea creature"), options=RunOptions(moderate=True))
    assert caught.value.categories == ["violence"]
    assert moderator.checked == [["a sea creature", "A kraken rising."]]
    assert images.calls == []
    await pipeline.run(ImageRequest("a sea creature"))  # moderation off: painted
    assert len(images.calls) == 1


async def test_the_servers_model_paints_and_prices_the_picture() -> None:
    images = RecordingImages(usage=TokenUsage(100, 0, 1000))
    result = await make(images=images).paint(
        ImageRequest("a fox"), Plan("A fox."), RunOptions(model="gpt-image-1.5")
    )
    assert result.image.model == "gpt-image-1.5"
    assert result.cost_micros == cost_micros(
        TokenUsage(100, 0, 1000), DEFAULT_PRICES["gpt-image-1.5"]
    )


class MeteredFlagging(Flagging):
    """A Flagging moderator whose calls are metered as the provider's are."""

    async def flagged(self, texts: list[str], images: Sequence[bytes] = ()) -> list[str]:
        meter_call("moderation", "omni-moderation-latest", ChatTokens(100))
        return await super().flagged(texts, images)


async def test_a_picture_costs_its_painting_and_its_prompt_writing() -> None:
    """The person is charged what the provider bills: the prompt's writing and checks too."""
    chat = ScriptedChat('"A fox in the snow."', tokens=ChatTokens(2000, 300))
    images = RecordingImages(usage=TokenUsage(100, 0, 1000))
    chat_prices = {"gpt-5.4-mini": ChatPrice(0.75, 4.5), "omni-moderation": ChatPrice(10, 0)}
    pipeline = Pipeline(
        chat,
        images,
        prices=DEFAULT_PRICES,
        moderator=MeteredFlagging(),
        chat_prices=chat_prices,
    )
    plan = await pipeline.plan_imagine(ImageRequest("a fox"), RunOptions(moderate=True))
    assert plan.cost_micros == 1500 + 1350 + 1000  # written, then checked
    result = await pipeline.paint(ImageRequest("a fox"), plan)
    painted = cost_micros(TokenUsage(100, 0, 1000), DEFAULT_PRICES["gpt-image-2"])
    assert result.cost_micros == painted + plan.cost_micros
    assert sum(result.costs()) == result.cost_micros
    assert (await pipeline.run(ImageRequest("a fox"))).cost_micros == painted + 2850


async def test_an_outer_meter_prices_every_chat_call_of_a_plan() -> None:
    """A set's variation prompts are written before their plan: the runner meters both."""
    pipeline = make(ScriptedChat("1. A red fox.\n2. A grey fox.", tokens=ChatTokens(1000, 100)))

    async def planning() -> Plan:
        prompts = await pipeline.variation_prompts(ImageRequest("a fox"), 2)
        return await pipeline.plan_prompt(prompts[0])

    plan = await pipeline.metered(planning())
    assert plan.prompt == "A red fox." and plan.cost_micros == 750 + 450


async def test_a_provider_that_reports_no_usage_is_charged_the_estimate() -> None:
    """Zero usage would settle at $0 and let a budget be spent without limit."""
    images = RecordingImages(usage=TokenUsage())
    request = ImageRequest("a fox", size=Size.PORTRAIT, quality=Quality.LOW)
    result = await make(images=images).paint(request, Plan("A fox."))
    price = price_for("gpt-image-2", DEFAULT_PRICES)
    assert result.cost_micros == cost_micros(estimate_usage("1024x1536", "low"), price) > 0


async def test_a_set_is_painted_in_one_call_and_its_cost_shared_exactly() -> None:
    images = RecordingImages(usage=TokenUsage(100, 0, 1001))
    result = await make(images=images).paint(ImageRequest("a fox", count=3), Plan("A fox."))
    assert len(images.calls) == 1 and len(result.pictures) == 3
    costs = result.costs()
    assert sum(costs) == result.cost_micros and max(costs) - min(costs) <= 1


async def test_a_set_without_usage_is_charged_the_estimate_of_every_picture() -> None:
    images = RecordingImages(usage=TokenUsage())
    result = await make(images=images).paint(ImageRequest("a fox", count=2), Plan("A fox."))
    one = cost_micros(estimate_usage("1024x1024", "auto"), price_for("gpt-image-2", DEFAULT_PRICES))
    assert result.cost_micros == 2 * one


async def test_an_edit_without_usage_is_charged_with_its_input_picture() -> None:
    async def parent() -> bytes:
        return b"parent png"

    images = RecordingImages(usage=TokenUsage())
    pipeline = make(ScriptedChat("PROMPT: A fox at night.\nLOCAL: yes"), images)
    plan = await pipeline.plan_refine("A fox.", "make it night", mode="edit", load_image=parent)
    result = await pipeline.paint(ImageRequest("a fox"), plan)
    price = price_for("gpt-image-2", DEFAULT_PRICES)
    assert result.edited
    assert result.cost_micros == cost_micros(
        estimate_usage("1024x1024", "auto", input_images=1), price
    )


async def test_variations_are_padded_with_the_plain_words_and_keep_the_style() -> None:
    chat = ScriptedChat("A fox at dawn.")
    prompts = await make(chat).variation_prompts(
        ImageRequest("a fox", style=Style.PIXEL_ART), 3, RunOptions(style_guide="muted")
    )
    plain = f"a fox. Style: {Style.PIXEL_ART.value}."
    assert prompts == ["A fox at dawn.", plain, plain]
    asked = chat.asked[0]
    assert Style.PIXEL_ART.value in asked.system and "muted" not in asked.system
    assert asked.user == "a fox"


def pipeline(answer: str | None, images: RecordingImages) -> Pipeline:
    return Pipeline(ScriptedChat(answer), images, prices={})


async def refine(pipeline: Pipeline, prompt: str, instruction: str, **how: Any) -> ImageResult:
    """Plan a refinement of "a cat" and paint it."""
    plan = await pipeline.plan_refine(prompt, instruction, **how)
    return await pipeline.paint(ImageRequest("a cat"), plan)


async def parent() -> bytes:
    return b"parent png"


async def gone() -> bytes:
    raise DownloadFailed("HTTP 404")


LOCAL = "PROMPT: A cat with a hat.\nCHANGE: added a hat\nLOCAL: yes"


GLOBAL = "PROMPT: A cat at night.\nCHANGE: now at night\nLOCAL: no"


@pytest.mark.parametrize(
    ("mode", "answer", "edited"),
    [
        ("edit", GLOBAL, True),
        ("auto", LOCAL, True),
        ("auto", GLOBAL, False),
        ("reimagine", LOCAL, False),
    ],
)
async def test_refine_mode_chooses_between_editing_and_painting(
    mode: RefineMode, answer: str, edited: bool
) -> None:
    images = RecordingImages()
    result = await refine(
        pipeline(answer, images), "A cat.", "change it", mode=mode, load_image=parent
    )
    assert result.edited is edited
    assert images.calls == [(result.prompt, b"parent png" if edited else None)]
    assert result.note is None


async def test_an_unreachable_parent_is_painted_anew_with_a_note() -> None:
    images = RecordingImages()
    result = await refine(
        pipeline(GLOBAL, images), "A cat.", "make it night", mode="edit", load_image=gone
    )
    assert not result.edited
    assert images.calls == [("A cat at night.", None)]
    assert result.note == EDIT_FALLBACK_NOTE
    assert result.change == "now at night"


async def test_without_a_usable_revision_the_instruction_is_appended_and_the_note_says_so() -> None:
    images = RecordingImages()
    result = await refine(pipeline("", images), "A cat.", "make it night")
    assert result.prompt == "A cat. Change: make it night"
    assert result.change == "make it night"
    assert not result.expanded
    assert result.note == REVISION_FALLBACK_NOTE  # not "revised by the chat model"


async def test_the_appended_change_survives_a_prompt_at_full_length() -> None:
    images = RecordingImages()
    longest = "x" * MAX_PROMPT_CHARS  # a prompt edited by hand may be this long
    result = await refine(pipeline("", images), longest, "make it night")
    assert result.prompt.endswith("x Change: make it night")
    assert len(result.prompt) == MAX_PROMPT_CHARS


async def test_an_unavailable_prompt_writer_is_named_and_both_fallbacks_are_told() -> None:
    chat = ScriptedChat(error=ProviderBusy(5))
    images = RecordingImages()
    result = await refine(
        Pipeline(chat, images, prices={}), "A cat.", "make it night", mode="edit", load_image=gone
    )
    assert images.calls == [("A cat. Change: make it night", None)]
    assert result.note == f"{REVISION_UNAVAILABLE_NOTE} {EDIT_FALLBACK_NOTE}"


CHECKED = RunOptions(moderate=True)


async def test_an_attached_picture_is_edited_with_the_words_as_written() -> None:
    images, moderator = RecordingImages(), Flagging()
    pipeline = make(ScriptedChat("never asked"), images, moderator)
    request = ImageRequest("make it a watercolour", style=Style.PHOTO)
    plan = await pipeline.plan_upload(request, [b"mine", b"also mine"], CHECKED)
    result = await pipeline.paint(request, plan)
    assert plan.prompt.startswith("make it a watercolour") and plan.note == UPLOAD_NOTE
    assert images.calls == [(plan.prompt, b"mine")] and images.more == [(b"also mine",)]
    assert moderator.pictures == [b"mine", b"also mine"]
    assert result.edited


async def test_a_flagged_attached_picture_stops_the_plan() -> None:
    with pytest.raises(ModerationBlocked):
        await make(moderator=Flagging()).plan_upload(
            ImageRequest("a portrait"), [b"a kraken"], CHECKED
        )


async def test_a_refinement_with_an_attached_picture_edits_the_parent_with_it() -> None:
    async def parent() -> bytes:
        return b"parent png"

    moderator = Flagging()
    pipeline = make(ScriptedChat("PROMPT: The boat in the harbour.\nLOCAL: no"), None, moderator)
    plan = await pipeline.plan_refine(
        "A harbour.", "put this boat in it", CHECKED, load_image=parent, uploads=[b"boat"]
    )
    assert (plan.parent, plan.more) == (b"parent png", (b"boat",))  # even when not "local"
    assert moderator.pictures == [b"boat"]


async def test_every_chat_and_image_call_for_a_person_names_them_by_their_safety_id() -> None:
    """Expansion, refinement, variations and painting all carry the person's identifier
    (never their id); a run for nobody, or a pipeline without `safety_ids`, carries none."""
    chat, images = ScriptedChat(), RecordingImages()
    ids = SafetyIds(b"a-key-of-the-deployment-1234")
    pipeline = Pipeline(chat, images, prices=DEFAULT_PRICES, safety_ids=ids)
    alice = RunOptions(user_id=7001)
    await pipeline.run(ImageRequest("a fox"), options=alice)
    await pipeline.plan_refine("A fox.", "make it night", alice)
    await pipeline.variation_prompts(ImageRequest("a fox"), 2, alice)
    await pipeline.run(ImageRequest("a fox"), options=RunOptions(user_id=7002))
    await pipeline.run(ImageRequest("a fox"))  # the command line: nobody
    person, other = ids.of(7001), ids.of(7002)
    assert chat.safety_ids == [person, person, person, other, None]
    assert images.safety_ids == [person, other, None]
    await make(chat, images).run(ImageRequest("a fox"), options=alice)
    assert chat.safety_ids[-1] is None and images.safety_ids[-1] is None

"""bot/imaging/pipeline.py without a provider: stages, fallbacks, moderation, what is charged."""

from __future__ import annotations

import pytest

from bot.errors import Misconfigured, ModerationBlocked, ProviderTimeout
from bot.imaging.pipeline import (
    EXPANSION_FALLBACK_NOTE,
    EXPANSION_UNAVAILABLE_NOTE,
    Pipeline,
    Plan,
)
from bot.imaging.pricing import DEFAULT_PRICES, Usage, cost_micros, estimate_usage, price_for
from bot.models import ImageRequest, Quality, RunOptions, Size, Stage, Style
from tests.unit.doubles import Recorder, RecordingImages, ScriptedChat


class Flagging:
    """A Moderator that flags any text containing "kraken"."""

    def __init__(self) -> None:
        self.checked: list[list[str]] = []

    async def flagged(self, texts: list[str]) -> list[str]:
        self.checked.append(texts)
        return ["violence"] if any("kraken" in text for text in texts) else []


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
    images = RecordingImages(usage=Usage(100, 0, 1000))
    result = await make(images=images).paint(
        ImageRequest("a fox"), Plan("A fox."), RunOptions(model="gpt-image-1.5")
    )
    assert result.image.model == "gpt-image-1.5"
    assert result.cost_micros == cost_micros(Usage(100, 0, 1000), DEFAULT_PRICES["gpt-image-1.5"])


async def test_a_provider_that_reports_no_usage_is_charged_the_estimate() -> None:
    """Zero usage would settle at $0 and let a budget be spent without limit."""
    images = RecordingImages(usage=Usage())
    request = ImageRequest("a fox", size=Size.PORTRAIT, quality=Quality.LOW)
    result = await make(images=images).paint(request, Plan("A fox."))
    price = price_for("gpt-image-2", DEFAULT_PRICES)
    assert result.cost_micros == cost_micros(estimate_usage("1024x1536", "low"), price) > 0


async def test_an_edit_without_usage_is_charged_with_its_input_picture() -> None:
    async def parent() -> bytes:
        return b"parent png"

    images = RecordingImages(usage=Usage())
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

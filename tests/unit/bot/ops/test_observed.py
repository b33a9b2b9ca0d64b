"""bot/ops/observed.py: provider failures counted by their kind, paintings timed, and the
calls themselves unchanged."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from bot.errors import ProviderBusy, ProviderUnavailable
from bot.imaging.prompts import ChatMessages
from bot.ops.metrics import Metrics
from tests.unit.doubles import ScriptedChat, ScriptedImages


class NothingFlagged:
    async def flagged(self, texts: list[str], images: Sequence[bytes] = ()) -> list[str]:
        return []


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


async def test_a_painting_is_timed_and_a_failure_counted_by_its_kind() -> None:
    metrics = Metrics()
    inner = ScriptedImages(errors={1: ProviderUnavailable(), 2: ProviderBusy(3)})
    _, images, _ = metrics.observed(ScriptedChat(), inner, NothingFlagged())
    assert images.model == inner.model

    made = await images.generate("a cat", size="1024x1024", quality="low", n=2)
    assert made.pictures == (b"new", b"new2")
    for _ in range(2):
        with pytest.raises((ProviderUnavailable, ProviderBusy)):
            await images.edit(b"png", "a cat at night", size="1024x1024", quality="low")

    assert sample(metrics, "picasso_paint_seconds_count") == 1  # failures are not timed
    for kind in ("ProviderUnavailable", "ProviderBusy"):
        assert sample(metrics, "picasso_provider_errors_total", call="image", kind=kind) == 1
    assert [prompt for prompt, _ in inner.calls] == ["a cat", "a cat at night", "a cat at night"]


async def test_chat_failures_are_counted_too() -> None:
    metrics = Metrics()
    failing = ScriptedChat(error=ProviderUnavailable())
    chat, _, _ = metrics.observed(failing, ScriptedImages(), NothingFlagged())
    with pytest.raises(ProviderUnavailable):
        await chat.complete(ChatMessages("system", "user"))
    assert sample(metrics, "picasso_provider_errors_total", call="chat", kind="ProviderUnavailable")

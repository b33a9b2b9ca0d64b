"""bot/imaging/pricing.py: cost from usage, estimates, the price tables' lookup, and the
metering of chat and moderation calls."""

import asyncio

from bot.imaging.pricing import (
    FALLBACK_CHAT_PRICE,
    FALLBACK_PRICE,
    FREE,
    ChatPrice,
    ChatTokens,
    ModelPrice,
    TokenUsage,
    chat_cost_micros,
    chat_price_for,
    cost_micros,
    estimate_tokens,
    estimate_usage,
    meter_call,
    metering,
    price_for,
)


def test_cost_applies_each_rate_to_its_tokens() -> None:
    price = ModelPrice(text_in=5, image_in=8, image_out=40)
    assert cost_micros(TokenUsage(text_in=100, image_in=0, image_out=4160), price) == 166_900


def test_estimate_reserves_auto_as_high_and_grows_with_size() -> None:
    assert estimate_usage("1024x1024", "auto") == estimate_usage("1024x1024", "high")
    low = estimate_usage("1024x1024", "low").image_out
    assert low < estimate_usage("1536x1024", "low").image_out
    assert estimate_usage("1024x1024", "medium", input_images=1).image_in > 0


def test_price_lookup_by_exact_name_then_prefix_then_fallback() -> None:
    table = {"gpt-image-2": ModelPrice(1, 1, 1), "gpt-image-2.5": ModelPrice(2, 2, 2)}
    assert price_for("gpt-image-2", table).text_in == 1
    assert price_for("gpt-image-2.5-flare-2026-09-08", table).text_in == 2
    assert price_for("someone-elses-model", table) == FALLBACK_PRICE


# --- chat and moderation ---------------------------------------------------------------------


def test_chat_usage_is_priced_per_million_input_and_output_tokens() -> None:
    price = ChatPrice(input=0.75, output=4.5)
    assert chat_cost_micros(ChatTokens(input=2000, output=300), price) == 1500 + 1350
    assert chat_cost_micros(ChatTokens(), price) == 0


def test_the_default_chat_model_is_priced_and_an_unknown_one_is_never_free() -> None:
    assert chat_price_for("gpt-5.4-mini") == ChatPrice(input=0.75, output=4.5)
    assert chat_price_for("gpt-5.4-mini-2026-03-17") == ChatPrice(input=0.75, output=4.5)
    assert chat_price_for("gpt-5.4-nano-2026-03-17").input < chat_price_for("gpt-5.4").input
    assert chat_price_for("someone-elses-model") == FALLBACK_CHAT_PRICE
    assert FALLBACK_CHAT_PRICE.input > 0 and FALLBACK_CHAT_PRICE.output > 0


def test_moderation_is_free_unless_priced() -> None:
    assert chat_price_for("omni-moderation-latest", kind="moderation") == FREE
    priced = {"omni-moderation": ChatPrice(input=0.1, output=0)}
    assert chat_price_for("omni-moderation-latest", priced, kind="moderation").input == 0.1


def test_a_meter_prices_the_calls_made_while_it_is_open() -> None:
    meter_call("chat", "gpt-5.4-mini", ChatTokens(1_000_000, 0))  # no meter open: not kept
    with metering() as outer:
        meter_call("chat", "gpt-5.4-mini", ChatTokens(1000, 100))
        with metering() as inner:
            meter_call("moderation", "omni-moderation-latest", ChatTokens(50))
            meter_call("chat", "gpt-5.4-mini", ChatTokens(0, 1000))
    assert len(inner.calls) == 2 and len(outer.calls) == 3  # an outer meter sees it all
    assert inner.cost_micros() == 4500  # the moderation is free
    assert outer.cost_micros() == 750 + 450 + 4500
    table = {"gpt-5.4-mini": ChatPrice(0, 0), "omni-moderation": ChatPrice(1000, 0)}
    assert outer.cost_micros(table) == 50_000


async def test_calls_made_in_tasks_started_under_a_meter_are_metered() -> None:
    async def call() -> None:
        meter_call("chat", "gpt-5.4-mini", ChatTokens(1000))

    with metering() as meter:
        await asyncio.gather(call(), call())
    assert meter.cost_micros() == 2 * 750


def test_tokens_of_an_unreported_call_are_estimated_from_its_text() -> None:
    assert estimate_tokens(0) == 0
    assert estimate_tokens(9) == 3  # four characters a token, rounded up

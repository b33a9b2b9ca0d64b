"""bot/imaging/pricing.py: cost from usage, estimates, and the price table lookup."""

from bot.imaging.pricing import (
    FALLBACK_PRICE,
    ModelPrice,
    Usage,
    cost_micros,
    estimate_usage,
    price_for,
)


def test_cost_applies_each_rate_to_its_tokens() -> None:
    price = ModelPrice(text_in=5, image_in=8, image_out=40)
    assert cost_micros(Usage(text_in=100, image_in=0, image_out=4160), price) == 166_900


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

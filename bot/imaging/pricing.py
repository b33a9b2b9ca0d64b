"""What a picture cost, from the provider's reported token usage and a rate table.

Rates are USD per million tokens. The defaults are estimates from public price lists;
operators override them with `IMAGE_PRICES` (JSON) because prices change and
OpenAI-compatible servers charge differently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per 1M tokens: text input, image input, image output."""

    text_in: float
    image_in: float
    image_out: float


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage as reported by an image response (zeros when the provider sent none)."""

    text_in: int = 0
    image_in: int = 0
    image_out: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.text_in + other.text_in,
            self.image_in + other.image_in,
            self.image_out + other.image_out,
        )


DEFAULT_PRICES: Final[dict[str, ModelPrice]] = {
    "gpt-image-1-mini": ModelPrice(text_in=2.0, image_in=2.5, image_out=8.0),
    "gpt-image-1.5": ModelPrice(text_in=5.0, image_in=8.0, image_out=32.0),
    "gpt-image-2": ModelPrice(text_in=5.0, image_in=8.0, image_out=30.0),
    "gpt-image-2.5-flare": ModelPrice(text_in=5.0, image_in=8.0, image_out=30.0),
    "gpt-image-2.5-sunburst": ModelPrice(text_in=5.0, image_in=8.0, image_out=30.0),
}

# Used for a model missing from the table, so a cost is never silently zero.
FALLBACK_PRICE: Final = ModelPrice(text_in=5.0, image_in=8.0, image_out=40.0)


def price_for(model: str, table: Mapping[str, ModelPrice] | None = None) -> ModelPrice:
    """The rates for `model`: exact name, then the longest table key it starts with."""
    table = DEFAULT_PRICES if table is None else table
    if model in table:
        return table[model]
    prefixes = [name for name in table if model.startswith(name)]
    return table[max(prefixes, key=len)] if prefixes else FALLBACK_PRICE


def cost_micros(usage: Usage, price: ModelPrice) -> int:
    """Micro-dollars for `usage` at `price` (tokens × USD per million = micro-dollars)."""
    return round(
        usage.text_in * price.text_in
        + usage.image_in * price.image_in
        + usage.image_out * price.image_out
    )


# Output image tokens by (quality, size), from OpenAI's published GPT image tables. Used to
# reserve budget before a picture is made; the real usage settles it afterwards.
_OUTPUT_TOKENS: Final[dict[tuple[str, str], int]] = {
    ("low", "1024x1024"): 272,
    ("low", "1024x1536"): 408,
    ("low", "1536x1024"): 400,
    ("medium", "1024x1024"): 1056,
    ("medium", "1024x1536"): 1584,
    ("medium", "1536x1024"): 1568,
    ("high", "1024x1024"): 4160,
    ("high", "1024x1536"): 6240,
    ("high", "1536x1024"): 6208,
}
_PROMPT_TOKENS_ESTIMATE: Final = 400


def estimate_usage(size: str, quality: str, *, input_images: int = 0, pictures: int = 1) -> Usage:
    """A generous guess of the usage of `pictures` pictures: "auto" quality is reserved as
    "high", and the prompt and inputs are counted per picture (as separate calls bill them)."""
    level = "high" if quality == "auto" else quality
    out = _OUTPUT_TOKENS.get((level, size), max(_OUTPUT_TOKENS.values()))
    return Usage(
        text_in=_PROMPT_TOKENS_ESTIMATE * pictures,
        image_in=input_images * 1500 * pictures,
        image_out=out * pictures,
    )

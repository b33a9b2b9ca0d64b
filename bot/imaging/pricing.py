"""What a picture cost, and what writing and checking its prompt cost, from the provider's
reported token usage and rate tables.

Rates are USD per million tokens. The defaults are estimates from public price lists;
operators override them with `IMAGE_PRICES` and `CHAT_PRICES` (JSON) because prices change
and OpenAI-compatible servers charge differently.

Chat and moderation calls are metered as they are made: a provider reports each call's
tokens (`meter_call`) to every `Meter` open in the calling task (`metering()`), and whoever
opened one prices what it saw (`Meter.cost_micros`). Moderation is free unless priced.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Final, Literal


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per 1M tokens: text input, image input, image output."""

    text_in: float
    image_in: float
    image_out: float


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Token usage as reported by an image response (zeros when the provider sent none)."""

    text_in: int = 0
    image_in: int = 0
    image_out: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
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


def cost_micros(usage: TokenUsage, price: ModelPrice) -> int:
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


def estimate_usage(
    size: str, quality: str, *, input_images: int = 0, pictures: int = 1
) -> TokenUsage:
    """A generous guess of the usage of `pictures` pictures: "auto" quality is reserved as
    "high", and the prompt and inputs are counted per picture (as separate calls bill them)."""
    level = "high" if quality == "auto" else quality
    out = _OUTPUT_TOKENS.get((level, size), max(_OUTPUT_TOKENS.values()))
    return TokenUsage(
        text_in=_PROMPT_TOKENS_ESTIMATE * pictures,
        image_in=input_images * 1500 * pictures,
        image_out=out * pictures,
    )


# --- chat and moderation ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChatPrice:
    """USD per 1M tokens of a chat (or moderation) model: input (what is sent), output (what
    it writes)."""

    input: float
    output: float


@dataclass(frozen=True, slots=True)
class ChatTokens:
    """The tokens one chat or moderation call was billed for (the provider's `usage`)."""

    input: int = 0
    output: int = 0


DEFAULT_CHAT_PRICES: Final[dict[str, ChatPrice]] = {
    "gpt-5.5": ChatPrice(input=5.0, output=30.0),
    "gpt-5.4": ChatPrice(input=2.5, output=15.0),
    "gpt-5.4-mini": ChatPrice(input=0.75, output=4.5),
    "gpt-5.4-nano": ChatPrice(input=0.2, output=1.25),
    "gpt-5": ChatPrice(input=1.25, output=10.0),
    "gpt-5-mini": ChatPrice(input=0.25, output=2.0),
    "gpt-5-nano": ChatPrice(input=0.05, output=0.4),
    "gpt-4.1": ChatPrice(input=2.0, output=8.0),
    "gpt-4.1-mini": ChatPrice(input=0.4, output=1.6),
    "gpt-4.1-nano": ChatPrice(input=0.1, output=0.4),
    "gpt-4o": ChatPrice(input=2.5, output=10.0),
    "gpt-4o-mini": ChatPrice(input=0.15, output=0.6),
}

# A chat model missing from the table, so prompt writing is never silently free.
FALLBACK_CHAT_PRICE: Final = ChatPrice(input=5.0, output=30.0)
# A moderation model missing from the table: moderation is free unless priced.
FREE: Final = ChatPrice(input=0.0, output=0.0)
CHARS_PER_TOKEN: Final = 4  # for a call whose provider reported no usage

CallKind = Literal["chat", "moderation"]


def chat_price_for(
    model: str, table: Mapping[str, ChatPrice] | None = None, *, kind: CallKind = "chat"
) -> ChatPrice:
    """The rates for a chat or moderation `model`: exact name, then the longest table key it
    starts with; else a generous fallback for chat, nothing for moderation."""
    table = DEFAULT_CHAT_PRICES if table is None else table
    if model in table:
        return table[model]
    prefixes = [name for name in table if model.startswith(name)]
    if prefixes:
        return table[max(prefixes, key=len)]
    return FALLBACK_CHAT_PRICE if kind == "chat" else FREE


def chat_cost_micros(tokens: ChatTokens, price: ChatPrice) -> int:
    """Micro-dollars for `tokens` at `price` (tokens × USD per million = micro-dollars)."""
    return round(tokens.input * price.input + tokens.output * price.output)


def estimate_tokens(chars: int) -> int:
    """Tokens of `chars` characters of text, rounded up (for a call reported without usage)."""
    return math.ceil(max(0, chars) / CHARS_PER_TOKEN)


@dataclass(frozen=True, slots=True)
class MeteredCall:
    """One chat or moderation call: what kind, which model, the tokens billed."""

    kind: CallKind
    model: str
    tokens: ChatTokens


@dataclass(slots=True)
class Meter:
    """The chat and moderation calls made in a task while the meter is open."""

    calls: list[MeteredCall] = field(default_factory=list)

    def cost_micros(self, prices: Mapping[str, ChatPrice] | None = None) -> int:
        """What the calls cost at `prices` (the default table when None)."""
        return sum(
            chat_cost_micros(call.tokens, chat_price_for(call.model, prices, kind=call.kind))
            for call in self.calls
        )


# The meters open in this task (innermost last); tasks started in it share them.
_METERS: ContextVar[tuple[Meter, ...]] = ContextVar("picasso_meters", default=())


@contextlib.contextmanager
def metering() -> Iterator[Meter]:
    """Open a meter: every chat and moderation call made in the block (in this task, and in
    tasks it starts) is recorded on it, and on any meter already open around it."""
    meter = Meter()
    token = _METERS.set((*_METERS.get(), meter))
    try:
        yield meter
    finally:
        _METERS.reset(token)


def meter_call(kind: CallKind, model: str, tokens: ChatTokens) -> None:
    """Record a call on every open meter (none open: nothing to record)."""
    call = MeteredCall(kind, model, tokens)
    for meter in _METERS.get():
        meter.calls.append(call)

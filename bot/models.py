"""The value types and frozen records everything else speaks: what a person asks for
(`ImageRequest` and its parts), who asks from where (`Who`), what a server has set
(`GuildSettings`) and a recorded picture (`PictureRecord`).

Plain Python only: no database, no provider, no Discord. Slash-command choices, the CLI's
options and the stored forms are all derived from the enums and literals here.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Final, Literal

from bot.errors import PicassoError
from bot.i18n import N_

MAX_DESCRIPTION_CHARS: Final = 1000
# Pictures one request may ask for (posted together in one message, numbered).
MAX_COUNT: Final = 4
# Pictures a person may attach: these formats (what the image edit endpoint takes), this size.
UPLOAD_TYPES: Final = ("image/png", "image/jpeg", "image/webp")
MAX_UPLOAD_BYTES: Final = 20 * 1024 * 1024
# The largest id a database row can hold (64-bit signed): larger ones name nothing.
MAX_ID: Final = 2**63 - 1
# What stands where a person's words were, once they asked for them to be erased.
ERASED: Final = "(erased)"


class Size(Enum):
    """Picture shapes offered to people, mapped to the API's size strings."""

    SQUARE = "1024x1024"
    PORTRAIT = "1024x1536"
    LANDSCAPE = "1536x1024"

    @property
    def label(self) -> str:
        """The name people pick and settings store: `square`, `portrait`, `landscape`."""
        return self.name.lower()

    @classmethod
    def from_label(cls, label: str) -> Size | None:
        """The size whose `label` is `label` (as stored and offered), else None."""
        return next((size for size in cls if size.label == label), None)


class Quality(Enum):
    """Quality levels offered to people (the API's own names); "auto" lets the model pick."""

    AUTO = "auto"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @classmethod
    def from_value(cls, value: str) -> Quality | None:
        """The quality whose value is `value` (as stored and offered), else None."""
        return next((quality for quality in cls if quality.value == value), None)


# The qualities that can be a server's ceiling, cheapest first.
QUALITY_ORDER: Final = (Quality.LOW, Quality.MEDIUM, Quality.HIGH)


class Style(Enum):
    """Style presets offered by /imagine: value = the phrase given to the prompt writer."""

    NONE = ""
    PHOTO = "a realistic photograph (camera, lens and lighting described like a photographer)"
    ILLUSTRATION = "a clean digital illustration"
    ANIME = "an anime-style illustration"
    OIL_PAINTING = "an oil painting with visible brushwork"
    WATERCOLOR = "a soft watercolor painting"
    PIXEL_ART = "pixel art with a limited palette"
    RENDER_3D = "a polished 3D render"

    @property
    def label(self) -> str:
        """Human name shown in Discord."""
        return {"NONE": "none", "RENDER_3D": "3D render"}.get(
            self.name, self.name.lower().replace("_", " ")
        )

    @classmethod
    def from_label(cls, label: str) -> Style | None:
        """The style whose `label` is `label` (as stored and offered), else None."""
        return next((style for style in cls if style.label == label), None)


class Stage(Enum):
    """Where a request is, in this order; QUEUED only while it waits (again as its place moves)."""

    QUEUED = "queued"
    EXPANDING = "expanding"
    PAINTING = "painting"


RefineMode = Literal["reimagine", "edit", "auto"]
ChannelMode = Literal["all", "allow", "deny"]
MaxSize = Literal["square", "any"]
RemixWho = Literal["requester", "anyone"]


def check_text(text: str) -> None:
    """Raise `PicassoError` if `text` holds characters no database stores (NUL)."""
    if "\x00" in text:
        raise PicassoError(N_("Your text contains a character I can't use — please retype it."))


def check_description(text: str) -> None:
    """Raise `PicassoError` with the user's sentence if `text` can't be a description."""
    check_text(text)
    if not text.strip():
        raise PicassoError(N_("Describe the picture you want — the description can't be empty."))
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise PicassoError(
            N_("That description is too long — keep it under {limit} characters."),
            limit=MAX_DESCRIPTION_CHARS,
        )


@dataclass(frozen=True, slots=True)
class ImageRequest:
    """What a person asked for."""

    description: str
    size: Size = Size.SQUARE
    quality: Quality = Quality.AUTO
    style: Style = Style.NONE
    expand: bool = True
    count: int = 1  # pictures to make from it, 1 to MAX_COUNT

    def __post_init__(self) -> None:
        check_description(self.description)
        if not 1 <= self.count <= MAX_COUNT:
            raise PicassoError(N_("Ask for 1 to {most} pictures at a time."), most=MAX_COUNT)

    @classmethod
    def stored(
        cls,
        description: str,
        size: str,
        quality: str,
        style: str,
        *,
        expand: bool = True,
        count: int = 1,
    ) -> ImageRequest:
        """A request from its stored form (size and style by label, quality by value)."""
        return cls(
            description=description,
            size=Size[size.upper()],
            quality=Quality(quality),
            style=Style.from_label(style) or Style.NONE,
            expand=expand,
            count=count,
        )


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Per-server choices for one run, and whom it is for."""

    model: str | None = None
    style_guide: str = ""
    moderate: bool = False
    # The person the run is for: the provider is told their safety identifier (never this
    # id). Given when a job runs, from the job; None: nobody (the command line).
    user_id: int | None = None


@dataclass(frozen=True, slots=True)
class Who:
    """The person asking, where they ask from: plain ids, no Discord objects."""

    user_id: int
    guild_id: int | None
    channel_id: int
    parent_channel_id: int | None = None  # a thread's parent channel
    role_ids: frozenset[int] = field(default_factory=frozenset)
    is_admin: bool = False


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """Everything a server admin can set. None means "no limit" / "the bot's default"."""

    user_daily_pictures: int | None = None
    guild_daily_pictures: int | None = None
    cooldown_seconds: int = 0
    user_running: int = 2
    user_queued: int = 3
    guild_daily_usd: float | None = None
    guild_monthly_usd: float | None = None
    user_daily_usd: float | None = None
    channel_mode: ChannelMode = "all"
    channel_ids: tuple[int, ...] = ()
    allow_dms: bool = True
    allowed_role_ids: tuple[int, ...] = ()
    exempt_role_ids: tuple[int, ...] = ()
    moderation: bool = True
    default_size: Size = Size.SQUARE
    max_size: MaxSize = "any"
    default_quality: Quality = Quality.AUTO
    max_quality: Quality = Quality.HIGH  # one of QUALITY_ORDER
    allowed_styles: tuple[str, ...] = ()
    model: str | None = None
    expand_default: bool = True
    max_count: int = MAX_COUNT  # the most pictures one /imagine may ask for
    preview: bool = False  # /imagine shows the prompt and its cost privately before painting
    refine_mode: RefineMode = "reimagine"
    remix: RemixWho = "anyone"
    style_guide: str = ""
    blocked_words: tuple[str, ...] = ()
    audit_channel_id: int | None = None

    def to_json(self) -> str:
        """The stored form: a size by its label and a quality by its value, the words people
        pick (as every version has stored them)."""
        document = dataclasses.asdict(self) | {
            "default_size": self.default_size.label,
            "default_quality": self.default_quality.value,
            "max_quality": self.max_quality.value,
        }
        return json.dumps(document, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> GuildSettings:
        """Settings from their stored form; unknown keys and unknown sizes or qualities (from a
        newer version) are ignored: those settings keep their defaults."""
        if not text:
            return cls()
        raw: dict[str, Any] = json.loads(text)
        known = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {
            name: tuple(value) if isinstance(value, list) else value
            for name, value in raw.items()
            if name in known
        }
        for name, read in _STORED_WORDS.items():
            if name in values:
                value = read(values.pop(name))
                if value is not None:
                    values[name] = value
        return cls(**values)

    def replace(self, **changes: Any) -> GuildSettings:
        """A copy with `changes` applied."""
        return dataclasses.replace(self, **changes)


# The settings stored as words, and how each word reads back (None: a word unknown here).
_STORED_WORDS: Final[dict[str, Callable[[str], Size | Quality | None]]] = {
    "default_size": Size.from_label,
    "default_quality": Quality.from_value,
    "max_quality": Quality.from_value,
}


@dataclass(frozen=True, slots=True)
class NewPicture:
    """What is recorded about a picture before it is posted (where it lands comes later)."""

    guild_id: int | None
    channel_id: int
    requester_id: int
    parent_id: int | None
    kind: str  # how it came to be: see `bot.lineage` (imagine, reroll, refine, edit, …)
    description: str
    prompt: str
    instruction: str | None
    size: str
    quality: str
    style: str
    model: str
    cost_micros: int
    # Its place in a set of pictures posted together (1…), None for a picture alone.
    number: int | None = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True)
class PostedPicture:
    """Where a recorded picture landed (its message is the set's) and what it cost."""

    id: int
    image_url: str | None
    cost_micros: int


@dataclass(frozen=True, slots=True)
class PictureRecord(NewPicture):
    """A recorded picture: what made it, its number, where it is posted (None once deleted)."""

    id: int
    message_id: int | None
    image_url: str | None
    created_at: datetime

    @property
    def request(self) -> ImageRequest:
        """The request that made this picture (description and parameters), to paint again."""
        return ImageRequest.stored(self.description, self.size, self.quality, self.style)

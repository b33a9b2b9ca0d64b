"""What a job is, as plain frozen records: its states and kinds, what it makes (`JobSpec`),
where it shows itself (`Delivery`), and the stored job (`JobRecord`). No database here:
`bot.storage.jobs` stores and reads them."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from bot.config import Secret
from bot.models import ImageRequest, RefineMode, RunOptions
from bot.storage.counting import Reservation

DEFAULT_UPLOAD_LIMIT: Final = 10 * 1024 * 1024  # unboosted servers and DMs


class JobState(StrEnum):
    """Where a job is: queued → running → posting → done | failed | cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    POSTING = "posting"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


LIVE: Final = (JobState.QUEUED, JobState.RUNNING, JobState.POSTING)


class JobEnded(Exception):
    """The job ended elsewhere (e.g. cancelled) while this step was about to move it on."""


class JobKind(StrEnum):
    """How the job makes its picture (a refine may end as an `edit` picture)."""

    IMAGINE = "imagine"
    REROLL = "reroll"
    REFINE = "refine"
    PROMPT = "prompt"  # a prompt edited by hand, painted as written
    VARIATION = "variation"


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What to make and how, fixed when the job is submitted (stored as JSON)."""

    request: ImageRequest
    options: RunOptions = field(default_factory=RunOptions)
    note: str | None = None  # the server's shaping note ("quality limited to medium")
    instruction: str | None = None  # refinements: what should change
    refine_mode: RefineMode = "reimagine"
    image_urls: tuple[str, ...] = ()  # where the parent picture can be fetched (edits)
    uploads: tuple[str, ...] = ()  # where the pictures the person attached can be fetched
    origin_url: str | None = None  # link to the parent picture, shown under the new one
    takes: int | None = None  # variations: how many takes the batch has
    requester_name: str = ""
    requester_avatar: str | None = None
    audit_channel_id: int | None = None
    locale: str | None = None  # the language its sentences are shown in (None: English)

    def to_json(self) -> str:
        """The stored form."""
        request = self.request
        document = dataclasses.asdict(self) | {
            "request": {
                "description": request.description,
                "size": request.size.label,
                "quality": request.quality.value,
                "style": request.style.label,
                "expand": request.expand,
                "count": request.count,
            },
            "options": dataclasses.asdict(self.options),
        }
        return json.dumps(document, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> JobSpec:
        """A spec from its stored form."""
        raw: dict[str, Any] = json.loads(text)
        request = raw.pop("request")
        return cls(
            request=ImageRequest.stored(**request),
            options=RunOptions(**raw.pop("options")),
            image_urls=tuple(raw.pop("image_urls")),
            uploads=tuple(raw.pop("uploads", ())),  # specs stored before uploads had none
            **raw,
        )


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where a job shows itself: an interaction's message (while its token lives), or a
    reply in a channel (`reply_to_id`, then the bot's own `message_id`)."""

    channel_id: int
    token: Secret | None = None
    token_expires_at: datetime | None = None
    public: bool = False  # the interaction's "thinking…" is public (failures go privately)
    reply_to_id: int | None = None
    message_id: int | None = None
    upload_limit: int = DEFAULT_UPLOAD_LIMIT

    def token_alive(self, now: datetime) -> bool:
        """Whether the interaction token can still be used at `now`."""
        return self.token is not None and (
            self.token_expires_at is None or now < self.token_expires_at
        )


@dataclass(frozen=True, slots=True)
class NewJob:
    """A job to submit."""

    kind: JobKind
    guild_id: int | None
    user_id: int
    spec: JobSpec
    delivery: Delivery
    prompt: str | None = None
    parent_id: int | None = None
    batch: str | None = None
    take: int | None = None
    once: str | None = None  # a press that may come twice makes one job per key


class AlreadyDone(Exception):
    """A job with this `once` key exists already: the press came twice."""


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A job as stored."""

    id: int
    kind: JobKind
    state: JobState
    guild_id: int | None
    user_id: int
    spec: JobSpec
    delivery: Delivery
    prompt: str | None
    parent_id: int | None
    batch: str | None
    take: int | None
    running_cap: int | None
    reservation: Reservation
    picture_id: int | None
    outcome: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None = None  # its last start (running and posting jobs)
    # The process holding it when it was read (several processes; None in one): every move
    # it makes checks the job is still held by it, so a job taken over is never moved twice.
    holder: str | None = None

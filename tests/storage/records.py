"""What tests store and read: limits to reserve against, jobs, posted pictures, and a
recorded picture as the repository returns it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from bot.config import Secret
from bot.models import ImageRequest, NewPicture, PictureRecord, PostedPicture
from bot.policy import NO_LIMITS, Limits
from bot.storage.job_records import Delivery, JobKind, JobSpec, NewJob
from bot.storage.repository import Store

GUILD = 4242
CHANNEL = 1
TOKEN = "interaction-token-" + "x" * 40


def limits(**given: int | None) -> Limits:
    """No limits except those given."""
    return dataclasses.replace(NO_LIMITS, **given)  # type: ignore[arg-type]


def new_job(
    user: int,
    *,
    guild: int | None = GUILD,
    parent: int | None = None,
    token: bool = True,
    kind: JobKind = JobKind.IMAGINE,
    batch: str | None = None,
    take: int | None = None,
    description: str = "a cat",
    instruction: str | None = None,
    audit_channel: int | None = None,
) -> NewJob:
    """A job shown on an interaction's response (with `token`) or as a reply in a channel."""
    delivery = (
        Delivery(CHANNEL, token=Secret(TOKEN), public=True)
        if token
        else Delivery(CHANNEL, reply_to_id=77, message_id=78)
    )
    return NewJob(
        kind=kind,
        guild_id=guild,
        user_id=user,
        spec=JobSpec(
            request=ImageRequest(description),
            instruction=instruction,
            requester_name="alice",
            audit_channel_id=audit_channel,
        ),
        delivery=delivery,
        parent_id=parent,
        batch=batch,
        take=take,
    )


def new_picture(
    message_id: int,
    *,
    user: int,
    guild: int | None = GUILD,
    cost: int = 900,
    parent: int | None = None,
    kind: str | None = None,
    instruction: str | None = None,
) -> NewPicture:
    """The record of a picture to post as `message_id` (a refinement with a `parent`,
    unless `kind` says otherwise)."""
    return NewPicture(
        guild_id=guild,
        channel_id=CHANNEL,
        requester_id=user,
        parent_id=parent,
        kind=kind or ("imagine" if parent is None else "refine"),
        description=f"picture {message_id}",
        prompt="a prompt",
        instruction=instruction,
        size="square",
        quality="low",
        style="none",
        model="gpt-image-2",
        cost_micros=cost,
    )


async def post_picture(
    store: Store,
    message_id: int,
    now: datetime,
    *,
    user: int,
    guild: int | None = GUILD,
    cost: int = 900,
    parent: int | None = None,
    kind: str | None = None,
    instruction: str | None = None,
    audit_channel: int | None = None,
) -> int:
    """A job that ends in a picture posted as `message_id`, the way the runner does it."""
    new = new_job(
        user, guild=guild, parent=parent, instruction=instruction, audit_channel=audit_channel
    )
    job = await store.submit_job(new, limits(), 1_000, now)
    await store.start_job(job, now)
    picture = new_picture(
        message_id,
        user=user,
        guild=guild,
        cost=cost,
        parent=parent,
        kind=kind,
        instruction=instruction,
    )
    [picture_id] = await store.begin_posting(job, [picture], now)
    await store.complete_job(job, [PostedPicture(picture_id, None, cost)], message_id, now)
    return picture_id


FOX = PictureRecord(
    id=12,
    guild_id=5001,
    channel_id=5002,
    message_id=900,
    requester_id=7001,
    parent_id=None,
    kind="imagine",
    description="a fox",
    prompt="A red fox at dawn.",
    instruction=None,
    size="landscape",
    quality="high",
    style="oil painting",
    model="gpt-image-2",
    cost_micros=1,
    image_url=None,
    created_at=datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
)


def picture_record(**changes: Any) -> PictureRecord:
    """A posted picture of a fox (#12, message 900, by user 7001), with `changes`."""
    return dataclasses.replace(FOX, **changes)

"""cogs/pictures/publisher.py: how a job shows itself on Discord (progress, the picture, a
failure's sentence, the variations summary, the audit line), seen from a fake Discord."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.config import Secret
from bot.errors import PicassoError, UploadFailed
from bot.jobs.line import Place
from bot.jobs.runner import Status
from bot.models import ImageRequest, PostedPicture, Stage
from bot.storage.job_records import Delivery, JobKind, JobState
from bot.storage.repository import Store
from cogs.common.answering import CANNOT_POST
from cogs.pictures.publisher import NowhereToShow
from tests.storage.records import new_picture
from tests.unit.cogs.pictures.publisher_rig import (
    ALICE,
    AUDIT,
    BOB,
    CHANNEL,
    GUILD,
    NOW,
    Rig,
    buttons,
    delivered_on,
    image_result,
    opened_rig,
    png,
)

QUEUED = Status(Stage.QUEUED, Place(position=2, eta_seconds=None))
PAINTING = Status(Stage.PAINTING)
PICTURE_BUTTONS = [f"picasso:{a}:42" for a in ("reroll", "refine", "vary", "prompt", "delete")]


@pytest.fixture
async def rig(store: Store) -> AsyncIterator[Rig]:
    async with opened_rig(store) as made:
        yield made
    fake = made.fake
    assert fake.violations == [], "the publisher sent what Discord would reject"
    pinged = [m["_pinged"] for m in [*fake.messages.values(), *fake.deleted_messages.values()]]
    mentioned = [m["mentions"] for m in fake.messages.values()]
    assert not any(pinged) and not any(mentioned), "the publisher pinged someone"


# --- progress ----------------------------------------------------------------------------------


async def test_a_queued_job_shows_its_place_with_a_cancel_button(rig: Rig) -> None:
    inter = await rig.thinking(public=True)
    job = await rig.job(delivered_on(inter))
    await rig.publisher.progress(job, QUEUED)
    await rig.reporter.drain(5)
    [edit] = rig.edits(inter)
    assert edit.json["content"] == "⏳ In line — position 2."
    assert buttons(edit) == [f"picasso:cancel:{job.id}"]
    assert edit.json["allowed_mentions"]["parse"] == []
    assert inter.original is not None and inter.original["content"] == edit.json["content"]


async def test_a_running_job_shows_its_stage_without_buttons(rig: Rig) -> None:
    inter = await rig.thinking(public=True)
    job = await rig.job(delivered_on(inter))
    await rig.publisher.progress(job, PAINTING)
    await rig.reporter.drain(5)
    [edit] = rig.edits(inter)
    assert edit.json["content"] == "🎨 Painting your picture…"
    assert edit.json["components"] == []


async def test_a_set_being_painted_says_how_many_pictures(rig: Rig) -> None:
    inter = await rig.thinking(public=True)
    job = await rig.job(delivered_on(inter), request=ImageRequest("four boats", count=4))
    await rig.publisher.progress(job, PAINTING)
    await rig.reporter.drain(5)
    [edit] = rig.edits(inter)
    assert edit.json["content"] == "🎨 Painting your 4 pictures…"


async def test_a_burst_of_progress_is_the_first_edit_and_the_latest(rig: Rig) -> None:
    inter = await rig.thinking(public=True)
    job = await rig.job(delivered_on(inter))
    await rig.publisher.progress(job, QUEUED)
    await rig.fake.wait_for(lambda: len(rig.edits(inter)) == 1)
    for stage in (Stage.EXPANDING, Stage.PAINTING, Stage.PAINTING):
        await rig.publisher.progress(job, Status(stage))
    await rig.reporter.drain(5)
    shown = [edit.json["content"] for edit in rig.edits(inter)]
    assert shown == ["⏳ In line — position 2.", "🎨 Painting your picture…"]


async def test_a_variation_take_shows_no_progress(rig: Rig) -> None:
    inter = await rig.thinking(public=True, pressed=rig.bot_message("the picture"))
    take = await rig.job(delivered_on(inter), JobKind.VARIATION, batch="b", take=0, takes=3)
    await rig.publisher.progress(take, PAINTING)
    await rig.reporter.drain(5)
    assert rig.requests("PATCH", "/") == []


# --- the picture -------------------------------------------------------------------------------


async def test_the_picture_is_one_edit_with_its_file_embed_and_buttons(rig: Rig) -> None:
    inter = await rig.thinking(public=True)
    job = await rig.job(delivered_on(inter))
    picture = png()
    await rig.publisher.progress(job, PAINTING)
    posted = await rig.publisher.picture(job, image_result(picture), [42])
    await rig.reporter.drain(5)
    last = rig.edits(inter)[-1]
    assert [(name, data) for name, _, data in last.files] == [("picasso.png", picture)]
    [embed] = last.json["embeds"]
    assert embed["title"] == "a cat in a hat"
    assert embed["image"]["url"] == "attachment://picasso.png"
    assert buttons(last) == PICTURE_BUTTONS
    assert last.json["allowed_mentions"]["parse"] == []
    original = inter.original
    assert original is not None and original["_files"][0][2] == picture
    assert (posted.channel_id, posted.message_id) == (CHANNEL, inter.original_id)
    assert posted.image_urls == (original["attachments"][0]["url"],)


async def test_a_preview_is_shown_then_replaced_by_the_picture(rig: Rig) -> None:
    inter = await rig.thinking(public=True)
    job = await rig.job(delivered_on(inter))
    await rig.publisher.progress(job, Status(Stage.PAINTING, preview=png(16), preview_index=0))
    await rig.fake.wait_for(lambda: len(rig.edits(inter)) == 1)
    await rig.publisher.picture(job, image_result(png()), [42])
    preview, _ = rig.edits(inter)
    assert preview.json["content"] == "🎨 Painting your picture… (preview 1)"
    assert [name for name, _, _ in preview.files] == ["preview-0.png"]
    assert inter.original is not None
    assert [a["filename"] for a in inter.original["attachments"]] == ["picasso.png"]


@pytest.mark.parametrize("expired_token", [True, False], ids=["token expired", "reply to refine"])
async def test_without_a_live_token_the_bots_own_message_shows_it(
    rig: Rig, expired_token: bool
) -> None:
    inter = await rig.thinking(public=True)
    mine = rig.bot_message()
    delivery = Delivery(CHANNEL, reply_to_id=77, message_id=mine)
    if expired_token:
        delivery = Delivery(
            CHANNEL, token=Secret(inter.token), token_expires_at=NOW, message_id=mine
        )
    job = await rig.job(delivery, JobKind.REFINE)
    await rig.publisher.progress(job, Status(Stage.EXPANDING))
    await rig.reporter.drain(5)
    assert rig.fake.messages[mine]["content"] == "🧠 Revising the prompt with your change…"
    posted = await rig.publisher.picture(job, image_result(png()), [42])
    assert posted.message_id == mine
    [_, last] = rig.requests("PATCH", f"/channels/{CHANNEL}/messages/{mine}")
    assert buttons(last) == PICTURE_BUTTONS and len(last.files) == 1
    assert last.json["allowed_mentions"]["parse"] == []
    assert rig.requests("PATCH", "/webhooks/") == []


async def test_with_no_token_and_no_message_there_is_nowhere_to_show(rig: Rig) -> None:
    inter = await rig.thinking(public=True)
    job = await rig.job(delivered_on(inter, expires_in=timedelta(0)))
    with pytest.raises(NowhereToShow):
        await rig.publisher.picture(job, image_result(png()), [42])
    assert rig.requests("PATCH", "/") == []


async def test_a_variation_take_is_a_reply_that_pings_nobody(rig: Rig) -> None:
    source = rig.bot_message("the picture")
    inter = await rig.thinking(public=True, pressed=source)
    delivery = Delivery(CHANNEL, token=Secret(inter.token), public=True, reply_to_id=source)
    take = await rig.job(delivery, JobKind.VARIATION, batch="b", take=1, takes=3)
    posted = await rig.publisher.picture(take, image_result(png()), [42])
    [post] = rig.requests("POST", f"/channels/{CHANNEL}/messages")
    assert int(post.json["message_reference"]["message_id"]) == source
    assert post.json["allowed_mentions"] == {"parse": [], "replied_user": False}
    assert buttons(post) == PICTURE_BUTTONS
    reply = rig.fake.messages[posted.message_id]
    assert reply["type"] == 19 and "take 2 of 3" in str(reply["embeds"])


# --- refused uploads ---------------------------------------------------------------------------


async def test_an_upload_discord_refuses_as_too_large_is_retried_once_smaller(rig: Rig) -> None:
    big = png(96, noisy=True)
    inter = await rig.thinking(public=True, limit=len(big) * 2 // 3)
    job = await rig.job(delivered_on(inter))
    posted = await rig.publisher.picture(job, image_result(big), [42])
    refused, accepted = rig.edits(inter)
    assert refused.status == 413 and accepted.status == 200
    assert [len(data) for _, _, data in refused.files] == [len(big)]
    [(name, _, smaller)] = accepted.files
    assert name == "picasso.jpg" and len(smaller) <= len(big) // 2
    assert posted.message_id == inter.original_id
    rig.excuse("the limit is")  # the first try broke Discord's upload limit


async def test_an_upload_refused_twice_fails(rig: Rig) -> None:
    inter = await rig.thinking(public=True, limit=100)
    job = await rig.job(delivered_on(inter))
    with pytest.raises(UploadFailed):
        await rig.publisher.picture(job, image_result(png(96, noisy=True)), [42])
    assert [edit.status for edit in rig.edits(inter)] == [413, 413]
    rig.excuse("the limit is", 2)


async def test_a_forbidden_post_becomes_the_cannot_post_sentence(rig: Rig) -> None:
    source = rig.bot_message("the picture")
    inter = await rig.thinking(public=True, pressed=source)
    rig.fake.forbid_bot(CHANNEL)
    delivery = Delivery(CHANNEL, token=Secret(inter.token), public=True, reply_to_id=source)
    take = await rig.job(delivery, JobKind.VARIATION, batch="b", take=0, takes=3)
    with pytest.raises(PicassoError) as refused:
        await rig.publisher.picture(take, image_result(png()), [42])
    assert refused.value.user_message == CANNOT_POST
    assert [r.status for r in rig.requests("POST", "/messages")] == [403]


# --- a failure's sentence ----------------------------------------------------------------------


async def test_after_a_public_thinking_the_sentence_is_told_privately(rig: Rig) -> None:
    inter = await rig.thinking(public=True)
    job = await rig.job(delivered_on(inter, public=True))
    await rig.publisher.sentence(job, f"No picture for <@{BOB}>.")
    assert [r.status for r in rig.requests("DELETE", "/messages/@original")] == [204]
    [told] = rig.requests("POST", f"/webhooks/{rig.fake.application_id}/{inter.token}")
    assert told.json["flags"] == 64 and told.json["allowed_mentions"]["parse"] == []
    assert inter.original is None and inter.shown is not None
    assert inter.shown["content"] == f"No picture for <@{BOB}>." and inter.shown["flags"] & 64


async def test_after_a_private_thinking_the_sentence_replaces_everything(rig: Rig) -> None:
    inter = await rig.thinking(public=False)
    job = await rig.job(delivered_on(inter, public=False))
    await rig.publisher.picture(job, image_result(png()), [42])
    await rig.publisher.sentence(job, "That did not work.")
    last = rig.edits(inter)[-1].json
    assert (last["content"], last["embeds"], last["attachments"]) == ("That did not work.", [], [])
    assert last["components"] == []
    shown = inter.original
    assert shown is not None and shown["attachments"] == shown["embeds"] == []
    assert rig.requests("DELETE", "/") == []


async def test_a_sentence_discord_refuses_is_logged_not_raised(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    inter = await rig.thinking(public=False)
    job = await rig.job(delivered_on(inter, public=False))
    inter.created_at -= 16 * 60  # Discord's 15 minutes are over, whatever the job thinks
    with caplog.at_level(logging.WARNING, "cogs.pictures.publisher"):
        await rig.publisher.sentence(job, "That did not work.")
    assert [edit.status for edit in rig.edits(inter)] == [401]
    assert "could not tell the user" in caplog.text
    rig.excuse("older than 15 minutes")


async def test_a_sentence_still_goes_when_the_loading_message_is_gone(rig: Rig) -> None:
    inter = await rig.thinking(public=True)
    assert inter.original is not None
    await rig.fake.delete_message(inter.original)
    job = await rig.job(delivered_on(inter, public=True))
    await rig.publisher.sentence(job, "That did not work.")
    assert [r.status for r in rig.requests("DELETE", "/messages/@original")] == [404]
    assert inter.shown is not None and inter.shown["content"] == "That did not work."
    rig.excuse("DELETE")  # of a message that was gone


# --- variations and the audit line -------------------------------------------------------------


async def test_the_summary_links_each_take_and_says_how_the_others_are(rig: Rig) -> None:
    source = rig.bot_message("the picture")
    inter = await rig.thinking(public=True, pressed=source)
    delivery = Delivery(CHANNEL, token=Secret(inter.token), public=True, reply_to_id=source)
    takes = [
        await rig.job(delivery, JobKind.VARIATION, batch="b", take=n, takes=3) for n in range(3)
    ]
    store = rig.store
    await store.start_job(takes[0], NOW)
    running = await store.job(takes[0].id)
    assert running is not None
    [picture_id] = await store.begin_posting(running, [new_picture(999, user=ALICE)], NOW)
    await store.complete_job(running, [PostedPicture(picture_id, None, 900)], 999, NOW)
    await store.end_job(takes[1], JobState.FAILED, "It was refused.", NOW)
    await rig.publisher.variations(takes[2], now=True)
    [edit] = rig.edits(inter)  # sent before returning: nothing was drained
    text = edit.json["content"]
    assert text.startswith("🎲 1 of 3 variations of a deleted picture: ")
    assert f"[take 1](https://discord.com/channels/{GUILD}/{CHANNEL}/999)" in text
    assert "take 3: painting…" in text and "take 2: It was refused." in text


async def test_recorded_posts_the_audit_line_pinging_nobody(rig: Rig) -> None:
    inter = await rig.thinking(public=True)
    job = await rig.job(delivered_on(inter), audit_channel_id=AUDIT)
    posted = await rig.publisher.picture(job, image_result(png()), [42])
    await rig.publisher.recorded(job, image_result(png()), posted)
    [line] = rig.requests("POST", f"/channels/{AUDIT}/messages")
    assert line.json["content"].startswith(f"🖼️ <@{ALICE}> in <#{CHANNEL}> · $0.042")
    assert f"/{CHANNEL}/{posted.message_id}" in line.json["content"]
    assert line.json["allowed_mentions"]["parse"] == []

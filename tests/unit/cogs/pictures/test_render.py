"""cogs/pictures/render.py: status lines, the result embed, the variations summary, the
refusal line and the line (/queue), as people read them."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bot import lineage
from bot.imaging.pipeline import ImageResult
from bot.imaging.pricing import TokenUsage
from bot.imaging.providers import GeneratedImage
from bot.jobs.line import Place
from bot.jobs.runner import Status
from bot.jobs.service import QueueEntry
from bot.models import ImageRequest, Quality, Size, Stage, Style
from bot.storage.counting import Periods, Reservation
from bot.storage.job_records import Delivery, JobKind, JobRecord, JobSpec, JobState
from cogs.pictures.render import (
    PROMPT_BUDGET,
    QUEUE_SHOWN,
    Origin,
    queue_embed,
    queue_line,
    refusal_line,
    result_embed,
    status_line,
    variations_summary,
)
from tests.unit.jobs_rig import ALICE, CHANNEL, GUILD, NOW

PARENT = "https://discord.com/channels/4242/1/500"
FLAGGED = "the content check flagged it"


def result(
    description: str = "a cat",
    prompt: str = "A tabby cat asleep on a sunny windowsill.",
    *,
    style: Style = Style.NONE,
    note: str | None = None,
    expanded: bool = True,
    change: str | None = None,
) -> ImageResult:
    request = ImageRequest(description, Size.LANDSCAPE, Quality.HIGH, style)
    image = GeneratedImage(b"png", TokenUsage(image_out=1056), "gpt-image-2")
    return ImageResult(request, prompt, expanded, note, image, 81_600, change=change)


def fields(result_: ImageResult, origin: Origin | None = None) -> dict[str, str | None]:
    embed = result_embed(result_, "alice", None, "picture.png", origin)
    return {field.name or "": field.value for field in embed.fields}


@pytest.mark.parametrize(
    ("status", "refining", "line"),
    [
        (
            Status(Stage.QUEUED, Place(2, 40.0), restarting=True),
            False,
            "⏳ The bot is restarting — your picture keeps its place in line.",
        ),
        (Status(Stage.QUEUED), False, "⏳ In line — your picture starts soon."),
        (
            Status(Stage.QUEUED, Place(3, 125.0)),
            False,
            "⏳ In line — position 3 · starts in about 3 min.",
        ),
        (Status(Stage.QUEUED, Place(3, None)), False, "⏳ In line — position 3."),
        (
            Status(Stage.PAINTING, preview=b"png", preview_index=1),
            False,
            "🎨 Painting your picture… (preview 2)",
        ),
        (Status(Stage.EXPANDING), False, "🧠 Writing a detailed prompt from your words…"),
        (Status(Stage.EXPANDING), True, "🧠 Revising the prompt with your change…"),
        (Status(Stage.PAINTING), False, "🎨 Painting your picture…"),
    ],
)
def test_status_lines(status: Status, refining: bool, line: str) -> None:
    assert status_line(status, refining=refining) == line


def test_a_set_says_how_many_pictures_are_painted_and_waits_like_one() -> None:
    assert status_line(Status(Stage.PAINTING), count=4) == "🎨 Painting your 4 pictures…"
    queued = Status(Stage.QUEUED, Place(2, None))
    assert status_line(queued, count=4) == "⏳ In line — position 2."


def test_the_result_embed_shows_the_request_and_what_it_cost() -> None:
    embed = result_embed(result(), "alice", "https://cdn.example/a.png", "picture.png")
    assert embed.title == "a cat"
    assert embed.description == "A tabby cat asleep on a sunny windowsill."
    assert embed.author.name == "Requested by alice"
    assert embed.author.icon_url == "https://cdn.example/a.png"
    assert [(f.name, f.value, f.inline) for f in embed.fields] == [
        ("Model", "gpt-image-2", True),
        ("Size · quality", "landscape (1536x1024) · high", True),
        ("Est. cost", "$0.082", True),
    ]
    assert embed.footer.text == "Prompt expanded by the chat model"
    assert embed.image.url == "attachment://picture.png"


def test_words_painted_as_written_say_so() -> None:
    embed = result_embed(result(expanded=False), "alice", None, "picture.png")
    assert embed.footer.text == "Your words, as written"


def test_a_style_is_shown_only_when_one_was_chosen() -> None:
    assert fields(result(style=Style.OIL_PAINTING))["Style"] == "oil painting"
    assert "Style" not in fields(result())


def test_long_descriptions_and_prompts_are_clipped() -> None:
    embed = result_embed(result("d" * 1000, "p" * 5000), "alice", None, "picture.png")
    assert embed.title == "d" * 255 + "…"
    assert embed.description == "p" * (PROMPT_BUDGET - 1) + "…"


def test_a_giant_request_keeps_the_embed_within_discords_total() -> None:
    giant = result("d" * 1000, "p" * 50_000, style=Style.PHOTO, change="c" * 5000)
    origin = Origin(lineage.VARIATION, PARENT, take="3 of 3")
    embed = result_embed(giant, "a" * 5000, None, "picture.png", origin)
    assert len(embed) <= 6000
    assert embed.author.name is not None and len(embed.author.name) <= 256


@pytest.mark.parametrize(
    ("kind", "footer"),
    [
        (lineage.REROLL, "The same prompt, painted again"),
        (lineage.REFINE, "Prompt revised by the chat model"),
        (lineage.EDIT, "Edited from the earlier picture, composition kept"),
        (lineage.PROMPT, "Your prompt, as written"),
        (lineage.VARIATION, "A new take on the same description"),
    ],
)
def test_the_footer_says_how_the_picture_came_about(kind: str, footer: str) -> None:
    embed = result_embed(result(), "alice", None, "picture.png", Origin(kind, PARENT))
    assert embed.footer.text == footer


def test_a_note_wins_over_the_origin_footer() -> None:
    note = "Quality limited to medium on this server."
    origin = Origin(lineage.REFINE, PARENT)
    embed = result_embed(result(note=note), "alice", None, "picture.png", origin)
    assert embed.footer.text == note


def test_a_refinement_links_its_parent_and_says_what_changed() -> None:
    shown = fields(result(change="made it night"), Origin(lineage.REFINE, PARENT))
    assert shown["Refined from"] == f"[this picture]({PARENT})"
    assert shown["What changed"] == "made it night"


def test_a_refinement_of_a_deleted_picture_says_so() -> None:
    shown = fields(result(change="made it night"), Origin(lineage.EDIT, None))
    assert shown["Edited from"] == "a deleted picture"


def test_what_changed_is_clipped() -> None:
    shown = fields(result(change="c" * 500), Origin(lineage.REFINE, PARENT))
    assert shown["What changed"] == "c" * 199 + "…"


def test_a_prompt_edited_by_hand_says_so_whatever_the_change() -> None:
    shown = fields(result(change="ignored"), Origin(lineage.PROMPT, PARENT))
    assert shown["Refined from"] == f"[this picture]({PARENT})"
    assert shown["What changed"] == "the prompt, edited by hand"


def test_a_variation_names_its_take() -> None:
    shown = fields(result(), Origin(lineage.VARIATION, PARENT, take="2 of 3"))
    assert shown["Variation of"] == f"[this picture]({PARENT}) · take 2 of 3"
    assert "What changed" not in shown
    deleted = fields(result(), Origin(lineage.VARIATION, None, take="2 of 3"))
    assert deleted["Variation of"] == "a deleted picture · take 2 of 3"


def test_an_imagined_picture_has_no_origin_field() -> None:
    assert list(fields(result(), Origin(lineage.IMAGINE, PARENT))) == [
        "Model",
        "Size · quality",
        "Est. cost",
    ]


def take(number: int, state: JobState, outcome: str | None = None) -> JobRecord:
    """Take `number` (1-based) of a variations batch; done takes are posted as 900+number."""
    message_id = 900 + number if state is JobState.DONE else None
    return JobRecord(
        id=number,
        kind=JobKind.VARIATION,
        state=state,
        guild_id=GUILD,
        user_id=ALICE,
        spec=JobSpec(ImageRequest("a cat")),
        delivery=Delivery(CHANNEL, message_id=message_id),
        prompt="A cat.",
        parent_id=7,
        batch="batch",
        take=number - 1,
        running_cap=None,
        reservation=Reservation(number, GUILD, ALICE, Periods.of(NOW), 81_600),
        picture_id=None,
        outcome=outcome,
        attempts=1,
        created_at=NOW,
    )


def test_the_summary_links_posted_takes_and_groups_failures() -> None:
    spec = JobSpec(ImageRequest("a cat"), origin_url=PARENT, takes=5)
    takes = [
        take(1, JobState.DONE),
        take(2, JobState.RUNNING),
        take(3, JobState.FAILED, FLAGGED),
        take(4, JobState.CANCELLED, "cancelled"),
        take(5, JobState.FAILED, FLAGGED),
    ]
    assert variations_summary(spec, takes) == (
        f"🎲 1 of 5 variations of [this picture]({PARENT}): "
        "[take 1](https://discord.com/channels/4242/1/901) · take 2: painting… · "
        f"takes 3 and 5: {FLAGGED} · take 4: cancelled"
    )


def test_the_summary_of_a_deleted_picture_counts_the_takes_given() -> None:
    spec = JobSpec(ImageRequest("a cat"))
    takes = [take(1, JobState.QUEUED), take(2, JobState.POSTING)]
    assert variations_summary(spec, takes) == (
        "🎲 0 of 2 variations of a deleted picture: take 1: painting… · take 2: painting…"
    )


def test_the_summary_fits_one_message() -> None:
    spec = JobSpec(ImageRequest("a cat"), origin_url=PARENT, takes=10)
    takes = [take(n, JobState.FAILED, f"reason {n} " + "x" * 300) for n in range(1, 11)]
    summary = variations_summary(spec, takes)
    assert len(summary) <= 2000
    assert summary.endswith("…")


def test_refusals_name_each_reason_once() -> None:
    refused = {"the daily limit is reached": ["2"], "the budget is spent": ["3", "4"]}
    assert refusal_line(refused) == (
        "Take 2 not started: the daily limit is reached · "
        "Takes 3 and 4 not started: the budget is spent"
    )
    assert refusal_line({}) == ""


def waiting(job_id: int, position: int | None = None, **changes: Any) -> QueueEntry:
    """Alice's "a cat", waiting at `position`, with `changes`."""
    entry = QueueEntry(job_id, ALICE, JobKind.IMAGINE, JobState.QUEUED, "a cat", position)
    return dataclasses.replace(entry, **changes)


@pytest.mark.parametrize(
    ("entry", "everyone", "line"),
    [
        (
            waiting(7, 2, eta_seconds=35.0),
            False,
            "**#7** · ⏳ In line — position 2 · starts in about 40 s\na cat",
        ),
        (waiting(7), True, f"**#7** <@{ALICE}> · ⏳ In line — starts soon\na cat"),
        (
            waiting(7, 1, kind=JobKind.REROLL),
            False,
            "**#7** · ⏳ In line — position 1\na cat (reroll)",
        ),
        (
            waiting(7, 1, description="**loud** _x_"),
            False,
            "**#7** · ⏳ In line — position 1\n\\*\\*loud\\*\\* \\_x\\_",
        ),
        (
            QueueEntry(7, ALICE, JobKind.IMAGINE, JobState.RUNNING, "a cat", started_at=NOW),
            False,
            f"**#7** · 🎨 Being made, started <t:{int(NOW.timestamp())}:R>\na cat",
        ),
    ],
)
def test_queue_lines(entry: QueueEntry, everyone: bool, line: str) -> None:
    assert queue_line(entry, everyone=everyone) == line


def test_a_long_line_shows_its_first_entries_and_counts_the_rest() -> None:
    being_made = QueueEntry(1, ALICE, JobKind.IMAGINE, JobState.POSTING, "a cat")
    entries = [being_made, *(waiting(n, n - 1) for n in range(2, 14))]
    embed = queue_embed(entries, everyone=True)
    lines = (embed.description or "").split("\n")
    assert len(lines) == 2 * QUEUE_SHOWN + 1 and lines[-1] == "…and 3 more."
    assert embed.title == "Pictures on the way in this server"
    assert embed.footer.text == "1 being made · 12 waiting"

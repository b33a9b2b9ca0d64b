"""cogs/history/render.py: a listed picture, a page of pictures, and the chain a picture
came from."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.models import PictureRecord
from cogs.history.render import CHAIN_SHOWN, chain_embed, page_embed, picture_line
from tests.storage.records import picture_record

MADE = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
WHEN = f"<t:{int(MADE.timestamp())}:R>"
JUMP = "https://discord.com/channels/5001/5002/900"

FOX = picture_record(cost_micros=81_600, created_at=MADE)


def step(number: int) -> PictureRecord:
    """Picture `number` of a chain, refined from picture `number - 1` (1 is the first)."""
    if number == 1:
        return replace(FOX, id=1, message_id=901)
    return replace(
        FOX, id=number, parent_id=number - 1, kind="refine", instruction=f"change {number}"
    )


def chain(length: int) -> list[PictureRecord]:
    """The chain of picture `length`, newest first (as the store returns it)."""
    return [step(number) for number in range(length, 0, -1)]


def test_a_picture_line_says_when_how_what_and_where() -> None:
    assert picture_line(FOX) == f"`#12` {WHEN} · 🖼️ imagined · “a fox” · [jump]({JUMP})"


def test_a_naive_time_from_the_database_is_read_as_utc() -> None:
    naive = replace(FOX, created_at=MADE.replace(tzinfo=None))
    assert picture_line(naive) == picture_line(FOX)


def test_a_refinement_shows_its_instruction_rather_than_the_description() -> None:
    refined = replace(FOX, kind="refine", instruction="make it night")
    assert "· ✏️ refined · “make it night” ·" in picture_line(refined)
    assert "a fox" not in picture_line(refined)


def test_a_deleted_picture_has_no_link() -> None:
    assert picture_line(replace(FOX, message_id=None)).endswith("· “a fox” · deleted")


def test_an_unknown_kind_is_shown_as_stored() -> None:
    assert "· collage ·" in picture_line(replace(FOX, kind="collage"))


def test_a_long_description_is_clipped_in_the_line() -> None:
    line = picture_line(replace(FOX, description="fox " * 100))
    assert f"“{'fox ' * 19}fox…”" in line


def test_a_page_lists_pictures_one_per_line() -> None:
    older = replace(FOX, id=11, message_id=None)
    embed = page_embed([FOX, older], 0)
    assert embed.title == "Your pictures"
    assert embed.description == f"{picture_line(FOX)}\n{picture_line(older)}"


def test_an_empty_first_page_suggests_imagine() -> None:
    embed = page_embed([], 0)
    assert embed.description == "You haven't made any pictures here yet — try /imagine."
    assert embed.footer.text == "Page 1 · newest first · /history picture:<link> for a chain"


def test_an_empty_later_page_says_there_are_no_older_pictures() -> None:
    embed = page_embed([], 2)
    assert embed.description == "No older pictures."
    assert embed.footer.text == "Page 3 · newest first · /history picture:<link> for a chain"


def test_a_chain_reads_oldest_first_and_shows_the_prompt() -> None:
    embed = chain_embed(chain(3))
    assert embed.title == "Where picture #3 came from"
    assert embed.description is not None
    assert embed.description.splitlines() == [
        f"1. `#1` {WHEN} · 🖼️ imagined · “a fox” · [jump](https://discord.com/channels/5001/5002/901)",
        f"2. `#2` {WHEN} · ✏️ refined · “change 2” · [jump]({JUMP})",
        f"3. `#3` {WHEN} · ✏️ refined · “change 3” · [jump]({JUMP})",
    ]
    assert [(f.name, f.value) for f in embed.fields] == [("Prompt", "A red fox at dawn.")]


def test_a_chain_of_exactly_the_shown_length_is_not_elided() -> None:
    embed = chain_embed(chain(CHAIN_SHOWN))
    assert embed.description is not None
    lines = embed.description.splitlines()
    assert [line.split(" ")[0] for line in lines] == [f"{n}." for n in range(1, CHAIN_SHOWN + 1)]


def test_a_long_chain_keeps_its_start_and_newest_steps() -> None:
    embed = chain_embed(chain(40))
    assert embed.description is not None
    lines = embed.description.splitlines()
    assert len(lines) == CHAIN_SHOWN
    assert lines[0].startswith("1. `#1` ")
    hidden = 40 - (CHAIN_SHOWN - 1)
    assert lines[1] == f"… {hidden} more steps …"
    assert lines[2].startswith(f"{hidden + 2}. `#{hidden + 2}` ")
    assert lines[-1].startswith("40. `#40` ")


def test_a_long_prompt_is_clipped_to_a_field() -> None:
    embed = chain_embed([replace(FOX, prompt="p" * 3000)])
    assert embed.fields[0].value == "p" * 1023 + "…"

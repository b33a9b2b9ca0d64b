"""cogs/pictures/orders.py: what a change request must be, and which picture of a set a
reply means."""

from __future__ import annotations

import pytest

from bot.errors import PicassoError
from cogs.pictures.orders import MAX_INSTRUCTION_CHARS, check_instruction, chosen_picture
from tests.storage.records import picture_record

SET = [picture_record(id=10 + n, number=n) for n in (1, 2, 4)]  # #3 was deleted


def test_instructions_must_say_something_short() -> None:
    check_instruction("make it night")
    with pytest.raises(PicassoError):
        check_instruction("   ")
    with pytest.raises(PicassoError, match="too long"):
        check_instruction("x" * (MAX_INSTRUCTION_CHARS + 1))


def test_a_reply_to_a_picture_alone_means_it_whatever_it_says() -> None:
    alone = picture_record(id=7)
    assert chosen_picture([alone], "#2 make it night") == (alone, "#2 make it night")


@pytest.mark.parametrize(
    ("text", "number", "rest"),
    [
        ("#2 make it night", 2, "make it night"),
        ("#4: add a moon", 4, "add a moon"),
        ("  2: more fog", 2, "more fog"),
        ("#1make it red", 1, "make it red"),
    ],
)
def test_a_reply_to_a_set_names_its_picture_first(text: str, number: int, rest: str) -> None:
    picture, instruction = chosen_picture(SET, text)
    assert (picture.number, instruction) == (number, rest)


@pytest.mark.parametrize("text", ["make it night", "2 cats on a roof", "picture 2: night"])
def test_a_reply_to_a_set_without_a_number_is_asked_for_one(text: str) -> None:
    with pytest.raises(PicassoError, match="start your reply with the number"):
        chosen_picture(SET, text)


def test_a_number_not_in_the_set_says_which_are() -> None:
    with pytest.raises(PicassoError) as refused:
        chosen_picture(SET, "#3 make it night")
    assert refused.value.user_message == "That message has no picture #3 — it shows #1, #2, #4."

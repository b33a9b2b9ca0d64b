"""cogs/pictures/orders.py: what a change request must be."""

from __future__ import annotations

import pytest

from bot.errors import PicassoError
from cogs.pictures.orders import MAX_INSTRUCTION_CHARS, check_instruction


def test_instructions_must_say_something_short() -> None:
    check_instruction("make it night")
    with pytest.raises(PicassoError):
        check_instruction("   ")
    with pytest.raises(PicassoError, match="too long"):
        check_instruction("x" * (MAX_INSTRUCTION_CHARS + 1))

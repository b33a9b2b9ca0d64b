"""cogs/pictures/replies.py: the instruction read from a reply."""

from __future__ import annotations

from cogs.pictures.replies import instruction_from


def test_the_bot_mention_is_stripped_from_a_reply() -> None:
    assert instruction_from("<@1000> make it night", 1000) == "make it night"
    assert instruction_from("make <@!1000> it night", 1000) == "make   it night"
    assert instruction_from("<@1000>", 1000) == ""
    assert instruction_from("add <@7002> to it", 1000) == "add <@7002> to it"

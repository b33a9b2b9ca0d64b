"""bot/lineage.py: picture references people type, who may remix or delete, jump links."""

from __future__ import annotations

import pytest

from bot.lineage import (
    PictureRef,
    jump_url,
    may_delete,
    may_remix,
    parse_picture_ref,
)
from bot.models import GuildSettings, Who
from tests.storage.records import picture_record

ALICE, BOB = 7001, 7002


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://discord.com/channels/1/2/3", PictureRef("message", 3)),
        ("<https://ptb.discord.com/channels/1/2/345>", PictureRef("message", 345)),
        ("https://discordapp.com/channels/@me/2/3", PictureRef("message", 3)),
        ("#12", PictureRef("number", 12)),
        (" 1575388801965101056 ", PictureRef("number", 1575388801965101056)),
        ("https://example.com/channels/1/2/3", None),
        ("twelve", None),
        ("", None),
    ],
)
def test_picture_references(text: str, expected: PictureRef | None) -> None:
    assert parse_picture_ref(text) == expected


def test_remix_setting_decides_who_may_iterate() -> None:
    mine, theirs = Who(ALICE, 5001, 5002), Who(BOB, 5001, 5002)
    admin = Who(BOB, 5001, 5002, is_admin=True)
    strict, open_ = GuildSettings(remix="requester"), GuildSettings(remix="anyone")
    assert may_remix(open_, theirs, picture_record())
    assert may_remix(strict, mine, picture_record())
    assert not may_remix(strict, theirs, picture_record())
    assert may_remix(strict, admin, picture_record())
    assert may_delete(mine, picture_record()) and may_delete(admin, picture_record())
    assert not may_delete(theirs, picture_record())


def test_jump_urls() -> None:
    assert jump_url(1, 2, 3) == "https://discord.com/channels/1/2/3"
    assert jump_url(None, 2, 3) == "https://discord.com/channels/@me/2/3"
    assert jump_url(1, 2, None) is None

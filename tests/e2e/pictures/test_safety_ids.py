"""Each person reaches OpenAI as one stable, unreadable identifier: `safety_identifier` on
the chat requests, `user` on the image requests, nothing on the moderations."""

from __future__ import annotations

import re

from tests.e2e.conftest import ALICE, BOB, StartBot
from tests.e2e.picture_kit import imagine, is_picture
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.openai_api import FakeOpenAI, Recorded


def body(request: Recorded) -> dict[str, object]:
    return request.json or dict(request.form or {})


async def test_each_person_is_named_to_openai_by_one_identifier_that_reveals_nothing(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot(SAFETY_ID_KEY="an-operators-key-for-the-tests-42")
    made = [
        await imagine(discord_fake, text, user_id=who)
        for who, text in ((ALICE, "a fox at dawn"), (BOB, "a heron"), (ALICE, "a fox at dusk"))
    ]
    assert all(is_picture(interaction.shown) for interaction in made)

    def named(endpoint: str, field: str) -> list[object]:
        return [body(r).get(field) for r in openai_fake.requests if r.endpoint == endpoint]

    chats, paintings = named("chat", "safety_identifier"), named("images", "user")
    assert len(chats) == len(paintings) == 3  # one expansion and one painting each, in order
    alice, bob, alice_again = paintings
    assert chats == paintings
    assert isinstance(alice, str) and re.fullmatch(r"[0-9a-f]{32}", alice)
    assert alice == alice_again != bob
    for identifier in (alice, bob):
        assert str(ALICE) not in str(identifier) and str(BOB) not in str(identifier)
    # Each endpoint gets only the field it takes; the moderations neither.
    assert named("chat", "user") == [None] * 3
    assert named("images", "safety_identifier") == [None] * 3
    moderations = [body(r) for r in openai_fake.requests if r.endpoint == "moderations"]
    assert moderations and all(set(m) == {"model", "input"} for m in moderations)


async def test_without_a_key_the_identifiers_come_from_the_bot_token(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    bot = await start_bot()
    assert bot.settings.safety_id_key is None
    for text in ("a fox at dawn", "a fox at dusk"):
        assert is_picture((await imagine(discord_fake, text, user_id=ALICE, expand=False)).shown)
    first, second = [body(r).get("user") for r in openai_fake.requests if r.endpoint == "images"]
    assert isinstance(first, str) and len(first) == 32 and first == second


async def test_a_previews_prompt_writing_names_its_person_too(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot()
    await imagine(discord_fake, "a fox at dawn", user_id=ALICE)  # painted at once
    preview = await imagine(discord_fake, "a fox at dusk", user_id=ALICE, preview=True, wait=False)
    await discord_fake.wait_for(
        lambda: sum(r.endpoint == "chat" for r in openai_fake.requests) == 2, what="two prompts"
    )
    assert preview is not None
    chats = [body(r).get("safety_identifier") for r in openai_fake.requests if r.endpoint == "chat"]
    assert chats[0] is not None and chats == [chats[0], chats[0]]

"""Blocked words end to end, wherever people type words: /imagine (painted or previewed), both
fields of the ✏️ Refine form, a reply to a picture, the preview's ✏️ Edit prompt form and the
admins' style guide. Each is fed look-alike spellings of a blocked word (fullwidth,
mathematical, Cyrillic and Greek letters, invisible characters, combining marks, any case,
read from Unicode's confusables table by `tests.lookalikes`) and must answer with the
blocked-word sentence, with no call to the chat, moderation or image model."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings

from bot.app import Picasso
from bot.controls import GUIDE_USES_WORD, STYLE_GUIDE_BLOCKED
from bot.policy import BLOCKED_WORD
from tests.e2e.admin_kit import admin_says, draw
from tests.e2e.conftest import ALICE, CHANNEL_ID, GUILD_ID, StartBot
from tests.e2e.picture_kit import (
    button_ids,
    click,
    imagine,
    imagine_picture,
    reply_to,
    settled,
    submit_refine,
    use_settings,
)
from tests.fakes.discord_api import FakeDiscord, FakeInteraction
from tests.fakes.openai_api import FakeOpenAI
from tests.lookalikes import spelt_differently

WORD = "dragon"
# A few spellings per entry point, the same on every run (one bot serves them all).
LOOKS = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
lookalikes = spelt_differently(WORD)


@pytest.fixture
async def bot(start_bot: StartBot) -> Picasso:
    """A bot on a server that blocks "dragon"."""
    started = await start_bot(PARTIAL_IMAGES="0")
    await use_settings(started, blocked_words=(WORD,))
    return started


async def said(interaction: FakeInteraction) -> str:
    """The sentence the person was left with."""
    return str((await settled(interaction)).get("content") or "")


@LOOKS
@given(spelt=lookalikes)
@example(spelt="ｄｒａｇｏｎ")
@example(spelt="dr\u0430g\u043en")  # Cyrillic а and о
async def test_imagine_refuses_a_blocked_word_however_it_is_spelt(
    bot: Picasso, discord_fake: FakeDiscord, openai_fake: FakeOpenAI, spelt: str
) -> None:
    description = f"a {spelt} over the hills"
    assert await draw(discord_fake, description) == BLOCKED_WORD
    assert await draw(discord_fake, description, preview=True) == BLOCKED_WORD
    assert openai_fake.requests == []


@pytest.fixture
async def picture(bot: Picasso, discord_fake: FakeDiscord) -> dict[str, Any]:
    """Alice's picture of a red barn, its ✏️ Refine form open."""
    painted = await imagine_picture(discord_fake, "a red barn")
    await (await click(discord_fake, painted, "refine")).wait_responded()
    return painted


@LOOKS
@given(spelt=lookalikes)
@example(spelt=WORD)  # the measured hole: only the change was checked
@example(spelt="𝐝𝐫𝐚𝐠𝐨𝐧")
async def test_the_refine_forms_prompt_field_is_checked_beside_the_change(
    picture: dict[str, Any], discord_fake: FakeDiscord, openai_fake: FakeOpenAI, spelt: str
) -> None:
    calls = len(openai_fake.requests)
    prompt = f"{picture['embeds'][0]['description']} A {spelt} circles the barn."
    both = await submit_refine(discord_fake, picture, instruction="make it night", prompt=prompt)
    assert await said(both) == BLOCKED_WORD
    alone = await submit_refine(discord_fake, picture, prompt=prompt)
    assert await said(alone) == BLOCKED_WORD
    change = await submit_refine(discord_fake, picture, instruction=f"add a {spelt}")
    assert await said(change) == BLOCKED_WORD
    assert len(openai_fake.requests) == calls


@LOOKS
@given(spelt=lookalikes)
@example(spelt="d\u200dr\u0430G\u03bfN")  # a joiner, Cyrillic а, Greek ο, capitals
async def test_a_reply_refuses_a_blocked_word_however_it_is_spelt(
    picture: dict[str, Any], discord_fake: FakeDiscord, openai_fake: FakeOpenAI, spelt: str
) -> None:
    calls = len(openai_fake.requests)
    answer = await reply_to(discord_fake, picture, f"add a {spelt} on the roof")
    assert answer["content"] == BLOCKED_WORD
    assert len(openai_fake.requests) == calls


@pytest.fixture
async def edit_form(bot: Picasso, discord_fake: FakeDiscord) -> str:
    """Alice's private preview of a beach sunset, its ✏️ Edit prompt form open: its custom_id."""
    asked = await imagine(discord_fake, "a beach sunset", wait=False, preview=True)
    await asked.wait_done(lambda i: bool(i.shown and button_ids(i.shown)))
    assert asked.shown is not None
    edit = next(c for c in button_ids(asked.shown) if c.startswith("picasso:preview:edit:"))
    opening = await discord_fake.click(
        int(asked.shown["id"]),
        edit,
        user_id=ALICE,
        guild_id=GUILD_ID,
        channel_id=int(asked.shown["channel_id"]),
    )
    await opening.wait_responded()
    form = opening.callbacks[0]
    assert form["type"] == 9  # the form
    return str(form["data"]["custom_id"])


@LOOKS
@given(spelt=lookalikes)
@example(spelt="ＤＲＡ\u200bＧＯＮ\u0301")  # fullwidth capitals, a zero-width space, an accent
async def test_the_previews_edit_prompt_form_refuses_a_blocked_word_however_it_is_spelt(
    edit_form: str, discord_fake: FakeDiscord, openai_fake: FakeOpenAI, spelt: str
) -> None:
    calls = len(openai_fake.requests)
    submitted = await discord_fake.submit_modal(
        edit_form,
        {"prompt": f"A lighthouse at dusk and a {spelt}, oil on canvas"},
        user_id=ALICE,
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
    )
    assert await said(submitted) == BLOCKED_WORD
    assert len(openai_fake.requests) == calls


@LOOKS
@given(spelt=lookalikes)
@example(spelt="\U0001d4ed\U0001d4fb\U0001d4ea\U0001d4f0\U0001d4f8\U0001d4f7")  # 𝓭𝓻𝓪𝓰𝓸𝓷
async def test_a_style_guide_with_a_blocked_word_is_refused(
    bot: Picasso, discord_fake: FakeDiscord, spelt: str
) -> None:
    said_ = await admin_says(discord_fake, "style-guide", text=f"muted colours, a {spelt}")
    assert said_ == STYLE_GUIDE_BLOCKED
    assert (await bot.studio.settings_for(GUILD_ID)).style_guide == ""


async def test_a_word_the_style_guide_uses_cannot_be_blocked_until_it_is_changed(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    bot = await start_bot()
    await admin_says(discord_fake, "style-guide", text="muted colours, no dragons")
    said_ = await admin_says(
        discord_fake, "blocked-words", action="add", words="gore, ｄｒａｇｏｎｓ"
    )
    assert said_ == GUIDE_USES_WORD.format(word="ｄｒａｇｏｎｓ")
    assert (await bot.studio.settings_for(GUILD_ID)).blocked_words == ()

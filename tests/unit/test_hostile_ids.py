"""Hostile input, part 2: tampered custom_ids, ids typed by hand, and what the database
must take. Whatever arrives parses into one of our ids or into nothing, never crashes a
lookup or a write, and never reaches another person's picture, job or history."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock

import aiohttp
import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import PicassoError
from bot.jobs.service import NOT_WAITING, NOT_YOURS
from bot.models import MAX_ID, GuildSettings, ImageRequest
from bot.policy import Refused
from bot.storage.database import make_engine, migrate
from bot.storage.job_records import JobState
from bot.storage.repository import Store
from cogs.history import pages
from cogs.history.commands import NOT_FOUND, History
from cogs.pictures import actions, refine
from cogs.pictures.buttons import (
    CANCEL_TEMPLATE,
    PictureAction,
    parse_picture_custom_id,
    picture_custom_id,
)
from cogs.pictures.orders import GONE, pressed_picture
from tests.services import postgres_schema
from tests.storage.records import picture_record
from tests.unit.hostile import interaction_double, sent_texts
from tests.unit.jobs_rig import ALICE, BOB, Rig, make_rig, order

QUICK = settings(max_examples=150, deadline=None)
SNOWFLAKE = st.integers(0, MAX_ID)  # Discord ids stay below 2**63 until the 2080s
TOO_LARGE = (MAX_ID + 1, 2**64 - 1, 10**20 - 1)  # all spelled with at most 20 digits


async def ask_history(interaction: Any, typed: str) -> None:
    """/history picture:<typed>, as the person asking `interaction` (its client is the bot)."""
    history: Any = History.history.callback
    await history(History(interaction.client), interaction, picture=typed)


def parse_cancel(custom_id: str) -> int | None:
    match = CANCEL_TEMPLATE.match(custom_id)
    return int(match["id"]) if match else None


# (parse, the custom_ids that parse into what it returned) for each custom_id we accept.
PARSERS: list[tuple[Callable[[str], Any], Callable[[Any], tuple[str, ...]]]] = [
    (parse_picture_custom_id, lambda parsed: (picture_custom_id(*parsed),)),
    (parse_cancel, lambda job_id: (f"picasso:cancel:{job_id}",)),
    (
        pages.parse_history_custom_id,
        lambda parsed: tuple(
            pages.history_custom_id(parsed[0], parsed[1], way) for way in ("prev", "next")
        ),
    ),
    (refine.parse_modal_custom_id, lambda picture_id: (refine.modal_custom_id(picture_id),)),
]
HEADS = [f"picasso:{action.value}:" for action in PictureAction] + [
    "picasso:cancel:",
    "picasso:refine-modal:",
    "picasso:history:1:",
]
near_misses = st.builds(
    str.__add__,
    st.sampled_from(HEADS),
    st.text(alphabet="0123456789:\n +-\u0663\uff10ex", max_size=26),
)
templates = st.sampled_from(
    [r"picasso:history:[0-9]{1,20}:[0-9]{1,6}:(prev|next)", r"picasso:cancel:[0-9]{1,20}"]
).flatmap(lambda pattern: st.from_regex(pattern, fullmatch=True))


# --- 4. custom_ids ------------------------------------------------------------------------


@QUICK
@given(action=st.sampled_from(PictureAction), ident=SNOWFLAKE, page=st.integers(0, 999_999))
def test_our_custom_ids_round_trip_and_fit_discord(
    action: PictureAction, ident: int, page: int
) -> None:
    assert parse_picture_custom_id(picture_custom_id(action, ident)) == (action, ident)
    assert parse_cancel(f"picasso:cancel:{ident}") == ident
    assert refine.parse_modal_custom_id(refine.modal_custom_id(ident)) == ident
    history = pages.history_custom_id(ident, page, "prev")
    assert pages.parse_history_custom_id(history) == (ident, page)
    assert max(len(picture_custom_id(action, ident)), len(history)) <= 100


def _number_spelling_aside(custom_id: str) -> str:
    """`custom_id` without leading zeros in its numbers or one trailing newline."""
    return re.sub(r":0+(?=[0-9])", ":", custom_id.removesuffix("\n"))


@QUICK
@given(st.one_of(st.text(), near_misses, templates))
def test_any_text_parses_into_one_of_our_ids_or_nothing(text: str) -> None:
    """What parses re-renders to the text typed (up to how its numbers are spelled)."""
    for parse, render in PARSERS:
        parsed = parse(text)
        if parsed is None:
            continue
        rendered = render(parsed)
        assert _number_spelling_aside(text) in rendered
        assert {parse(custom_id) for custom_id in rendered} == {parsed}


@pytest.mark.parametrize(
    "custom_id", ["picasso:reroll:007", "picasso:reroll:7\n", "picasso:refine-modal:7\n"]
)
def test_only_the_canonical_spelling_of_an_id_parses(custom_id: str) -> None:
    parsed = parse_picture_custom_id(custom_id) or refine.parse_modal_custom_id(custom_id)
    assert parsed is None


def test_a_parsed_id_is_at_most_the_largest_snowflake() -> None:
    assert parse_picture_custom_id("picasso:reroll:99999999999999999999") is None


async def test_ids_up_to_the_largest_stored_integer_are_looked_up_as_missing(store: Store) -> None:
    for ident in (0, MAX_ID):
        assert await store.picture(ident) is None
        assert await store.pictures_by_message(ident) == []
        assert await store.job(ident) is None


@pytest.mark.parametrize("ident", TOO_LARGE)
@pytest.mark.parametrize("lookup", ["picture", "pictures_by_message", "job"])
async def test_a_too_large_id_is_looked_up_as_missing(
    store: Store, lookup: str, ident: int
) -> None:
    assert not await getattr(store, lookup)(ident)


@pytest.fixture
async def rig(store: Store, downloads: aiohttp.ClientSession) -> AsyncIterator[Rig]:
    made = make_rig(store, downloads)
    yield made
    await made.service.stop(grace=1)


@pytest.mark.parametrize(
    "typed", ["99999999999999999999", "https://discord.com/channels/1/2/" + "9" * 30]
)
async def test_history_of_a_too_large_picture_number_is_not_found(rig: Rig, typed: str) -> None:
    interaction = interaction_double(user_id=ALICE, client=SimpleNamespace(studio=rig.studio))
    with pytest.raises(PicassoError) as refused:
        await ask_history(interaction, typed)
    assert refused.value.user_message == NOT_FOUND


async def test_a_forged_cancel_of_a_too_large_job_id_is_no_longer_waiting(rig: Rig) -> None:
    with pytest.raises(PicassoError) as refused:
        await rig.service.cancel(2**63, ALICE)
    assert refused.value.user_message == NOT_WAITING


async def test_a_forged_button_for_a_too_large_picture_id_is_gone(rig: Rig) -> None:
    interaction = interaction_double(user_id=ALICE, client=SimpleNamespace(studio=rig.studio))
    with pytest.raises(PicassoError) as refused:
        await pressed_picture(interaction, 2**64 - 1)
    assert refused.value.user_message == GONE


async def test_text_with_a_nul_is_refused_up_front_or_posted_on_postgresql(
    downloads: aiohttp.ClientSession,
) -> None:
    """Typed text goes into the job and then into the picture's row: both must take it."""
    async with postgres_schema() as (url, connect_args):
        engine = make_engine(url, connect_args=connect_args)
        await migrate(engine)
        rig = make_rig(Store(engine), downloads)
        try:
            try:
                job = await rig.service.submit(order(request=ImageRequest("a cat\x00")))
            except PicassoError:
                return  # refused before anything was painted: a defined answer
            await rig.drained()
            assert rig.publisher.posted(job.id) != [], rig.publisher.said(job.id)
        finally:
            await rig.service.stop(grace=1)
            await engine.dispose()


# --- 6. other people's data ---------------------------------------------------------------


@pytest.mark.parametrize("forger", [BOB, 0, MAX_ID])
async def test_a_forged_cancel_of_someone_elses_job_is_refused(rig: Rig, forger: int) -> None:
    job = await rig.admit(order())  # Alice's, waiting
    with pytest.raises(Refused) as refused:
        await rig.service.cancel(job.id, forger)
    assert refused.value.user_message == NOT_YOURS
    assert (await rig.state(job)).state is JobState.QUEUED
    assert rig.publisher.sentences == []


async def test_a_forged_cancel_button_tells_the_forger_privately(rig: Rig) -> None:
    job = await rig.admit(order())
    client = SimpleNamespace(jobs=rig.service)
    interaction = interaction_double(
        user_id=BOB,
        client=client,
        done=True,
        kind=discord.InteractionResponseType.deferred_message_update,
    )
    await actions.cancel(interaction, job.id)
    interaction.followup.send.assert_awaited_once()
    call = interaction.followup.send.await_args
    assert call.args == (NOT_YOURS,) and call.kwargs["ephemeral"] is True
    assert (await rig.state(job)).state is JobState.QUEUED


BOBS = picture_record(requester_id=BOB, message_id=901, description="bob's secret", prompt="ZZZ")
PRESSES = [actions.reroll, actions.vary, actions.show_prompt, actions.delete, refine.open_form]


def _bot(picture: Any) -> Any:
    """A bot whose studio finds `picture` by any number (and records everything asked)."""
    studio = AsyncMock()
    studio.picture.return_value = picture
    studio.settings_for.return_value = GuildSettings()
    return SimpleNamespace(studio=studio, jobs=AsyncMock(), publisher=AsyncMock())


@pytest.mark.parametrize("press", PRESSES, ids=lambda press: press.__name__)
@pytest.mark.parametrize("found", [BOBS, None], ids=["on another message", "missing"])
async def test_a_forged_picture_button_is_gone_and_reveals_nothing(press: Any, found: Any) -> None:
    """Alice presses a button on her message 900 whose custom_id names Bob's picture."""
    bot = _bot(found)
    interaction = interaction_double(user_id=ALICE, message_id=900, client=bot)
    interaction.created_at = datetime(2026, 11, 26, tzinfo=UTC)
    await press(interaction, BOBS.id)
    said = sent_texts(interaction)
    assert GONE in said
    assert not any(secret in text for text in said for secret in ("ZZZ", "bob's secret"))
    assert [call[0] for call in bot.studio.mock_calls] == ["picture"]  # looked up, no more
    assert bot.jobs.mock_calls == [] and bot.publisher.mock_calls == []
    interaction.message.delete.assert_not_called()
    interaction.response.send_modal.assert_not_awaited()


async def test_a_button_on_the_pictures_own_message_finds_it() -> None:
    interaction = interaction_double(user_id=ALICE, message_id=901, client=_bot(BOBS))
    assert await pressed_picture(interaction, BOBS.id) == BOBS


@settings(max_examples=25, deadline=None)  # each example runs its own event loop
@given(owner=SNOWFLAKE, page=st.integers(0, 999_999))
def test_a_forged_history_button_is_not_turned_by_someone_else(owner: int, page: int) -> None:
    bot = _bot(None)
    presser = (owner + 1) % 2**64
    interaction = interaction_double(user_id=presser, client=bot)
    asyncio.run(pages.HistoryPageButton(owner, page, "next").callback(interaction))
    assert sent_texts(interaction)[0] == pages.NOT_YOURS
    assert bot.studio.mock_calls == []


async def test_history_in_a_dm_does_not_show_someone_elses_dm_picture() -> None:
    theirs = picture_record(guild_id=None, requester_id=BOB, prompt="ZZZ")
    bot = _bot(theirs)
    bot.studio.picture_by_message.return_value = None
    bot.studio.ancestry.return_value = [theirs]
    interaction = interaction_double(user_id=ALICE, guild_id=None, message_id=None, client=bot)
    with pytest.raises(PicassoError) as refused:
        await ask_history(interaction, str(theirs.id))
    assert refused.value.user_message == NOT_FOUND

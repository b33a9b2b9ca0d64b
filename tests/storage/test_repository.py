"""bot/storage/repository.py: server settings (round-trips, isolation, atomic
changes) and pictures with their lineage."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.engine import Connection

from bot.errors import PicassoError
from bot.models import ERASED, GuildSettings, Quality, Size
from bot.storage.database import HEAD_REVISION, MIGRATIONS, make_engine, migrate, schema_revision
from bot.storage.job_records import JobRecord, JobState
from bot.storage.repository import AuditLine, Forgotten, Store, Unfinished
from bot.storage.tables import Base, JobRow
from tests.storage.records import GUILD, limits, new_job, post_picture

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
OTHER = 4343
ALICE, BOB, CAROL = 1001, 1002, 1003
AUDIT = 4444  # the audit channel


async def add(
    store: Store,
    message_id: int,
    *,
    user: int = ALICE,
    guild: int | None = GUILD,
    parent: int | None = None,
    minutes: int = 0,
    kind: str | None = None,
    instruction: str | None = None,
    audit: int | None = None,
) -> int:
    """One picture posted as `message_id` (its job logged to the `audit` channel); returns
    its id."""
    now = NOW + timedelta(minutes=minutes)
    return await post_picture(
        store,
        message_id,
        now,
        user=user,
        guild=guild,
        parent=parent,
        kind=kind,
        instruction=instruction,
        audit_channel=audit,
    )


async def job_of(store: Store, picture_id: int) -> JobRecord:
    """The job that made `picture_id` (read straight from its table)."""
    async with store._sessions() as session:
        job_id = await session.scalar(select(JobRow.id).where(JobRow.picture_id == picture_id))
    job = await store.job(job_id or 0)
    assert job is not None
    return job


async def test_history_is_newest_first_per_person_and_server_and_pages(store: Store) -> None:
    mine = [await add(store, 100 + n, minutes=n) for n in range(5)]
    await add(store, 200, user=BOB, minutes=10)
    await add(store, 300, guild=OTHER, minutes=11)
    page = await store.history(ALICE, GUILD, limit=2)
    assert [p.id for p in page] == [mine[4], mine[3]]
    rest = await store.history(ALICE, GUILD, limit=10, offset=2)
    assert [p.id for p in rest] == [mine[2], mine[1], mine[0]]
    everywhere = await store.history(ALICE, None, limit=10)
    assert len(everywhere) == 6 and everywhere[0].guild_id == OTHER


async def test_ancestry_walks_back_to_the_first_picture(store: Store) -> None:
    first = await add(store, 1)
    second = await add(store, 2, parent=first)
    third = await add(store, 3, parent=second)
    await add(store, 4, parent=first)  # a branch is not part of third's chain
    assert [p.id for p in await store.ancestry(third)] == [third, second, first]
    assert [p.id for p in await store.ancestry(third, limit=2)] == [third, second]
    assert await store.ancestry(9_999) == []


async def test_an_erased_picture_keeps_its_lineage_and_cost_but_not_its_words(
    store: Store,
) -> None:
    first = await add(store, 1)
    child = await add(store, 2, parent=first)
    found = await store.pictures_by_message(1)
    assert [picture.id for picture in found] == [first]
    await store.erase_picture(first)
    assert await store.pictures_by_message(1) == []
    kept = await store.picture(first)
    assert kept is not None and kept.message_id is None
    assert (kept.description, kept.prompt, kept.cost_micros) == (ERASED, ERASED, 900)
    job = await job_of(store, first)
    assert (job.spec.request.description, job.prompt) == (ERASED, None)
    assert [p.id for p in await store.ancestry(child)] == [child, first]
    untouched = await store.picture(child)
    assert untouched is not None and untouched.description == "picture 2"


async def test_forgetting_a_person_erases_their_words_in_one_server_only(store: Store) -> None:
    mine = await add(store, 1)
    elsewhere = await add(store, 2, guild=OTHER)
    in_dms = await add(store, 4, guild=None)
    theirs = await add(store, 3, user=BOB)
    assert await store.forget_person(GUILD, ALICE) == Forgotten(pictures=1, copies=0)
    assert await descriptions(store, mine, elsewhere, in_dms, theirs) == [
        ERASED,
        "picture 2",
        "picture 4",
        "picture 3",
    ]
    job = await job_of(store, mine)
    assert (job.spec.request.description, job.spec.requester_name, job.prompt) == (ERASED, "", None)
    ledger = await store.usage(GUILD, ALICE, NOW.strftime("%Y-%m-%d"))
    assert ledger.spent_micros == 900  # the amounts stay
    kept = await store.picture(mine)
    assert kept is not None and (kept.message_id, kept.cost_micros) == (1, 900)  # 🗑️ finds it


async def test_forgetting_everywhere_erases_every_server_and_the_dms(store: Store) -> None:
    mine = [await add(store, 1), await add(store, 2, guild=OTHER), await add(store, 3, guild=None)]
    theirs = await add(store, 4, user=BOB, guild=OTHER)
    assert await store.forget_person(None, ALICE) == Forgotten(pictures=3, copies=0)
    assert await descriptions(store, *mine, theirs) == [ERASED, ERASED, ERASED, "picture 4"]
    for picture in mine:
        assert (await job_of(store, picture)).spec.request.description == ERASED


async def test_forgetting_erases_every_copy_others_made_of_their_words(store: Store) -> None:
    """alice's picture → bob's reroll of it → carol's refinement of bob's reroll: all three
    lose their words, carol keeps her own change; bob's own picture is untouched; the chain
    and the costs stay."""
    alices = await add(store, 1)
    bobs_reroll = await add(store, 2, user=BOB, parent=alices, kind="reroll")
    carols_refine = await add(store, 3, user=CAROL, parent=bobs_reroll, instruction="make it night")
    bobs_own = await add(store, 4, user=BOB)
    failed = await store.submit_job(new_job(CAROL, parent=alices), limits(), 1_000, NOW)
    await store.end_job(failed, JobState.FAILED, "no", NOW)  # a copy that was never painted

    assert await store.forget_person(GUILD, ALICE) == Forgotten(pictures=1, copies=2)

    chain = await store.ancestry(carols_refine)
    assert [p.id for p in chain] == [carols_refine, bobs_reroll, alices]  # the lineage stays
    assert [(p.description, p.prompt) for p in chain] == [(ERASED, ERASED)] * 3
    assert [p.instruction for p in chain] == ["make it night", None, None]
    assert [p.cost_micros for p in chain] == [900] * 3
    assert await descriptions(store, bobs_own) == ["picture 4"]
    for copy in (bobs_reroll, carols_refine):
        job = await job_of(store, copy)
        assert (job.spec.request.description, job.prompt) == (ERASED, None)
        assert job.spec.requester_name == "alice"  # the copier's own (as records.py names it)
    assert (await job_of(store, carols_refine)).spec.instruction == "make it night"
    ended = await store.job(failed.id)
    assert ended is not None and ended.spec.request.description == ERASED
    assert (await job_of(store, bobs_own)).spec.request.description == "a cat"


async def test_forgetting_waits_for_a_job_under_way_and_erases_nothing(store: Store) -> None:
    mine = await add(store, 1)
    await store.submit_job(new_job(ALICE), limits(), 1_000, NOW)  # queued, still needs words
    assert await store.forget_person(GUILD, ALICE) is Unfinished.THEIRS
    assert await descriptions(store, mine) == ["picture 1"]


async def test_forgetting_waits_for_a_copy_under_way_and_erases_nothing(store: Store) -> None:
    mine = await add(store, 1)
    await store.submit_job(new_job(BOB, parent=mine), limits(), 1_000, NOW)  # bob's reroll
    assert await store.forget_person(GUILD, ALICE) is Unfinished.COPY
    assert await descriptions(store, mine) == ["picture 1"]


async def test_forgetting_returns_the_audit_lines_to_delete_or_clear(store: Store) -> None:
    mine = await add(store, 1, audit=AUDIT)
    copy = await add(store, 2, user=BOB, parent=mine, kind="reroll", audit=AUDIT)
    unrelated = await add(store, 3, user=BOB, audit=AUDIT)
    for picture, line in ((mine, 501), (copy, 502), (unrelated, 503)):
        assert await store.record_audit_line((await job_of(store, picture)).id, line)
    forgotten = await store.forget_person(GUILD, ALICE)
    assert isinstance(forgotten, Forgotten)
    assert sorted(forgotten.audit_lines, key=lambda line: line.message_id) == [
        AuditLine(AUDIT, 501, copy=False),
        AuditLine(AUDIT, 502, copy=True),
    ]
    # A line posted after its picture was erased: to delete at once.
    assert not await store.record_audit_line((await job_of(store, mine)).id, 504)


async def descriptions(store: Store, *pictures: int) -> list[str | None]:
    """The descriptions stored for `pictures`, in order."""
    return [getattr(await store.picture(p), "description", None) for p in pictures]


def _differences(connection: Connection) -> list[Any]:
    return compare_metadata(MigrationContext.configure(connection), Base.metadata)


async def test_the_migrations_build_exactly_the_tables(store: Store) -> None:
    """A column or index added to tables.py without a migration fails here."""
    async with store._engine.connect() as connection:
        assert await connection.run_sync(_differences) == []


def test_the_head_revision_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


async def test_a_database_at_head_is_not_migrated_again_nor_alembic_loaded(
    tmp_path: Path,
) -> None:
    """A running bot stays lean: Alembic is loaded only when there is something to migrate."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'picasso.db'}"
    engine = make_engine(url)
    await migrate(engine)
    assert await schema_revision(engine) == HEAD_REVISION
    await engine.dispose()
    script = (
        "import asyncio, sys\n"
        "from bot.storage.database import make_engine, migrate\n"
        f"asyncio.run(migrate(make_engine({url!r})))\n"
        "print('alembic' in sys.modules)\n"
    )
    done = subprocess.run(  # noqa: ASYNC221 - a fresh interpreter, a second or so
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False", done.stderr


def everything_changed() -> GuildSettings:
    """Settings with every field away from its default."""
    return GuildSettings(
        user_daily_pictures=5,
        guild_daily_pictures=50,
        cooldown_seconds=30,
        user_running=1,
        user_queued=0,
        guild_daily_usd=2.5,
        guild_monthly_usd=40.0,
        user_daily_usd=0.25,
        channel_mode="allow",
        channel_ids=(11, 12),
        allow_dms=False,
        allowed_role_ids=(21,),
        exempt_role_ids=(22, 23),
        moderation=False,
        default_size=Size.LANDSCAPE,
        max_size="square",
        default_quality=Quality.LOW,
        max_quality=Quality.MEDIUM,
        allowed_styles=("anime", "pixel art"),
        model="gpt-image-1.5",
        expand_default=False,
        max_count=2,
        preview=True,
        refine_mode="edit",
        remix="requester",
        style_guide="muted colours, no text",
        blocked_words=("gore", "blood bath"),
        audit_channel_id=31,
    )


def _set_to_seven(name: str) -> Callable[[GuildSettings], GuildSettings]:
    """A settings change that sets the one field `name` to 7."""
    changes: dict[str, Any] = {name: 7}
    return lambda s: dataclasses.replace(s, **changes)


def test_every_field_is_covered_by_the_round_trip_fixture() -> None:
    changed = everything_changed()
    defaults = GuildSettings()
    same = [
        f.name
        for f in dataclasses.fields(GuildSettings)
        if getattr(changed, f.name) == getattr(defaults, f.name)
    ]
    assert same == []


async def test_settings_round_trip(store: Store) -> None:
    assert await store.guild_settings(GUILD) == GuildSettings()
    await store.save_guild_settings(GUILD, everything_changed(), NOW)
    assert await store.guild_settings(GUILD) == everything_changed()


async def test_servers_and_dms_never_share_settings(store: Store) -> None:
    await store.save_guild_settings(GUILD, GuildSettings(user_daily_pictures=1), NOW)
    await store.save_guild_settings(None, GuildSettings(allow_dms=False), NOW)
    assert await store.guild_settings(OTHER) == GuildSettings()
    assert (await store.guild_settings(GUILD)).user_daily_pictures == 1
    assert (await store.guild_settings(GUILD)).allow_dms is True
    assert (await store.guild_settings(None)).allow_dms is False


async def test_simultaneous_changes_are_all_kept(store: Store) -> None:
    fields = ("user_daily_pictures", "guild_daily_pictures", "cooldown_seconds", "user_queued")
    await asyncio.gather(
        *(store.update_guild_settings(GUILD, _set_to_seven(name), NOW) for name in fields)
    )
    saved = await store.guild_settings(GUILD)
    assert [getattr(saved, name) for name in fields] == [7, 7, 7, 7]


async def test_a_change_that_raises_changes_nothing(store: Store) -> None:
    await store.save_guild_settings(GUILD, GuildSettings(cooldown_seconds=5), NOW)

    def bad(settings: GuildSettings) -> GuildSettings:
        raise PicassoError("no")

    with pytest.raises(PicassoError):
        await store.update_guild_settings(GUILD, bad, NOW)
    assert (await store.guild_settings(GUILD)).cooldown_seconds == 5

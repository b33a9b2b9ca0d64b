"""The command line, run as a real process against the fakes."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from PIL import Image

from bot.storage.database import HEAD_REVISION, make_engine, migrate, schema_revision
from bot.storage.repository import Store
from tests.e2e.conftest import DISCORD_TOKEN, GUILD_ID
from tests.e2e.process import REPO, SETTINGS, BotProcess
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.openai_api import FakeOpenAI
from tests.storage.records import limits, new_job, post_picture


async def run_cli(cwd: Path, *args: str, **env: str) -> tuple[int, str, str]:
    """Run `python -m bot ARGS` in `cwd` with only `env` as settings; (status, stdout, stderr)."""
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    clean["PYTHONPATH"] = str(REPO)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env={**clean, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_empty_env_names_discord_token_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("")
    status, out, err = await run_cli(tmp_path)
    assert status == 2
    assert out == ""
    assert err.strip().count("\n") == 0, err
    assert "DISCORD_TOKEN" in err
    assert "Traceback" not in err


async def test_imagine_writes_a_picture_and_prints_the_prompt(tmp_path: Path) -> None:
    async with FakeOpenAI(api_key="sk-cli-test-key-123456") as openai_fake:
        status, out, err = await run_cli(
            tmp_path,
            "imagine",
            "a beach sunset",
            "-o",
            "sunset.png",
            "--size",
            "landscape",
            OPENAI_API_KEY=openai_fake.api_key,
            OPENAI_BASE_URL=openai_fake.base_url,
        )
        assert openai_fake.violations == []
    assert status == 0, err
    assert "a beach sunset" in out and out.strip() != "a beach sunset"
    with Image.open(io.BytesIO((tmp_path / "sunset.png").read_bytes())) as image:
        assert image.format == "PNG"
        assert image.size == (1536, 1024)
    assert "sk-cli-test-key-123456" not in out + err


async def test_imagine_failure_prints_the_sentence(tmp_path: Path) -> None:
    async with FakeOpenAI() as openai_fake:
        openai_fake.fail_next("images", status=400, code="moderation_blocked", count=5)
        status, _, err = await run_cli(
            tmp_path,
            "imagine",
            "x",
            "-o",
            "x.png",
            "--no-expand",
            OPENAI_API_KEY=openai_fake.api_key,
            OPENAI_BASE_URL=openai_fake.base_url,
        )
    assert status == 1
    assert "rejected by the safety system" in err
    assert not (tmp_path / "x.png").exists()


# Models the fake OpenAI serves (its default CHAT_MODEL is not among them).
MODELS = {"CHAT_MODEL": "gpt-4.1-mini", "IMAGE_MODEL": "gpt-image-2"}


async def test_imagine_writes_the_format_its_file_name_asks_for(tmp_path: Path) -> None:
    async with FakeOpenAI() as openai_fake:
        for name, kind in (("x.jpg", "JPEG"), ("y.JPEG", "JPEG"), ("z.webp", "WEBP")):
            status, _, err = await run_cli(
                tmp_path,
                "imagine",
                "a fox",
                "-o",
                name,
                "--no-expand",
                OPENAI_API_KEY=openai_fake.api_key,
                OPENAI_BASE_URL=openai_fake.base_url,
            )
            assert status == 0, err
            data = (tmp_path / name).read_bytes()
            with Image.open(io.BytesIO(data)) as image:
                assert image.format == kind
            assert f"({len(data)} bytes" in err


async def test_imagine_refuses_an_unknown_format_before_any_call(tmp_path: Path) -> None:
    async with FakeOpenAI() as openai_fake:
        status, out, err = await run_cli(
            tmp_path,
            "imagine",
            "a fox",
            "-o",
            "fox.gif",
            OPENAI_API_KEY=openai_fake.api_key,
            OPENAI_BASE_URL=openai_fake.base_url,
        )
        assert openai_fake.requests == []
    assert status == 2 and out == ""
    assert err.splitlines() == ["picasso: cannot write fox.gif: name it .png, .jpg, .jpeg or .webp"]
    assert not (tmp_path / "fox.gif").exists()


async def test_check_reports_each_part(tmp_path: Path) -> None:
    key = "sk-check-secret-key-424242"
    async with FakeOpenAI(api_key=key) as openai_fake, FakeDiscord() as discord_fake:
        env = {
            **MODELS,
            "DISCORD_TOKEN": DISCORD_TOKEN,
            "OPENAI_BASE_URL": openai_fake.base_url,
            "DISCORD_API_BASE_URL": discord_fake.api_base,
        }
        assert (await run_cli(tmp_path, "migrate"))[0] == 0
        status, out, err = await run_cli(tmp_path, "check", OPENAI_API_KEY=key, **env)
        assert status == 0, out + err
        lines = out.splitlines()
        assert [line[0] for line in lines] == ["✓"] * 14, out
        assert lines[0] == "✓ settings"
        assert lines[1] == "✓ bot-wide caps: $10.00 a day, no monthly cap"  # the default
        assert [line.split()[1] for line in lines[3:6]] == [
            "CHAT_MODEL",
            "IMAGE_MODEL",
            "MODERATION_MODEL",
        ]
        assert f"migrated ({HEAD_REVISION})" in lines[6]
        assert [line.split()[2] for line in lines[7:12]] == ["en:", "de:", "fr:", "es:", "ja:"]
        assert lines[12].startswith("✓ chart font IPAexGothic")
        assert lines[13].startswith("✓ Discord login as")
        assert discord_fake.bot_token == DISCORD_TOKEN
        retrieved = [r.path for r in openai_fake.requests if r.path.startswith("/v1/models/")]
        assert retrieved == [
            "/v1/models/gpt-4.1-mini",
            "/v1/models/gpt-image-2",
            "/v1/models/omni-moderation-latest",
        ]

        status, out, _ = await run_cli(tmp_path, "check", OPENAI_API_KEY="sk-wrong-123456", **env)
        assert status == 1
        assert out.splitlines()[2].startswith("✗ OpenAI-compatible endpoint: AuthenticationError")
        assert "OPENAI_API_KEY" in out.splitlines()[2]
        assert "sk-wrong-123456" not in out
        assert openai_fake.violations == []
    for secret in (key, DISCORD_TOKEN):
        assert secret not in out + err


async def test_check_goes_on_past_a_missing_token(tmp_path: Path) -> None:
    """No DISCORD_TOKEN, an unknown model, an empty database: each gets its own ✗ line."""
    async with FakeOpenAI() as openai_fake:
        status, out, err = await run_cli(
            tmp_path,
            "check",
            OPENAI_API_KEY=openai_fake.api_key,
            OPENAI_BASE_URL=openai_fake.base_url,
            CHAT_MODEL="gpt-no-such-model",
            IMAGE_MODEL="gpt-image-2",
            IMAGE_TIMEOUT="soon",
        )
        assert openai_fake.violations == []
    assert status == 1
    assert "Traceback" not in err
    lines = out.splitlines()
    assert lines[0].startswith("✗ DISCORD_TOKEN: is required")
    assert lines[1].startswith("✗ IMAGE_TIMEOUT: must be a number")
    assert lines[2] == "✓ bot-wide caps: $10.00 a day, no monthly cap"
    assert lines[3].startswith("✓ OpenAI-compatible endpoint answered")
    assert lines[4].startswith("✗ CHAT_MODEL gpt-no-such-model: the endpoint has no such model")
    assert lines[5].startswith("✓ IMAGE_MODEL gpt-image-2")
    assert lines[6].startswith("✓ MODERATION_MODEL omni-moderation-latest")
    assert lines[7].endswith("no such file yet: run python -m bot migrate")
    assert [line[0] for line in lines[8:]] == ["✓"] * 6  # the catalogs and the font
    assert len(lines) == 14  # no Discord login without a token
    assert openai_fake.api_key not in out + err
    assert not (tmp_path / "data").exists()  # check never creates the database


async def test_check_says_an_old_database_needs_migrating(tmp_path: Path) -> None:
    database = tmp_path / "old.db"
    engine = make_engine(f"sqlite+aiosqlite:///{database}")
    await migrate(engine, "0001")
    await engine.dispose()
    async with FakeOpenAI() as openai_fake:
        status, out, _ = await run_cli(
            tmp_path,
            "check",
            **MODELS,
            OPENAI_API_KEY=openai_fake.api_key,
            OPENAI_BASE_URL=openai_fake.base_url,
            DATABASE_URL=f"sqlite:///{database}",
        )
    assert status == 1
    assert out.splitlines()[6] == (
        f"✗ database sqlite+aiosqlite:///{database}: "
        f"not migrated (at 0001, this version needs {HEAD_REVISION}): run python -m bot migrate"
    )
    assert [line[0] for line in out.splitlines()] == ["✗"] + ["✓"] * 5 + ["✗"] + ["✓"] * 6


async def test_check_offline_needs_no_network(tmp_path: Path) -> None:
    """--offline: the settings, the database and what the package ships; no endpoint, model
    or Discord login is tried (both fakes see no request)."""
    async with FakeOpenAI() as openai_fake, FakeDiscord() as discord_fake:
        env = {
            "DISCORD_TOKEN": DISCORD_TOKEN,
            "OPENAI_API_KEY": openai_fake.api_key,
            "OPENAI_BASE_URL": openai_fake.base_url,
            "DISCORD_API_BASE_URL": discord_fake.api_base,
        }
        status, out, err = await run_cli(tmp_path, "check", "--offline", **env)
        assert status == 1  # no database yet
        assert out.splitlines()[2].endswith("no such file yet: run python -m bot migrate")
        assert (await run_cli(tmp_path, "migrate"))[0] == 0
        status, out, err = await run_cli(tmp_path, "check", "--offline", **env)
        assert openai_fake.requests == [] and discord_fake.requests == []
    assert status == 0, out + err
    lines = out.splitlines()
    assert lines[0] == "✓ settings"
    assert lines[1] == "✓ bot-wide caps: $10.00 a day, no monthly cap"
    assert f"migrated ({HEAD_REVISION})" in lines[2]
    assert lines[3:8] == [
        "✓ catalog en: Sorry — something went wrong on our side. It has been logged; please "
        "try again.",
        "✓ catalog de: Entschuldigung – bei uns ist etwas schiefgegangen. Es wurde "
        "protokolliert; bitte versuch es noch einmal.",
        "✓ catalog fr: Désolé — un problème est survenu de notre côté. Il a été consigné ; "
        "veuillez réessayer.",
        "✓ catalog es: Lo sentimos: algo ha fallado por nuestra parte. Ha quedado registrado; "
        "inténtalo de nuevo.",
        "✓ catalog ja: 申し訳ありません。こちら側で問題が発生しました。記録済みですので、"
        "もう一度お試しください。",
    ]
    assert lines[8].startswith("✓ chart font IPAexGothic") and len(lines) == 9


async def test_migrate_needs_only_the_database(tmp_path: Path) -> None:
    status, out, err = await run_cli(tmp_path, "migrate", DATABASE_URL="sqlite:///db/p.db")
    assert status == 0, err
    assert out == "✓ database schema is up to date\n"
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db' / 'p.db'}")
    assert await schema_revision(engine) == HEAD_REVISION
    await engine.dispose()


async def test_a_database_failure_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    unreachable = "postgresql://nobody:pw-never-shown@127.0.0.1:1/x"
    for url, reason in (
        (unreachable, "Connect call failed"),
        ("sqlite:///a-file/sub/p.db", "Not a directory"),
    ):
        for command in ("migrate", "usage"):
            status, out, err = await run_cli(tmp_path, command, DATABASE_URL=url)
            assert status == 1, err
            assert out == ""
            assert len(err.splitlines()) == 1, err
            assert err.startswith("picasso: database error: ") and reason in err, err
            assert "pw-never-shown" not in err


async def test_run_with_a_database_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    async with FakeDiscord() as discord_fake:
        status, _, err = await run_cli(
            tmp_path,
            "run",
            DISCORD_TOKEN=DISCORD_TOKEN,
            OPENAI_API_KEY="sk-x",
            DISCORD_API_BASE_URL=discord_fake.api_base,
            DATABASE_URL="postgresql://nobody:pw-never-shown@127.0.0.1:1/x",
        )
    assert status == 1, err
    assert err.strip().splitlines()[-1].startswith("picasso: database error: ")
    assert "Traceback" not in err and "pw-never-shown" not in err


async def test_version(tmp_path: Path) -> None:
    status, out, _ = await run_cli(tmp_path, "--version")
    assert (status, out) == (0, f"picasso {version('picasso-bot')}\n")


async def test_sync_registers_commands_to_the_dev_guild(tmp_path: Path) -> None:
    async with FakeOpenAI() as openai_fake, FakeDiscord() as discord_fake:
        discord_fake.add_guild(GUILD_ID)
        status, out, err = await run_cli(
            tmp_path,
            "sync",
            DISCORD_TOKEN=DISCORD_TOKEN,
            OPENAI_API_KEY=openai_fake.api_key,
            DISCORD_API_BASE_URL=discord_fake.api_base,
            DEV_GUILD_ID=str(GUILD_ID),
        )
        assert status == 0, err
        puts = [r for r in discord_fake.requests if r.method == "PUT"]
        assert [r.path.rsplit("/", 3)[-3:] for r in puts] == [["guilds", str(GUILD_ID), "commands"]]
        names = [c["name"] for c in puts[0].json]
        assert out.startswith(f"synced {len(names)} commands to guild {GUILD_ID}")
        assert {"imagine", "history", "Picture history"} <= set(names)
        assert discord_fake.violations == []


async def test_sync_only_syncs(tmp_path: Path) -> None:
    """`sync` needs only DISCORD_TOKEN, never opens the database and never runs a job: a
    job a crash left unfinished is neither painted nor touched, however full the env."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    await migrate(engine)
    store = Store(engine)
    left = await store.submit_job(new_job(7001), limits(), 50_000, datetime.now(UTC))
    async with FakeOpenAI() as openai_fake, FakeDiscord() as discord_fake:
        discord_fake.add_guild(GUILD_ID)
        only_discord = {
            "DISCORD_TOKEN": DISCORD_TOKEN,
            "DISCORD_API_BASE_URL": discord_fake.api_base,
            "DEV_GUILD_ID": str(GUILD_ID),
        }
        everything = only_discord | {
            "OPENAI_API_KEY": openai_fake.api_key,
            "OPENAI_BASE_URL": openai_fake.base_url,
            "DATABASE_URL": "sqlite:///p.db",
            "SHUTDOWN_GRACE": "30",
        }
        for env in (only_discord, everything):
            status, out, err = await run_cli(tmp_path, "sync", **env)
            assert status == 0, err
            assert out.startswith("synced ") and out.endswith(f" to guild {GUILD_ID}\n")
        # Globally, with a database that can't even be reached: it is never opened.
        nowhere = {k: v for k, v in only_discord.items() if k != "DEV_GUILD_ID"}
        nowhere["DATABASE_URL"] = "postgresql://nobody:pw@127.0.0.1:1/x"
        status, out, err = await run_cli(tmp_path, "sync", **nowhere)
        assert status == 0, err
        assert out.startswith("synced ") and out.endswith(" commands globally\n")
        assert openai_fake.requests == []
        assert discord_fake.violations == []
        puts = [r.path for r in discord_fake.requests if r.method == "PUT"]
        to_guild = [path.endswith(f"/guilds/{GUILD_ID}/commands") for path in puts]
        assert to_guild == [True, True, False]
    assert await store.job(left.id) == left  # still queued, never started or touched
    await engine.dispose()
    assert not (tmp_path / "data").exists()  # nor was the default database made


async def test_sync_refused_by_discord_is_one_line(tmp_path: Path) -> None:
    async with FakeOpenAI() as openai_fake, FakeDiscord() as discord_fake:
        status, _, err = await run_cli(
            tmp_path,
            "sync",
            DISCORD_TOKEN=DISCORD_TOKEN,
            OPENAI_API_KEY=openai_fake.api_key,
            DISCORD_API_BASE_URL=discord_fake.api_base,
            DEV_GUILD_ID="424242",
        )
        discord_fake.violations.clear()  # the refusal is the point of this test
    assert status == 1
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("picasso: Discord refused the sync (403")


async def test_run_with_a_refused_token_is_one_line(tmp_path: Path) -> None:
    async with FakeDiscord() as discord_fake:
        discord_fake.reject_token = True
        status, _, err = await run_cli(
            tmp_path,
            "run",
            DISCORD_TOKEN="not-the-right-token",
            OPENAI_API_KEY="sk-x",
            DISCORD_API_BASE_URL=discord_fake.api_base,
        )
    assert status == 2
    assert err.strip().splitlines()[-1] == (
        "picasso: Discord refused DISCORD_TOKEN (reset it in the developer portal)"
    )
    assert "not-the-right-token" not in err


async def test_run_serves_imagine_and_never_logs_secrets(tmp_path: Path) -> None:
    """`python -m bot` as a process: boots, answers /imagine, stops on Ctrl-C, leaks nothing."""
    key = "sk-run-secret-key-987654321"
    async with FakeOpenAI(api_key=key) as openai_fake, FakeDiscord() as fake:
        fake.add_user(7001, "alice")
        fake.add_guild(GUILD_ID, channel_ids=[5002], members=[7001])
        env = {
            "LOG_LEVEL": "DEBUG",
            "DISCORD_TOKEN": DISCORD_TOKEN,
            "OPENAI_API_KEY": key,
            "OPENAI_BASE_URL": openai_fake.base_url,
            "DISCORD_API_BASE_URL": fake.api_base,
        }
        async with BotProcess(tmp_path, **env) as bot:
            await bot.wait_for_line("logged in as")
            interaction = await fake.invoke(
                "imagine",
                {"description": "a beach sunset"},
                user_id=7001,
                guild_id=GUILD_ID,
                channel_id=5002,
            )
            await interaction.wait_done(
                lambda i: bool(i.original and i.original.get("embeds")), timeout=30
            )
    assert bot.process is not None and bot.process.returncode == 0  # a clean stop
    for secret in (DISCORD_TOKEN, key, interaction.token):
        assert secret not in bot.output
    assert (tmp_path / "data" / "picasso.db").exists()  # the default SQLite file


async def test_commands_are_not_resynced_on_every_boot(tmp_path: Path) -> None:
    async with FakeOpenAI() as openai_fake, FakeDiscord() as fake:
        env = {
            "DISCORD_TOKEN": DISCORD_TOKEN,
            "OPENAI_API_KEY": openai_fake.api_key,
            "DISCORD_API_BASE_URL": fake.api_base,
        }
        for boot in (1, 2):
            async with BotProcess(tmp_path, **env) as bot:
                await bot.wait_for_line("logged in as")
            assert "global commands already registered" in bot.output or boot == 1
        puts = [r for r in fake.requests if r.method == "PUT" and r.path.endswith("/commands")]
        assert len(puts) == 1  # the first boot registered them; the second found them there


async def test_usage_prints_the_whole_bots_spend(tmp_path: Path) -> None:
    """Pictures settled and under way, today and this month, by server, read by `usage`."""
    now = datetime.now(UTC)
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    await migrate(engine)
    store = Store(engine)
    await post_picture(store, 901, now, user=7001, guild=5001, cost=40_000)
    await post_picture(store, 902, now, user=7002, guild=5001, cost=30_000)
    await post_picture(store, 903, now, user=7001, guild=None, cost=25_000)
    await store.reserve(5002, 7003, limits(), 50_000, now)  # a picture under way
    await engine.dispose()

    settings = {"DATABASE_URL": "sqlite:///p.db", "BOT_DAILY_BUDGET_USD": "10"}
    status, out, err = await run_cli(tmp_path, "usage", **settings)
    assert status == 0, err
    assert out.splitlines() == [
        f"today ({now:%Y-%m-%d}, UTC): 4 pictures, $0.095 spent of $10.00, "
        "$0.05 held for pictures under way",
        f"this month ({now:%B %Y}): 4 pictures, $0.095 spent, $0.05 held for pictures under way",
        "top servers this month:",
        "  5001: 2 pictures, $0.07",
        "  5002: 1 picture, $0.00, $0.05 held",
        "  direct messages: 1 picture, $0.025",
    ]

    charted = await run_cli(tmp_path, "usage", "--chart", "charts/spend.png", **settings)
    assert charted[:2] == (0, out), charted[2]  # the same text, and the chart
    with Image.open(tmp_path / "charts" / "spend.png") as chart:
        assert (chart.format, chart.size) == ("PNG", (1200, 600))
    assert "wrote charts/spend.png" in charted[2]
    refused = await run_cli(tmp_path, "usage", "--chart", "spend.jpg", **settings)
    assert refused == (2, "", "picasso: cannot write spend.jpg: the chart is a PNG, name it .png\n")

"""The command line, run as a real process against the fakes."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from pathlib import Path

from PIL import Image

from tests.e2e.conftest import DISCORD_TOKEN, GUILD_ID
from tests.e2e.process import REPO, SETTINGS, BotProcess
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.openai_api import FakeOpenAI


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


async def test_check_reports_each_part(tmp_path: Path) -> None:
    async with FakeOpenAI() as openai_fake, FakeDiscord() as discord_fake:
        env = {
            "DISCORD_TOKEN": DISCORD_TOKEN,
            "OPENAI_BASE_URL": openai_fake.base_url,
            "DISCORD_API_BASE_URL": discord_fake.api_base,
        }
        status, out, _ = await run_cli(tmp_path, "check", OPENAI_API_KEY=openai_fake.api_key, **env)
        assert status == 0, out
        assert [line[0] for line in out.splitlines()] == ["✓", "✓", "✓"]
        assert discord_fake.bot_token == DISCORD_TOKEN

        status, out, _ = await run_cli(tmp_path, "check", OPENAI_API_KEY="sk-wrong-123456", **env)
        assert status == 1
        assert out.splitlines()[1].startswith("✗ OpenAI-compatible endpoint: AuthenticationError")
        assert "sk-wrong-123456" not in out


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

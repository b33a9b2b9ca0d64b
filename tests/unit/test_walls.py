"""The walls of DESIGN.md: the domain never imports Discord nor opens shared clients itself;
the cogs never touch ORM rows, never make pictures, never settle money and never import the
wiring (`bot.app`)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from bot.app import Picasso
    from cogs.common.services import Services

ROOT = Path(__file__).resolve().parents[2]
# Only these put the Discord side and the domain together (and may import both).
WIRING = {ROOT / "bot" / name for name in ("app.py", "__main__.py", "cli.py")}
DOMAIN = sorted(set((ROOT / "bot").rglob("*.py")) - WIRING)
# Made once in bot/app.py and handed in: never per request, never at import.
SHARED_CLIENTS = {"AsyncOpenAI", "OpenAI", "ClientSession", "create_async_engine"}
# The one place that may build the engine it hands to the app.
ENGINE_FACTORY = ROOT / "bot" / "storage" / "database.py"


def imported_modules(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def called_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                names.add(func.id)
            elif isinstance(func, ast.Attribute):
                names.add(func.attr)
    return names


def test_the_wall_covers_the_domain() -> None:
    assert len(DOMAIN) >= 25 and all(path.exists() for path in WIRING)
    assert {"models.py", "logs.py", "config.py", "studio.py"} <= {path.name for path in DOMAIN}


@pytest.mark.parametrize("path", DOMAIN, ids=lambda path: str(path.relative_to(ROOT)))
def test_the_domain_never_imports_discord_or_the_cogs(path: Path) -> None:
    modules = imported_modules(ast.parse(path.read_text(), str(path)))
    crossing = {m for m in modules if m.split(".")[0] in ("discord", "cogs")}
    assert not crossing, f"{path.name} imports {sorted(crossing)}"


@pytest.mark.parametrize("path", DOMAIN, ids=lambda path: str(path.relative_to(ROOT)))
def test_the_domain_opens_no_shared_client(path: Path) -> None:
    opened = called_names(ast.parse(path.read_text(), str(path))) & SHARED_CLIENTS
    if path == ENGINE_FACTORY:
        opened -= {"create_async_engine"}
    assert not opened, f"{path.name} creates {sorted(opened)}: take it as an argument instead"


COGS = sorted((ROOT / "cogs").rglob("*.py"))
# The way of one request lives in bot/jobs: cogs build a job and submit it, nothing more.
MAKING_AND_MONEY = {
    "admit",
    "reserve",
    "settle",
    "release",
    "submit_job",
    "begin_posting",
    "complete_job",
    "end_job",
    "plan_imagine",
    "plan_prompt",
    "plan_refine",
    "paint",
    "variation_prompts",
    "turn",
}


@pytest.mark.parametrize("path", COGS, ids=lambda path: str(path.relative_to(ROOT)))
def test_the_cogs_neither_make_pictures_nor_settle_money(path: Path) -> None:
    called = called_names(ast.parse(path.read_text(), str(path))) & MAKING_AND_MONEY
    assert not called, f"{path.name} calls {sorted(called)}: submit a job instead"


@pytest.mark.parametrize("path", COGS, ids=lambda path: str(path.relative_to(ROOT)))
def test_the_cogs_never_see_orm_rows(path: Path) -> None:
    modules = imported_modules(ast.parse(path.read_text(), str(path)))
    assert "bot.storage.tables" not in modules, f"{path.name}: use the records in bot.models"


def imports_the_wiring(tree: ast.AST) -> bool:
    """Whether `tree` imports `bot.app` (`import bot.app`, `from bot.app import …`,
    `from bot import app`), even only for type checking."""
    modules = imported_modules(tree)
    spelled = any(module == "bot.app" or module.startswith("bot.app.") for module in modules)
    return spelled or any(
        isinstance(node, ast.ImportFrom)
        and node.module == "bot"
        and any(alias.name == "app" for alias in node.names)
        for node in ast.walk(tree)
    )


@pytest.mark.parametrize("path", COGS, ids=lambda path: str(path.relative_to(ROOT)))
def test_the_cogs_never_import_the_wiring(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    assert not imports_the_wiring(tree), (
        f"{path.name} imports bot.app: type the bot as cogs.common.services.Services"
    )


def _the_bot_serves_the_cogs(bot: Picasso) -> Services:
    """Never called: mypy checks that the bot has every member the cogs use of it."""
    return bot


def test_the_wiring_wall_sees_every_spelling() -> None:
    for source in ("import bot.app", "from bot.app import Picasso", "from bot import app"):
        assert imports_the_wiring(ast.parse(source)), source
    assert not imports_the_wiring(ast.parse("from bot import appearance\nimport bot.apps"))


# Reading the ledger, the settings or a policy needs none of the clients' libraries.
LIGHT = ("bot.storage.repository", "bot.storage.jobs", "bot.storage.database", "bot.policy")
HEAVY = ("openai", "aiohttp", "PIL", "discord", "httpx")


def test_storage_and_policy_load_no_client_library() -> None:
    probe = (
        f"import sys; import {', '.join(LIGHT)}; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))"
    )
    loaded = subprocess.run(  # a fresh interpreter: this one has loaded everything already
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]", f"importing {LIGHT} loads {loaded}"

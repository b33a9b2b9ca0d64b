"""compose.yaml (the scale-out set-up): every Picasso service it starts gets settings the bot
accepts, in the role it is meant for, pointed at the PostgreSQL and Redis it starts.

No Docker daemon runs where the tests run: this checks the file against the bot, not a
running stack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import read_settings

COMPOSE = Path(__file__).resolve().parents[2] / "compose.yaml"
ENV_EXAMPLE = COMPOSE.parent / ".env.example"
FILLED = {"DISCORD_TOKEN": "a-discord-token-for-tests", "OPENAI_API_KEY": "sk-for-tests-0000"}


def services() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return dict(loaded["services"])


def documented_settings() -> set[str]:
    """Every setting .env.example lists (commented out or not)."""
    names = set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        text = line.lstrip("# ").strip()
        if "=" in text and text.split("=", 1)[0].isupper():
            names.add(text.split("=", 1)[0])
    return names


@pytest.mark.parametrize(("service", "role"), [("gateway", "gateway"), ("worker", "worker")])
def test_each_picasso_service_gets_settings_the_bot_accepts(service: str, role: str) -> None:
    config = services()[service]
    environment = {key: str(value) for key, value in config["environment"].items()}
    settings, problems = read_settings({**FILLED, **environment})
    assert problems == []
    assert settings.role == role
    assert settings.database_url.startswith("postgresql+asyncpg://picasso:picasso@postgres:5432/")
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.health_port == 8080 and settings.health_host == "0.0.0.0"
    assert set(environment) <= documented_settings()
    assert set(config["depends_on"]) == {"postgres", "redis"}
    # Docker stops a container after this long: longer than the bot's own grace period.
    assert int(config["stop_grace_period"].rstrip("s")) > settings.shutdown_grace


def test_two_workers_and_the_services_they_need() -> None:
    found = services()
    assert found["worker"]["deploy"]["replicas"] == 2
    assert {"gateway", "worker", "postgres", "redis"} <= set(found)
    for backing in ("postgres", "redis"):
        assert "healthcheck" in found[backing]


def test_picasso_waits_for_its_services_to_be_healthy() -> None:
    for service in ("gateway", "worker"):
        depends = services()[service]["depends_on"]
        assert {name: rule["condition"] for name, rule in depends.items()} == {
            "postgres": "service_healthy",
            "redis": "service_healthy",
        }


def test_postgres_is_healthy_only_once_it_listens_on_tcp() -> None:
    """The image's init server answers on the Unix socket before PostgreSQL listens on TCP,
    where Picasso connects: the check must go over TCP (`-h`)."""
    test = services()["postgres"]["healthcheck"]["test"]
    words = test[1:] if test[0] == "CMD" else " ".join(test[1:]).split()
    assert words[0] == "pg_isready"
    host = words[words.index("-h") + 1]
    assert host in {"127.0.0.1", "localhost"}


def test_the_picasso_image_is_built_never_pulled() -> None:
    for service in ("gateway", "worker"):
        config = services()[service]
        assert config["build"] == "."
        assert config["pull_policy"] == "build"


def test_the_image_declares_no_volume_and_checks_its_install() -> None:
    """A VOLUME would give every scaled-out container an anonymous volume it never uses;
    the build runs the same smoke test as CI on the installed package."""
    dockerfile = (COMPOSE.parent / "Dockerfile").read_text()
    instructions = [line.split()[0] for line in dockerfile.splitlines() if line[:1].isalpha()]
    assert "VOLUME" not in instructions
    assert "python -m bot check --offline" in dockerfile
    assert "pip install -e" not in dockerfile

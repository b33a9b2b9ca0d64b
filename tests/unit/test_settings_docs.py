"""The settings, their guide and their example agree: every environment variable that
bot/config.py reads is a row of docs/operating.md's settings table and a line of
.env.example, and neither lists a setting the code no longer reads. The set of settings is
read from the code itself (its calls of the readers), never written down here.

Also: the README links every page of docs/, and every relative link in the README and in
docs/ leads to a file that exists."""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from pathlib import Path

import pytest

from bot.config import read_settings

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "bot" / "config.py"
README = ROOT / "README.md"
DOCS = ROOT / "docs"
OPERATING = DOCS / "operating.md"
ENV_EXAMPLE = ROOT / ".env.example"

NAME = re.compile(r"[A-Z][A-Z0-9_]*")
# The header of the settings table: its first column is the variable.
TABLE_HEADER = re.compile(r"^\|\s*variable\s*\|", re.IGNORECASE)
TABLE_NAME = re.compile(r"^`([A-Z][A-Z0-9_]*)`$")
# A setting's line in .env.example, set (`NAME=value`) or commented out (`#NAME=value`).
EXAMPLE_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=")
# A Markdown link or image: [text](target) / ![alt](target).
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _is_environment(node: ast.expr) -> bool:
    """`env` (what every reader in bot/config.py is handed), `environ` or `os.environ`."""
    if isinstance(node, ast.Name):
        return node.id in ("env", "environ")
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def _setting_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value if NAME.fullmatch(node.value) else None
    return None


@cache
def settings_in_code() -> frozenset[str]:
    """Every variable bot/config.py reads: the name handed to a reader together with the
    environment (`optional(env, "NAME")`, `integer(env, "NAME", …)`, …) or looked up in the
    environment directly (`env.get("NAME")`, `env["NAME"]`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(CONFIG.read_text(), str(CONFIG))):
        name: str | None = None
        if isinstance(node, ast.Call):
            func, args = node.func, node.args
            if len(args) >= 2 and _is_environment(args[0]):
                name = _setting_name(args[1])
            elif (
                isinstance(func, ast.Attribute)
                and func.attr == "get"
                and _is_environment(func.value)
                and args
            ):
                name = _setting_name(args[0])
        elif isinstance(node, ast.Subscript) and _is_environment(node.value):
            name = _setting_name(node.slice)
        if name is not None:
            found.add(name)
    return frozenset(found)


class Recording(Mapping[str, str]):
    """An environment that remembers every variable asked of it."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


# Environments that between them take every reader down each of its branches.
ENVIRONMENTS: tuple[dict[str, str], ...] = (
    {},
    {
        "ROLE": "worker",
        "DATABASE_URL": "postgresql://picasso@127.0.0.1/picasso",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "SHARD_COUNT": "2",
        "SHARD_IDS": "0,1",
        "DEFAULT_SERVER_LIMITS": '{"user_daily_pictures": 3}',
        "IMAGE_PRICES": '{"gpt-image-2": {"text_in": 5, "image_in": 8, "image_out": 30}}',
        "IMAGE_RATE_LIMIT": "50 per minute",
    },
)


def settings_table(markdown: str) -> list[list[str]]:
    """The first cells of each table whose header begins `| variable |`, one list a table."""
    tables: list[list[str]] = []
    rows: list[str] | None = None
    for line in markdown.splitlines():
        text = line.strip()
        if not text.startswith("|"):
            rows = None
            continue
        if TABLE_HEADER.match(text):
            rows = []
            tables.append(rows)
            continue
        if rows is None or set(text) <= set("|-: "):  # another table, or the separator row
            continue
        rows.append(text.strip("|").split("|")[0].strip())
    return tables


def operating_guide_settings() -> list[str]:
    """The variables of docs/operating.md's one settings table, in its order."""
    tables = settings_table(OPERATING.read_text())
    assert len(tables) == 1, (
        f"docs/operating.md has {len(tables)} tables headed `| variable |`; the settings "
        "table must be exactly one"
    )
    names, malformed = [], []
    for cell in tables[0]:
        match = TABLE_NAME.fullmatch(cell)
        if match:
            names.append(match.group(1))
        else:
            malformed.append(cell)
    assert not malformed, f"a row's first cell must be one `VARIABLE`: {malformed}"
    return names


def example_settings() -> list[str]:
    """The variables .env.example sets or shows commented out, in its order."""
    return [
        match.group(1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if (match := EXAMPLE_LINE.match(line.strip()))
    ]


def test_the_code_reads_settings_the_parser_finds() -> None:
    found = settings_in_code()
    assert {"DISCORD_TOKEN", "OPENAI_API_KEY", "DATABASE_URL", "ROLE"} <= found
    for values in ENVIRONMENTS:
        environment = Recording(values)
        read_settings(environment)
        unseen = sorted(environment.asked - found)
        assert not unseen, (
            f"bot/config.py reads {unseen} in a way this test does not parse: teach "
            "settings_in_code() that way"
        )


LISTS: dict[str, Callable[[], list[str]]] = {
    "docs/operating.md": operating_guide_settings,
    ".env.example": example_settings,
}


@pytest.mark.parametrize("where", sorted(LISTS))
def test_every_setting_is_listed_once_and_nothing_else(where: str) -> None:
    listed = LISTS[where]()
    in_code = settings_in_code()
    missing = sorted(in_code - set(listed))
    stale = sorted(set(listed) - in_code)
    twice = sorted(name for name, times in Counter(listed).items() if times > 1)
    assert not missing, f"{where} does not list {missing}, which bot/config.py reads"
    assert not stale, f"{where} lists {stale}, which bot/config.py no longer reads"
    assert not twice, f"{where} lists {twice} more than once"


def _pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def test_the_readme_links_every_page_of_docs() -> None:
    targets = {target.split("#")[0] for target in LINK.findall(README.read_text())}
    unlinked = [
        str(page.relative_to(ROOT))
        for page in _pages()
        if str(page.relative_to(ROOT)) not in targets
    ]
    assert _pages(), "docs/ has no pages"
    assert not unlinked, f"README.md's table of documents misses {unlinked}"


@pytest.mark.parametrize("document", [README, *_pages()], ids=lambda path: path.name)
def test_relative_links_lead_to_files_that_exist(document: Path) -> None:
    broken = []
    for target in LINK.findall(document.read_text()):
        path = target.split("#")[0]
        if not path or re.match(r"^[a-z][a-z0-9+.-]*:", path):  # an anchor here, or a URL
            continue
        if not (document.parent / path).resolve().exists():
            broken.append(target)
    assert not broken, f"{document.relative_to(ROOT)} links to missing files: {broken}"

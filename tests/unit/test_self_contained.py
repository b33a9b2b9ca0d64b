"""A clone of the repository alone runs its tests: nothing in it reads a file outside it, and
the official specs it carries are the unchanged copies tests/specs/README.md names."""

from __future__ import annotations

import ast
import hashlib
import re
import subprocess
from pathlib import Path

import pytest

from tests.fakes.spec_documents import DISCORD_SPEC, OPENAI_SPEC

ROOT = Path(__file__).resolve().parents[2]
TEXT_SUFFIXES = {".py", ".toml", ".cfg", ".md", ".yaml", ".yml", ".ini", ".txt", ".example", ""}
SKIPPED_DIRS = {".git", ".venv", "node_modules", "build", "dist"}
OUTSIDE = re.compile(r"\.\./shared|\bshared/specs\b")


def repository_files() -> list[Path]:
    """The files git tracks (or, outside a checkout, every file but the skipped folders)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.split()
        return [ROOT / name for name in listed if (ROOT / name).is_file()]
    except (OSError, subprocess.SubprocessError):
        return [
            path
            for path in ROOT.rglob("*")
            if path.is_file() and not SKIPPED_DIRS.intersection(path.relative_to(ROOT).parts)
        ]


def text_files() -> list[Path]:
    return [
        path
        for path in repository_files()
        if path.suffix in TEXT_SUFFIXES and path.stat().st_size < 1_000_000
    ]


def test_no_file_names_the_shared_folder_beside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in text_files()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1)
        if OUTSIDE.search(line)
    ]
    assert found == []


def climbs_out(path: Path) -> list[str]:
    """`Path(__file__).resolve().parents[N]` and `.parent` chains that leave the repository."""
    depth = len(path.relative_to(ROOT).parts) - 1  # parents[depth] is ROOT itself
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "parents"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, int)
            and node.slice.value > depth
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_python_file_climbs_above_the_repository_root() -> None:
    found = [place for path in text_files() if path.suffix == ".py" for place in climbs_out(path)]
    assert found == []


@pytest.mark.parametrize("spec", [DISCORD_SPEC, OPENAI_SPEC], ids=lambda spec: spec.name)
def test_the_specs_are_the_copies_their_readme_names(spec: Path) -> None:
    readme = (spec.parent / "README.md").read_text()
    [row] = [line for line in readme.splitlines() if line.startswith(f"| `{spec.name}`")]
    [named] = re.findall(r"`([0-9a-f]{64})`", row)
    assert hashlib.sha256(spec.read_bytes()).hexdigest() == named
    assert spec.resolve().is_relative_to(ROOT)

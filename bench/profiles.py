"""Reading a cProfile of the bot: where its CPU went, by library and by function."""

from __future__ import annotations

import io
import pstats
from collections import Counter
from pathlib import Path
from typing import Any

from tests.e2e.process import REPO

TOP = 12
_Func = tuple[str, int, str]  # (file, line, name) as pstats keys functions


def library(path: str) -> str:
    """Who owns the code at `path`: `bot`/`cogs`, a package name, `stdlib:module`, or
    `builtins` (C functions, which cProfile files under `~`)."""
    if path == "~":
        return "builtins"
    file = Path(path)
    for mine in ("bot", "cogs"):
        if file.is_relative_to(REPO / mine):
            return mine
    parts = file.parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    stdlib = next((n for n, part in enumerate(parts) if part.startswith("python3")), None)
    if stdlib is not None and stdlib + 1 < len(parts):
        return "stdlib:" + parts[stdlib + 1].removesuffix(".py")
    return file.name


def _where(func: _Func) -> str:
    path, line, name = func
    file = Path(path)
    shown = str(file.relative_to(REPO)) if file.is_relative_to(REPO) else "/".join(file.parts[-2:])
    return f"{shown}:{line}({name})"


def by_library(raw: dict[_Func, Any]) -> Counter[str]:
    """Own CPU seconds per library; a C builtin's time goes to the library that called it."""
    spent: Counter[str] = Counter()
    for func, (_, _, own, _, callers) in raw.items():
        if func[0] != "~" or not callers:
            spent[library(func[0])] += own
            continue
        for caller, (_, _, caller_own, _) in callers.items():
            spent[library(caller[0])] += caller_own
    return spent


def top_costs(stats_file: Path, pictures: int, count: int = TOP) -> list[str]:
    """What cost the most CPU, one line each: own time per library (per picture), the
    functions with the most own time, and the project's functions by time with callees."""
    raw: dict[_Func, Any] = pstats.Stats(str(stats_file), stream=io.StringIO()).stats  # type: ignore[attr-defined]
    spent = by_library(raw)
    whole = sum(spent.values()) or 1.0
    lines = ["own CPU by library (ms per picture, share):"]
    lines += [
        f"  {seconds * 1000 / pictures:7.2f} ms  {100 * seconds / whole:4.1f} %  {name}"
        for name, seconds in spent.most_common(count)
    ]
    rows = [(stat[2], stat[3], stat[1], func) for func, stat in raw.items()]
    lines.append("functions by own time (ms in all):")
    lines += [
        f"  {own * 1000:8.1f} own {total * 1000:8.1f} total {calls:7d} calls  {_where(func)}"
        for own, total, calls, func in sorted(rows, key=lambda r: r[0], reverse=True)[:count]
    ]
    ours = [row for row in rows if library(row[3][0]) in ("bot", "cogs")]
    lines.append("project functions by total time (ms in all; coroutines count each resume):")
    lines += [
        f"  {own * 1000:8.1f} own {total * 1000:8.1f} total {calls:7d} calls  {_where(func)}"
        for own, total, calls, func in sorted(ours, key=lambda r: r[1], reverse=True)[:count]
    ]
    return lines

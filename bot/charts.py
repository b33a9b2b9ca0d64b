"""The spend chart: 30 days of money and pictures against the caps, and who spent most.

One PNG of a fixed size, drawn with matplotlib's `Figure` (the Agg canvas: no display, no
pyplot and its global state), in a thread so the event loop never waits on it. matplotlib is
imported on the first chart, not with the bot: most processes never draw one.

Its words are in the reader's language (the thread keeps the caller's, `bot.i18n`). Text is
drawn in matplotlib's own DejaVu Sans, and each glyph it lacks (Japanese labels, names in
Japanese or Chinese) in IPAexGothic, the font the matplotlib-fontja package ships.
"""

from __future__ import annotations

import asyncio
import calendar
import importlib.util
import io
import logging
from collections.abc import Mapping, Sequence
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from bot.formatting import clip, usd, zone_name
from bot.i18n import _, current_language, ngettext

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bot.studio import SpendReport

log = logging.getLogger(__name__)

WIDTH_PX, HEIGHT_PX, DPI = 1200, 600, 100
LABEL_CHARS: Final = 22  # a display name on the top-people panel
TICK_EVERY: Final = 7  # days between date labels, counted back from today
SCALE_REACH: Final = 3  # a cap more than this many times the busiest day is drawn off the scale
SPEND, PICTURES, DAILY_CAP, MONTHLY_PACE = "#4c72b0", "#2ca02c", "#d62728", "#ff7f0e"
TEXT_FONT, JAPANESE_FONT = "DejaVu Sans", "IPAexGothic"


async def spend_png(
    report: SpendReport, *, place: str, labels: Mapping[int, str] | None = None
) -> bytes:
    """`spend_chart`, drawn in a thread."""
    return await asyncio.to_thread(spend_chart, report, place=place, labels=labels)


def spend_chart(
    report: SpendReport, *, place: str, labels: Mapping[int, str] | None = None
) -> bytes:
    """A WIDTH_PX × HEIGHT_PX PNG of `report`: money spent per day (bars) and pictures per
    day (line) with the daily cap and the monthly cap as an even daily pace, and beside it
    the top people by spend, named by `labels` (user id → name) or by their id."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
    days_axes, people_axes = figure.subplots(1, 2, width_ratios=(3, 1))
    _draw_days(days_axes, report)
    _draw_people(people_axes, report, labels or {})
    title = _("Picasso spend — {place}: {first} – {last} ({zone}) · {pictures}, {spent}")
    figure.suptitle(
        title.format(
            place=place,
            first=_day(report.days[0].day),
            last=_day(report.days[-1].day, year=True),
            zone=zone_name(report.now),
            pictures=_pictures(report.pictures),
            spent=usd(report.spent_micros),
        )
    )
    _use_fonts(figure)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def _draw_days(axes: Any, report: SpendReport) -> None:
    """Bars of dollars a day, the caps as lines, and pictures a day on a second axis."""
    spent = [day.spent_micros / 1_000_000 for day in report.days]
    axes.bar(range(len(spent)), spent, color=SPEND, label=_("spent per day"))
    _draw_caps(axes, report, max(spent))
    axes.set_ylabel(_("US dollars spent"))
    _date_ticks(axes, report)
    counts = _draw_pictures(axes, report)
    handles = [*axes.get_legend_handles_labels()[0], *counts.get_legend_handles_labels()[0]]
    # Under the chart, where it hides no bar.
    axes.legend(
        handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncols=2, fontsize=8
    )
    axes.set_title(_("Per day"), fontsize=10)
    axes.grid(axis="y", alpha=0.3)


def _draw_caps(axes: Any, report: SpendReport, busiest: float) -> None:
    """The daily cap, and the monthly cap as an even daily pace; the money axis' top."""
    pace = _monthly_pace(report)
    top = _scale_top(busiest, report.daily_cap_micros, max(pace, default=None))
    if report.daily_cap_micros is not None:
        cap = report.daily_cap_micros / 1_000_000
        label = _("daily cap {amount}").format(amount=usd(report.daily_cap_micros))
        label = _off_scale(label, cap, top)
        axes.axhline(cap, color=DAILY_CAP, linestyle="--", label=label, zorder=3)
    if pace:
        assert report.monthly_cap_micros is not None
        label = _("monthly cap {amount} as an even daily pace (÷ days in the month)").format(
            amount=usd(report.monthly_cap_micros)
        )
        label = _off_scale(label, min(pace), top)
        days = range(len(pace))
        axes.step(days, pace, where="mid", color=MONTHLY_PACE, linestyle=":", label=label, zorder=3)
    axes.set_ylim(0, top)


def _draw_pictures(axes: Any, report: SpendReport) -> Any:
    """Pictures a day as a line on a second axis (whole numbers); returns that axis."""
    counts = axes.twinx()
    pictures = [day.pictures for day in report.days]
    style = {"color": PICTURES, "marker": "o", "markersize": 3}
    counts.plot(range(len(pictures)), pictures, label=_("pictures per day"), **style)
    counts.set_ylim(0, max(4, *pictures) * 1.25)
    counts.yaxis.get_major_locator().set_params(integer=True)
    counts.set_ylabel(_("pictures"))
    return counts


def _monthly_pace(report: SpendReport) -> list[float]:
    """The monthly cap spread evenly over its month, for each day shown (none without a cap)."""
    if report.monthly_cap_micros is None:
        return []
    cap = report.monthly_cap_micros / 1_000_000
    return [cap / calendar.monthrange(d.day.year, d.day.month)[1] for d in report.days]


def _scale_top(busiest: float, daily_cap_micros: int | None, pace: float | None) -> float:
    """The top of the money axis: room above the busiest day, and the caps when they are near
    enough to read both (a far cap would flatten every bar; its legend says so instead)."""
    top = busiest * 1.2
    reach = busiest * SCALE_REACH if busiest else float("inf")
    caps = [pace, None if daily_cap_micros is None else daily_cap_micros / 1_000_000]
    for cap in caps:
        if cap is not None and cap <= reach:
            top = max(top, cap * 1.15)
    return top or 1.0


def _off_scale(label: str, value: float, top: float) -> str:
    """A cap's legend `label`, saying so when the cap is drawn off the scale."""
    return _("{label} (above the chart)").format(label=label) if value > top else label


def _date_ticks(axes: Any, report: SpendReport) -> None:
    """A date under today and every TICK_EVERY days before it."""
    count = len(report.days)
    shown = list(range(count - 1, -1, -TICK_EVERY))[::-1]
    axes.set_xticks(shown, [_day(report.days[n].day) for n in shown])
    axes.set_xlim(-0.6, count - 0.4)


def _draw_people(axes: Any, report: SpendReport, labels: Mapping[int, str]) -> None:
    """Horizontal bars of the people who spent most, most at the top."""
    axes.set_title(_("The people who spent most"), fontsize=10)
    if not report.top:
        axes.set_axis_off()
        nobody = _("Nobody made a picture\nin these 30 days")
        axes.text(0.5, 0.5, nobody, ha="center", va="center", transform=axes.transAxes)
        return
    names = _names([user for user, _usage in report.top], labels)
    spent = [usage.spent_micros / 1_000_000 for _user, usage in report.top]
    rows = range(len(spent))
    axes.barh(rows, spent, color=SPEND)
    axes.set_yticks(rows, names, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, max(spent) * 1.9 or 1.0)
    axes.set_xlabel(_("US dollars spent"))
    for row, (_user, usage) in zip(rows, report.top, strict=True):
        note = f" {usd(usage.spent_micros)} · {_pictures(usage.pictures)}"
        axes.text(usage.spent_micros / 1_000_000, row, note, va="center", fontsize=8)


def _names(users: Sequence[int], labels: Mapping[int, str]) -> list[str]:
    """Each person's name from `labels`, else their id."""
    return [clip(labels.get(user) or str(user), LABEL_CHARS) for user in users]


def _pictures(count: int) -> str:
    """`1 picture`, `3 pictures`, in the reader's language."""
    return ngettext("{count} picture", "{count} pictures", count).format(count=count)


def _day(day: date, *, year: bool = False) -> str:
    """`Jul 1` (`Jul 1, 2026` with the `year`), `1. Juli`, `7月1日`: as the reader writes it."""
    from babel.dates import format_skeleton

    return format_skeleton("yMMMd" if year else "MMMd", day, locale=current_language())


def _use_fonts(figure: Figure) -> None:
    """Every text of `figure` in DejaVu Sans, and what it lacks in the Japanese font. (Ticks
    drawn later copy the font of the first tick of their axis.)"""
    from matplotlib.text import Text

    families = _font_families()
    for text in figure.findobj(Text):
        text.set_fontfamily(families)


@cache
def _font_families() -> list[str]:
    """The fonts to draw text in, in order: matplotlib's own, then the Japanese one when its
    package is installed. The font is registered from the package's files without importing
    it, since its import would change matplotlib's defaults for the whole process."""
    from matplotlib import font_manager

    font = japanese_font()
    if font is None:
        log.warning("matplotlib-fontja is not installed: charts draw no Japanese glyphs")
        return [TEXT_FONT]
    font_manager.fontManager.addfont(str(font))
    return [TEXT_FONT, JAPANESE_FONT]


def japanese_font() -> Path | None:
    """The file of the Japanese font the matplotlib-fontja package ships, if it is there
    (found without importing the package)."""
    spec = importlib.util.find_spec("matplotlib_fontja")
    folders = spec.submodule_search_locations if spec is not None else None
    font = Path(next(iter(folders))) / "fonts" / "ipaexg.ttf" if folders else None
    return font if font is not None and font.is_file() else None

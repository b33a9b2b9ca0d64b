"""The spend chart: 30 days of money and pictures against the caps, and who spent most.

One PNG of a fixed size, drawn with matplotlib's `Figure` (the Agg canvas: no display, no
pyplot and its global state), in a thread so the event loop never waits on it. matplotlib is
imported on the first chart, not with the bot: most processes never draw one.
"""

from __future__ import annotations

import asyncio
import calendar
import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from bot.formatting import clip, plural, usd, zone_name

if TYPE_CHECKING:
    from bot.studio import SpendReport

WIDTH_PX, HEIGHT_PX, DPI = 1200, 600, 100
LABEL_CHARS: Final = 22  # a display name on the top-people panel
TICK_EVERY: Final = 7  # days between date labels, counted back from today
SCALE_REACH: Final = 3  # a cap more than this many times the busiest day is drawn off the scale
SPEND, PICTURES, DAILY_CAP, MONTHLY_PACE = "#4c72b0", "#2ca02c", "#d62728", "#ff7f0e"


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
    first, last = report.days[0].day, report.days[-1].day
    figure.suptitle(
        f"Picasso spend — {place}: {first:%b %d} – {last:%b %d %Y} ({zone_name(report.now)}) · "
        f"{plural(report.pictures, 'picture')}, {usd(report.spent_micros)}"
    )
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def _draw_days(axes: Any, report: SpendReport) -> None:
    """Bars of dollars a day, the caps as lines, and pictures a day on a second axis."""
    spent = [day.spent_micros / 1_000_000 for day in report.days]
    axes.bar(range(len(spent)), spent, color=SPEND, label="spent per day")
    _draw_caps(axes, report, max(spent))
    axes.set_ylabel("US dollars spent")
    _date_ticks(axes, report)
    counts = _draw_pictures(axes, report)
    handles = [*axes.get_legend_handles_labels()[0], *counts.get_legend_handles_labels()[0]]
    # Under the chart, where it hides no bar.
    axes.legend(
        handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncols=2, fontsize=8
    )
    axes.set_title("Per day", fontsize=10)
    axes.grid(axis="y", alpha=0.3)


def _draw_caps(axes: Any, report: SpendReport, busiest: float) -> None:
    """The daily cap, and the monthly cap as an even daily pace; the money axis' top."""
    pace = _monthly_pace(report)
    top = _scale_top(busiest, report.daily_cap_micros, max(pace, default=None))
    if report.daily_cap_micros is not None:
        cap = report.daily_cap_micros / 1_000_000
        label = f"daily cap {usd(report.daily_cap_micros)}{_off_scale(cap, top)}"
        axes.axhline(cap, color=DAILY_CAP, linestyle="--", label=label, zorder=3)
    if pace:
        assert report.monthly_cap_micros is not None
        label = (
            f"monthly cap {usd(report.monthly_cap_micros)} as an even daily pace "
            f"(÷ days in the month){_off_scale(min(pace), top)}"
        )
        days = range(len(pace))
        axes.step(days, pace, where="mid", color=MONTHLY_PACE, linestyle=":", label=label, zorder=3)
    axes.set_ylim(0, top)


def _draw_pictures(axes: Any, report: SpendReport) -> Any:
    """Pictures a day as a line on a second axis (whole numbers); returns that axis."""
    counts = axes.twinx()
    pictures = [day.pictures for day in report.days]
    style = {"color": PICTURES, "marker": "o", "markersize": 3}
    counts.plot(range(len(pictures)), pictures, label="pictures per day", **style)
    counts.set_ylim(0, max(4, *pictures) * 1.25)
    counts.yaxis.get_major_locator().set_params(integer=True)
    counts.set_ylabel("pictures")
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


def _off_scale(value: float, top: float) -> str:
    return " (above the chart)" if value > top else ""


def _date_ticks(axes: Any, report: SpendReport) -> None:
    """A date under today and every TICK_EVERY days before it."""
    count = len(report.days)
    shown = list(range(count - 1, -1, -TICK_EVERY))[::-1]
    axes.set_xticks(shown, [f"{report.days[n].day:%b %d}" for n in shown])
    axes.set_xlim(-0.6, count - 0.4)


def _draw_people(axes: Any, report: SpendReport, labels: Mapping[int, str]) -> None:
    """Horizontal bars of the people who spent most, most at the top."""
    axes.set_title("The people who spent most", fontsize=10)
    if not report.top:
        axes.set_axis_off()
        nobody = "Nobody made a picture\nin these 30 days"
        axes.text(0.5, 0.5, nobody, ha="center", va="center", transform=axes.transAxes)
        return
    names = _names([user for user, _ in report.top], labels)
    spent = [usage.spent_micros / 1_000_000 for _, usage in report.top]
    rows = range(len(spent))
    axes.barh(rows, spent, color=SPEND)
    axes.set_yticks(rows, names, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, max(spent) * 1.9 or 1.0)
    axes.set_xlabel("US dollars spent")
    for row, (_, usage) in zip(rows, report.top, strict=True):
        note = f" {usd(usage.spent_micros)} · {plural(usage.pictures, 'picture')}"
        axes.text(usage.spent_micros / 1_000_000, row, note, va="center", fontsize=8)


def _names(users: Sequence[int], labels: Mapping[int, str]) -> list[str]:
    """Each person's name from `labels`, else their id."""
    return [clip(labels.get(user) or str(user), LABEL_CHARS) for user in users]

"""The benchmark's figure as one PNG (matplotlib, Agg backend)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from bench.figures import Result


def can_plot() -> bool:
    """True when matplotlib is installed (a dependency of the bot since its spend chart)."""
    return importlib.util.find_spec("matplotlib") is not None


def draw(results: dict[str, Result], path: Path) -> None:
    """Draw what the results hold: the burst's time to picture, the stream's queue, the
    pacing scenario's images per window against the limit, and memory by jobs done."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [name for name in ("burst", "stream", "pacing", "rss") if name in results]
    if not panels:
        return
    rows = (len(panels) + 1) // 2
    fig, axes = plt.subplots(rows, 2, figsize=(11, 4 * rows), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, panels, strict=False):
        result = results[name]
        if name == "burst":
            seconds = sorted(result.series["picture_s"])
            share = [100 * (n + 1) / len(seconds) for n in range(len(seconds))]
            ax.step(seconds, share, where="post", label="picture posted")
            ax.axvline(result.figures["picture_p50_ms"] / 1000, ls=":", c="grey", label="p50")
            ax.axvline(result.figures["picture_p95_ms"] / 1000, ls="--", c="grey", label="p95")
            ax.set(xlabel="seconds after /imagine", ylabel="% of requests", ylim=(0, 100))
        elif name == "stream":
            t, queue, waiting = zip(*result.series["queue"], strict=True)
            ax.plot(t, queue, drawstyle="steps-post", label="without picture yet")
            ax.plot(t, waiting, drawstyle="steps-post", label="waiting for a slot")
            ax.axvline(result.params["seconds"], ls=":", c="grey", label="stream ends")
            ax.set(xlabel="seconds", ylabel="requests")
        elif name == "pacing":
            window = result.params["limit_seconds"]
            windows = result.series["images_per_window"]
            starts = [n * window for n in range(len(windows))]
            ax.bar(starts, windows, width=window * 0.95, align="edge", label="accepted per window")
            ax.axhline(result.params["limit_images"], c="red", ls="--", label="provider limit")
            refused = result.series["refused_times_s"]
            above = result.params["limit_images"] + 0.5
            ax.plot(refused, [above] * len(refused), "rx", label=f"refused 429 ({len(refused)})")
            ax.set(xlabel="seconds after the first accepted image", ylabel="images")
            ax.set_ylim(0, above + 1.5)
        else:
            jobs, rss = zip(*result.series["rss_mb_by_jobs"], strict=True)
            ax.plot(jobs, rss, marker="o", label="VmRSS")
            ax.axhline(100, c="red", ls="--", label="idle target")
            ax.set(xlabel="jobs done", ylabel="MB", ylim=(0, max(max(rss) * 1.2, 110)))
        ax.set_title(f"{name}: {result.title}", fontsize=8, wrap=True)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

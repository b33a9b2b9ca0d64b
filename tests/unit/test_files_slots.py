"""Fitting pictures under upload limits, and the queue that reports positions."""

import asyncio
import io
import random

import pytest
from PIL import Image

from bot.errors import ProviderUnavailable
from bot.imaging.files import fit_to_limit
from bot.jobs import SlotQueue


def _noise_png(width: int, height: int) -> bytes:
    rng = random.Random(7)
    image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def test_small_picture_is_left_alone() -> None:
    png = _noise_png(32, 32)
    fitted = await fit_to_limit(png, 10_000_000)
    assert fitted.data == png
    assert fitted.filename == "picasso.png"


async def test_large_picture_is_reencoded_under_the_limit() -> None:
    png = _noise_png(512, 512)
    limit = len(png) // 4
    fitted = await fit_to_limit(png, limit)
    assert len(fitted.data) <= limit
    assert fitted.filename.endswith(".jpg")
    with Image.open(io.BytesIO(fitted.data)) as image:
        assert image.format == "JPEG"


async def test_not_an_image_is_a_provider_error() -> None:
    with pytest.raises(ProviderUnavailable):
        await fit_to_limit(b"definitely not a png", 1000)


async def test_queue_reports_positions_and_limits_concurrency() -> None:
    slots = SlotQueue(1)
    positions: dict[str, list[int]] = {"b": [], "c": []}
    running = 0
    peak = 0
    release = asyncio.Event()
    b_started = asyncio.Event()
    release_b = asyncio.Event()

    async def job(name: str) -> None:
        nonlocal running, peak

        async def report(position: int) -> None:
            positions[name].append(position)

        async with slots.slot(report if name in positions else None):
            running += 1
            peak = max(peak, running)
            if name == "a":
                await release.wait()
            elif name == "b":
                b_started.set()
                await release_b.wait()
            running -= 1

    first = asyncio.create_task(job("a"))
    await asyncio.sleep(0)
    others = [asyncio.create_task(job("b")), asyncio.create_task(job("c"))]
    while slots.waiting < 2:
        await asyncio.sleep(0)
    release.set()  # a finishes, b takes the slot, c moves up to first in line
    await b_started.wait()
    while positions["c"] == [2]:
        await asyncio.sleep(0)
    release_b.set()
    await asyncio.gather(first, *others)
    assert peak == 1
    assert positions["b"] == [1]
    assert positions["c"] == [2, 1]


async def test_cancelled_waiter_leaves_the_queue() -> None:
    slots = SlotQueue(1)
    hold = asyncio.Event()

    async def holder() -> None:
        async with slots.slot():
            await hold.wait()

    async def noop(position: int) -> None:
        return None

    async def waiter() -> None:
        async with slots.slot(noop):
            pass

    task = asyncio.create_task(holder())
    await asyncio.sleep(0)
    w = asyncio.create_task(waiter())
    while slots.waiting < 1:
        await asyncio.sleep(0)
    w.cancel()
    with pytest.raises(asyncio.CancelledError):
        await w
    assert slots.waiting == 0
    hold.set()
    await task
    async with slots.slot(noop):
        pass

"""Fitting pictures under upload limits, and the queue that reports positions."""

import asyncio
import io
import random

import pytest
from PIL import Image

from bot.errors import ProviderUnavailable, UploadFailed
from bot.imaging.files import DownloadFailed, as_png, fit_to_limit
from bot.jobs import SlotQueue
from tests.unit.doubles import until


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


async def test_a_picture_that_fits_no_encoding_is_an_upload_failure() -> None:
    with pytest.raises(UploadFailed):
        await fit_to_limit(_noise_png(256, 256), 100)


async def test_a_decompression_bomb_is_refused_as_not_a_picture(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    picture = _noise_png(64, 64)
    jpeg = io.BytesIO()
    Image.open(io.BytesIO(picture)).save(jpeg, format="JPEG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 64×64 is now absurdly large
    with pytest.raises(ProviderUnavailable):
        await fit_to_limit(picture, 10)
    with pytest.raises(DownloadFailed):
        await as_png(jpeg.getvalue())


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
    await until(lambda: slots.waiting == 2)
    release.set()  # a finishes, b takes the slot, c moves up to first in line
    await b_started.wait()
    await until(lambda: positions["c"] != [2])
    release_b.set()
    await asyncio.gather(first, *others)
    assert peak == 1
    assert positions["b"] == [1]
    assert positions["c"] == [2, 1]


async def test_cancelled_waiter_leaves_the_queue_and_nothing_behind() -> None:
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
    await until(lambda: slots.waiting == 1)
    await asyncio.sleep(0)
    w.cancel()
    with pytest.raises(asyncio.CancelledError):
        await w
    assert slots.waiting == 0
    await asyncio.sleep(0)
    assert asyncio.all_tasks() == {task, asyncio.current_task()}, "a helper task was left pending"
    hold.set()
    await task
    async with asyncio.timeout(1), slots.slot(noop):  # the slot was not leaked
        pass


async def test_a_move_up_during_a_slow_report_is_not_lost() -> None:
    """A waiter still showing "position 2" when the line moves must go on to show 1."""
    slots = SlotQueue(1)
    first_done, second_left = asyncio.Event(), asyncio.Event()
    reporting, shown = asyncio.Event(), asyncio.Event()
    positions: list[int] = []

    async def holder() -> None:
        async with slots.slot():
            await first_done.wait()

    async def ahead() -> None:
        async with slots.slot():
            await second_left.wait()

    async def slow_report(position: int) -> None:
        positions.append(position)
        reporting.set()
        await shown.wait()  # an edit of a Discord message takes a while

    async def behind() -> None:
        async with slots.slot(slow_report):
            pass

    tasks = [asyncio.create_task(holder())]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(ahead()))
    await until(lambda: slots.waiting == 1)
    tasks.append(asyncio.create_task(behind()))
    await reporting.wait()
    assert positions == [2]
    first_done.set()  # the one ahead takes the slot while "position 2" is still being shown
    await until(lambda: slots.waiting == 1)
    shown.set()
    await until(lambda: positions != [2])
    assert positions == [2, 1]
    second_left.set()
    await asyncio.gather(*tasks)


async def test_waiters_without_a_callback_still_hold_their_place_in_line() -> None:
    slots = SlotQueue(1)
    release = asyncio.Event()
    positions: list[int] = []

    async def holder() -> None:
        async with slots.slot():
            await release.wait()

    async def silent() -> None:
        async with slots.slot():
            pass

    async def report(position: int) -> None:
        positions.append(position)

    async def shown() -> None:
        async with slots.slot(report):
            pass

    tasks = [asyncio.create_task(holder())]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(silent()))
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(shown()))
    await until(lambda: bool(positions))
    assert positions == [2]  # behind the silent one
    release.set()
    await asyncio.gather(*tasks)

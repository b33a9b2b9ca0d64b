"""bot/imaging/files.py: pictures fetched with a size cap, re-encoded as PNG,
fitted under upload limits."""

from __future__ import annotations

import io
import random
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from PIL import Image

from bot.errors import ProviderUnavailable, UploadFailed
from bot.imaging.files import DownloadFailed, as_png, fetch_image, fit_to_limit


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


def encoded(fmt: str, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (8, 8), (10, 20, 30, 128)[: len(mode)]).save(out, format=fmt)
    return out.getvalue()


@pytest.fixture
async def files_server() -> AsyncIterator[str]:
    big = b"x" * 5000

    async def small(request: web.Request) -> web.Response:
        return web.Response(body=b"12345", content_type="image/png")

    async def large(request: web.Request) -> web.Response:
        return web.Response(body=big, content_type="image/png")

    async def streamed(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()  # chunked: no Content-Length to trust
        await response.prepare(request)
        for _ in range(5):
            await response.write(big[:1000])
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/small", small)
    app.router.add_get("/large", large)
    app.router.add_get("/streamed", streamed)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


async def test_png_passes_through_and_other_formats_become_png() -> None:
    png = encoded("PNG")
    assert await as_png(png) is png
    for fmt, mode in (("JPEG", "RGB"), ("WEBP", "RGBA")):
        converted = await as_png(encoded(fmt, mode))
        with Image.open(io.BytesIO(converted)) as image:
            assert image.format == "PNG"
            assert image.mode == mode
    with pytest.raises(DownloadFailed):
        await as_png(b"not a picture at all")


async def test_fetch_image_is_size_capped(files_server: str) -> None:
    async with aiohttp.ClientSession() as session:
        assert await fetch_image(session, f"{files_server}/small", 100) == b"12345"
        with pytest.raises(DownloadFailed, match="over"):
            await fetch_image(session, f"{files_server}/large", 1000)
        with pytest.raises(DownloadFailed, match="more than"):
            await fetch_image(session, f"{files_server}/streamed", 1000)
        with pytest.raises(DownloadFailed, match="404"):
            await fetch_image(session, f"{files_server}/missing", 1000)
        with pytest.raises(DownloadFailed):
            await fetch_image(session, "http://127.0.0.1:1/nothing-listens", 1000)

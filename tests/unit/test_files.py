"""Fitting pictures under upload limits."""

import io
import random

import pytest
from PIL import Image

from bot.errors import ProviderUnavailable, UploadFailed
from bot.imaging.files import DownloadFailed, as_png, fit_to_limit


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

"""Making a picture fit an upload limit, with Pillow, off the event loop."""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from bot.errors import ProviderUnavailable

log = logging.getLogger(__name__)

# Tried in order until the file fits: JPEG qualities, then smaller sizes.
_JPEG_QUALITIES = (92, 85, 75)
_SCALES = (0.75, 0.5, 0.35, 0.25)


@dataclass(frozen=True, slots=True)
class ImageFile:
    """Bytes ready to upload, with the file name that matches their format."""

    data: bytes
    filename: str


def _image_format(data: bytes) -> str:
    try:
        with Image.open(io.BytesIO(data)) as picture:
            return (picture.format or "PNG").lower()
    except (UnidentifiedImageError, OSError):
        raise ProviderUnavailable(
            detail="the provider returned bytes that are not an image"
        ) from None


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()


def _shrink(data: bytes, limit: int) -> bytes:
    with Image.open(io.BytesIO(data)) as original:
        original.load()
        for scale in (1.0, *_SCALES):
            size = (max(1, int(original.width * scale)), max(1, int(original.height * scale)))
            scaled = original if scale == 1.0 else original.resize(size, Image.Resampling.LANCZOS)
            for quality in _JPEG_QUALITIES:
                encoded = _jpeg(scaled, quality)
                if len(encoded) <= limit:
                    return encoded
    raise ValueError(f"cannot fit the picture under {limit} bytes")


def _fit(data: bytes, limit: int, stem: str) -> ImageFile:
    kind = _image_format(data)
    extension = "jpg" if kind == "jpeg" else kind
    if len(data) <= limit:
        return ImageFile(data, f"{stem}.{extension}")
    shrunk = _shrink(data, limit)
    log.info(
        "re-encoded a %d-byte %s as a %d-byte JPEG to fit %d", len(data), kind, len(shrunk), limit
    )
    return ImageFile(shrunk, f"{stem}.jpg")


async def fit_to_limit(data: bytes, limit: int, *, stem: str = "picasso") -> ImageFile:
    """The picture as a file of at most `limit` bytes (re-encoded in a thread if needed).

    Raises `ProviderUnavailable` if `data` is not an image, `ValueError` if no encoding fits.
    """
    return await asyncio.to_thread(_fit, data, limit, stem)

"""Picture files: fitting an upload limit, fetching a posted picture, PNG for edits.

Pillow work runs in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass

import aiohttp
from PIL import Image, UnidentifiedImageError

from bot.errors import ProviderUnavailable, UploadFailed

log = logging.getLogger(__name__)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# What Pillow raises for bytes it cannot read as a picture (a bomb: absurd dimensions).
_NOT_A_PICTURE = (UnidentifiedImageError, OSError, Image.DecompressionBombError)
# Read downloads in pieces this big, so an oversized file is refused without holding it all.
_CHUNK = 64 * 1024

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
    except _NOT_A_PICTURE:
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
    raise UploadFailed(detail=f"cannot fit the picture under {limit} bytes")


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

    Raises `ProviderUnavailable` if `data` is not an image, `UploadFailed` if nothing fits.
    """
    return await asyncio.to_thread(_fit, data, limit, stem)


class DownloadFailed(Exception):
    """A picture could not be fetched (gone, too big, not an image, network trouble)."""


async def fetch_image(session: aiohttp.ClientSession, url: str, max_bytes: int) -> bytes:
    """The bytes at `url`, refusing anything over `max_bytes`; raises `DownloadFailed`."""
    try:
        async with session.get(url) as response:
            if response.status != 200:
                raise DownloadFailed(f"HTTP {response.status}")
            if (response.content_length or 0) > max_bytes:
                raise DownloadFailed(f"{response.content_length} bytes is over {max_bytes}")
            data = bytearray()
            async for chunk in response.content.iter_chunked(_CHUNK):
                data.extend(chunk)
                if len(data) > max_bytes:
                    raise DownloadFailed(f"more than {max_bytes} bytes")
    except (aiohttp.ClientError, TimeoutError) as error:
        raise DownloadFailed(f"{type(error).__name__}: {error}") from error
    return bytes(data)


def _encoded(data: bytes, kind: str) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as picture:
            picture.load()
            out = io.BytesIO()
            alpha = picture.mode in ("RGBA", "LA") or "transparency" in picture.info
            keep_alpha = alpha and kind != "JPEG"  # JPEG has no transparency
            picture.convert("RGBA" if keep_alpha else "RGB").save(out, format=kind, quality=92)
    except _NOT_A_PICTURE as error:
        raise DownloadFailed("the file is not a picture") from error
    return out.getvalue()


async def encode(data: bytes, kind: str) -> bytes:
    """`data` as a `kind` picture ("PNG", "JPEG" or "WEBP"), re-encoded in a thread (a PNG
    asked for as PNG is returned as it is). Raises `DownloadFailed` if it is not a picture."""
    if kind == "PNG" and data.startswith(PNG_SIGNATURE):
        return data
    return await asyncio.to_thread(_encoded, data, kind)


async def as_png(data: bytes) -> bytes:
    """`data` as PNG: image edits are sent as image/png, so a parent that was re-encoded as
    JPEG to fit an upload limit must be converted back."""
    return await encode(data, "PNG")

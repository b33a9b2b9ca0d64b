"""Pictures people give us (attachments, and parents fetched for edits), made safe to decode
and small enough to send: a picture costs the bot a bounded amount of memory, whatever it says.

A picture is judged by its content, never by what it is called: it must be a PNG, JPEG or
WebP by its signature, a still picture, at most `MAX_INPUT_SIDE` pixels a side and
`MAX_INPUT_PIXELS` pixels (a WebP at most `MAX_WEBP_PIXELS`) by its own header, read before
anything is decoded. What passes is decoded in a thread, one picture at a time, and scaled
down (keeping its ratio) to `MAX_INPUT_EDGE` on its longest side as PNG: a JPEG is decoded at
a reduced size (`draft`) when it is larger than that. The cogs check the same limits earlier,
from what Discord says of an attachment (`check_dimensions`), before anything is reserved.
"""

from __future__ import annotations

import asyncio
import io
import struct
import threading
from collections.abc import Callable
from typing import Final, TypeVar
from weakref import WeakKeyDictionary

from PIL import Image, ImageFile, ImageOps, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from bot.errors import PictureRefused
from bot.i18n import N_

T = TypeVar("T")

MAX_INPUT_SIDE: Final = 8192
MAX_INPUT_PIXELS: Final = 24_000_000
# Pillow's WebP decoder holds a picture four times over while it decodes it (libwebp's two
# canvases, a copy of the frame and Pillow's own picture: ~16 bytes a pixel): a WebP gets
# half the pixels of the others, so it costs what they do.
MAX_WEBP_PIXELS: Final = 12_000_000
# The longest side of a picture sent to the image model. OpenAI documents no largest input
# for the GPT image models (their largest output side is 3840 px, gpt-image-2; the bot asks
# for 1536 at most); 2048 keeps every detail the edits can use at a fraction of the bytes.
MAX_INPUT_EDGE: Final = 2048

# msgids, translated when the error is read.
TOO_LARGE: Final = N_(
    "That picture is too large ({width}×{height}) — please send one of at most {side} "
    "pixels a side and {megapixels} megapixels."
)
NOT_USABLE: Final = PictureRefused.user_message  # the class's own sentence
ANIMATED: Final = N_("That picture moves — attach a still PNG, JPEG or WebP picture.")

PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
# Each format's reader, called directly: `Image.open` would first warn about (or refuse
# without naming the size of) pictures past Pillow's own, looser limits, and would turn a
# JPEG with a second picture in it (as phones write, for depth or HDR) into frames: read
# this way it is its first picture only, and only that is ever decoded.
_READERS: Final[dict[str, Callable[[io.BytesIO], ImageFile.ImageFile]]] = {
    "PNG": PngImagePlugin.PngImageFile,
    "JPEG": JpegImagePlugin.JpegImageFile,
    "WEBP": WebPImagePlugin.WebPImageFile,
}
# What a reader raises for bytes that are not a picture of its format, or a broken one.
_UNREADABLE = (SyntaxError, IndexError, TypeError, ValueError, EOFError, OSError, struct.error)
# Modes a picture is scaled down in before it is converted (others are converted first).
_SCALABLE: Final = ("L", "LA", "RGB", "RGBA")
# Rows of a picture reduced at a time (`_reduced`).
_BAND_ROWS: Final = 256


def pixel_limit(kind: str) -> int:
    """The most pixels a picture of `kind` ("WEBP", or a MIME type like "image/webp") may have."""
    return MAX_WEBP_PIXELS if kind.lower().endswith("webp") else MAX_INPUT_PIXELS


def check_dimensions(width: int | None, height: int | None, kind: str = "PNG") -> None:
    """Raise `PictureRefused` if a `kind` picture (a format or MIME type) of `width`×`height`
    is over the limits; unknown dimensions (None) pass, for the header to decide."""
    if width is None or height is None:
        return
    most = pixel_limit(kind)
    if max(width, height) > MAX_INPUT_SIDE or width * height > most:
        raise PictureRefused(
            TOO_LARGE,
            width=width,
            height=height,
            side=MAX_INPUT_SIDE,
            megapixels=most // 1_000_000,
        )


def _format(data: bytes) -> str:
    """The picture's format by its signature; `PictureRefused` for anything else."""
    if data.startswith(PNG_SIGNATURE):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    raise PictureRefused(NOT_USABLE)


def _webp_size(data: bytes) -> tuple[int, int]:
    """A WebP's canvas from its first chunk. Its reader allocates the canvas when it opens
    the file, so this is read first; a WebP whose size can't be read is refused."""
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack_from("<HH", data, 26)
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        return width, int.from_bytes(data[27:30], "little") + 1
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    raise PictureRefused(NOT_USABLE)


def read_header(data: bytes) -> ImageFile.ImageFile:
    """The picture in `data`, opened but not decoded (its header only: format, size, mode,
    frames); raises `PictureRefused` if it is not a still PNG, JPEG or WebP within the limits.
    Close it when done."""
    kind = _format(data)
    if kind == "WEBP":
        check_dimensions(*_webp_size(data), kind)
    try:
        picture = _READERS[kind](io.BytesIO(data))
    except _UNREADABLE as error:
        raise PictureRefused(NOT_USABLE, detail=f"unreadable {kind}: {error}") from None
    try:
        check_dimensions(picture.width, picture.height, kind)
        if getattr(picture, "n_frames", 1) > 1 or getattr(picture, "is_animated", False):
            raise PictureRefused(ANIMATED)
    except PictureRefused:
        picture.close()
        raise
    return picture


def fitted(width: int, height: int, edge: int) -> tuple[int, int]:
    """`width`×`height` scaled down (keeping its ratio) to at most `edge` on its longest side."""
    longest = max(width, height)
    if longest <= edge:
        return width, height
    scale = edge / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def _reduced(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`image` reduced by the largest whole factor that keeps it at least `size` (itself if
    none does), a band of rows at a time: Pillow reduces a picture with alpha through a
    premultiplied copy, and a band's copy is small where the whole picture's would double
    what it holds. The reduction is exact (each pixel the mean of a block), band or not."""
    factor = min(image.width // size[0], image.height // size[1])
    if factor < 2:
        return image
    reduced = Image.new(image.mode, (-(-image.width // factor), -(-image.height // factor)))
    reduced.info = dict(image.info)  # its EXIF orientation, for `exif_transpose`
    rows = factor * max(1, _BAND_ROWS // factor)
    for top in range(0, image.height, rows):
        band = image.crop((0, top, image.width, min(top + rows, image.height)))
        reduced.paste(band.reduce(factor), (0, top // factor))
    return reduced


def prepared(data: bytes, edge: int = MAX_INPUT_EDGE) -> bytes:
    """`data` as a PNG of at most `edge` pixels on its longest side, for the image model
    (blocking: call it through `Decoder`). A PNG already small enough is returned as it is,
    never decoded here. Raises `PictureRefused` for a picture the bot won't decode."""
    with read_header(data) as picture:
        if picture.format == "PNG" and max(picture.size) <= edge:
            return data
        target = fitted(picture.width, picture.height, edge)
        try:
            if picture.format == "JPEG" and target != picture.size:
                picture.draft(None, target)  # decode at 1/2, 1/4 or 1/8 when that still fits
            picture.load()
            alpha = picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info
            mode = "RGBA" if alpha else "RGB"
            image: Image.Image = picture
            if image.mode not in _SCALABLE or "transparency" in image.info:
                image = image.convert(mode)
            image = _reduced(image, target)
            if image is not picture:
                picture.close()  # the full-size picture is done with: free it before resizing
            if image.size != target:
                image = image.resize(target, Image.Resampling.LANCZOS)
            image = ImageOps.exif_transpose(image.convert(mode))
            out = io.BytesIO()
            image.save(out, format="PNG")
        except _UNREADABLE as error:
            detail = f"undecodable {picture.format}: {error}"
            raise PictureRefused(NOT_USABLE, detail=detail) from None
    return out.getvalue()


class Decoder:
    """Decodes pictures people give in a thread, one at a time (per process): a picture's
    memory is bounded by the limits, and so is the bot's, however many arrive together.

    Callers queue on an asyncio lock (made per event loop, when first used there); the
    thread holds a process-wide lock too, so a caller cancelled mid-decode does not let the
    next one start before its thread is done.
    """

    def __init__(self) -> None:
        self._decoding = threading.Lock()
        self._turns: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            WeakKeyDictionary()
        )

    def _turn(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        turn = self._turns.get(loop)
        if turn is None:
            turn = self._turns[loop] = asyncio.Lock()
        return turn

    def _alone(self, work: Callable[[bytes], T], data: bytes) -> T:
        with self._decoding:
            return work(data)

    async def run(self, work: Callable[[bytes], T], data: bytes) -> T:
        """`work(data)` in a thread, when no other picture is being decoded."""
        async with self._turn():
            return await asyncio.to_thread(self._alone, work, data)

    async def prepare(self, data: bytes) -> bytes:
        """`prepared(data)`, in its turn: the picture as PNG for the image model, scaled to
        `MAX_INPUT_EDGE`; raises `PictureRefused` for one the bot won't decode."""
        return await self.run(prepared, data)


# The process's decoder (its asyncio lock is made per event loop, when first used there).
DECODER: Final = Decoder()


async def prepare_input(data: bytes) -> bytes:
    """A picture someone gave, as PNG for the image model (`Decoder.prepare`, one at a time)."""
    return await DECODER.prepare(data)

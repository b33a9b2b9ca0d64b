"""bot/imaging/inputs.py: pictures people give are judged by their own header before anything
is decoded, decoded one at a time, scaled to the model's largest edge, and cost a bounded
amount of memory (measured in a subprocess that does only the decode: Pillow's pixel buffers
are not allocated through Python's allocator, so `tracemalloc` does not see them)."""

from __future__ import annotations

import asyncio
import io
import json
import random
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.errors import PictureRefused
from bot.imaging import inputs
from bot.imaging.inputs import (
    ANIMATED,
    MAX_INPUT_EDGE,
    MAX_INPUT_PIXELS,
    MAX_INPUT_SIDE,
    MAX_WEBP_PIXELS,
    NOT_USABLE,
    TOO_LARGE,
    Decoder,
    check_dimensions,
    fitted,
    prepare_input,
    prepared,
    read_header,
)

ROOT = Path(__file__).resolve().parents[4]
MB = 1024 * 1024
# The bot's peak memory may grow by at most this much for a refused bomb, and for the
# largest picture it accepts (the bounds).
BOMB_BUDGET = 150 * MB
LARGEST_BUDGET = 250 * MB


def encoded(image: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def moving(fmt: str) -> bytes:
    frames = [Image.new("RGB", (32, 24), colour) for colour in ("red", "blue")]
    return encoded(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)


def size_of(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        return image.size


# --- the limits ----------------------------------------------------------------------------


def test_the_limits_hold_at_their_exact_boundaries() -> None:
    check_dimensions(MAX_INPUT_SIDE, MAX_INPUT_PIXELS // MAX_INPUT_SIDE)
    check_dimensions(6000, 4000)  # 24 MP exactly
    check_dimensions(None, None)  # Discord said nothing: the header decides
    for width, height, kind in (
        (MAX_INPUT_SIDE + 1, 1, "image/png"),
        (1, MAX_INPUT_SIDE + 1, "image/jpeg"),
        (6000, 4001, "image/jpeg"),
        (4243, 2829, "image/webp"),  # a WebP gets half the pixels
    ):
        with pytest.raises(PictureRefused) as refused:
            check_dimensions(width, height, kind)
        most = MAX_WEBP_PIXELS if kind.endswith("webp") else MAX_INPUT_PIXELS
        assert refused.value.english() == TOO_LARGE.format(
            width=width, height=height, side=MAX_INPUT_SIDE, megapixels=most // 1_000_000
        )
    check_dimensions(4242, 2828, "image/webp")


def test_the_sentence_names_the_size_and_the_limits() -> None:
    with pytest.raises(PictureRefused) as refused:
        check_dimensions(12000, 12000, "image/jpeg")
    assert refused.value.english() == (
        "That picture is too large (12000×12000) — please send one of at most 8192 pixels "
        "a side and 24 megapixels."
    )


def test_a_picture_is_scaled_to_the_largest_edge_keeping_its_ratio() -> None:
    assert fitted(4000, 3000, 2048) == (2048, 1536)
    assert fitted(3000, 4000, 2048) == (1536, 2048)
    assert fitted(8192, 10, 2048) == (2048, 2)
    assert fitted(20000, 1, 2048) == (2048, 1)
    assert fitted(2048, 100, 2048) == (2048, 100)


# --- the header ----------------------------------------------------------------------------


def test_the_header_is_the_truth_and_nothing_is_decoded() -> None:
    bomb = encoded(Image.new("L", (9000, 100)), "PNG")  # a side too long, by its header
    with pytest.raises(PictureRefused, match=r"9000×100"):
        read_header(bomb)
    with read_header(encoded(Image.new("RGB", (640, 480)), "JPEG")) as picture:
        assert (picture.format, picture.size) == ("JPEG", (640, 480))
        assert picture.tile  # opened, its pixels still to be decoded


def test_only_still_pngs_jpegs_and_webps_by_their_content() -> None:
    for data, sentence in (
        (moving("WEBP"), ANIMATED),
        (moving("PNG"), ANIMATED),  # an APNG
        (moving("GIF"), NOT_USABLE),
        (encoded(Image.new("RGB", (8, 8)), "GIF"), NOT_USABLE),
        (encoded(Image.new("RGB", (8, 8)), "BMP"), NOT_USABLE),
        (encoded(Image.new("RGB", (8, 8)), "TIFF"), NOT_USABLE),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", NOT_USABLE),
        (b"RIFF\x10\x00\x00\x00WEBPJUNKJUNK", NOT_USABLE),  # a WebP whose size can't be read
        (encoded(Image.new("RGB", (64, 64)), "JPEG")[:200], NOT_USABLE),  # cut short
    ):
        with pytest.raises(PictureRefused) as refused:
            prepared(data)
        assert refused.value.msgid == sentence


def test_a_webp_is_refused_from_its_first_chunk_before_its_reader_opens_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    webp = encoded(Image.new("RGB", (300, 200)), "WEBP")
    monkeypatch.setattr(inputs, "MAX_WEBP_PIXELS", 300 * 200 - 1)

    def never(data: io.BytesIO) -> Any:
        raise AssertionError("the reader allocates the canvas: it must not be reached")

    monkeypatch.setitem(inputs._READERS, "WEBP", never)
    with pytest.raises(PictureRefused, match=r"300×200"):
        read_header(webp)


# --- the conversion ------------------------------------------------------------------------


async def test_a_small_png_is_sent_as_it_is_and_everything_else_becomes_png() -> None:
    png = encoded(Image.new("RGBA", (64, 48), (1, 2, 3, 4)), "PNG")
    assert await prepare_input(png) is png
    for image, fmt in (
        (Image.new("RGB", (640, 480), "teal"), "JPEG"),
        (Image.new("RGBA", (640, 480), (10, 20, 30, 128)), "WEBP"),
        (Image.new("CMYK", (640, 480)), "JPEG"),
        (Image.new("P", (3000, 480)), "PNG"),  # a PNG too large to send as it is
        (Image.new("I;16", (3000, 20)), "PNG"),
    ):
        out = await prepare_input(encoded(image, fmt))
        with Image.open(io.BytesIO(out)) as made:
            assert made.format == "PNG"
            assert made.mode == ("RGBA" if image.mode == "RGBA" else "RGB")
            assert made.size == fitted(*image.size, MAX_INPUT_EDGE)


async def test_large_pictures_are_scaled_down_to_the_largest_edge() -> None:
    for image, fmt in (
        (Image.new("RGB", (4000, 3000), "teal"), "JPEG"),
        (Image.new("RGBA", (3000, 4000), (1, 2, 3, 200)), "PNG"),
        (Image.new("LA", (5000, 200)), "PNG"),
        (Image.new("RGB", (3000, 3000)), "WEBP"),
    ):
        assert size_of(await prepare_input(encoded(image, fmt))) == fitted(*image.size, 2048)


async def test_a_large_jpeg_is_decoded_at_a_reduced_size(monkeypatch: pytest.MonkeyPatch) -> None:
    drafts: list[tuple[int, int]] = []
    reader = inputs.JpegImagePlugin.JpegImageFile
    draft = reader.draft

    def spy(self: Any, mode: str | None, size: tuple[int, int] | None) -> Any:
        result = draft(self, mode, size)
        drafts.append(self.size)
        return result

    monkeypatch.setattr(reader, "draft", spy)
    photo = encoded(Image.new("RGB", (6000, 4000), "teal"), "JPEG")
    assert size_of(await prepare_input(photo)) == (2048, 1365)
    assert drafts == [(3000, 2000)]  # decoded at half size: still larger than needed


def test_a_phones_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90° clockwise to be seen upright
    photo = encoded(Image.new("RGB", (4000, 3000)), "JPEG", exif=exif)
    assert size_of(prepared(photo)) == (1536, 2048)


def test_a_jpeg_carrying_a_second_picture_is_read_as_its_first() -> None:
    first, second = Image.new("RGB", (300, 200), "red"), Image.new("RGB", (300, 200), "blue")
    mpo = encoded(first, "MPO", save_all=True, append_images=[second])  # as phones write
    with Image.open(io.BytesIO(prepared(mpo))) as made:
        assert made.size == (300, 200)
        red, green, blue = made.getpixel((5, 5))  # type: ignore[misc]
        assert red > 240 and green < 10 and blue < 10


def test_reducing_a_band_at_a_time_is_exactly_reducing_the_whole() -> None:
    rng = random.Random(3)
    for mode, size in (("RGBA", (1000, 777)), ("RGB", (999, 1001)), ("LA", (640, 513))):
        bands = len(mode) * size[0] * size[1]
        noise = Image.frombytes(mode, size, rng.randbytes(bands))
        for target in ((300, 233), (100, 100), (499, 500)):
            factor = min(size[0] // target[0], size[1] // target[1])
            reduced = inputs._reduced(noise, target)
            expected = noise.reduce(factor) if factor >= 2 else noise
            assert reduced.tobytes() == expected.tobytes(), (mode, size, target)


# --- one at a time -------------------------------------------------------------------------


async def test_pictures_are_decoded_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    decoder = Decoder()
    threads: list[str] = []
    to_thread = asyncio.to_thread

    async def counted(work: Any, *args: Any) -> Any:
        threads.append(repr(args[-1]))
        return await to_thread(work, *args)

    monkeypatch.setattr(asyncio, "to_thread", counted)
    started, release = threading.Event(), threading.Event()

    def work(data: bytes) -> bytes:
        if data == b"first":
            started.set()
            release.wait()
        return data

    first = asyncio.create_task(decoder.run(work, b"first"))
    await to_thread(started.wait)  # the first picture is being decoded
    others = [asyncio.create_task(decoder.run(work, bytes([n]))) for n in range(3)]
    for _ in range(10):
        await asyncio.sleep(0)  # every task has run as far as it can
    assert threads == ["b'first'"]  # the others wait their turn: no thread started
    assert not any(task.done() for task in others)
    release.set()
    assert await first == b"first"
    assert await asyncio.gather(*others) == [b"\x00", b"\x01", b"\x02"]
    assert len(threads) == 4


def test_each_event_loop_gets_its_own_turn() -> None:
    decoder = Decoder()
    for _ in range(2):  # a lock bound to a closed loop would fail the second run
        assert asyncio.run(decoder.run(bytes.upper, b"ok")) == b"OK"


# --- memory --------------------------------------------------------------------------------

# Runs only the decode, in a fresh process: how much its peak resident memory grew. The
# peak is the process's own (VmHWM): `ru_maxrss` would start at the test process's size,
# which Linux carries over to a child through fork and exec.
MEASURE = """
import asyncio, json, sys
from bot.errors import PictureRefused
from bot.imaging.inputs import prepare_input

def peak():
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024

data = open(sys.argv[1], "rb").read()
before = peak()
try:
    outcome = len(asyncio.run(prepare_input(data)))
except PictureRefused as refusal:
    outcome = refusal.english()
print(json.dumps({"grown": peak() - before, "outcome": outcome}))
"""


def peak_growth(path: Path) -> tuple[int, int | str]:
    """(bytes the peak memory grew by, PNG size or refusal) to prepare the picture at `path`."""
    if not Path("/proc/self/status").exists():
        pytest.skip("peak memory is read from /proc (Linux)")
    done = subprocess.run(  # our own interpreter and script
        [sys.executable, "-c", MEASURE, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=110,
    )
    measured = json.loads(done.stdout)
    print(f"{path.name}: peak +{measured['grown'] / MB:.1f} MB")  # shown with -s
    return measured["grown"], measured["outcome"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pictures measured, written once: a bomb and the largest of each kind accepted."""
    folder = tmp_path_factory.mktemp("hostile")
    teal = Image.new("RGB", (12000, 12000), "teal")
    (folder / "bomb.jpg").write_bytes(encoded(teal, "JPEG"))  # ~2.25 MB, 576 MB decoded
    del teal
    largest = Image.new("RGBA", (6000, 4000), (0, 128, 128, 200))  # 24 MP
    (folder / "largest.png").write_bytes(encoded(largest, "PNG"))
    del largest
    # The most a JPEG costs: progressive (every coefficient kept), CMYK, unsubsampled.
    cmyk = Image.new("CMYK", (6000, 4000), (10, 20, 30, 40))
    (folder / "largest.jpg").write_bytes(encoded(cmyk, "JPEG", progressive=True, quality=95))
    del cmyk
    rng = random.Random(5)
    side = (4242, 2828)  # 12 MP, the most a WebP may have; noise, so nothing is skipped
    noise = Image.frombytes("RGBA", side, rng.randbytes(side[0] * side[1] * 4))
    (folder / "largest.webp").write_bytes(encoded(noise, "WEBP", quality=30))
    return folder


def test_a_refused_bomb_costs_almost_nothing(hostile: Path) -> None:
    assert len((hostile / "bomb.jpg").read_bytes()) < 3 * MB  # small on the wire
    grown, outcome = peak_growth(hostile / "bomb.jpg")
    assert outcome == TOO_LARGE.format(width=12000, height=12000, side=8192, megapixels=24)
    assert grown < BOMB_BUDGET


@pytest.mark.parametrize("name", ["largest.png", "largest.jpg", "largest.webp"])
def test_the_largest_accepted_picture_stays_within_its_budget(hostile: Path, name: str) -> None:
    grown, outcome = peak_growth(hostile / name)
    assert isinstance(outcome, int) and outcome > 0  # accepted, as a PNG
    assert grown < LARGEST_BUDGET

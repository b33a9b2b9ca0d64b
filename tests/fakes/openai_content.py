"""What the fake OpenAI paints, checks and answers, apart from HTTP: real images, the rules
the real API states only in prose, and moderation results."""

from __future__ import annotations

import base64
import hashlib
import io
import os
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

File = tuple[str, str | None, str | None, bytes]  # field, filename, content type, data

SIZES = {"1024x1024": (1024, 1024), "1024x1536": (1024, 1536), "1536x1024": (1536, 1024)}
# Output tokens of GPT image models per quality and size (OpenAI's published table).
OUTPUT_TOKENS = {"low": (272, 408), "medium": (1056, 1584), "high": (4160, 6240)}
PROMPT_LIMITS = {"dall-e-2": 1000, "dall-e-3": 4000}  # GPT image models: 32,000 characters
IMAGE_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
DEFAULT_REPLY = (
    "A vivid, detailed scene of {text}, golden hour light, wide composition, warm palette, "
    "calm mood, digital painting."
)
BAD_KEY = (
    "Incorrect API key provided. You can find your API key at "
    "https://platform.openai.com/account/api-keys."
)
MODEL_IDS = (
    "gpt-image-1.5 gpt-image-1-mini gpt-image-2 gpt-4o-mini gpt-4.1-mini omni-moderation-latest"
)
_ABOUT = {"object": "model", "created": 1_700_000_000, "owned_by": "openai"}
MODELS = {model: {"id": model, **_ABOUT} for model in MODEL_IDS.split()}  # GET /v1/models


class Reject(Exception):
    """A request the real API refuses with 400 (its message, param and code)."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message, self.param, self.code = message, param, code


def make_image(seed: str, width: int, height: int, fmt: str = "png", noisy: bool = False) -> bytes:
    """A real image: a gradient with shapes derived from ``seed``, or incompressible noise."""
    if noisy:
        img = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        digest = hashlib.sha256(seed.encode()).digest()
        start = Image.new("RGB", (width, height), tuple(digest[0:3]))
        end = Image.new("RGB", (width, height), tuple(digest[3:6]))
        mask = Image.linear_gradient("L").rotate(digest[6] * 360 / 256).resize((width, height))
        img = Image.composite(start, end, mask)
        draw = ImageDraw.Draw(img)
        for i in range(4):
            x, y, r = (digest[8 + 3 * i + k] / 255 for k in range(3))
            box = (x * width, y * height, x * width + r * width / 3, y * height + r * height / 3)
            draw.ellipse(box, fill=tuple(digest[20 + i : 23 + i]))
    out = io.BytesIO()
    if fmt in ("jpeg", "webp"):
        img.save(out, fmt.upper(), quality=85)
    else:
        img.save(out, "PNG", compress_level=0 if noisy else 1)
    return out.getvalue()


def check_rules(endpoint: str, body: dict[str, Any], files: list[File]) -> None:
    """Rules of the real API that the OpenAPI document only states in prose."""
    model, prompt = str(body.get("model") or ""), str(body.get("prompt") or "")
    if endpoint in ("images", "edits") and model.startswith("gpt-image"):
        for param in ("response_format", "style"):
            if param in body:
                raise Reject(f"Unknown parameter: '{param}'.", param, "unknown_parameter")
    limit = PROMPT_LIMITS.get(model, 32000)
    if endpoint in ("images", "edits") and len(prompt) > limit:
        raise Reject(
            f"Invalid 'prompt': string too long. Expected a string with maximum length "
            f"{limit}, but got a string with length {len(prompt)} instead.",
            "prompt",
            "string_above_max_length",
        )
    images = [f for f in files if f[0] in ("image", "image[]", "mask")]
    if endpoint == "edits" and not any(f[0] != "mask" for f in images):
        raise Reject("Missing required parameter: 'image'.", "image", "missing_required_parameter")
    for name, _filename, content_type, data in images if endpoint == "edits" else ():
        param = name.removesuffix("[]")
        if content_type not in IMAGE_TYPES:
            raise Reject(
                f"Invalid file '{param}': unsupported mimetype ('{content_type}'). Supported "
                "file formats are 'image/jpeg', 'image/png', and 'image/webp'.",
                param,
                "unsupported_file_mimetype",
            )
        try:
            with Image.open(io.BytesIO(data)) as img:
                decodable = img.format in IMAGE_TYPES.values()
                img.verify()
        except Exception:
            decodable = False
        if not decodable:
            raise Reject(f"Invalid image file for '{param}'.", param, "invalid_image_file")


def moderation_results(
    body: dict[str, Any],
    flagged_words: set[str],
    flag_category: str,
    categories: list[str],
    flagged_images: set[str] = frozenset(),  # type: ignore[assignment]
) -> list[dict[str, Any]]:
    """One result per input: flagged in `flag_category` when it holds a flagged word, or
    (a multimodal input) a picture whose sha256 is in `flagged_images`."""
    raw = body.get("input", "")
    inputs = raw if isinstance(raw, list) else [raw]
    texts = [i if isinstance(i, str) else str(i.get("text", "")) for i in inputs]
    pictures = [_picture_digest(i) for i in inputs if isinstance(i, dict) and "image_url" in i]
    if inputs and not all(isinstance(i, str) for i in inputs):
        texts = [" ".join(texts)]  # the parts of a multimodal input are one input
    results = []
    for text in texts:
        hit = any(w.lower() in text.lower() for w in flagged_words)
        hit = hit or bool(set(pictures) & flagged_images)
        kinds = ["image"] if pictures else ["text"]
        flags = {c: hit and c == flag_category for c in categories}
        result: dict[str, Any] = {"flagged": hit, "categories": flags}
        result["category_scores"] = {c: 0.93 if f else 0.0004 for c, f in flags.items()}
        result["category_applied_input_types"] = {c: kinds for c in categories}
        results.append(result)
    return results


def _picture_digest(part: dict[str, Any]) -> str:
    """The sha256 of a picture given as a data URL (a URL elsewhere: of the URL)."""
    url = str(part["image_url"].get("url", ""))
    data = base64.b64decode(url.split(",", 1)[1]) if url.startswith("data:") else url.encode()
    return hashlib.sha256(data).hexdigest()


@dataclass
class Painting:
    """What an image request asks the fake to paint, and what it will report for it."""

    width: int
    height: int
    fmt: str
    seeds: list[str]  # one per image: the prompt and the input images decide the picture
    usage: dict[str, Any]
    meta: dict[str, Any]  # size, quality, output_format, background, as the API echoes them

    @classmethod
    def of(cls, body: dict[str, Any], files: list[File], size_px: int | None) -> Painting:
        size = str(body.get("size") or "auto")
        width, height = SIZES.get(size, (1024, 1024))
        if size_px:
            width = height = size_px
        fmt = str(body.get("output_format") or "png")
        quality = str(body.get("quality") or "auto")
        quality = quality if quality in OUTPUT_TOKENS else "medium"
        n = int(body.get("n") or 1)
        prompt = str(body.get("prompt", ""))
        inputs = [f for f in files if f[0] != "mask"]
        text_tokens, image_tokens = max(1, len(prompt) // 4), 194 * len(inputs)
        output = OUTPUT_TOKENS[quality][0 if width == height else 1] * n
        details = {"text_tokens": text_tokens, "image_tokens": image_tokens}
        usage = {"input_tokens": text_tokens + image_tokens, "input_tokens_details": details}
        usage |= {"output_tokens": output, "total_tokens": text_tokens + image_tokens + output}
        background = "transparent" if body.get("background") == "transparent" else "opaque"
        meta = {"size": size if size in SIZES else "1024x1024", "quality": quality}
        meta |= {"output_format": fmt, "background": background}
        source = hashlib.sha256(b"".join(f[3] for f in inputs)).hexdigest()[:16]
        seeds = [f"{prompt}|{source}|{i}" for i in range(n)]
        return cls(width, height, fmt, seeds, usage, meta)


def b64_image(seed: str, width: int, height: int, fmt: str, noisy: bool = False) -> str:
    return base64.b64encode(make_image(seed, width, height, fmt, noisy)).decode()

"""Reading an official OpenAPI document: JSON as is, YAML parsed once and cached as JSON in
the temp dir (keyed by its sha256 and mtime), since parsing Discord's YAML takes seconds."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pathlib
import tempfile
from typing import Any

import yaml

log = logging.getLogger(__name__)

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# The official documents, copied into the repository (see tests/specs/README.md).
SPECS: pathlib.Path = pathlib.Path(__file__).resolve().parents[1] / "specs"
DISCORD_SPEC: pathlib.Path = SPECS / "discord-openapi.json"
OPENAI_SPEC: pathlib.Path = SPECS / "openai-openapi.yaml"


def load_document(path: pathlib.Path) -> Any:
    """The document at `path` as plain JSON data."""
    data = path.read_bytes()
    if path.suffix == ".json":
        return json.loads(data)
    key = f"{hashlib.sha256(data).hexdigest()[:24]}-{path.stat().st_mtime_ns}"
    cache = pathlib.Path(tempfile.gettempdir()) / f"openapi-{path.stem}-{key}.json"
    if cache.exists():
        try:
            return json.loads(cache.read_bytes())
        except ValueError:
            log.warning("ignoring corrupt spec cache %s", cache)
    text = json.dumps(yaml.load(data, Loader=_Loader), default=str)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(cache)
    return json.loads(text)

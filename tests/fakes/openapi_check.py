"""Validate requests against an official OpenAPI 3.1 document (Discord's or OpenAI's).

Documents are parsed once per path and session (YAML also cached as JSON in the temp dir,
keyed by sha256 and mtime) and rewritten into plain JSON Schema 2020-12 on a private copy:
``nullable: true`` allows null; boolean ``exclusiveMinimum``; snowflake/digit-pattern strings
accept ints; for Discord, ints accept int-parseable strings and a ``oneOf`` matched by several
variants passes. ``x-discord-union: oneOf`` unions are partial shapes that overlap (a bare
``{"content": ...}`` is both a webhook execute and update body), so they stay ``anyOf``.
``additionalProperties: false`` is dropped: unknown properties are found by our own walk
(:meth:`SpecValidator._unknown`), which treats any schema listing ``properties`` as closed.
"""

from __future__ import annotations

import json
import logging
import pathlib
import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.fakes.spec_documents import load_document

log = logging.getLogger(__name__)

_BASE = "https://spec.invalid/openapi"
_SKIP = frozenset({"example", "examples", "default", "enum", "const", "discriminator", "xml"})
_DIGIT_PATTERN = re.compile(r"[\^$()|\[\]0-9\\d+*?{}-]+")
_MEDIA = ("application/json", "multipart/form-data", "application/x-www-form-urlencoded")
_FORM_MEDIA = _MEDIA[1:]


def _esc(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _prepare(node: Any, lenient: bool) -> None:
    """Rewrite OpenAPI quirks in place (post-order) into plain JSON Schema 2020-12."""
    if isinstance(node, list):
        for item in node:
            _prepare(item, lenient)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key not in _SKIP and not key.startswith("x-"):
            _prepare(value, lenient)
    if node.get("additionalProperties") is False:
        del node["additionalProperties"]
    if node.get("unevaluatedProperties") is False:
        del node["unevaluatedProperties"]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(node.get(bound), bool):
            if node.pop(bound) and plain in node:
                node[bound] = node.pop(plain)
    kind = node.get("type")
    if isinstance(kind, str | list):
        types = [kind] if isinstance(kind, str) else list(kind)
        pattern = node.get("pattern")
        digits = isinstance(pattern, str) and _DIGIT_PATTERN.fullmatch(pattern) is not None
        if "string" in types and (node.get("format") == "snowflake" or digits):
            types.append("integer")
        elif lenient and "integer" in types and "string" not in types:
            types.append("string")
            node["pattern"] = r"^-?[0-9]+$"
        if node.get("nullable") is True and "null" not in types:
            types.append("null")
            if isinstance(node.get("enum"), list) and None not in node["enum"]:
                node["enum"].append(None)
        node.pop("nullable", None)
        node["type"] = types[0] if len(types) == 1 else types
    elif node.pop("nullable", None) is True:
        inner = dict(node)
        node.clear()
        node["anyOf"] = [inner, {"type": "null"}]


class _Spec:
    """A prepared document with its route index and validator cache (one per spec file)."""

    def __init__(self, path: pathlib.Path) -> None:
        self.doc: dict[str, Any] = load_document(path)
        self.lenient = "discord" in str(self.doc.get("info", {}).get("title", "")).lower()
        _prepare(self.doc.get("paths"), self.lenient)
        _prepare(self.doc.get("components"), self.lenient)
        resource: Resource[Any] = DRAFT202012.create_resource(self.doc)
        self.registry: Registry[Any] = Registry().with_resource(_BASE, resource)
        self.routes: dict[int, list[tuple[tuple[bool, ...], list[str], str]]] = {}
        for template in self.doc.get("paths", {}):
            segs = template.strip("/").split("/")
            literal = tuple(not s.startswith("{") for s in segs)
            self.routes.setdefault(len(segs), []).append((literal, segs, template))
        for candidates in self.routes.values():
            candidates.sort(key=lambda c: c[0], reverse=True)
        self._validators: dict[str, Draft202012Validator] = {}

    def node(self, ptr: str) -> Any:
        cur: Any = self.doc
        for part in ptr.split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            cur = cur[int(part)] if isinstance(cur, list) else cur[part]
        return cur

    def deref(self, ptr: str) -> str:
        """Follow a chain of pure ``{"$ref": "#/..."}`` nodes."""
        for _ in range(32):
            node = self.node(ptr)
            if not (isinstance(node, dict) and len(node) == 1 and "$ref" in node):
                break
            ptr = node["$ref"].removeprefix("#")
        return ptr

    def validator(self, ptr: str) -> Draft202012Validator:
        found = self._validators.get(ptr)
        if found is None:
            schema = {"$ref": f"{_BASE}#{ptr}"}
            found = self._validators[ptr] = Draft202012Validator(schema, registry=self.registry)
        return found

    def find(self, method: str, path: str) -> tuple[str, str] | None:
        """Return (template, pointer to the operation) for a concrete request path."""
        segs = path.strip("/").split("/")
        for literal, tsegs, template in self.routes.get(len(segs), []):
            if all(not lit or t == s for lit, t, s in zip(literal, tsegs, segs, strict=True)):
                if method in self.doc["paths"][template]:
                    return template, f"/paths/{_esc(template)}/{method}"
        return None

    def expand(self, ptr: str, inst: Any, *, every: bool = False, depth: int = 0) -> list[str]:
        """Pointers of all schemas that apply to ``inst`` (through $ref, allOf, matching unions)."""
        node = self.node(ptr)
        if not isinstance(node, dict) or depth > 40:
            return []
        out = [ptr]
        if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
            out += self.expand(node["$ref"][1:], inst, every=every, depth=depth + 1)
        for i in range(len(node.get("allOf", []))):
            out += self.expand(f"{ptr}/allOf/{i}", inst, every=every, depth=depth + 1)
        for kw in ("anyOf", "oneOf"):
            for i in range(len(node.get(kw, []))):
                branch = f"{ptr}/{kw}/{i}"
                if every or self.validator(branch).is_valid(inst):
                    out += self.expand(branch, inst, every=every, depth=depth + 1)
        return out

    def types(self, ptr: str) -> set[str]:
        found: set[str] = set()
        for p in self.expand(ptr, None, every=True):
            kind = self.node(p).get("type")
            found.update([kind] if isinstance(kind, str) else kind or [])
        return found

    def is_binary(self, ptr: str) -> bool:
        """A file part: binary strings (or arrays of them) only."""
        leaves = [n for p in self.expand(ptr, None, every=True) if "type" in (n := self.node(p))]
        files = [n for n in leaves if "binary" in (n.get("format"), n.get("contentEncoding"))]
        return bool(files) and all(n in files or n.get("type") == "array" for n in leaves)


_SPECS: dict[pathlib.Path, _Spec] = {}


def _coerce(value: str, types: set[str]) -> Any:
    """Turn a form/query string into the JSON value its schema expects, when it is one."""
    if "boolean" in types and value in ("1", "0", "true", "false", "True", "False"):
        return value in ("1", "true", "True")
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    kind = {bool: "boolean", int: "integer", float: "number"}.get(type(parsed), "")
    if kind in types or (kind == "integer" and "number" in types) or "string" not in types:
        return parsed
    return value


def _where(loc: str, path: Any) -> str:
    for part in path:
        loc += f"[{part}]" if isinstance(part, int) else f".{part}"
    return loc


class SpecValidator:
    """Checks request bodies, path and query parameters against an OpenAPI 3.1 document."""

    def __init__(
        self,
        spec_path: pathlib.Path,
        *,
        strip_prefix: str = "",
        unknown_properties: Literal["error", "warn"] = "error",
    ) -> None:
        key = pathlib.Path(spec_path).resolve()
        if key not in _SPECS:
            _SPECS[key] = _Spec(key)
        self._spec = _SPECS[key]
        self._strip = strip_prefix.rstrip("/")
        self._unknown_mode = unknown_properties

    def check(
        self,
        method: str,
        path: str,
        body: object | None,
        *,
        query: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> list[str]:
        """Return human-readable problems with one request; an empty list means valid.

        ``content_type`` picks the request body's media type when the operation offers
        several (OpenAI's ``/images/edits`` takes JSON or multipart); by default JSON, then
        multipart, then url-encoded. For multipart pass the text fields (or the parsed
        ``payload_json``); string fields are converted to the schema's type and file fields
        (binary schemas) are skipped.
        """
        spec, method = self._spec, method.lower()
        path = path.split("?", 1)[0]
        if self._strip and path.startswith(self._strip):
            path = path[len(self._strip) :]
        found = spec.find(method, path)
        if found is None:
            return [f"no such operation: {method.upper()} {path}"]
        template, op_ptr = found
        where = f"{method.upper()} {template}"
        problems: list[str] = []
        unknown = self._check_params(template, op_ptr, path, query or {}, problems)
        rb_ptr = f"{op_ptr}/requestBody"
        if "requestBody" not in spec.node(op_ptr):
            if isinstance(body, dict):
                unknown += [f"body: unknown property {k!r}" for k in body]
            elif body is not None:
                problems.append("body: this operation takes no request body")
        else:
            rb_ptr = spec.deref(rb_ptr)
            content = spec.node(rb_ptr).get("content", {})
            if body is None:
                if spec.node(rb_ptr).get("required"):
                    problems.append("body: a request body is required")
            elif content:
                wanted = (content_type.split(";")[0].strip(),) if content_type else ()
                media = next((m for m in (*wanted, *_MEDIA) if m in content), next(iter(content)))
                schema_ptr = spec.deref(f"{rb_ptr}/content/{_esc(media)}/schema")
                self._check_body(schema_ptr, media, body, problems, unknown)
        problems = [f"{where}: {p}" for p in problems]
        if self._unknown_mode == "error":
            return problems + [f"{where}: {u}" for u in unknown]
        for u in unknown:
            log.warning("%s: %s (ignored by the service)", where, u)
        return problems

    def schema(self, name: str) -> Any:
        """The (prepared) schema ``#/components/schemas/<name>``."""
        return self._spec.node(f"/components/schemas/{_esc(name)}")

    def check_schema(self, name: str, instance: object) -> list[str]:
        """Validate ``instance`` against ``#/components/schemas/<name>`` (e.g. a fake's reply)."""
        problems: list[str] = []
        unknown: list[str] = []
        self._validate(f"/components/schemas/{_esc(name)}", instance, name, problems, unknown)
        return problems + (unknown if self._unknown_mode == "error" else [])

    def _check_params(
        self, template: str, op: str, path: str, query: Mapping[str, str], out: list[str]
    ) -> list[str]:
        """Check path and query parameters; returns unknown query parameters."""
        spec = self._spec
        unknown: list[str] = []
        params: dict[tuple[str, str], str] = {}
        for owner in (f"/paths/{_esc(template)}", op):
            for i in range(len(spec.node(owner).get("parameters", []))):
                ptr = spec.deref(f"{owner}/parameters/{i}")
                p = spec.node(ptr)
                params[(p["in"], p["name"])] = ptr
        values = {("query", k): v for k, v in query.items()}
        for t, s in zip(template.strip("/").split("/"), path.strip("/").split("/"), strict=True):
            if t.startswith("{"):
                values[("path", t[1:-1])] = s
        for (where, name), ptr in params.items():
            if spec.node(ptr).get("required") and (where, name) not in values:
                out.append(f"{where} parameter {name!r} is required")
        for (where, name), raw in values.items():
            param_ptr = params.get((where, name))
            if param_ptr is None:
                if where == "query":
                    unknown.append(f"unknown query parameter {name!r}")
                continue
            if "schema" in spec.node(param_ptr):
                value = _coerce(raw, spec.types(f"{param_ptr}/schema"))
                self._validate(f"{param_ptr}/schema", value, f"{where}.{name}", out, None)
        return unknown

    def _check_body(
        self, ptr: str, media: str, body: object, problems: list[str], unknown: list[str]
    ) -> None:
        spec = self._spec
        skip: set[str] = set()
        if media in _FORM_MEDIA and isinstance(body, dict):
            props: dict[str, str] = {}
            for p in spec.expand(ptr, None, every=True):
                for name in spec.node(p).get("properties", {}):
                    props.setdefault(name, f"{p}/properties/{_esc(name)}")
            skip = {name for name, p in props.items() if spec.is_binary(p)}
            fields: dict[str, Any] = {}
            for raw_name, value in body.items():
                name = raw_name.removesuffix("[]")
                if name in skip:
                    continue
                if isinstance(value, str) and name in props:
                    value = _coerce(value, spec.types(props[name]))
                fields[name] = value
            body = fields
        self._validate(ptr, body, "body", problems, unknown, skip_required=skip)

    def _validate(
        self,
        ptr: str,
        inst: object,
        loc: str,
        problems: list[str],
        unknown: list[str] | None,
        *,
        skip_required: AbstractSet[str] = frozenset(),
    ) -> None:
        skipped = {f"{name!r} is a required property" for name in skip_required}
        for err in self._spec.validator(ptr).iter_errors(inst):
            if err.validator == "required" and err.message in skipped:
                continue
            if err.validator == "oneOf" and not err.context and self._spec.lenient:
                continue  # matched several overlapping variants
            msg = (
                err.message
                if len(err.message) <= 240
                else f"{err.message[:120]}…{err.message[-80:]}"
            )
            if err.context:
                detail = best_match(err.context)
                rel = _where("", detail.relative_path).lstrip(".")
                msg += f" (closest: {rel + ': ' if rel else ''}{detail.message[:160]})"
            problems.append(f"{_where(loc, err.absolute_path)}: {msg}")
        if unknown is not None:
            self._unknown(ptr, inst, loc, unknown)

    def _unknown(self, ptr: str, inst: object, loc: str, out: list[str]) -> None:
        """Collect properties of ``inst`` that no applicable schema declares."""
        spec = self._spec
        if not isinstance(inst, dict | list):
            return
        ptrs = spec.expand(ptr, inst)
        if isinstance(inst, list):
            for p in ptrs:
                if isinstance(spec.node(p).get("items"), dict):
                    for i, item in enumerate(inst):
                        self._unknown(f"{p}/items", item, f"{loc}[{i}]", out)
            return
        props: dict[str, list[str]] = {}
        extra: list[str] = []
        listed = opened = False
        for p in ptrs:
            node = spec.node(p)
            if isinstance(node.get("properties"), dict):
                listed = True
                for name in node["properties"]:
                    props.setdefault(name, []).append(f"{p}/properties/{_esc(name)}")
            more = node.get("additionalProperties")
            if isinstance(more, dict):
                extra.append(f"{p}/additionalProperties")
            if more not in (None, False) or node.get("patternProperties"):
                opened = True
            opened = opened or node.get("unevaluatedProperties") not in (None, False)
        for name, value in inst.items():
            subs = props.get(name) or extra
            for sub in subs:
                self._unknown(sub, value, f"{loc}.{name}", out)
            if not subs and listed and not opened:
                out.append(f"{loc}: unknown property {name!r}")

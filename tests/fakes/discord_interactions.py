"""Interactions in the fake Discord: the record tests look at, and the payloads users "send"."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.fakes.discord_payloads import everyone_role, member_payload, role_payload
from tests.fakes.discord_rules import DEFAULT_MEMBER_PERMISSIONS, FLAG_EPHEMERAL, FLAG_LOADING

if TYPE_CHECKING:
    from tests.fakes.discord_api import FakeDiscord
    from tests.fakes.discord_messages import MessageStore

ADMINISTRATOR = 1 << 3
TOKEN_LIFETIME = 15 * 60.0
INITIAL_RESPONSE_WINDOW = 3.0


@dataclass
class Recorded:
    """One REST call the bot made; ``path`` is relative to the API base (``/channels/1``)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[tuple[str, str, bytes]]
    status: int = 0
    at: float = field(default_factory=time.monotonic)


@dataclass
class FakeInteraction:
    """An interaction the fake dispatched, and everything the bot answered to it."""

    id: int
    token: str
    type: int
    data: dict[str, Any]
    payload: dict[str, Any]
    fake: FakeDiscord = field(repr=False)
    user_id: int = 0
    guild_id: int | None = None
    channel_id: int = 0
    attachment_size_limit: int = 10 * 1024 * 1024
    message_id: int | None = None
    """For component/modal interactions: the message the component was on."""
    created_at: float = field(default_factory=time.monotonic)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    """Initial responses: ``{"type", "data", "at"}`` (a second one is recorded too, and refused)."""
    followups: list[dict[str, Any]] = field(default_factory=list)
    edits: list[dict[str, Any]] = field(default_factory=list)
    """PATCH @original payloads, in order."""
    original_id: int | None = None
    responded: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def original(self) -> dict[str, Any] | None:
        """The @original message as it is now (None before a message-creating response)."""
        return None if self.original_id is None else self.fake.messages.get(self.original_id)

    @property
    def shown(self) -> dict[str, Any] | None:
        """What the person is left looking at: the @original, or — once the bot deleted it —
        the latest follow-up (e.g. a private sentence replacing a public "thinking…")."""
        original = self.original
        if original is not None or not self.followups:
            return original
        return self.followups[-1]

    @property
    def deferred(self) -> bool:
        """True if the first response was a deferral (type 5 "thinking" or 6 update)."""
        return bool(self.callbacks) and self.callbacks[0]["type"] in (5, 6)

    @property
    def ephemeral(self) -> bool:
        """True if the first response carried the EPHEMERAL flag."""
        if not self.callbacks:
            return False
        return bool(int((self.callbacks[0].get("data") or {}).get("flags") or 0) & FLAG_EPHEMERAL)

    @property
    def expired(self) -> bool:
        """True once the 15-minute token lifetime is over (tests may move ``created_at`` back)."""
        return time.monotonic() - self.created_at > TOKEN_LIFETIME

    async def wait_responded(self, timeout: float = 10) -> dict[str, Any]:  # noqa: ASYNC109
        """Wait for the first initial response and return it."""
        try:
            await asyncio.wait_for(self.responded.wait(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"interaction {self.id} ({self.describe()}) got no initial response "
                f"within {timeout}s; "
                f"violations so far: {self.fake.violations}"
            ) from None
        return self.callbacks[0]

    def is_done(self) -> bool:
        """Default "done": the original has real content (not loading) or a follow-up exists."""
        if self.followups:
            return True
        original = self.original
        if original is None or int(original.get("flags") or 0) & FLAG_LOADING:
            return False
        return any(original.get(k) for k in ("content", "embeds", "attachments", "components"))

    async def wait_done(
        self,
        predicate: Callable[[FakeInteraction], bool] | None = None,
        timeout: float = 30,  # noqa: ASYNC109 - interface
    ) -> None:
        """Wait until ``predicate(self)`` (default :meth:`is_done`) holds."""
        check = predicate or FakeInteraction.is_done
        deadline = time.monotonic() + timeout
        while not check(self):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"interaction {self.id} ({self.describe()}) not done after {timeout}s: "
                    "callbacks="
                    f"{[c['type'] for c in self.callbacks]}, edits={len(self.edits)}, "
                    f"followups={len(self.followups)}, original={self.original!r:.300}; "
                    f"violations: {self.fake.violations}"
                )
            await asyncio.sleep(0.01)

    def describe(self) -> str:
        """A short human description for error messages."""
        name = self.data.get("name") or self.data.get("custom_id") or "?"
        return {2: "command", 3: "component", 4: "autocomplete", 5: "modal"}.get(
            self.type, "?"
        ) + f" {name}"


# --- building user input -------------------------------------------------------------------


def _python_option_type(name: str, value: Any) -> int:
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    if isinstance(value, float):
        return 10
    if isinstance(value, str):
        return 3
    if isinstance(value, Mapping) and "filename" in value and "url" in value:
        return 11
    raise TypeError(
        f"option {name!r}: cannot infer a Discord option type for {type(value).__name__}"
    )


def find_command(
    commands: Sequence[Mapping[str, Any]], name: str, ctype: int = 1
) -> Mapping[str, Any] | None:
    """The synced command called ``name`` (of type ``ctype``), if any."""
    for command in commands:
        if command.get("name") == name and command.get("type", 1) == ctype:
            return command
    return None


def build_command_options(
    definition: Mapping[str, Any] | None,
    options: Mapping[str, Any],
    subcommand: str | None,
    resolve: Callable[[int, Any, dict[str, Any]], Any],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The ``data.options`` (and ``data.resolved``) a user typing this command would send.

    ``subcommand`` may be ``"sub"`` or ``"group sub"``. With a synced ``definition`` the option
    types come from it and unknown/missing-required/not-a-choice options raise ``ValueError``
    (a real client would not let a user send them); otherwise types come from Python types.
    ``resolve(type, value, resolved)`` turns a user/channel/role/attachment value into its id
    and fills ``resolved``.
    """
    resolved: dict[str, Any] = {}
    defs: list[Mapping[str, Any]] | None = (
        list(definition.get("options") or []) if definition else None
    )
    path = subcommand.split() if subcommand else []
    chain: list[tuple[int, str]] = []
    for part in path:
        kind = 2 if len(path) == 2 and not chain else 1
        if defs is not None:
            found = next(
                (o for o in defs if o.get("name") == part and o.get("type") in (1, 2)), None
            )
            if found is None:
                raise ValueError(f"no subcommand {part!r} in the synced definition")
            kind, defs = int(found["type"]), list(found.get("options") or [])
        chain.append((kind, part))
    leaf: list[dict[str, Any]] = []
    for name, value in options.items():
        if defs is not None:
            spec = next((o for o in defs if o.get("name") == name), None)
            if spec is None:
                raise ValueError(
                    f"option {name!r} is not in the synced command "
                    f"(has {[o.get('name') for o in defs]})"
                )
            otype = int(spec["type"])
            choices = spec.get("choices")
            if choices and value not in [c.get("value") for c in choices]:
                raise ValueError(f"option {name!r}: {value!r} is not one of the choices")
        else:
            otype = _python_option_type(name, value)
        if otype in (6, 7, 8, 9, 11):
            value = str(resolve(otype, value, resolved))
        elif otype == 4:
            value = int(value)
        elif otype == 10:
            value = float(value)
        leaf.append({"name": name, "type": otype, "value": value})
    if defs is not None:
        missing = [o["name"] for o in defs if o.get("required") and o["name"] not in options]
        if missing:
            raise ValueError(f"required options missing: {missing}")
    result: list[dict[str, Any]] = leaf
    for kind, part in reversed(chain):
        result = [{"name": part, "type": kind, "options": result}]
    return result, resolved


def walk_components(components: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """Every component, depth first (rows, sections' accessories, labels' inner components)."""
    for comp in components:
        yield comp
        yield from walk_components(comp.get("components") or [])
        for key in ("accessory", "component"):
            if isinstance(comp.get(key), Mapping):
                yield from walk_components([comp[key]])


def modal_submit_components(
    modal_components: Sequence[Mapping[str, Any]], values: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Echo the modal's layout back the way Discord submits it, with ``values`` filled in.

    Action rows (type 1) stay rows of inputs; labels (type 18) carry one ``component``; text
    inputs get ``value``, selects get ``values``. Raises ``ValueError`` where a real client
    would refuse to submit (a required input left empty, a value outside min/max length).
    """
    used: set[str] = set()

    def one(comp: Mapping[str, Any]) -> dict[str, Any] | None:
        ctype = comp.get("type")
        out: dict[str, Any] = {"type": ctype}
        if comp.get("id") is not None:
            out["id"] = comp["id"]
        if ctype == 1:
            out["components"] = [c for c in (one(x) for x in comp.get("components") or []) if c]
            return out
        if ctype == 18:
            inner = one(comp["component"])
            if inner is None:
                return None
            out["component"] = inner
            return out
        custom_id = comp.get("custom_id")
        if custom_id is None:
            return out if ctype == 10 else None
        out["custom_id"] = custom_id
        given = values.get(custom_id)
        used.add(custom_id)
        if ctype == 4:
            text = "" if given is None else str(given)
            required = comp.get("required", True)
            if required and not text:
                raise ValueError(f"text input {custom_id!r} is required")
            if text and not int(comp.get("min_length") or 0) <= len(text) <= int(
                comp.get("max_length") or 4000
            ):
                raise ValueError(f"text input {custom_id!r}: length {len(text)} outside min/max")
            out["value"] = text
        else:
            out["values"] = [str(v) for v in (given or [])]
        return out

    result = [c for c in (one(x) for x in modal_components) if c]
    unknown = set(values) - used
    if unknown:
        raise ValueError(f"the modal has no inputs {sorted(unknown)}")
    return result


def check_visible(
    definition: Mapping[str, Any],
    guild_id: int | None,
    permissions: int,
    *,
    overridden: bool = False,
) -> None:
    """Raise if the user could not even see this command here (contexts, member permissions).

    ``overridden``: a server permission override lets this user run it whatever they hold.
    """
    contexts = definition.get("contexts")
    context = 0 if guild_id is not None else 1
    if (contexts is not None and context not in contexts) or (
        context and definition.get("dm_permission") is False
    ):
        where = "guilds" if context == 0 else "DMs"
        raise ValueError(f"/{definition['name']} is not available in {where}")
    needed = definition.get("default_member_permissions")
    if overridden:
        return
    if guild_id is not None and needed is not None and not permissions & ADMINISTRATOR:
        if permissions & int(needed) != int(needed):
            raise PermissionError(
                f"/{definition['name']} needs permissions {needed}; the user has {permissions}"
            )


def make_resolver(
    fake: MessageStore, guild_id: int | None
) -> Callable[[int, Any, dict[str, Any]], Any]:
    """Turn user/channel/role/mentionable/attachment option values into ids + ``resolved``.

    Users and channels are given by id (or an object with ``id``); attachments as the dict
    :meth:`FakeDiscord.make_attachment` returns.
    """

    def resolve(otype: int, value: Any, resolved: dict[str, Any]) -> Any:
        if otype == 11:
            if not isinstance(value, Mapping):
                raise ValueError("attachment options take fake.make_attachment(...) dicts")
            resolved.setdefault("attachments", {})[value["id"]] = dict(value)
            return value["id"]
        ident = int(value["id"] if isinstance(value, Mapping) else value)
        if otype == 6 or (otype == 9 and ident in fake.users):
            user = fake.user(ident)
            resolved.setdefault("users", {})[str(ident)] = user.payload()
            if guild_id is not None:
                joined = fake.guilds[guild_id].joined_at
                member = member_payload(user, joined, with_user=False)
                resolved.setdefault("members", {})[str(ident)] = member
        elif otype == 7:
            channel = fake.channel(ident).payload(fake.users)
            channel["permissions"] = str(DEFAULT_MEMBER_PERMISSIONS)
            resolved.setdefault("channels", {})[str(ident)] = channel
        else:
            guild = fake.guilds.get(guild_id or 0)
            name = guild.roles.get(ident) if guild is not None else None
            role = role_payload(ident, name) if name else everyone_role(ident)
            resolved.setdefault("roles", {})[str(ident)] = role
        return ident

    return resolve

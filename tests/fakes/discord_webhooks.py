"""Interaction callbacks and interaction webhooks (follow-ups, @original) of the fake Discord.

Rules enforced: initial response within 3 s (else 10062), only one initial response (40060),
response types valid for the interaction type, follow-ups only after acknowledging and only
for 15 minutes, the first follow-up after a "thinking" deferral replaces the loading message
and keeps the deferral's visibility, uploads within the interaction's attachment_size_limit.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from tests.fakes.discord_interactions import INITIAL_RESPONSE_WINDOW, FakeInteraction
from tests.fakes.discord_limits import check_modal
from tests.fakes.discord_rest import Call, DiscordError, Reply, RestApi, form_error, not_found
from tests.fakes.discord_rules import FLAG_EPHEMERAL, FLAG_LOADING, FormErrors, error_body

if TYPE_CHECKING:
    from tests.fakes.discord_api import FakeDiscord

# interaction type -> callback types Discord accepts for it
VALID_CALLBACKS: dict[int, set[int]] = {
    1: {1},
    2: {4, 5, 9, 12},
    3: {4, 5, 6, 7, 9, 12},
    4: {8},
    5: {4, 5, 6, 7},
}


def register(api: RestApi) -> None:
    """Add the interaction routes to ``api`` (none of them needs the bot token)."""
    hooks = _Hooks(api)
    api.route(
        "POST", r"/interactions/(?P<iid>\d+)/(?P<token>[^/]+)/callback", hooks.callback, auth=False
    )
    api.route(
        "GET|POST|PATCH|DELETE",
        r"/webhooks/(?P<wid>\d+)/(?P<token>[^/]+)",
        hooks.execute,
        auth=False,
    )
    api.route(
        "GET|PATCH|DELETE",
        r"/webhooks/(?P<wid>\d+)/(?P<token>[^/]+)/messages/(?P<mid>@original|\d+)",
        hooks.webhook_message,
        auth=False,
    )


class _Hooks:
    def __init__(self, api: RestApi) -> None:
        self.api = api
        self.fake: FakeDiscord = api.fake

    # --- POST /interactions/{id}/{token}/callback ---------------------------------------------

    async def callback(self, call: Call) -> Reply:
        fake = self.fake
        inter = fake.interactions.get(int(call.params["iid"]))
        if inter is None or inter.token != call.params["token"]:
            raise not_found(10062, "interaction", "callback for an interaction the fake never sent")
        body = call.json or {}
        ctype = body.get("type")
        data = body.get("data") or {}
        entry = {"type": ctype, "data": data, "at": time.monotonic()}
        if inter.callbacks:
            inter.callbacks.append(entry)
            raise DiscordError(
                400,
                error_body(40060, "Interaction has already been acknowledged."),
                f"second initial response (type {ctype}) to {inter.describe()}",
            )
        age = time.monotonic() - inter.created_at
        if age > INITIAL_RESPONSE_WINDOW:
            raise not_found(
                10062,
                "interaction",
                f"initial response to {inter.describe()} after {age:.2f}s (limit 3s)",
            )
        if ctype not in VALID_CALLBACKS.get(inter.type, set()):
            errors = FormErrors()
            errors.add(
                ("type",),
                "INTERACTION_RESPONSE_TYPE_INVALID",
                f"Callback type {ctype} is invalid for this interaction",
            )
            raise form_error(errors)
        self.api.check_uploads(call, inter.attachment_size_limit)
        if ctype == 9:
            errors = check_modal(data)
            if errors:
                raise form_error(errors)
        elif ctype == 7 and inter.message_id is None:
            raise DiscordError(
                400,
                error_body(50035, "Invalid Form Body"),
                "UPDATE_MESSAGE for an interaction without a message",
            )
        elif ctype in (4, 7):
            fake.check_message_body(data, call.uploads, creating=ctype == 4, prefix=("data",))

        resource: dict[str, Any] = {"type": ctype}
        response: dict[str, Any] = {"id": str(inter.id), "type": inter.type}
        msg = None
        if ctype in (4, 5):
            flags = int(data.get("flags") or 0)
            if ctype == 5:
                flags = (flags & FLAG_EPHEMERAL) | FLAG_LOADING
            msg = fake.create_message(
                fake.channel(inter.channel_id),
                author_id=fake.bot_user_id,
                payload=data if ctype == 4 else {},
                uploads=call.uploads,
                interaction=inter,
                flags=flags,
            )
            inter.original_id = int(msg["id"])
            response.update(
                response_message_loading=ctype == 5,
                response_message_ephemeral=bool(flags & FLAG_EPHEMERAL),
            )
        elif ctype in (6, 7):
            inter.original_id = inter.message_id
            if ctype == 7 and inter.message_id is not None:
                msg = fake.messages[inter.message_id]
                fake.edit_message(msg, data, call.uploads)
        inter.callbacks.append(entry)
        inter.responded.set()
        if msg is not None:
            await fake.announce("MESSAGE_UPDATE" if ctype == 7 else "MESSAGE_CREATE", msg)
            response["response_message_id"] = msg["id"]
            resource["message"] = fake.public(msg)
        if call.query.get("with_response") in ("1", "true", "True"):
            return 200, {"interaction": response, "resource": resource}
        return 204, None

    # --- webhook token routes -----------------------------------------------------------------

    def _interaction(self, call: Call) -> FakeInteraction:
        fake = self.fake
        inter = fake.interaction_by_token(call.params["token"])
        if int(call.params["wid"]) != fake.application_id or inter is None:
            raise not_found(10015, "Webhook", "webhook call with an unknown id/token")
        if inter.expired:
            raise DiscordError(
                401,
                error_body(50027, "Invalid Webhook Token"),
                f"{inter.describe()}: token older than 15 minutes",
            )
        if not inter.callbacks:
            raise not_found(
                10015,
                "Webhook",
                f"follow-up/edit of {inter.describe()} before any initial response",
            )
        return inter

    async def execute(self, call: Call) -> Reply:
        fake = self.fake
        inter = self._interaction(call)
        if call.method != "POST":
            if call.method == "GET":
                return 200, self._webhook_object()
            raise DiscordError(
                403,
                error_body(50013, "Missing Permissions"),
                f"{call.method} of an interaction webhook",
            )
        self.api.check_uploads(call, inter.attachment_size_limit)
        payload = call.json or {}
        fake.check_message_body(payload, call.uploads, creating=True)
        original = inter.original
        if original is not None and int(original.get("flags") or 0) & FLAG_LOADING:
            # The first follow-up after a "thinking" defer replaces the loading message and keeps
            # the deferral's visibility (its own ephemeral flag is ignored).
            fake.edit_message(original, payload, call.uploads, replacing_loading=True)
            msg = original
            event = "MESSAGE_UPDATE"
        else:
            flags = int(payload.get("flags") or 0)
            msg = fake.create_message(
                fake.channel(inter.channel_id),
                author_id=fake.bot_user_id,
                payload=payload,
                uploads=call.uploads,
                interaction=inter,
                flags=flags,
                followup=True,
            )
            event = "MESSAGE_CREATE"
        inter.followups.append(msg)
        await fake.announce(event, msg)
        if call.query.get("wait") in ("1", "true", "True"):
            return 200, fake.public(msg)
        return 204, None

    def _webhook_object(self) -> dict[str, Any]:
        fake = self.fake
        return {
            "id": str(fake.application_id),
            "type": 3,
            "name": fake.bot_name,
            "avatar": None,
            "channel_id": None,
            "guild_id": None,
            "application_id": str(fake.application_id),
        }

    async def webhook_message(self, call: Call) -> Reply:
        fake = self.fake
        inter = self._interaction(call)
        is_original = call.params["mid"] == "@original"
        mid = inter.original_id if is_original else int(call.params["mid"])
        own = {inter.original_id} | {int(m["id"]) for m in inter.followups}
        msg = fake.messages.get(mid or 0)
        if mid is None or mid not in own or msg is None:
            raise not_found(
                10008,
                "Message",
                f"{call.method} webhook message {call.params['mid']} of {inter.describe()}",
            )
        if call.method == "GET":
            return 200, fake.public(msg)
        if call.method == "DELETE":
            await fake.delete_message(msg)
            return 204, None
        self.api.check_uploads(call, inter.attachment_size_limit)
        payload = call.json or {}
        fake.check_message_body(payload, call.uploads, creating=False)
        if mid == inter.original_id:
            files = [(u.filename, u.content_type, u.data) for u in call.uploads]
            inter.edits.append({**payload, "_files": files, "_at": time.monotonic()})
        loading = bool(int(msg.get("flags") or 0) & FLAG_LOADING)
        fake.edit_message(msg, payload, call.uploads, replacing_loading=loading)
        await fake.announce("MESSAGE_UPDATE", msg)
        return 200, fake.public(msg)

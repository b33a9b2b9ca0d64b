"""Channels and their messages in the fake Discord: post, read, edit, delete, react, type.

Rules enforced: message limits and empty messages (50035 / 50006), replies to messages that
exist, edits only of the bot's own messages (50005), uploads within the size limit (40005),
and no posting where the bot lost Send Messages (403 50013, see :meth:`FakeDiscord.forbid_bot`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.fakes.discord_rest import Call, DiscordError, Reply, RestApi, form_error, not_found
from tests.fakes.discord_rules import FLAG_EPHEMERAL, FormErrors, error_body

if TYPE_CHECKING:
    from tests.fakes.discord_api import FakeDiscord


def register(api: RestApi) -> None:
    """Add the channel and message routes to ``api``."""
    routes = _Channels(api)
    message = r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)"
    api.route("GET", r"/channels/(?P<cid>\d+)", routes.get_channel)
    api.route("POST", r"/channels/(?P<cid>\d+)/typing", routes.typing)
    api.route("GET|POST", r"/channels/(?P<cid>\d+)/messages", routes.channel_messages)
    api.route("GET|PATCH|DELETE", message, routes.channel_message)
    api.route("PUT|DELETE", message + r"/reactions/(?P<emoji>[^/]+)/@me", routes.reaction)


class _Channels:
    def __init__(self, api: RestApi) -> None:
        self.api = api
        self.fake: FakeDiscord = api.fake

    async def get_channel(self, call: Call) -> Reply:
        return 200, self.fake.channel(int(call.params["cid"])).payload(self.fake.users)

    async def typing(self, call: Call) -> Reply:
        self.fake.channel(int(call.params["cid"]))
        return 204, None

    async def channel_messages(self, call: Call) -> Reply:
        fake = self.fake
        channel = fake.channel(int(call.params["cid"]))
        if call.method == "GET":
            msgs = sorted(
                fake.channel_messages(channel.id), key=lambda m: int(m["id"]), reverse=True
            )
            msgs = [m for m in msgs if not int(m.get("flags") or 0) & FLAG_EPHEMERAL]
            if "before" in call.query:
                msgs = [m for m in msgs if int(m["id"]) < int(call.query["before"])]
            if "after" in call.query:
                msgs = [m for m in msgs if int(m["id"]) > int(call.query["after"])]
            return 200, [fake.public(m) for m in msgs[: int(call.query.get("limit", 50))]]
        if not fake.bot_may_post(channel.id):
            raise DiscordError(403, error_body(50013, "Missing Permissions"))
        self.api.check_uploads(call)
        payload = call.json or {}
        fake.check_message_body(payload, call.uploads, creating=True)
        reply_to = None
        ref = payload.get("message_reference")
        if ref and ref.get("type", 0) == 0:
            reply_to = fake.messages.get(int(ref.get("message_id") or 0))
            if reply_to is None or int(reply_to["channel_id"]) != channel.id:
                reply_to = None
                if ref.get("fail_if_not_exists", True):
                    errors = FormErrors()
                    errors.add(
                        ("message_reference",),
                        "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                        "Unknown message",
                    )
                    raise form_error(errors)
        again = fake.message_with_nonce(channel.id, fake.bot_user_id, payload)
        if again is not None:  # Discord's de-duplication: the message it made, not a new one
            return 200, fake.public(again)
        msg = fake.create_message(
            channel,
            author_id=fake.bot_user_id,
            payload=payload,
            uploads=call.uploads,
            reply_to=reply_to,
        )
        await fake.announce("MESSAGE_CREATE", msg)
        return 200, fake.public(msg)

    def _message(self, call: Call) -> dict[str, Any]:
        channel = self.fake.channel(int(call.params["cid"]))
        msg = self.fake.messages.get(int(call.params["mid"]))
        if (
            msg is None
            or int(msg["channel_id"]) != channel.id
            or int(msg.get("flags") or 0) & FLAG_EPHEMERAL
        ):
            raise not_found(
                10008, "Message", f"message {call.params['mid']} in channel {channel.id}"
            )
        return msg

    async def channel_message(self, call: Call) -> Reply:
        fake = self.fake
        msg = self._message(call)
        if call.method == "GET":
            return 200, fake.public(msg)
        if call.method == "DELETE":
            await fake.delete_message(msg)
            return 204, None
        if int(msg["author"]["id"]) != fake.bot_user_id:
            raise DiscordError(
                403,
                error_body(50005, "Cannot edit a message authored by another user"),
                "edit of another user's message",
            )
        self.api.check_uploads(call)
        fake.check_message_body(call.json or {}, call.uploads, creating=False)
        fake.edit_message(msg, call.json or {}, call.uploads)
        await fake.announce("MESSAGE_UPDATE", msg)
        return 200, fake.public(msg)

    async def reaction(self, call: Call) -> Reply:
        msg = self._message(call)
        reactions = msg.setdefault("reactions", [])
        emoji = call.params["emoji"]
        entry = next((r for r in reactions if r["emoji"]["name"] == emoji), None)
        if call.method == "PUT" and entry is None:
            reactions.append({"emoji": {"id": None, "name": emoji}, "count": 1, "me": True})
        elif call.method == "DELETE" and entry is not None:
            reactions.remove(entry)
        return 204, None

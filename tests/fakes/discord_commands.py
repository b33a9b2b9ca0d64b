"""Application commands in the fake Discord: list, bulk-overwrite (sync), create, edit, delete.

Every write is checked against Discord's command rules (:func:`check_commands`); a bulk
overwrite counts as a sync (:attr:`FakeDiscord.command_syncs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tests.fakes.discord_limits import check_commands
from tests.fakes.discord_locales import without_localizations
from tests.fakes.discord_rest import Call, DiscordError, Reply, RestApi, form_error, not_found
from tests.fakes.discord_rules import error_body

if TYPE_CHECKING:
    from tests.fakes.discord_api import FakeDiscord


def register(api: RestApi) -> None:
    """Add the application command routes to ``api``."""
    routes = _Commands(api.fake)
    cmds = r"/applications/(?P<app>\d+)(?:/guilds/(?P<gid>\d+))?/commands"
    api.route("GET|PUT|POST", cmds, routes.commands)
    api.route("GET|PATCH|DELETE", cmds + r"/(?P<cid>\d+)", routes.command)


class _Commands:
    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    def _command_list(self, call: Call) -> list[dict[str, Any]]:
        fake = self.fake
        if int(call.params["app"]) != fake.application_id:
            raise DiscordError(
                403,
                error_body(50001, "Missing Access"),
                f"commands of application {call.params['app']}",
            )
        gid = call.params.get("gid")
        if gid is None:
            return fake.commands_global
        if int(gid) not in fake.guilds:
            raise DiscordError(
                403,
                error_body(50001, "Missing Access"),
                f"commands of guild {gid} the bot is not in",
            )
        return fake.commands_guild.setdefault(int(gid), [])

    def _stored_command(
        self, body: Mapping[str, Any], gid: str | None, old: list[dict[str, Any]]
    ) -> dict[str, Any]:
        ctype = body.get("type", 1)
        prev = next((c for c in old if c["name"] == body.get("name") and c["type"] == ctype), None)
        cmd = {
            "id": prev["id"] if prev else str(self.fake.snowflake()),
            "application_id": str(self.fake.application_id),
            "version": str(self.fake.snowflake()),
            "type": ctype,
            "description": "",
            "default_member_permissions": None,
            "nsfw": False,
            **{k: v for k, v in body.items() if k != "id"},
        }
        if gid is not None:
            cmd["guild_id"] = gid
        return cmd

    async def commands(self, call: Call) -> Reply:
        current = self._command_list(call)
        gid = call.params.get("gid")
        if call.method == "GET":
            # Discord sends the localization maps only when asked for them.
            whole = call.query.get("with_localizations", "").lower() == "true"
            return 200, current if whole else without_localizations(current)
        body = call.json if call.method == "PUT" else [call.json]
        errors = check_commands(body)
        if errors:
            raise form_error(errors)
        stored = [self._stored_command(c, gid, current) for c in body]
        if call.method == "PUT":
            current[:] = stored
            self.fake.command_syncs += 1
            return 200, stored
        current[:] = [
            c for c in current if (c["name"], c["type"]) != (stored[0]["name"], stored[0]["type"])
        ]
        current.append(stored[0])
        return 201, stored[0]

    async def command(self, call: Call) -> Reply:
        current = self._command_list(call)
        cmd = next((c for c in current if c["id"] == call.params["cid"]), None)
        if cmd is None:
            raise not_found(10063, "application command", f"command {call.params['cid']}")
        if call.method == "DELETE":
            current.remove(cmd)
            return 204, None
        if call.method == "PATCH":
            merged = {**cmd, **(call.json or {})}
            errors = check_commands([merged])
            if errors:
                raise form_error(errors)
            cmd.update(call.json or {})
        return 200, cmd

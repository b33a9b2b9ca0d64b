"""When does the bot re-register its slash commands globally? Only when they changed."""

from typing import Any

import discord

from bot.app import command_shape

OURS: dict[str, Any] = {
    "name": "imagine",
    "description": "Turn a few words into a finished picture",
    "type": 1,
    "default_member_permissions": None,
    "options": [
        {"name": "description", "description": "What?", "type": 3, "required": True},
        {
            "name": "size",
            "description": "Shape",
            "type": 3,
            "choices": [{"name": "square", "value": "square"}],
        },
    ],
}


def test_discords_copy_with_its_own_fields_is_the_same_command() -> None:
    theirs = {
        **OURS,
        "id": "123",
        "version": "456",
        "nsfw": False,
        "contexts": None,
        "options": [
            {**OURS["options"][0], "description_localizations": {}},
            {**OURS["options"][1], "required": False},
        ],
    }
    assert command_shape(theirs) == command_shape(OURS)


def test_a_changed_option_or_permission_needs_a_sync() -> None:
    renamed = {**OURS, "options": [OURS["options"][0]]}
    admin_only = {**OURS, "default_member_permissions": discord.Permissions(manage_guild=True)}
    assert command_shape(renamed) != command_shape(OURS)
    assert command_shape(admin_only) != command_shape(OURS)
    assert command_shape(admin_only) == command_shape({**OURS, "default_member_permissions": "32"})


def test_changed_translations_need_a_sync() -> None:
    french = {**OURS, "name_localizations": {"fr": "imaginer"}}
    english_only = {**OURS, "name_localizations": {}, "description_localizations": None}
    reworded = {**french, "name_localizations": {"fr": "dessiner"}}
    squared = {
        **OURS,
        "options": [
            OURS["options"][0],
            {
                **OURS["options"][1],
                "choices": [
                    {"name": "square", "value": "square", "name_localizations": {"fr": "carré"}}
                ],
            },
        ],
    }
    assert command_shape(english_only) == command_shape(OURS)
    assert command_shape(french) != command_shape(OURS)
    assert command_shape(reworded) != command_shape(french)
    assert command_shape(squared) != command_shape(OURS)

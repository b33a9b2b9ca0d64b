"""Submitted forms (modals), read from the raw interaction: a form opened before a restart
is no longer known to discord.py, so features match submissions by custom_id themselves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import discord


@dataclass(frozen=True, slots=True)
class Form:
    """A submitted form: its custom_id and {field custom_id: value}."""

    custom_id: str
    values: dict[str, str]


def submitted_form(interaction: discord.Interaction) -> Form | None:
    """The form `interaction` submits, or None if it submits none."""
    if interaction.type is not discord.InteractionType.modal_submit:
        return None
    data: Any = interaction.data or {}
    return Form(str(data.get("custom_id", "")), modal_values(data.get("components")))


def modal_values(components: Any) -> dict[str, str]:
    """{custom_id: value} of the text inputs in a submitted form's `components`.

    Handles both layouts Discord submits: action rows of inputs, and labels with one input.
    """
    values: dict[str, str] = {}
    for top in components or ():
        inner = top.get("components") or ([top["component"]] if top.get("component") else [])
        for component in inner:
            if component.get("custom_id") is not None and "value" in component:
                values[str(component["custom_id"])] = str(component["value"] or "")
    return values

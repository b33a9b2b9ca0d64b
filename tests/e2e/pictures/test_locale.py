"""A picture in its requester's language end to end: the progress lines, the embed's labels
and the buttons of a French person's /imagine read French, an English neighbour's English."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import ALICE, BOB, StartBot
from tests.e2e.picture_kit import imagine, is_picture, settled
from tests.fakes.discord_api import FakeDiscord, FakeInteraction
from tests.fakes.openai_api import FakeOpenAI, Gate


async def painted(
    discord_fake: FakeDiscord, painting: Gate, description: str, user_id: int, line: str
) -> FakeInteraction:
    """/imagine whose picture comes only once its painting `line` was shown (progress is
    shown at most once per 2 s: the line waits its turn)."""
    interaction = await imagine(discord_fake, description, user_id=user_id, wait=False)
    await interaction.wait_done(
        lambda i: str((i.original or {}).get("content") or "").startswith(line)
    )
    painting.let_through()
    await settled(interaction)
    return interaction


def labels(message: dict[str, Any]) -> list[str]:
    """The labels of the buttons on a message."""
    return [
        button["label"]
        for row in message.get("components") or []
        for button in row.get("components") or []
    ]


async def test_a_french_picture_reads_french_and_an_english_one_english(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    painting = openai_fake.hold_images()  # each picture comes once its painting line is shown
    await start_bot(PARTIAL_IMAGES="0")
    discord_fake.users[ALICE].locale = "fr"

    french = await painted(discord_fake, painting, "un phare dans la tempête", ALICE, "🎨 Peinture")

    progress = [edit.get("content") or "" for edit in french.edits]
    assert "🧠 Rédaction d’un prompt détaillé à partir de vos mots…" in progress
    assert "🎨 Peinture de votre image…" in progress
    shown = french.original
    assert shown is not None and is_picture(shown)
    embed = shown["embeds"][0]
    assert embed["author"]["name"] == "Demandée par alice"
    assert embed["footer"]["text"] == "Prompt développé par le modèle de chat"
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert list(fields) == ["Modèle", "Format · qualité", "Coût estimé"]
    assert fields["Format · qualité"] == "carré (1024x1024) · auto"
    assert labels(shown) == ["Refaire", "Retoucher", "Variantes", "Prompt", "Supprimer"]

    english = await painted(discord_fake, painting, "a lighthouse in a storm", BOB, "🎨 Painting")

    assert "🎨 Painting your picture…" in [edit.get("content") for edit in english.edits]
    assert english.original is not None
    embed = english.original["embeds"][0]
    assert embed["author"]["name"] == "Requested by bob"
    assert embed["footer"]["text"] == "Prompt expanded by the chat model"
    assert labels(english.original) == ["Reroll", "Refine", "Variations", "Prompt", "Delete"]

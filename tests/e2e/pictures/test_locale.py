"""A picture in its requester's language end to end: the progress lines, the embed's labels
and the buttons of a French person's /imagine read French, an English neighbour's English."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import ALICE, BOB, StartBot
from tests.e2e.picture_kit import imagine, is_picture
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.openai_api import FakeOpenAI


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
    openai_fake.image_latency = 2.5  # progress is shown at most once per 2 s: paint for longer
    await start_bot(PARTIAL_IMAGES="0")
    discord_fake.users[ALICE].locale = "fr"

    french = await imagine(discord_fake, "un phare dans la tempête", user_id=ALICE)

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

    english = await imagine(discord_fake, "a lighthouse in a storm", user_id=BOB)

    assert "🎨 Painting your picture…" in [edit.get("content") for edit in english.edits]
    assert english.original is not None
    embed = english.original["embeds"][0]
    assert embed["author"]["name"] == "Requested by bob"
    assert embed["footer"]["text"] == "Prompt expanded by the chat model"
    assert labels(english.original) == ["Reroll", "Refine", "Variations", "Prompt", "Delete"]

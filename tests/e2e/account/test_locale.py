"""Languages end to end: the commands registered with their translations, a French person
answered in French (now and by a job later), and a German server's replies and welcome in
German — while an English neighbour keeps reading English."""

from __future__ import annotations

from typing import Any

from bot.i18n import translate
from cogs.account.render import WELCOME
from tests.e2e.account.test_help import first_posts
from tests.e2e.admin_kit import admin_says
from tests.e2e.conftest import ALICE, BOB, CHANNEL_ID, GUILD_ID, StartBot, stop_bot
from tests.e2e.picture_kit import imagine, imagine_picture, reply_to, use_settings
from tests.fakes.discord_api import FakeDiscord, FakeInteraction
from tests.fakes.openai_api import FakeOpenAI


def registered(discord_fake: FakeDiscord, name: str) -> dict[str, Any]:
    """The global command `name` as the bot registered it."""
    return next(c for c in discord_fake.commands_global if c["name"] == name)


def option(command: dict[str, Any], name: str) -> dict[str, Any]:
    return next(o for o in command["options"] if o["name"] == name)


async def ask(discord_fake: FakeDiscord, command: str, user_id: int) -> dict[str, Any]:
    """Run an option-less command and return the (private) answer's first embed."""
    interaction = await discord_fake.invoke(
        command, {}, user_id=user_id, guild_id=GUILD_ID, channel_id=CHANNEL_ID
    )
    await interaction.wait_done(lambda i: bool(i.original and i.original.get("embeds")))
    assert interaction.original is not None
    embed: dict[str, Any] = interaction.original["embeds"][0]
    return embed


def told(interaction: FakeInteraction) -> str:
    """The one sentence a person was left reading."""
    assert interaction.shown is not None
    return str(interaction.shown["content"])


async def test_the_commands_are_registered_with_their_translations(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    bot = await start_bot()
    help_ = registered(discord_fake, "help")
    assert help_["name_localizations"]["fr"] == "aide"
    assert help_["description_localizations"]["fr"] == "Ce que fait Picasso, et vos limites ici"
    assert help_["name_localizations"]["de"] == "hilfe"
    assert help_["name_localizations"]["ja"] == "ヘルプ"
    # Both Spanish locales read the Spanish catalog; English locales need no translation.
    names = registered(discord_fake, "imagine")["name_localizations"]
    assert names["es-ES"] == names["es-419"] == "imaginar"
    assert not {"en-US", "en-GB"} & set(names)
    size = option(registered(discord_fake, "imagine"), "size")
    assert size["name_localizations"]["fr"] == "format"
    square = next(c for c in size["choices"] if c["value"] == "square")
    assert (square["name"], square["name_localizations"]["fr"]) == ("square", "carré")
    limits = option(registered(discord_fake, "imagine-admin"), "limits")
    assert option(limits, "user_daily_pictures")["name_localizations"]["de"] == (
        "bilder_pro_person_tag"
    )
    menu = next(c for c in discord_fake.commands_global if c["type"] == 3)
    assert menu["name_localizations"]["fr"] == "Historique de l’image"
    assert discord_fake.command_syncs == 1
    # The next start compares the translations too, and finds nothing to register.
    await stop_bot(bot)
    await start_bot()
    assert discord_fake.command_syncs == 1


async def test_a_french_person_reads_french_and_an_english_one_english(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    await start_bot()
    discord_fake.users[ALICE].locale = "fr"
    said = await admin_says(discord_fake, "limits", user_daily_pictures=3)
    assert said.startswith("Désormais en vigueur : 3 images par personne et par jour, ")
    help_ = await ask(discord_fake, "help", ALICE)
    assert help_["description"] == translate(WELCOME, "fr") != WELCOME
    assert help_["description"].startswith("👋 Bonjour, je suis **Picasso**")
    fields = {field["name"]: field["value"] for field in help_["fields"]}
    assert fields["Vos limites ici"].startswith("Vos images aujourd’hui : 3 sur 3 restant(s)")
    assert "/forget-me" in fields["Vos données"]
    french = (await ask(discord_fake, "quota", ALICE))["description"].split("\n")
    english = (await ask(discord_fake, "quota", BOB))["description"].split("\n")
    assert french[0] == "Vos images aujourd’hui : 3 sur 3 restant(s)"
    assert english[0] == "Your pictures today: 3 of 3 left"
    assert french[-1].startswith("Les compteurs du jour repartent à zéro dans ")
    await admin_says(discord_fake, "limits", user_daily_pictures=0)
    refused = await imagine(discord_fake, "un phare au crépuscule", user_id=ALICE)
    assert told(refused) == (
        "Ce serveur a fixé à 0 la limite quotidienne d’images des membres — "
        "demandez à un administrateur."
    )
    refused = await imagine(discord_fake, "a lighthouse at dusk", user_id=BOB)
    assert told(refused) == (
        "This server has set members' daily picture limit to 0 — ask a server admin."
    )


async def test_a_job_that_fails_later_tells_its_requester_in_their_language(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.fail_next(
        "images",
        status=400,
        code="moderation_blocked",
        type="image_generation_user_error",
        message="Your request was rejected by the safety system.",
    )
    await start_bot(PARTIAL_IMAGES="0")
    discord_fake.users[ALICE].locale = "ja"
    failed = await imagine(discord_fake, "something bad", user_id=ALICE)
    assert told(failed) == (
        "リクエストが安全システムによって拒否されました。言い回しを変えてお試しください。"
    )


async def test_a_german_server_reads_its_welcome_and_reply_refusals_in_german(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    discord_fake.guilds[GUILD_ID].preferred_locale = "de"
    bot = await start_bot()
    await use_settings(bot, blocked_words=("drache",))
    original = await imagine_picture(discord_fake, "eine Burg")  # alice's client: English
    refused = await reply_to(discord_fake, original, "füge einen Drache hinzu")
    assert refused["content"] == (
        "Deine Anfrage enthält ein Wort, das dieser Server gesperrt hat – bitte formulier sie um."
    )
    discord_fake.add_guild(7710, channel_ids=[7711], system_channel_id=7711, preferred_locale="de")
    welcome = await first_posts(discord_fake, 7711)
    assert [post["content"] for post in welcome] == [translate(WELCOME, "de")]
    assert welcome[0]["content"].startswith("👋 Hallo, ich bin **Picasso**")

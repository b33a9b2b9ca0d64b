"""Prompt preview: `/imagine … preview:true` (or the server's default) shows the expanded
prompt and the estimated cost privately, with 🎨 Paint, ✏️ Edit prompt and ✖ Discard.

A preview is checked against the limits like a picture, but only its prompt writing is
charged and nothing is reserved (`Studio.preview`) until Paint, which submits the prompt as
written (a PROMPT job) through the same limits and line as any picture, shown on the
press's own public response. The preview message carries its state — the words and the
prompt in its embed, the rest in the buttons' custom_ids — so it survives a restart.
Discord lets the bot edit the preview for 15 minutes: the cog's task marks it expired a
little before, and a press on an older preview (a task lost in a restart) gets the same
sentence.

custom_id formats:
  picasso:preview:<paint|edit|discard>:<user id>:<size>:<quality>:<style index>
  picasso:preview-modal:<user id>:<size>:<quality>:<style index>
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Final

import discord
from discord.ext import commands

from bot.errors import PicassoError
from bot.formatting import clip, usd
from bot.i18n import LANGUAGES, N_, _, translate
from bot.imaging.prompts import MAX_PROMPT_CHARS
from bot.models import (
    MAX_COUNT,
    MAX_DESCRIPTION_CHARS,
    ImageRequest,
    Quality,
    Size,
    Style,
    Who,
    check_text,
)
from bot.storage.job_records import AlreadyDone, JobKind
from bot.studio import Order, Preview
from cogs.common.answering import NO_MENTIONS, PUBLIC_DEFER, answering, defer_public
from cogs.common.context import picasso, who_from_interaction
from cogs.common.custom_ids import ID, PREFIX, StatefulButton
from cogs.common.forms import submitted_form
from cogs.common.render import EMBED_COLOUR, TITLE_LIMIT
from cogs.pictures.orders import interaction_delivery, requester
from cogs.pictures.refine import FORM_TTL

if TYPE_CHECKING:
    from bot.models import GuildSettings
    from cogs.common.services import Services

log = logging.getLogger(__name__)

PREVIEW_TTL: Final = 14 * 60.0  # seconds; Discord allows edits for 15 minutes
# msgids, translated where they are shown.
EXPIRED: Final = N_("This preview expired — run /imagine again.")
NOT_YOURS: Final = N_("Only the person who asked for this preview can use its buttons.")
DISCARDED: Final = N_("✖ Discarded — nothing was painted.")
PAINTING: Final = N_("🎨 Painting it — the picture appears in the channel.")
EMPTY_PROMPT: Final = N_("Write the prompt to paint — it can't be empty.")
PAINTED_ALREADY: Final = N_(
    "This preview was painted already — run /imagine again for another picture."
)
WORDS_FIELD: Final = N_("You asked for")  # only when the words don't fit in the title
COST_FIELD: Final = N_("Estimated cost")
STYLES: Final = tuple(Style)


class PreviewAction(StrEnum):
    """What a button under a preview does."""

    PAINT = "paint"
    EDIT = "edit"
    DISCARD = "discard"


_LOOKS: Final = {
    PreviewAction.PAINT: (N_("Paint"), "🎨", discord.ButtonStyle.success),
    PreviewAction.EDIT: (N_("Edit prompt"), "✏️", discord.ButtonStyle.primary),
    PreviewAction.DISCARD: (N_("Discard"), "✖", discord.ButtonStyle.secondary),
}
_STATE: Final = (
    rf"(?P<user>{ID}):(?P<size>{'|'.join(s.label for s in Size)})"
    rf":(?P<quality>{'|'.join(q.value for q in Quality)})"
    rf":(?P<style>{'|'.join(str(index) for index in range(len(STYLES)))})"
    rf"(?::(?P<count>[2-{MAX_COUNT}]))?"  # pictures in the set; absent: one
    r"(?::(?P<words>w))?"  # the prompt is the person's words (not expanded); absent: expanded
)
BUTTON_TEMPLATE: Final = re.compile(
    rf"^{PREFIX}:preview:(?P<action>{'|'.join(a.value for a in PreviewAction)}):{_STATE}$"
)
MODAL_TEMPLATE: Final = re.compile(rf"^{PREFIX}:preview-modal:{_STATE}$")


@dataclass(frozen=True, slots=True)
class PreviewState:
    """What a preview's buttons carry besides the embed: whose it is and the request's shape."""

    user_id: int
    size: Size
    quality: Quality
    style: Style
    count: int = 1
    expanded: bool = True  # the prompt shown was written by the chat model

    def _state(self) -> str:
        style = STYLES.index(self.style)
        count = f":{self.count}" if self.count > 1 else ""
        words = "" if self.expanded else ":w"
        return f"{self.user_id}:{self.size.label}:{self.quality.value}:{style}{count}{words}"

    def custom_id(self, action: PreviewAction) -> str:
        """The custom_id of `action`'s button."""
        return f"{PREFIX}:preview:{action.value}:{self._state()}"

    def modal_custom_id(self) -> str:
        """The custom_id of the Edit prompt form."""
        return f"{PREFIX}:preview-modal:{self._state()}"

    @classmethod
    def from_match(cls, match: re.Match[str]) -> PreviewState:
        """The state in a matched custom_id."""
        return cls(
            int(match["user"]),
            Size[match["size"].upper()],
            Quality(match["quality"]),
            STYLES[int(match["style"])],
            int(match["count"] or 1),
            match["words"] is None,
        )


def parse_custom_id(custom_id: str) -> tuple[PreviewAction, PreviewState] | None:
    """(action, state) from a preview button's custom_id, or None if it is not one."""
    match = BUTTON_TEMPLATE.fullmatch(custom_id)
    return (PreviewAction(match["action"]), PreviewState.from_match(match)) if match else None


def parse_modal_custom_id(custom_id: str) -> PreviewState | None:
    """The state from an Edit prompt form's custom_id, or None."""
    match = MODAL_TEMPLATE.fullmatch(custom_id)
    return PreviewState.from_match(match) if match else None


def preview_embed(description: str, preview: Preview) -> discord.Embed:
    """The words (title), the prompt (description) and the estimate, as the buttons read them."""
    request = preview.request
    embed = discord.Embed(
        title=clip(description, TITLE_LIMIT), description=preview.prompt, colour=EMBED_COLOUR
    )
    if len(description) > TITLE_LIMIT:
        embed.add_field(name=_(WORDS_FIELD), value=description, inline=False)
    embed.add_field(name=_(COST_FIELD), value=usd(preview.estimate_micros))
    quality = _(request.quality.value)  # the word its command choice shows
    embed.add_field(name=_("Size · quality"), value=f"{request.size.value} · {quality}")
    if request.count > 1:
        embed.add_field(name=_("Pictures"), value=str(request.count))
    footer = (
        _("Nothing is painted until you press 🎨 Paint; writing this prompt cost {amount}.").format(
            amount=usd(preview.charged_micros)
        )
        if preview.charged_micros
        else _("Nothing is painted or charged until you press 🎨 Paint.")
    )
    embed.set_footer(text=f"{preview.note} {footer}" if preview.note else footer)
    return embed


def preview_view(state: PreviewState) -> discord.ui.View:
    """🎨 Paint · ✏️ Edit prompt · ✖ Discard."""
    view = discord.ui.View(timeout=None)
    for action in PreviewAction:
        view.add_item(PreviewButton(action, state))
    return view


def _read(message: discord.Message | None) -> tuple[str, str]:
    """(the words, the prompt) from a preview message's embed."""
    embed = message.embeds[0] if message is not None and message.embeds else None
    if embed is None or not embed.title or not embed.description:
        raise PicassoError(EXPIRED)
    # The field's name in any language: the preview was shown in its asker's.
    named = {translate(WORDS_FIELD, language) for language in LANGUAGES}
    words = next((f.value for f in embed.fields if f.name in named), None)
    return words or embed.title, embed.description


def _pressable(interaction: discord.Interaction, state: PreviewState) -> tuple[str, str]:
    """(words, prompt) of the pressed preview — if it is the presser's and still fresh."""
    if interaction.user.id != state.user_id:
        raise PicassoError(NOT_YOURS)
    message = interaction.message
    if message is None or discord.utils.utcnow() - message.created_at >= timedelta(
        seconds=PREVIEW_TTL
    ):
        raise PicassoError(EXPIRED)
    return _read(message)


async def _paint(
    interaction: discord.Interaction, state: PreviewState, words: str, prompt: str, text: str | None
) -> None:
    """Submit `prompt`, painted as written, through the limits and the line: as the picture
    the preview showed (a new picture, its prompt by the chat model or the words), or with
    `text`, the prompt the person edited (a picture of their own prompt)."""
    bot = picasso(interaction)
    who = who_from_interaction(interaction)
    settings = await bot.studio.settings_for(who.guild_id)
    request = ImageRequest(
        words,
        size=state.size,
        quality=state.quality,
        style=state.style,
        expand=state.expanded and text is None,
        count=state.count,
    )
    order = Order(
        JobKind.IMAGINE if text is None else JobKind.PROMPT,
        who,
        request,
        interaction_delivery(interaction, public=True),
        text=text,
        prompt=prompt,
        # One job per preview, however often (or after however many restarts) it is pressed.
        once=f"preview:{interaction.message.id}" if interaction.message else None,
        **requester(interaction.user),
    )
    try:
        await bot.jobs.submit(order, settings)
    except AlreadyDone:
        raise PicassoError(PAINTED_ALREADY) from None
    previews = _previews(interaction)
    if previews is not None and interaction.message is not None:
        await previews.finish(interaction.message.id, _(PAINTING))


async def paint(interaction: discord.Interaction, state: PreviewState) -> None:
    """🎨 Paint: the preview's prompt, as written, on this press's public response."""
    async with answering(interaction):
        words, prompt = _pressable(interaction, state)  # local checks, before deferring
        await defer_public(interaction)
        await _paint(interaction, state, words, prompt, text=None)


async def edit(interaction: discord.Interaction, state: PreviewState) -> None:
    """✏️ Edit prompt: a form pre-filled with the prompt (the first answer: no deferring)."""
    async with answering(interaction):
        _words, prompt = _pressable(interaction, state)
        await interaction.response.send_modal(PreviewModal(state, prompt))


async def discard(interaction: discord.Interaction, state: PreviewState) -> None:
    """✖ Discard: the preview says so and loses its buttons."""
    async with answering(interaction):
        if interaction.user.id != state.user_id:
            raise PicassoError(NOT_YOURS)
        await interaction.response.edit_message(
            content=_(DISCARDED), embed=None, view=None, allowed_mentions=NO_MENTIONS
        )
        previews = _previews(interaction)
        if previews is not None and interaction.message is not None:
            await previews.finish(interaction.message.id, None)


_PRESSES: Final = {
    PreviewAction.PAINT: paint,
    PreviewAction.EDIT: edit,
    PreviewAction.DISCARD: discard,
}


class PreviewButton(StatefulButton, template=BUTTON_TEMPLATE):
    """One of the buttons under a prompt preview."""

    def __init__(self, action: PreviewAction, state: PreviewState) -> None:
        label, emoji, style = _LOOKS[action]
        super().__init__(
            discord.ui.Button(
                label=_(label), emoji=emoji, style=style, custom_id=state.custom_id(action)
            )
        )
        self.action = action
        self.state = state

    @classmethod
    def from_match(cls, match: re.Match[str]) -> PreviewButton:
        return cls(PreviewAction(match["action"]), PreviewState.from_match(match))

    async def callback(self, interaction: discord.Interaction) -> None:
        await _PRESSES[self.action](interaction, self.state)


class PreviewModal(discord.ui.Modal):
    """The Edit prompt form; what is submitted is painted as written."""

    def __init__(self, state: PreviewState, prompt: str) -> None:
        super().__init__(
            title=_("Edit the prompt"), custom_id=state.modal_custom_id(), timeout=FORM_TTL
        )
        self.add_item(
            discord.ui.TextInput(
                label=_("The prompt, painted as written"),
                custom_id="prompt",
                style=discord.TextStyle.paragraph,
                default=prompt[:MAX_PROMPT_CHARS],
                max_length=MAX_PROMPT_CHARS,
            )
        )


def _previews(interaction: discord.Interaction) -> Previews | None:
    cog = picasso(interaction).get_cog(Previews.__cog_name__)
    return cog if isinstance(cog, Previews) else None


class Previews(commands.Cog):
    """Shows previews, expires them on time, and receives the Edit prompt forms."""

    def __init__(self, bot: Services) -> None:
        self.bot = bot
        self._held: dict[int, tuple[discord.WebhookMessage, asyncio.Task[None]]] = {}

    async def show(
        self,
        interaction: discord.Interaction,
        who: Who,
        request: ImageRequest,
        settings: GuildSettings,
    ) -> None:
        """Plan `request` and show it privately: checked against every limit first (a
        refusal is one sentence, before any model call), nothing painted or reserved, only
        its prompt writing charged (`Studio.preview`)."""
        lasts = PREVIEW_TTL  # from the moment it was asked for
        preview = await self.bot.studio.preview(who, request, settings)
        shaped = preview.request
        state = PreviewState(
            who.user_id, shaped.size, shaped.quality, shaped.style, shaped.count, preview.expanded
        )
        if interaction.extras.get(PUBLIC_DEFER):  # the server's default: not a public answer
            await interaction.delete_original_response()
        message = await interaction.followup.send(
            embed=preview_embed(request.description, preview),
            view=preview_view(state),
            ephemeral=True,
            wait=True,
            allowed_mentions=NO_MENTIONS,
        )
        task = asyncio.create_task(self._expire(message, lasts), name=f"preview-{message.id}")
        self._held[message.id] = (message, task)

    async def _expire(self, message: discord.WebhookMessage, lasts: float) -> None:
        await asyncio.sleep(lasts)
        self._held.pop(message.id, None)
        await _say(message, _(EXPIRED))  # in the language the preview was asked in

    async def finish(self, message_id: int, text: str | None) -> None:
        """The preview was used: stop its expiry and, with `text`, say what became of it."""
        held = self._held.pop(message_id, None)
        if held is None:
            return  # shown before a restart: it expires by its age
        message, task = held
        task.cancel()
        if text is not None:
            await _say(message, text)

    async def cog_unload(self) -> None:
        for _message, task in self._held.values():
            task.cancel()
        self._held.clear()

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        form = submitted_form(interaction)
        state = parse_modal_custom_id(form.custom_id) if form else None
        if form is None or state is None:
            return
        await defer_public(interaction)
        async with answering(interaction):
            if interaction.user.id != state.user_id:
                raise PicassoError(NOT_YOURS)
            prompt = form.values.get("prompt", "").strip()
            check_text(prompt)
            if not prompt:
                raise PicassoError(EMPTY_PROMPT)
            try:
                words, _prompt = _read(interaction.message)
            except PicassoError:  # the form outlived its preview: the prompt is the words
                words = clip(prompt, MAX_DESCRIPTION_CHARS)
            await _paint(interaction, state, words, prompt, text=prompt)


async def _say(message: discord.WebhookMessage, text: str) -> None:
    """Replace the private preview with `text` (Discord problems are logged, not raised)."""
    try:
        await message.edit(content=text, embed=None, view=None, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException as error:
        log.warning("could not update preview %d: %s", message.id, error)

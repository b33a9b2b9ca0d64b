"""Hostile input, part 1: whatever a person types — a description, a reply, the Refine
form, an admin's words — gets a defined answer (a request, or one sentence) and comes back
only where it cannot ping, within Discord's limits. (What reaches the chat model and the
content check: test_hostile_prompts.py.)"""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from unittest.mock import AsyncMock

import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import controls, lineage
from bot.errors import PicassoError
from bot.imaging.pipeline import EXPANSION_FALLBACK_NOTE, ImageResult
from bot.imaging.pricing import DEFAULT_PRICES, TokenUsage
from bot.imaging.providers import GeneratedImage
from bot.models import GuildSettings, ImageRequest, Style, Who, check_description
from bot.policy import (
    BLOCKED_WORD,
    STYLE_GUIDE_MAX,
    Refused,
    check_access,
    default_request,
)
from bot.storage.counting import Usage as Spent
from bot.storage.job_records import JobKind
from cogs.admin.render import blocked_words_list, settings_embed, style_guide_sentence
from cogs.common.answering import NO_MENTIONS, reply
from cogs.common.forms import modal_values
from cogs.common.render import MESSAGE_LIMIT
from cogs.history.render import chain_embed
from cogs.pictures.orders import MAX_INSTRUCTION_CHARS, check_instruction, prompt_text
from cogs.pictures.refine import NOTHING_CHANGED, _submit
from cogs.pictures.render import Origin, result_embed
from cogs.pictures.replies import instruction_from
from tests.lookalikes import spelt_differently
from tests.storage.records import picture_record
from tests.unit.hostile import (
    HOSTILE_EXAMPLES,
    assert_fits,
    assert_sentence,
    hostile_text,
    interaction_double,
    pieces,
    storable,
)

QUICK = settings(max_examples=80, deadline=None)
ROOT = Path(__file__).resolve().parents[2]
KNOWN_MODELS = tuple(DEFAULT_PRICES)
PERSON = Who(user_id=7, guild_id=5001, channel_id=5002)
ascii_phrases = st.from_regex(r"[A-Za-z]{1,10}( [A-Za-z]{1,10}){0,2}", fullmatch=True)


# --- 1. every input gets a defined answer ---------------------------------------------------


@QUICK
@given(hostile_text)
def test_a_description_or_a_change_is_refused_with_a_sentence_or_taken_as_typed(
    text: str,
) -> None:
    for typed in (text, text.strip()):  # /imagine strips what Discord delivers
        try:
            check_description(typed)
        except PicassoError as error:
            assert_sentence(error)
            with pytest.raises(PicassoError):
                ImageRequest(typed)
        else:
            assert default_request(GuildSettings(), typed).description == typed
    try:
        check_instruction(text)
    except PicassoError as error:
        assert_sentence(error)
    else:
        assert text.strip() and len(text) <= MAX_INSTRUCTION_CHARS


@QUICK
@given(before=hostile_text, after=hostile_text, bot_id=st.integers(0, 2**64 - 1))
def test_a_reply_loses_every_mention_of_the_bot_and_keeps_the_rest(
    before: str, after: str, bot_id: int
) -> None:
    instruction = instruction_from(f"{before}<@{bot_id}><@!{bot_id}>{after}", bot_id)
    assert f"<@{bot_id}>" not in instruction and f"<@!{bot_id}>" not in instruction
    assert instruction == instruction.strip()


@QUICK
@given(typed=st.lists(st.one_of(pieces, hostile_text), max_size=4), text=hostile_text)
def test_access_is_granted_or_refused_with_a_sentence(typed: list[str], text: str) -> None:
    words = tuple(controls.split_words(",".join(typed)))
    for who in (PERSON, Who(7, None, 5002)):
        try:
            check_access(GuildSettings(blocked_words=words), who, text)
        except Refused as error:
            assert_sentence(error)


@QUICK
@given(word=ascii_phrases, before=hostile_text, after=hostile_text)
def test_a_blocked_word_is_refused_whatever_its_case_or_spacing(
    word: str, before: str, after: str
) -> None:
    blocked = GuildSettings(blocked_words=(word,))
    for spelled in (word, word.swapcase(), " \t ".join(word.split())):
        with pytest.raises(Refused):
            check_access(blocked, PERSON, f"{before} {spelled} {after}")


@pytest.mark.parametrize("hidden", ["c\u200bat", "ca\u200dt", "c\u2066at"])
def test_a_blocked_word_with_invisible_characters_inside_is_refused(hidden: str) -> None:
    with pytest.raises(Refused):
        check_access(GuildSettings(blocked_words=("cat",)), PERSON, f"a {hidden} on a mat")


@QUICK
@given(spelt=spelt_differently("dragon"), before=hostile_text, after=hostile_text)
def test_a_blocked_word_spelt_with_look_alikes_is_refused_with_its_sentence(
    spelt: str, before: str, after: str
) -> None:
    """Fullwidth, mathematical, Cyrillic or Greek letters, invisibles and marks inside, any
    case (`tests.lookalikes`): the same refusal as the plain word, whatever is around it."""
    blocked = GuildSettings(blocked_words=("dragon",))
    for who in (PERSON, Who(7, 5001, 5002, is_admin=True)):
        with pytest.raises(Refused) as refused:
            check_access(blocked, who, f"{before} {spelt} {after}")
        assert refused.value.msgid == BLOCKED_WORD
    with pytest.raises(PicassoError) as refused_guide:
        controls.change_style_guide(blocked, f"muted colours, {spelt}")
    assert refused_guide.value.msgid == controls.STYLE_GUIDE_BLOCKED


@QUICK
@given(hostile_text)
def test_an_admins_words_are_applied_or_refused_with_a_sentence(text: str) -> None:
    words = controls.split_words(text)
    assert all(word and word == " ".join(word.split()) and "," not in word for word in words)
    changes = (
        lambda s: controls.change_blocked_words(s, add=words),
        lambda s: controls.change_blocked_words(s, remove=words),
        lambda s: controls.change_defaults(s, known_models=KNOWN_MODELS, styles=text),
        lambda s: controls.change_defaults(s, known_models=KNOWN_MODELS, model=text),
        lambda s: controls.change_style_guide(s, text),
    )
    for change in changes:
        try:
            changed = change(GuildSettings())
        except PicassoError as error:  # BadSetting
            assert_sentence(error)
            continue
        assert GuildSettings.from_json(changed.to_json()) == changed
        assert len(changed.style_guide) <= STYLE_GUIDE_MAX
        assert all(len(word) <= controls.BLOCKED_WORD_MAX_CHARS for word in changed.blocked_words)


@QUICK
@given(instruction=st.none() | hostile_text, prompt=hostile_text, labelled=st.booleans())
def test_a_submitted_form_is_read_back_exactly(
    instruction: str | None, prompt: str, labelled: bool
) -> None:
    inputs = [
        {"type": 4, "custom_id": "instruction", "value": instruction},
        {"type": 4, "custom_id": "prompt", "value": prompt},
    ]
    rows = [
        {"type": 18, "component": one} if labelled else {"type": 1, "components": [one]}
        for one in inputs
    ]
    assert modal_values(rows) == {"instruction": instruction or "", "prompt": prompt}


PICTURE = picture_record()


@pytest.mark.parametrize(
    ("instruction", "prompt"),
    [(text, "") for text in HOSTILE_EXAMPLES]
    + [("", text) for text in HOSTILE_EXAMPLES]
    + [("  ", f"  {PICTURE.prompt}  ".replace(" ", "\n  ")), ("\x00", "\u200b")],
)
async def test_the_refine_form_becomes_a_refinement_a_prompt_or_one_sentence(
    instruction: str, prompt: str
) -> None:
    """A change wins; else a prompt edited by hand is painted as typed; else one sentence."""
    studio = SimpleNamespace(
        picture=AsyncMock(return_value=PICTURE),
        settings_for=AsyncMock(return_value=GuildSettings()),
    )
    bot = SimpleNamespace(studio=studio, jobs=SimpleNamespace(submit=AsyncMock()))
    interaction = interaction_double(user_id=PICTURE.requester_id, client=bot)
    interaction.created_at = datetime(2026, 11, 26, tzinfo=UTC)
    try:
        await _submit(interaction, PICTURE.id, {"instruction": instruction, "prompt": prompt})
    except PicassoError as error:
        assert_sentence(error)
        if "\x00" in instruction + prompt:
            assert "a character I can't use" in error.user_message
        elif not instruction.strip():
            assert error.user_message == NOTHING_CHANGED
        bot.jobs.submit.assert_not_awaited()
        return
    order = bot.jobs.submit.await_args.args[0]
    typed = instruction.strip() or prompt.strip()
    assert (order.kind, order.text) == (
        JobKind.REFINE if instruction.strip() else JobKind.PROMPT,
        typed,
    )


@QUICK
@given(instruction=hostile_text, spelt=spelt_differently("dragon"))
async def test_the_refine_forms_two_fields_are_both_checked_for_blocked_words(
    instruction: str, spelt: str
) -> None:
    """A change beside an edited prompt: what admission checks holds both, so a blocked word
    in either is refused (the prompt field went unchecked once)."""
    settings_ = GuildSettings(blocked_words=("dragon",))
    studio = SimpleNamespace(
        picture=AsyncMock(return_value=PICTURE), settings_for=AsyncMock(return_value=settings_)
    )
    bot = SimpleNamespace(studio=studio, jobs=SimpleNamespace(submit=AsyncMock()))
    interaction = interaction_double(user_id=PICTURE.requester_id, client=bot)
    interaction.created_at = datetime(2026, 11, 26, tzinfo=UTC)
    change = storable(instruction)[:MAX_INSTRUCTION_CHARS].strip() or "make it night"
    prompt = f"{PICTURE.prompt} A {spelt} circles overhead."
    await _submit(interaction, PICTURE.id, {"instruction": change, "prompt": prompt})
    order = bot.jobs.submit.await_args.args[0]
    assert order.kind is JobKind.REFINE and order.prompt == prompt
    with pytest.raises(Refused):
        check_access(settings_, PERSON, order.text)


# --- 3. what echoes text never pings, and always fits -------------------------------------


descriptions = hostile_text.map(lambda text: storable(text)[:1000]).filter(str.strip)
prompts = hostile_text.filter(str.strip)  # a prompt is never blank: see bot.imaging.prompts
kinds = st.sampled_from([None, *lineage.KIND_LABELS])


@QUICK
@given(
    description=descriptions,
    prompt=prompts,
    requester=hostile_text,
    change=hostile_text,
    kind=kinds,
    note=st.sampled_from([None, EXPANSION_FALLBACK_NOTE]),
)
def test_a_result_embed_fits_discord_whatever_was_typed(
    description: str, prompt: str, requester: str, change: str, kind: str | None, note: str | None
) -> None:
    image = GeneratedImage(b"png", TokenUsage(1, 0, 1), "gpt-image-2")
    request = ImageRequest(description, style=Style.WATERCOLOR)
    result = ImageResult(request, prompt, True, note, image, 1, change.strip()[:120])
    origin = Origin(kind, "https://discord.com/channels/1/2/3", "2 of 3") if kind else None
    assert_fits(result_embed(result, requester, None, "picture.png", origin))


@QUICK
@given(description=descriptions, prompt=prompts, instruction=st.none() | hostile_text)
def test_a_prompt_and_a_chain_shown_to_people_fit_discord(
    description: str, prompt: str, instruction: str | None
) -> None:
    picture = picture_record(description=description, prompt=prompt, instruction=instruction)
    assert len(prompt_text(picture)) <= MESSAGE_LIMIT
    assert_fits(chain_embed([picture] * 20))


@QUICK
@given(
    base=hostile_text.map(lambda text: text[:44].replace(",", " ")),
    count=st.integers(1, 200),
    guide=hostile_text,
)
def test_what_admins_read_back_fits_discord(base: str, count: int, guide: str) -> None:
    words = controls.split_words(",".join(f"{base}{n}" for n in range(count)))
    blocked = controls.change_blocked_words(GuildSettings(), add=words)
    chosen = blocked.replace(style_guide=" ".join(guide.split())[:STYLE_GUIDE_MAX])
    assert len(blocked_words_list(chosen)) <= MESSAGE_LIMIT
    assert len(style_guide_sentence(chosen)) <= MESSAGE_LIMIT
    for dm_scope in (False, True):
        embed = settings_embed(
            chosen, Spent(), Spent(), dm_scope=dm_scope, bot_model="gpt-image-2", zone="UTC"
        )
        assert_fits(embed)


SENDS = {"send", "send_message", "edit", "edit_original_response", "edit_message"}


def _sends(path: Path) -> list[ast.Call]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in SENDS
    ]


def test_every_message_the_bot_sends_or_edits_allows_no_mentions() -> None:
    """Each send/edit in cogs/ passes NO_MENTIONS, which is `AllowedMentions.none()`, and the
    bot's own default is none too: user text never pings, wherever it is echoed."""
    assert NO_MENTIONS.to_dict() == discord.AllowedMentions.none().to_dict() == {"parse": []}
    calls = [(path, call) for path in (ROOT / "cogs").rglob("*.py") for call in _sends(path)]
    assert len(calls) >= 15  # the check still sees the call sites
    for path, call in calls:
        given_ = {keyword.arg: ast.unparse(keyword.value) for keyword in call.keywords}
        where = f"{path.relative_to(ROOT)}:{call.lineno}"
        assert given_.get("allowed_mentions") == "NO_MENTIONS", where
    app = (ROOT / "bot" / "app.py").read_text(encoding="utf-8")
    assert "allowed_mentions=discord.AllowedMentions.none()" in app


ANSWERED = discord.InteractionResponseType.channel_message
DEFERRED = discord.InteractionResponseType.deferred_channel_message


@pytest.mark.parametrize("text", HOSTILE_EXAMPLES)
@pytest.mark.parametrize("kind", [None, DEFERRED, ANSWERED], ids=["fresh", "deferred", "answered"])
async def test_a_reply_echoing_text_allows_no_mentions_however_far_the_answer_got(
    text: str, kind: discord.InteractionResponseType | None
) -> None:
    interaction = interaction_double(user_id=1, done=kind is not None, kind=kind)
    await reply(interaction, text)
    calls = (
        list(interaction.response.send_message.await_args_list)
        + list(interaction.edit_original_response.await_args_list)
        + list(interaction.followup.send.await_args_list)
    )
    assert len(calls) == 1
    assert calls[0].kwargs["allowed_mentions"].to_dict() == {"parse": []}

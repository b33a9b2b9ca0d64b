"""The translation catalogs (bot/locales) against the code: every sentence the sources mark
(and every string of the slash commands) is translated in every language with the same
`{placeholders}`, the compiled `.mo` files match their `.po`, and sentences people read are
marked for translation at all."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, LOCALES_DIR

ROOT = Path(__file__).resolve().parents[2]
Key = tuple[str | None, str]  # (msgctxt, msgid)
FIELDS = re.compile(r"\{(\w*)[^{}]*\}")


@cache
def extracted() -> dict[Key, str | tuple[str, ...]]:
    """What `pybabel extract -F babel.cfg` finds: {(context, msgid): message}."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[Key, str | tuple[str, ...]] = {}
    for _file, _line, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found[(context, msgid)] = message
    return found


def catalog(language: str) -> Catalog:
    with (LOCALES_DIR / language / "LC_MESSAGES" / "picasso.po").open("rb") as po:
        return read_po(po, locale=language)


def fields(text: str) -> set[str]:
    return set(FIELDS.findall(text))


def test_the_sources_mark_sentences_and_the_commands_give_their_strings() -> None:
    found = extracted()
    assert (None, "Nothing was erased.") in found  # a marked sentence (cogs)
    assert (None, "{refusal} — {when}.") in found  # a marked sentence (bot)
    assert ("command name", "imagine") in found  # a command's name, from the commands
    assert (None, "oil painting") in found  # a choice, derived from bot.models


def test_the_template_has_every_message() -> None:
    with (LOCALES_DIR / "picasso.pot").open("rb") as pot:
        template = {(m.context, m.id[0] if isinstance(m.id, tuple) else m.id) for m in read_po(pot)}
    missing = sorted(str(key) for key in set(extracted()) - template)
    assert not missing, f"run pybabel extract (README, Translations): {missing}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_with_the_same_placeholders(language: str) -> None:
    translations = catalog(language)
    problems = []
    for (context, msgid), message in extracted().items():
        entry = translations.get(message if isinstance(message, str) else msgid, context)
        if entry is None:
            problems.append(f"missing: {msgid!r}")
            continue
        forms = tuple(entry.string) if isinstance(entry.string, tuple | list) else (entry.string,)
        if entry.fuzzy or not all(forms):
            problems.append(f"untranslated or fuzzy: {msgid!r}")
            continue
        wanted = fields(msgid)
        problems.extend(
            f"placeholders of {form!r} are not those of {msgid!r}"
            for form in forms
            if fields(str(form)) != wanted
        )
    assert not problems, f"{language} (README, Translations): " + "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalog_is_the_po_file(language: str) -> None:
    def messages(source: Catalog) -> dict[Key, tuple[str, ...]]:
        return {
            (m.context, m.id if isinstance(m.id, str) else m.id[0]): (
                (m.string,) if isinstance(m.string, str) else tuple(m.string)
            )
            for m in source
            if m.id and not m.fuzzy and m.string and all(m.string)
        }

    with (LOCALES_DIR / language / "LC_MESSAGES" / "picasso.mo").open("rb") as mo:
        compiled = read_mo(mo)
    assert messages(compiled) == messages(catalog(language)), "run pybabel compile"


# --- sentences that are not marked --------------------------------------------------------

# Not read in Discord: for the operator (English) or for the models (never translated).
NEVER = {
    "bot/__main__.py",
    "bot/cli.py",
    "bot/checks.py",
    "bot/config.py",
    "bot/logs.py",
    "bot/imaging/prompts.py",
}
# Still to mark: their sentences are shown in English to everyone.
PENDING: set[str] = set()
ERRORS = {"PicassoError", "Refused", "BadSetting", "NotAllowed", "LimitReached"}
SHOWN = {"content", "title", "value", "label", "text", "placeholder"}
SAYING = {"reply", "send", "send_message", "say"}
WORDY = re.compile(r"[A-Za-z]{2,}\s+\S*[A-Za-z]{2,}")


def _sentence(node: ast.expr) -> bool:
    """A literal (or f-string) with words in it: English someone would read."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(WORDY.search(node.value))
    if isinstance(node, ast.JoinedStr):
        text = " ".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
        return bool(re.search(r"[A-Za-z]{3,}", text))
    return False


def _called(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def unmarked(tree: ast.Module) -> Iterator[str]:
    """Where an English sentence reaches a person without passing through the catalogs."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _called(node)
        if name in ERRORS and node.args and _sentence(node.args[0]):
            yield f"line {node.lineno}: {name}(…) with an unmarked sentence"
        if name in SAYING and any(_sentence(arg) for arg in node.args):
            yield f"line {node.lineno}: {name}(…) says an unmarked sentence"
        for keyword in node.keywords:
            if keyword.arg in SHOWN and _sentence(keyword.value):
                yield f"line {node.lineno}: {name}({keyword.arg}=…) unmarked"
    for statement in tree.body:  # module-level sentences, shown elsewhere
        value = statement.value if isinstance(statement, ast.Assign | ast.AnnAssign) else None
        if (
            isinstance(value, ast.Constant)
            and isinstance(value.value, str)
            and WORDY.search(value.value)
            and re.search(r"[.!?…]$", value.value.strip())
        ):
            yield f"line {statement.lineno}: a module-level sentence not marked with N_()"


SOURCES = sorted(
    str(path.relative_to(ROOT)) for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("cogs/**/*.py")]
)


@pytest.mark.parametrize("source", sorted(set(SOURCES) - NEVER - PENDING))
def test_sentences_people_read_are_marked_for_translation(source: str) -> None:
    found = list(unmarked(ast.parse((ROOT / source).read_text(), source)))
    assert not found, f"{source}: wrap them in _() or N_() (bot/i18n.py): {found}"


def test_the_lists_name_real_files() -> None:
    assert (NEVER | PENDING) <= set(SOURCES)


def test_the_check_finds_sentences_that_skip_the_catalogs() -> None:
    source = """
GONE = "That picture is gone."
MARKED = N_("That picture is gone too.")
async def show(interaction, n):
    await reply(interaction, "Deleted the picture.")
    raise PicassoError(f"That is too long: keep it under {n} characters.")
    return Embed(title="Your pictures", description=_("Your pictures"))
"""
    found = sorted(place.split(":")[0] for place in unmarked(ast.parse(source)))
    assert found == ["line 2", "line 5", "line 6", "line 7"]

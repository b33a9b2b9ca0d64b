"""The one check of the words people type against a server's blocked words. Pure: no Discord.

Both sides are folded the same way (`fold`) before they are compared, so a word cannot get
past by its spelling: NFKC (fullwidth and mathematical letters become plain ones), case
folding, invisible characters dropped (format characters and Unicode's default-ignorable code
points), then the confusables skeleton of UTS #39 §4 (skeleton(X) = NFD(map(NFD(X))), each
character replaced by its prototype from `bot/data/confusables.txt`) and the marks left on
plain Latin letters dropped (d̶r̈ágon is dragon).

Case folding before the skeleton keeps ДРАКОН and дракон one word, but turns some capital
look-alikes into other letters (Greek capital Ν folds to ν, which reads v). So a word is also
looked for in `fold_latin`, where each character that looks like plain Latin letters as typed
is those letters (DRAGΟΝ with a Greek Ο and Ν is dragon) and a capital I, which reads i in
lower case but l as typed (kiII), matches either.

Blocked words and phrases match whole: neither end of a match may touch a letter or digit
of the text as it was typed, and a phrase's words may be parted by any run of spaces."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

CONFUSABLES: Final = Path(__file__).resolve().parent / "data" / "confusables.txt"
EITHER_I_OR_L: Final = "\ufdd0"  # a noncharacter: never in text worth keeping
_WORD: Final = re.compile(r"\w")
# Default_Ignorable_Code_Point (Unicode's DerivedCoreProperties.txt) outside category Cf.
_IGNORABLE_RANGES: Final = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian variation selectors and vowel separator
    (0x2065, 0x2065),  # unassigned, reserved as invisible
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),  # tags and variation selectors supplement
)


class MissingData(RuntimeError):
    """The confusables table the package ships is not there: the install is broken."""


@functools.cache
def confusables() -> dict[str, str]:
    """UTS #39's confusables table: each source character → its prototype (read once)."""
    try:
        lines = CONFUSABLES.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise MissingData(
            f"{CONFUSABLES} is missing: the package must ship bot/data/confusables.txt "
            "(pyproject.toml [tool.setuptools.package-data])"
        ) from None
    table: dict[str, str] = {}
    for line in lines:
        data = line.split("#", 1)[0].strip()
        if not data:
            continue
        source, target, *_rest = data.split(";")
        table[chr(int(source, 16))] = "".join(chr(int(code, 16)) for code in target.split())
    if not table:
        raise MissingData(f"{CONFUSABLES} holds no mappings")
    return table


def _ignorable(char: str) -> bool:
    """Invisible: a format character (zero-width, direction marks, soft hyphen…) or another
    default-ignorable code point (variation selectors, fillers, tags)."""
    if unicodedata.category(char) == "Cf":
        return True
    code = ord(char)
    return any(low <= code <= high for low, high in _IGNORABLE_RANGES)


def skeleton(text: str) -> str:
    """UTS #39's skeleton: NFD, each character by its prototype, NFD again."""
    table = confusables()
    mapped = "".join(table.get(char, char) for char in unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFD", mapped)


def _fold_string(text: str) -> str:
    """Case folded, then the skeleton, case folded again (some prototypes are capitals: 0 → O),
    without invisible characters."""
    return "".join(c for c in skeleton(text.casefold()).casefold() if not _ignorable(c))


@functools.lru_cache(maxsize=65_536)
def _fold_char(char: str) -> str:
    """One (NFKD-normalised) character as `fold` has it."""
    return "" if _ignorable(char) else _fold_string(char)


@functools.lru_cache(maxsize=65_536)
def _fold_char_latin(char: str) -> str:
    """One (NFKD-normalised) character as `fold_latin` has it: the plain Latin letters or
    digits it looks like as typed, if any (the skeleton before case folding: Greek capital Ν
    is n, though ν reads v), else as `fold` has it. A character that reads i in lower case
    but l as typed (the capital I) is `EITHER_I_OR_L`."""
    if _ignorable(char) or char == EITHER_I_OR_L:
        return ""
    folded = _fold_char(char)
    as_typed = _fold_string(skeleton(char))
    if folded == "i" and as_typed == "l":
        return EITHER_I_OR_L
    return as_typed if _plain(as_typed) else folded


def _plain(text: str) -> bool:
    """Plain Latin letters and digits only (and something)."""
    return bool(text) and all(c.isascii() and c.isalnum() for c in text)


@dataclass(frozen=True, slots=True)
class Folded:
    """A folded text, and for each of its characters whether it is part of a word."""

    text: str
    in_word: tuple[bool, ...]


def _wordish(char: str, piece: str) -> bool:
    """Part of a word as typed: a letter or digit, or a look-alike of plain ones (| for l)."""
    return bool(_WORD.match(char)) or piece == EITHER_I_OR_L or _plain(piece)


def _folded(text: str, fold_char: Callable[[str], str]) -> Folded:
    """`text` after NFKD, each character folded by `fold_char`, the marks on plain Latin
    letters dropped; each character knows whether the one it came from was part of a word."""
    chars: list[str] = []
    in_word: list[bool] = []
    # NFKD: NFKC, then the NFD the skeleton starts with; one character at a time.
    for char in unicodedata.normalize("NFKD", text):
        mark = _mark(char)
        if mark and _on_latin(chars) and _decoration(char):
            continue  # an accent or an overlay on a plain Latin letter (ͅ, though ι folded)
        piece = fold_char(char)
        if not piece:
            continue
        wordish = (bool(in_word) and in_word[-1]) if mark else _wordish(char, piece)
        for c in piece:
            if _mark(c) and _on_latin(chars):
                continue  # a prototype's mark on a plain Latin letter (Ѳ is O̵)
            chars.append(c)
            in_word.append(wordish)
    return Folded("".join(chars), tuple(in_word))


def _mark(char: str) -> bool:
    """A combining mark (nonspacing, spacing or enclosing)."""
    return unicodedata.category(char).startswith("M")


@functools.lru_cache(maxsize=4_096)
def _decoration(mark: str) -> bool:
    """A mark that looks like a mark (not one the table reads as a letter: ం is o)."""
    return all(_mark(c) for c in skeleton(mark))


def _on_latin(chars: list[str]) -> bool:
    """The last base character (before any marks) is plain ASCII (or a capital I)."""
    for c in reversed(chars):
        if not _mark(c):
            return c.isascii() or c == EITHER_I_OR_L
    return False


def fold(text: str) -> str:
    """`text` as the matcher compares it: NFKC, case folded, invisible characters dropped,
    the UTS #39 skeleton (case folded again), and the marks on plain Latin letters dropped.
    Raises `MissingData` if the confusables table is missing."""
    return _folded(text, _fold_char).text


def fold_latin(text: str) -> str:
    """`text` with each character as the plain Latin letters it looks like as typed, where it
    looks like some (ΚΙLLΕR is k?ller, ? being `EITHER_I_OR_L`), else as in `fold`."""
    return _folded(text, _fold_char_latin).text


FOLDS: Final = (_fold_char, _fold_char_latin)
_EITHER: Final = {
    "i": f"[i{EITHER_I_OR_L}]",
    "l": f"[l{EITHER_I_OR_L}]",
    EITHER_I_OR_L: f"[il{EITHER_I_OR_L}]",
}


@functools.lru_cache(maxsize=4_096)
def _pattern(word: str, fold_char: Callable[[str], str]) -> re.Pattern[str] | None:
    """What `word` (a blocked word or phrase) looks like folded; None if nothing is left."""
    parts = _folded(word, fold_char).text.split()
    if not parts:
        return None
    # Any run of spaces between a phrase's words matches, so doubling a space evades nothing.
    return re.compile(r"\s+".join(_spelt(part) for part in parts))


def _spelt(part: str) -> str:
    """A folded word as a regular expression: a capital I is an i or an l."""
    return "".join(_EITHER.get(char) or re.escape(char) for char in part)


def _found(pattern: re.Pattern[str], text: Folded) -> bool:
    """`pattern` occurs in `text` with no part of a word touching either end."""
    at = 0
    while (match := pattern.search(text.text, at)) is not None:
        start, end = match.span()
        before = start > 0 and text.in_word[start - 1]
        after = end < len(text.text) and text.in_word[end]
        if not before and not after:
            return True
        at = start + 1
    return False


def blocked_word_in(text: str, words: Iterable[str]) -> str | None:
    """The first of `words` (blocked words or phrases) found in `text` as a whole word or
    phrase, in any case and any look-alike spelling, else None. Both sides are compared in
    both folds (`fold`, `fold_latin`): a word found in either is found."""
    words = tuple(words)
    if not words:
        return None
    typed = [(fold_char, _folded(text, fold_char)) for fold_char in FOLDS]
    for word in words:
        for fold_char, folded in typed:
            pattern = _pattern(word, fold_char)
            if pattern is not None and _found(pattern, folded):
                return word
    return None

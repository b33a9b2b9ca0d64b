"""Look-alike spellings of a word, as a hypothesis strategy: each letter in any case, as a
fullwidth or mathematical letter, or as any character Unicode's confusables table (the
bot's own copy, bot/data/confusables.txt) gives that letter as prototype — Cyrillic а,
Greek ο, Cherokee, Lisu… — with invisible characters and combining marks between letters.

The variants are read from the table itself, not from the code under test: a source whose
prototype is the letter (in either case), unless NFKC (which comes first) turns it into
something else (ϲ → σ, ſ → s)."""

from __future__ import annotations

import string
import unicodedata
from functools import cache
from typing import Final

from hypothesis import strategies as st

from bot.words import confusables

INVISIBLE: Final = (
    "\u200b",  # zero-width space
    "\u200c",  # zero-width non-joiner
    "\u200d",  # zero-width joiner
    "\u2060",  # word joiner
    "\u00ad",  # soft hyphen
    "\ufeff",  # zero-width no-break space
    "\u034f",  # combining grapheme joiner
    "\ufe0f",  # variation selector 16
    "\u180e",  # Mongolian vowel separator
)
# Accents and overlays a letter can carry and still read as itself (d̶, ä, ǵ, o̲).
MARKS: Final = tuple(chr(code) for code in range(0x0300, 0x0370) if code not in (0x034F,))
FULLWIDTH_A: Final = 0xFF41
MATH_BOLD_A: Final = 0x1D41A  # 𝐚
MATH_BOLD_CAPITAL_A: Final = 0x1D400  # 𝐀


def _prototype(char: str) -> str | None:
    """The plain letter `char` stands for after NFKC, by the table (None: none)."""
    normal = unicodedata.normalize("NFKC", char)
    if len(normal) == 1 and normal in string.ascii_letters:
        return normal.lower()
    mapped = confusables().get(normal)
    return mapped.casefold() if mapped and len(mapped) == 1 else None


@cache
def variants(letter: str) -> tuple[str, ...]:
    """Every spelling of one plain lowercase `letter` the strategy may choose."""
    index = string.ascii_lowercase.index(letter)
    made = [
        letter,
        letter.upper(),
        chr(FULLWIDTH_A + index),
        chr(FULLWIDTH_A - 0x20 + index),  # fullwidth capital
        chr(MATH_BOLD_A + index),
        chr(MATH_BOLD_CAPITAL_A + index),
    ]
    table = sorted(
        source
        for source, target in confusables().items()
        if target.casefold() == letter and _prototype(source) == letter
    )
    return tuple(dict.fromkeys(made + table))


def _marks_are_decoration(mark: str) -> bool:
    """A mark the table leaves a mark (some are confusable with spacing characters)."""
    target = confusables().get(mark, mark)
    return all(unicodedata.category(c).startswith("M") for c in target)


DECORATIONS: Final = tuple(mark for mark in MARKS if _marks_are_decoration(mark))


@st.composite
def lookalike(draw: st.DrawFn, word: str) -> str:
    """`word` (plain lowercase letters) spelt with look-alikes, invisibles and marks."""
    spelt = []
    for position, letter in enumerate(word):
        if position and draw(st.booleans()):
            spelt.append(draw(st.sampled_from(INVISIBLE)))
        spelt.append(draw(st.sampled_from(variants(letter))))
        if draw(st.integers(0, 3)) == 0:
            spelt.append(draw(st.sampled_from(DECORATIONS)))
    return "".join(spelt)


def spelt_differently(word: str) -> st.SearchStrategy[str]:
    """`lookalike(word)`, never the plain word itself."""
    return lookalike(word).filter(lambda spelt: spelt != word)

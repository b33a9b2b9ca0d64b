"""bot/words.py: the one check of typed words against blocked words — whole words in any
case and any look-alike spelling, folded by NFKC, case folding and UTS #39's skeleton."""

from __future__ import annotations

import hashlib
import re
import string
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import words
from bot.words import blocked_word_in, fold, skeleton
from tests.lookalikes import spelt_differently, variants

ROOT = Path(__file__).resolve().parents[3]
QUICK = settings(max_examples=300, deadline=None)
BLOCKED = ("dragon", "sea monster")


# --- the vendored table -----------------------------------------------------------------------


def test_the_table_is_the_unchanged_copy_its_readme_names() -> None:
    readme = (ROOT / "bot" / "data" / "README.md").read_text()
    named = re.search(r"`confusables\.txt` \|[^|]*\| 13\.0\.0 \(2020-02-13\) \| `(\w{64})`", readme)
    assert named is not None
    assert hashlib.sha256(words.CONFUSABLES.read_bytes()).hexdigest() == named[1]
    assert "Version: 13.0.0" in words.CONFUSABLES.read_text(encoding="utf-8-sig")[:400]


def test_the_wheel_ships_the_table() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = pyproject["tool"]["setuptools"]["package-data"]["bot"]
    assert "data/confusables.txt" in shipped
    assert words.CONFUSABLES == ROOT / "bot" / "data" / "confusables.txt"


def test_without_the_table_the_check_fails_loudly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(words, "CONFUSABLES", tmp_path / "confusables.txt")
    words.confusables.cache_clear()
    try:
        with pytest.raises(words.MissingData, match=r"confusables\.txt"):
            words.confusables()
    finally:
        monkeypatch.undo()
        words.confusables.cache_clear()
    assert len(words.confusables()) > 6_000


def test_the_table_is_read_as_unicode_wrote_it() -> None:
    table = words.confusables()
    assert table["\u0430"] == "a"  # CYRILLIC SMALL LETTER A
    assert table["m"] == "rn"  # a sequence
    assert table["0"] == "O" and table["1"] == "l" and table["I"] == "l"
    assert "\ufeff05AD" not in "".join(table)  # the byte-order mark is not a character


# --- the skeleton and the fold ---------------------------------------------------------------


def test_the_skeleton_is_uts_39s() -> None:
    assert skeleton("раураl") == skeleton("paypal") == "paypal"  # Cyrillic р, а, у
    assert skeleton("é") == "e\u0301"  # NFD at both ends
    assert skeleton("ｏ") == "o"
    assert skeleton("m") == skeleton("rn") == "rn"


@pytest.mark.parametrize(
    "spelt",
    [
        "dragon",
        "DRAGON",
        "DrAgOn",
        "ｄｒａｇｏｎ",  # fullwidth
        "ＤＲＡＧＯＮ",
        "𝐝𝐫𝐚𝐠𝐨𝐧",  # mathematical bold
        "𝔡𝔯𝔞𝔤𝔬𝔫",  # mathematical fraktur
        "dr\u0430g\u043en",  # Cyrillic а and о
        "dr\u03b1g\u03bfn",  # Greek α and ο
        "d\u200dr\u200ba\u2060g\u00ado\ufe0fn",  # invisible characters inside
        "d\u0336r\u0308a\u0301gon",  # combining marks
        "drag0n",
    ],
)
def test_look_alike_spellings_fold_to_the_same_word(spelt: str) -> None:
    assert fold(spelt) == fold("dragon") == "dragon"


def test_case_folding_keeps_each_script_one_word() -> None:
    assert fold("ДРАКОН") == fold("дракон")
    assert fold("ΝΕΡΟ") == fold("νερο")
    assert fold("STRASSE") == fold("straße")


@pytest.mark.parametrize(
    "spelt",
    [
        "DRAG\u039f\u039d",  # Greek capital Ο and Ν (ν, its small letter, reads v)
        "DR\u0410G\u041eN",  # Cyrillic capital А and О
        "kiII",  # a capital I for each l
        "KILL",
        "\u039a\u0399LL",  # Greek capital Κ and Ι
    ],
)
def test_capital_look_alikes_are_found(spelt: str) -> None:
    assert blocked_word_in(f"a {spelt} here", ("dragon", "kill")) is not None


# --- whole words ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("a Kraken rises", "kraken"),
        ("kraken!", "kraken"),
        ("krakens everywhere", None),
        ("an un-kraken-like sea", "kraken"),
        ("the sea \t monster", "sea monster"),
        ("the seamonster", None),
        ("a kraken—and a gull", "kraken"),  # the em dash's prototype is a letter (ー)
        ("a kraken% sure", "kraken"),  # and the percent sign's (º/₀)
        ("a k\u200braken", "kraken"),
        ("the ｓｅａ\u3000ｍｏｎｓｔｅｒ", "sea monster"),  # an ideographic space
        ("krak\u0435n", "kraken"),  # Cyrillic е
        ("krakén", "kraken"),
        ("kraken's", "kraken"),
        ("ＫＲＡＫＥＮＳ", None),
        ("k r a k e n", None),
        ("", None),
    ],
)
def test_blocked_words_match_whole_words_in_any_case(text: str, found: str | None) -> None:
    assert blocked_word_in(text, ("kraken", "sea monster")) == found


def test_a_blocked_word_is_spelt_any_way_too() -> None:
    assert blocked_word_in("a dragon", ("ＤＲＡＧＯＮ",)) == "ＤＲＡＧＯＮ"
    assert blocked_word_in("a dragon", ("drаgon",)) == "drаgon"  # Cyrillic а
    assert blocked_word_in("a dragon", ("\u200b",)) is None  # nothing left to match
    assert blocked_word_in("a dragon", ()) is None


def test_accents_on_other_scripts_stay() -> None:
    assert blocked_word_in("がき", ("かき",)) is None  # the dakuten makes another word
    assert blocked_word_in("かき", ("かき",)) == "かき"


# --- hypothesis: any look-alike spelling is found, plain words are not mistaken --------------


@QUICK
@given(st.data())
def test_every_look_alike_spelling_of_a_blocked_word_is_found(data: st.DataObject) -> None:
    word = data.draw(st.sampled_from(("dragon", "kraken", "gore", "blood", "kill", "zombie")))
    spelt = data.draw(spelt_differently(word))
    before = data.draw(st.sampled_from(("", "a ", "the\n", "(", "«", "—")))
    after = data.draw(st.sampled_from(("", " rises", "!", ")", "»", "—", ", then")))
    assert blocked_word_in(f"{before}{spelt}{after}", (*BLOCKED, word)) == word


@QUICK
@given(st.data())
def test_a_look_alike_phrase_is_found(data: st.DataObject) -> None:
    sea = data.draw(spelt_differently("sea"))
    monster = data.draw(spelt_differently("monster"))
    space = data.draw(st.sampled_from((" ", "  ", "\t", "\u3000", "\u00a0", "\n")))
    assert blocked_word_in(f"a {sea}{space}{monster}!", BLOCKED) == "sea monster"


plain_words = st.lists(st.from_regex(r"[a-ln-z]{1,8}", fullmatch=True), max_size=8)


@QUICK
@given(plain_words, st.from_regex(r"[a-ln-z]{1,8}", fullmatch=True))
def test_plain_lowercase_text_matches_exactly_its_words(text: list[str], word: str) -> None:
    # (m is left out: its prototype is rn, so "rn" and "m" are one word by design.)
    found = blocked_word_in(" ".join(text), (word,))
    assert (found == word) == (word in text)


def test_the_strategy_reads_its_variants_from_the_table() -> None:
    assert {"\u0430", "\u03b1", "ａ", "𝐚"} <= set(variants("a"))
    assert "\u03bd" not in variants("n")  # ν reads v
    missed = [
        (letter, variant)
        for letter in string.ascii_lowercase
        for variant in variants(letter)
        if blocked_word_in(f"({variant})", (letter,)) != letter
    ]
    assert missed == []

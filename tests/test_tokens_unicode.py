"""The ``unicode`` token count, the default of every token budget: a token per Han
ideograph, hiragana or katakana character, a token per whitespace-delimited run elsewhere.
Checked against a count written another way: a character loop over fontTools' own copy of
Unicode's Script property (a different library and database from the ``regex`` one the
count uses)."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from fontTools import unicodedata as fu  # a dev dependency
from hypothesis import given, settings
from hypothesis import strategies as st

import zipkit
from zipkit.budget import token_counts, unicode_tokens

UNSPACED = {"Hani", "Hira", "Kana"}


def reference(text: str) -> int:
    """The count by hand: walk the characters, close a word at whitespace (``str.isspace``,
    as ``str.split`` uses it), and count each character of an unspaced script alone."""
    count, in_word = 0, False
    for ch in text:
        if ch.isspace():
            in_word = False
        elif fu.script(ch) in UNSPACED:
            count, in_word = count + 1, False
        elif not in_word:
            count, in_word = count + 1, True
    return count


MIXED = [
    "Compression picks training data.",
    "我爱北京天安门，天安门上太阳升。",  # Chinese: 14 ideographs and 2 punctuation marks
    "人々はラーメンを食べた。カタカナとひらがな、漢字。",  # Japanese: kanji, kana, 々 and ー
    "ﾊﾝｶｸｶﾀｶﾅ and ＦＵＬＬＷＩＤＴＨ letters",  # halfwidth katakana, fullwidth Latin
    "한국어는 띄어쓰기를 합니다.",  # Korean is written with spaces: words
    "Москва — столица России.",
    "مرحبا بالعالم",
    "नमस्ते दुनिया",
    "emoji 🎉🎉 and 𠀀𠀁 (CJK extension B) mixed中文words",
    "tabs\tand\u00a0no-break\u3000ideographic\u2003em\x1cseparator\nlines",
    "",
    "   ",
]


@pytest.mark.parametrize("text", MIXED)
def test_the_count_equals_the_reference_on_mixed_scripts(text):
    assert unicode_tokens(text) == reference(text)


def test_every_assigned_character_is_counted_as_the_reference_counts_it():
    # Between two Latin letters, a character is its own token only if its script is unspaced
    # and it ends the word only if it is whitespace: each of the ~290,000 assigned characters.
    wrong = []
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        if unicodedata.category(ch) in ("Cn", "Cs"):
            continue
        text = f"a{ch}b"
        if unicode_tokens(text) != reference(text):
            wrong.append(f"U+{code:04X}")
    assert not wrong, f"{len(wrong)} characters counted otherwise: {wrong[:10]}"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=60))
def test_without_unspaced_scripts_it_is_whitespace_words(text):
    if any(fu.script(ch) in UNSPACED for ch in text):
        assert unicode_tokens(text) >= len(text.split())
    else:
        assert unicode_tokens(text) == len(text.split())


def test_a_token_budget_counts_chinese_by_the_character_and_the_manifest_says_how():
    texts = ["数据选择依靠压缩" * k for k in (1, 2, 3, 4)] + ["short english text here"] * 4
    pool = zipkit.read_records([{"text": t} for t in texts])
    counts = token_counts(pool, "unicode")
    assert counts.tolist() == [8, 16, 24, 32, 4, 4, 4, 4]
    assert token_counts(pool, "whitespace").tolist() == [1, 1, 1, 1, 4, 4, 4, 4]  # what it replaces
    res = zipkit.select(pool, method="length", budget_tokens=40)
    assert res.manifest["parameters"]["tokenizer"] == "unicode"
    # the longest first (32 tokens), then the next that fits what is left (8): 40 tokens; under
    # whitespace every Chinese record would count as one token
    assert res.indices.tolist() == [3, 0] and res.manifest["tokens_selected"] == 40

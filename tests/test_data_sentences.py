"""Rule-based sentence splitting and the splitter registry."""

from __future__ import annotations

import importlib.util

import pytest

from textssl.data.sentences import get_splitter, no_split, split_lines, split_sentences


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Mr. Smith went to Washington. He met Dr. Jones.",
            ["Mr. Smith went to Washington.", "He met Dr. Jones."],
        ),
        (
            "The U.S. economy grew 3.14 percent. Then it fell.",
            ["The U.S. economy grew 3.14 percent.", "Then it fell."],
        ),
        ("Use tools, e.g. Hammers and saws. Done.", ["Use tools, e.g. Hammers and saws.", "Done."]),
        ("J. K. Rowling wrote it. It sold.", ["J. K. Rowling wrote it.", "It sold."]),
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        ("It ended (see above.) Next part.", ["It ended (see above.)", "Next part."]),
        ("Wait... What? No! Yes.", ["Wait...", "What?", "No!", "Yes."]),
        ("Wait\u2026 Then go.", ["Wait\u2026", "Then go."]),
        ('"Why?" he asked. She smiled.', ['"Why?" he asked.', "She smiled."]),
        ("It costs 3.50 dollars. Pay now.", ["It costs 3.50 dollars.", "Pay now."]),
        ("No final stop", ["No final stop"]),
        ("lower. case follows. Here", ["lower. case follows.", "Here"]),
        ("Élan vital. Über alles.", ["Élan vital.", "Über alles."]),
    ],
)
def test_rule_splitter(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_whitespace_and_paragraphs() -> None:
    text = "  First line\n wrapped here. Second\n\n  heading without stop\n\nThird one.  "
    assert split_sentences(text) == [
        "First line wrapped here.",
        "Second",
        "heading without stop",
        "Third one.",
    ]
    assert split_sentences("") == []
    assert split_sentences(" \n\n \t") == []


def test_splitter_registry() -> None:
    assert get_splitter("rule") is split_sentences
    assert get_splitter("line") is split_lines
    assert get_splitter("none") is no_split
    fn = lambda t: [t]  # noqa: E731
    assert get_splitter(fn) is fn
    assert split_lines("a b\n\n c  d \n") == ["a b", "c d"]
    assert no_split(" a \n b ") == ["a b"]
    assert no_split("  ") == []
    with pytest.raises(ValueError, match="unknown sentence splitter 'bogus'"):
        get_splitter("bogus")


@pytest.mark.skipif(importlib.util.find_spec("nltk") is not None, reason="nltk is installed")
def test_punkt_without_nltk_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="pip install nltk"):
        get_splitter("punkt")

"""Sentence splitting: sentence ids feed SentencePermutation, SentenceOrder and NextSentence.

The default splitter is rule based and fast (a regular expression finds candidate boundaries; a few Python
checks per *sentence*, never per character, reject false ones). It follows the usual heuristics of
rule-based splitters (e.g. Kiss & Strunk (2006), "Unsupervised Multilingual Sentence Boundary Detection",
whose Punkt model is available as ``splitter="punkt"`` when nltk is installed):

* a boundary is ``.``, ``!``, ``?`` or an ellipsis (``...`` / ``…``), optionally followed by closing quotes or
  brackets, then whitespace, then an upper-case letter (possibly after an opening quote or bracket);
* not after a known abbreviation (``Mr.``, ``Dr.``, ``e.g.``, ``U.S.`` ...) or a single-letter initial
  (``J. K. Rowling``);
* decimals (``3.14``) never split (no whitespace after the period);
* a blank line (paragraph break) is always a boundary.

Sentences come back stripped, with runs of whitespace (including line breaks) collapsed to one space.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from textssl.errors import ConfigError

SplitFn = Callable[[str], list[str]]

SPLITTERS = ("rule", "punkt", "line", "none")

# Lower-cased, without the final period. Multi-period abbreviations (u.s, e.g, a.m, ph.d) are recognised by
# shape, so they need not be listed.
ABBREVIATIONS = frozenset(
    """
    mr mrs ms messrs mme mlle dr prof rev hon st mt ft sr jr sen rep gov gen col maj capt cmdr lt sgt cpl
    pvt adm pres supt det insp esq vs v cf al approx ca dept est fig figs vol vols no nos pp op ed eds
    inc ltd co corp bros jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs
    fri sat sun viz ibid etal
    """.split()
)

# Terminal punctuation, closing quotes/brackets, then whitespace. The character after the whitespace is
# checked in Python (str.isupper works for every script).
_CANDIDATE = re.compile(r"(?:\.{2,}|…|[.!?])+[\"'”’»)\]}]*(\s+)")
_OPENERS = "\"'“‘«([{"
_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_MULTI_PERIOD = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]$")


def _is_abbreviation(text: str, period: int) -> bool:
    """Is the ``.`` at ``text[period]`` the end of an abbreviation or an initial?"""
    start = period
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in _OPENERS:
        start -= 1
    word = text[start:period]
    if not word:
        return False
    if len(word) == 1 and word.isalpha() and word.isupper():
        return True  # an initial: "J. K. Rowling"
    low = word.lower()
    if low in ABBREVIATIONS:
        return True
    return bool(_MULTI_PERIOD.match(word))  # U.S, e.g, a.m, Ph.D


def _split_paragraph(text: str, out: list[str]) -> None:
    start = 0
    n = len(text)
    for m in _CANDIDATE.finditer(text):
        nxt = m.end()
        # next visible character after optional opening quotes/brackets must be upper case
        j = nxt
        while j < n and text[j] in _OPENERS:
            j += 1
        if j >= n or not text[j].isupper():
            continue
        punct_end = m.start(1)
        # the terminal punctuation run: find its last character before any closers
        k = punct_end - 1
        while k >= m.start() and text[k] in "\"'”’»)]}":
            k -= 1
        if text[k] == "." and (k == m.start() or text[k - 1] != ".") and _is_abbreviation(text, k):
            continue
        sentence = " ".join(text[start:punct_end].split())
        if sentence:
            out.append(sentence)
        start = nxt
    sentence = " ".join(text[start:].split())
    if sentence:
        out.append(sentence)


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences with the rule-based splitter (see the module docstring).

    >>> split_sentences("Mr. Smith paid $3.14 for it. Did he? Yes!")
    ['Mr. Smith paid $3.14 for it.', 'Did he?', 'Yes!']
    """
    out: list[str] = []
    if "\n" in text:
        for para in _PARAGRAPH.split(text):
            _split_paragraph(para, out)
    else:
        _split_paragraph(text, out)
    return out


def split_lines(text: str) -> list[str]:
    """One sentence per non-blank line (for corpora that are already sentence split)."""
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def no_split(text: str) -> list[str]:
    """The whole document is one sentence."""
    s = " ".join(text.split())
    return [s] if s else []


class _Punkt:
    """nltk's Punkt splitter (Kiss & Strunk, 2006), loaded lazily so the object pickles for ``num_proc``."""

    def __init__(self, language: str = "english") -> None:
        self.language = language
        self._fn: SplitFn | None = None
        _load_punkt(language)  # fail early with a clear message

    def __getstate__(self) -> dict:
        return {"language": self.language}

    def __setstate__(self, state: dict) -> None:
        self.language = state["language"]
        self._fn = None

    def __call__(self, text: str) -> list[str]:
        if self._fn is None:
            self._fn = _load_punkt(self.language)
        out: list[str] = []
        for para in _PARAGRAPH.split(text):
            out += [" ".join(s.split()) for s in self._fn(para) if s.strip()]
        return out


def _load_punkt(language: str) -> SplitFn:
    try:
        import nltk
    except ImportError as exc:
        raise ConfigError(
            "splitter='punkt' needs nltk, which is not installed: `pip install nltk` and then "
            "`python -m nltk.downloader punkt_tab`; or use the built-in splitter='rule'"
        ) from exc
    try:
        nltk.tokenize.sent_tokenize("A test. Another one.", language=language)
    except LookupError as exc:
        raise ConfigError(
            "splitter='punkt' needs nltk's Punkt model: run `python -m nltk.downloader punkt_tab` "
            "(needs network once); or use the built-in splitter='rule'"
        ) from exc

    def fn(text: str) -> list[str]:
        return nltk.tokenize.sent_tokenize(text, language=language)

    return fn


def get_splitter(splitter: str | SplitFn = "rule") -> SplitFn:
    """Resolve a splitter name (``rule``, ``punkt``, ``line``, ``none``) or pass a callable through.

    A callable must map a document string to a list of sentence strings (and pickle, for ``num_proc``).
    """
    if callable(splitter):
        return splitter
    if splitter == "rule":
        return split_sentences
    if splitter == "punkt":
        return _Punkt()
    if splitter == "line":
        return split_lines
    if splitter == "none":
        return no_split
    raise ConfigError(
        f"unknown sentence splitter {splitter!r}; choose one of {', '.join(SPLITTERS)} or pass a function"
    )

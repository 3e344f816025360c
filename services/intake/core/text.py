"""Text normalised for matching: lower case, accents folded, words separated by single spaces."""

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

import ahocorasick

_NON_WORD = re.compile(r"[^\w]+")


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def searchable(text: str) -> str:
    """` word word word ` — padded so that `" " + keyword` matches at the start of a word."""
    return " " + _NON_WORD.sub(" ", fold(text)).strip() + " "


def _pattern(keyword: str) -> str:
    return keyword[1:] if keyword.startswith("*") else " " + keyword


class Keywords:
    """A list of folded keywords looked for in a searchable text. A keyword matches at the start of a
    word (`lasku` in `laskussani`); a leading `*` lets it match inside a word too, for compound tails
    (`*rechnung` in `stromrechnung`). All are looked for in one pass over the text (Aho-Corasick),
    whatever their number."""

    def __init__(self, keywords: Iterable[str]) -> None:
        self._times = Counter(keywords)  # a keyword listed twice counts twice
        by_pattern: dict[str, list[str]] = {}
        for keyword in self._times:
            by_pattern.setdefault(_pattern(keyword), []).append(keyword)
        self._always = by_pattern.pop("", [])  # `*` alone is in every text
        self._automaton = ahocorasick.Automaton()
        for pattern, owners in by_pattern.items():
            self._automaton.add_word(pattern, tuple(owners))
        self._automaton.make_automaton()

    def found(self, haystack: str) -> set[str]:
        """The keywords `haystack` (as `searchable` makes it) holds."""
        found = set(self._always)
        if len(self._automaton):
            for _, owners in self._automaton.iter(haystack):
                found.update(owners)
        return found

    def count(self, haystack: str) -> int:
        """How many of the listed keywords `haystack` holds, a keyword listed twice counted twice."""
        return sum(self._times[keyword] for keyword in self.found(haystack))

"""Text normalised for matching: lower case, accents folded, words separated by single spaces."""

import re
import unicodedata

_NON_WORD = re.compile(r"[^\w]+")


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def searchable(text: str) -> str:
    """` word word word ` — padded so that `" " + keyword` matches at the start of a word."""
    return " " + _NON_WORD.sub(" ", fold(text)).strip() + " "


def matches(keyword: str, haystack: str) -> bool:
    """A keyword matches at the start of a word (`lasku` in `laskussani`); a leading `*` lets it
    match inside a word too, for compound tails (`*rechnung` in `stromrechnung`)."""
    if keyword.startswith("*"):
        return keyword[1:] in haystack
    return " " + keyword in haystack

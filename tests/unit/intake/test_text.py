"""Keywords found in one pass over a text are exactly those a search for each keyword finds."""

from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake.core.text import Keywords, fold, searchable


def holds(keyword: str, haystack: str) -> bool:
    """The definition, one keyword at a time: at the start of a word, or anywhere with a leading `*`."""
    return keyword[1:] in haystack if keyword.startswith("*") else " " + keyword in haystack


ALPHABET = "ab *é'-"
keywords = st.lists(st.text(ALPHABET, min_size=1, max_size=4).map(fold), max_size=12)


@settings(max_examples=400, deadline=None)
@given(keywords, st.text(ALPHABET + "AB!", max_size=40))
def test_found_is_what_each_keyword_finds(listed: list[str], text: str) -> None:
    haystack = searchable(text)
    index = Keywords(listed)
    assert index.found(haystack) == {keyword for keyword in listed if holds(keyword, haystack)}
    assert index.count(haystack) == sum(holds(keyword, haystack) for keyword in listed)


def test_compound_tails_and_word_starts() -> None:
    index = Keywords(["lasku", "*rechnung", "bill", "bill"])
    assert index.found(searchable("Laskussani on virhe")) == {"lasku"}
    assert index.found(searchable("Meine Stromrechnung!")) == {"*rechnung"}
    assert index.found(searchable("a rebill")) == set()  # not at the start of a word
    assert index.count(searchable("my bill")) == 2  # listed twice, counted twice
    assert Keywords([]).found(searchable("anything")) == set()

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.core.redaction import IBAN_LENGTHS, _contains_card, _longest_iban_end, redact

REGION = "NL"


def luhn_valid(digits: str) -> bool:
    """The textbook check, digit by digit: the oracle for the redactor's constant-time windows."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def iban_valid(compact: str) -> bool:
    """ISO 13616 as written: the oracle for the redactor's carried mod-97."""
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    if len(compact) != IBAN_LENGTHS.get(compact[:2], len(compact)):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


@given(st.text("0123456789", min_size=13, max_size=60))
def test_the_windowed_luhn_check_agrees_with_the_textbook_one(digits):
    naive = any(
        digits[start] in "23456" and luhn_valid(digits[start : start + size])
        for size in range(13, min(19, len(digits)) + 1)
        for start in range(len(digits) - size + 1)
    )
    assert _contains_card(digits) == naive


@given(st.sampled_from(sorted(IBAN_LENGTHS)), st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ", max_size=40))
def test_the_carried_mod97_agrees_with_the_textbook_check(country, rest):
    text = f"{country}{rest}"
    end = _longest_iban_end(text, 0)
    if end is not None:
        assert iban_valid(text[:end].replace(" ", "").upper())


def with_luhn_digit(body: str) -> str:
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


cards = st.builds(
    lambda first, rest, length: with_luhn_digit((first + rest)[: length - 1]),
    st.sampled_from("23456"),
    st.text("0123456789", min_size=20, max_size=20),
    st.integers(13, 19),
)
separators = st.sampled_from(["", " ", "-"])
filler = st.text(st.characters(blacklist_categories=["Nd", "Cs"]), max_size=40)


def formatted(card: str, separator: str, group: int) -> str:
    return separator.join(card[i : i + group] for i in range(0, len(card), group))


@given(card=cards, separator=separators, group=st.integers(3, 5), before=filler, after=filler)
def test_no_valid_card_number_survives(card, separator, group, before, after):
    result = redact(f"{before} {formatted(card, separator, group)} {after}", region=REGION)
    assert card not in re.sub(r"[^0-9]", "", result.text)
    assert "[CARD]" in result.text
    assert "card" in result.kinds


@given(card=cards, prefix=st.text("0123456789", min_size=1, max_size=6))
def test_a_card_inside_a_longer_digit_run_is_masked_with_the_run(card, prefix):
    result = redact(f"ref {prefix}{card} thanks", region=REGION)
    assert card not in re.sub(r"[^0-9]", "", result.text)


def iban_with_check_digits(country: str, bban: str) -> str:
    for check in range(100):
        candidate = f"{country}{check:02d}{bban}"
        if iban_valid(candidate):
            return candidate
    raise AssertionError("no check digits fit")


ibans = st.sampled_from(sorted(IBAN_LENGTHS)).flatmap(
    lambda country: st.text(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=IBAN_LENGTHS[country] - 4, max_size=IBAN_LENGTHS[country] - 4
    ).map(lambda bban: iban_with_check_digits(country, bban))
)


@given(iban=ibans, grouped=st.booleans())
def test_no_valid_iban_survives(iban, grouped):
    written = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)) if grouped else iban
    result = redact(f"Please refund to {written} today", region=REGION)
    assert iban not in result.text.replace(" ", "").upper()
    assert result.text == "Please refund to [IBAN] today"


@pytest.mark.parametrize(
    "iban",
    [
        "NL91ABNA0417164300",
        "DE89370400440532013000",
        "GB82WEST12345698765432",
        "FI2112345600000785",
        "SE4550000000058398257466",
        "FR1420041010050500013M02606",
        "ES9121000418450200051332",
    ],
)
def test_published_example_ibans_are_recognised(iban):
    assert iban_valid(iban)
    assert redact(f"IBAN: {iban}.", region=REGION).text == "IBAN: [IBAN]."


@pytest.mark.parametrize(
    ("text", "expected", "kinds"),
    [
        ("Card 4111 1111 1111 1111 was charged", "Card [CARD] was charged", ("card",)),
        ("mail Anna.K@Example.com or +31 6 12345678", "mail [EMAIL] or [PHONE]", ("email", "phone")),
        ("bel 06-12345678 of 0031612345678", "bel [PHONE] of [PHONE]", ("phone",)),
        ("soita +358 40 123 4567", "soita [PHONE]", ("phone",)),
        ("order 123456789 placed 22.11.2026, ticket 4111 1111 1111 1112", None, ()),
        ("NL91 ABNA 0417 1643 00 and DE89 3704 0044 0532 0130 00", "[IBAN] and [IBAN]", ("iban",)),
    ],
)
def test_examples(text, expected, kinds):
    result = redact(text, region=REGION)
    assert result.text == (text if expected is None else expected)
    assert result.kinds == kinds

"""Mask payment and personal data in free text before it is stored or published.

Card numbers (Luhn-checked, issuer prefix 2-6, spaces or dashes allowed), IBANs (mod-97
checked), e-mail addresses and phone numbers become `[CARD]`, `[IBAN]`, `[EMAIL]`, `[PHONE]`.
The original text is never kept: callers only ever hold the result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

CARD, IBAN, EMAIL, PHONE = "card", "iban", "email", "phone"
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9](?:[ \-]?[0-9])+(?![0-9])")
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?=[ A-Za-z0-9])")
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])(?:\+|00)?[0-9][0-9 ().\-/]{5,20}[0-9](?![0-9])")


@dataclass(frozen=True)
class Redacted:
    text: str
    kinds: tuple[str, ...]


def redact(text: str, *, region: str) -> Redacted:
    """`text` with every card, IBAN, e-mail and phone number masked, and the kinds found."""
    found: list[str] = []
    for kind, masker in ((IBAN, _mask_ibans), (CARD, _mask_cards), (EMAIL, _mask_emails)):
        text, count = masker(text)
        found += [kind] * bool(count)
    text, count = _mask_phones(text, region)
    found += [PHONE] * bool(count)
    return Redacted(text, tuple(found))


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def looks_like_card(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits)


def _contains_card(digits: str) -> bool:
    """A run longer than a card may hide one; any valid window masks the whole run."""
    return any(
        looks_like_card(digits[start : start + size])
        for size in range(13, min(19, len(digits)) + 1)
        for start in range(len(digits) - size + 1)
    )


def _mask_cards(text: str) -> tuple[str, int]:
    def mask(match: re.Match[str]) -> str:
        digits = re.sub(r"[ \-]", "", match.group())
        return "[CARD]" if len(digits) >= 13 and _contains_card(digits) else match.group()

    masked = _DIGIT_RUN.sub(mask, text)
    return masked, masked.count("[CARD]") - text.count("[CARD]")


# IBAN lengths by country, from the SWIFT IBAN registry; other countries: 15 to 34 characters.
IBAN_LENGTHS = {
    "AD": 24,
    "AE": 23,
    "AT": 20,
    "BE": 16,
    "BG": 22,
    "CH": 21,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DK": 18,
    "EE": 20,
    "ES": 24,
    "FI": 18,
    "FO": 18,
    "FR": 27,
    "GB": 22,
    "GI": 23,
    "GL": 18,
    "GR": 27,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IS": 26,
    "IT": 27,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "MC": 27,
    "MT": 31,
    "NL": 18,
    "NO": 15,
    "PL": 28,
    "PT": 25,
    "RO": 24,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "TR": 26,
}


def iban_valid(compact: str) -> bool:
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    if len(compact) != IBAN_LENGTHS.get(compact[:2], len(compact)):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _mask_ibans(text: str) -> tuple[str, int]:
    pieces, cursor, count = [], 0, 0
    for start in _IBAN_START.finditer(text):
        if start.start() < cursor:
            continue
        end = _longest_iban_end(text, start.start())
        if end is not None:
            pieces += [text[cursor : start.start()], "[IBAN]"]
            cursor, count = end, count + 1
    return "".join(pieces) + text[cursor:], count


def _longest_iban_end(text: str, start: int) -> int | None:
    """The end of the longest valid IBAN starting at `start`, written compact or in groups of four."""
    ends, compact, group = [], "", 0
    for index in range(start, min(len(text), start + 45)):
        char = text[index]
        if char == " " and group == 4:
            group = 0
            continue
        if not char.isascii() or not char.isalnum():
            break
        compact, group = compact + char.upper(), group + 1
        ends.append((index + 1, compact))
    return next(
        (
            end
            for end, candidate in reversed(ends)
            if iban_valid(candidate) and (end == len(text) or not text[end].isalnum())
        ),
        None,
    )


def _mask_emails(text: str) -> tuple[str, int]:
    return _EMAIL.subn("[EMAIL]", text)


def _mask_phones(text: str, region: str) -> tuple[str, int]:
    count = 0

    def mask(match: re.Match[str]) -> str:
        nonlocal count
        candidate = match.group()
        if 7 <= sum(char.isdigit() for char in candidate) <= 15 and is_phone_number(candidate, region):
            count += 1
            return "[PHONE]"
        return candidate

    return _PHONE_CANDIDATE.sub(mask, text), count


def is_phone_number(candidate: str, region: str) -> bool:
    international = candidate.startswith(("+", "00"))
    try:
        number = phonenumbers.parse(
            "+" + candidate[2:] if candidate.startswith("00") else candidate, None if international else region
        )
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number)

"""Mask payment and personal data in free text before it is stored or published.

Card numbers (Luhn-checked, issuer prefix 2-6, spaces or dashes allowed), IBANs (mod-97
checked), e-mail addresses and phone numbers become `[CARD]`, `[IBAN]`, `[EMAIL]`, `[PHONE]`.
The original text is never kept: callers only ever hold the result.

Every step is linear in the text's length, whatever the text (hostile input included): a digit run
checks each card-sized window's Luhn sum in constant time from prefix sums, an IBAN candidate's
mod-97 is carried along as it grows, and an e-mail address is only tried where a word starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

CARD, IBAN, EMAIL, PHONE = "card", "iban", "email", "phone"
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9](?:[ \-]?[0-9])+(?![0-9])")
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?=[ A-Za-z0-9])")
_EMAIL = re.compile(r"(?<![\w.+'-])[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
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


_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # a digit's Luhn value where it is doubled


def _contains_card(digits: str) -> bool:
    """A run longer than a card may hide one; any valid window masks the whole run.

    Each window's Luhn sum comes from prefix sums in O(1): digit j counts doubled when its distance
    to the window's last digit is odd, i.e. when j's parity differs from that last digit's."""
    values = [int(char) for char in digits]
    plain = [[0], [0]]  # by parity of the index: running sums of the digits as they are
    doubled = [[0], [0]]  # ... and of their doubled Luhn values
    for index, value in enumerate(values):
        for parity in (0, 1):
            mine = index % 2 == parity
            plain[parity].append(plain[parity][-1] + (value if mine else 0))
            doubled[parity].append(doubled[parity][-1] + (_DOUBLED[value] if mine else 0))
    for size in range(13, min(19, len(values)) + 1):
        for start in range(len(values) - size + 1):
            if digits[start] not in "23456":
                continue
            end = start + size  # exclusive; the last digit is end - 1
            same = (end - 1) % 2
            total = plain[same][end] - plain[same][start] + doubled[1 - same][end] - doubled[1 - same][start]
            if total % 10 == 0:
                return True
    return False


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
    """The end of the longest valid IBAN starting at `start`, written compact or in groups of four.

    The mod-97 of the characters after the first four is carried along as the candidate grows, so
    each candidate end costs O(1) (the check moves the first four to the back)."""
    longest = IBAN_LENGTHS.get(text[start : start + 2].upper(), 34)
    ends, compact, group, body_mod = [], "", 0, 0
    for index in range(start, min(len(text), start + 45)):
        char = text[index]
        if char == " " and group == 4:
            group = 0
            continue
        if char not in _MOD97_STEP:
            break
        compact, group = compact + char.upper(), group + 1
        if len(compact) > 4:
            value, shift = _MOD97_STEP[char]
            body_mod = (body_mod * shift + value) % 97
        ends.append((index + 1, compact, body_mod))
        if len(compact) == longest:
            break
    for end, candidate, mod in reversed(ends):
        at_word_end = end == len(text) or not text[end].isalnum()
        if at_word_end and _iban_shape(candidate) and _mod97_with_head(mod, candidate[:4]) == 1:
            return end
    return None


def _iban_shape(compact: str) -> bool:
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    return len(compact) == IBAN_LENGTHS.get(compact[:2], len(compact))


def _mod97_with_head(body_mod: int, head: str) -> int:
    for char in head:
        value, shift = _MOD97_STEP[char]
        body_mod = (body_mod * shift + value) % 97
    return body_mod


# each IBAN character's number (A=10 … Z=35) and the power of ten that appends it to a number
_MOD97_STEP = {
    char: (int(char, 36), 10 ** len(str(int(char, 36))))
    for char in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
}


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

"""Who the customer is: normalised identifiers and the keys a profile is found by."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import phonenumbers

from frontline.contracts.contacts import CustomerIdentifiers

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NAMESPACE = uuid.UUID("6f1c2a4e-9b7d-4c1e-8a55-0f3e2d1c9b8a")


class InvalidIdentifier(ValueError):
    """An identifier that cannot name anyone; `field` says which."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


@dataclass(frozen=True)
class Identity:
    """A customer's identifiers, normalised: reference as given, e-mail lower-cased, phone in E.164."""

    reference: str | None
    email: str | None
    phone: str | None
    name: str | None

    def keys(self) -> list[str]:
        """Lookup keys, strongest first: the reference number, then e-mail, then phone."""
        pairs = (("ref", self.reference), ("email", self.email), ("phone", self.phone))
        return [f"{kind}:{value}" for kind, value in pairs if value]

    def only(self, keys: list[str]) -> Identity:
        """The identifiers among `keys`, the others left out."""
        return Identity(
            reference=self.reference if f"ref:{self.reference}" in keys else None,
            email=self.email if f"email:{self.email}" in keys else None,
            phone=self.phone if f"phone:{self.phone}" in keys else None,
            name=self.name,
        )

    def customer_id_for(self, tenant: str) -> str:
        """The id a new profile gets: derived from its strongest key, so concurrent creators agree."""
        return str(uuid.uuid5(_NAMESPACE, f"{tenant}|{self.keys()[0]}"))


def normalise(identifiers: CustomerIdentifiers, *, region: str) -> Identity:
    return Identity(
        reference=identifiers.reference.strip() if identifiers.reference else None,
        email=normalise_email(identifiers.email) if identifiers.email else None,
        phone=normalise_phone(identifiers.phone, region=region) if identifiers.phone else None,
        name=identifiers.name.strip() if identifiers.name else None,
    )


def normalise_email(raw: str) -> str:
    email = raw.strip().lower()
    if not _EMAIL.match(email):
        raise InvalidIdentifier("customer.email", f"{raw!r} is not an e-mail address")
    return email


def normalise_phone(raw: str, *, region: str) -> str:
    """E.164 (`+31612345678`); numbers without a country code are read in the tenant's region."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidIdentifier("customer.phone", f"{raw!r} is not a phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidIdentifier("customer.phone", f"{raw!r} is not a possible phone number in {region}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

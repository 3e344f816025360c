import pytest

from frontline.contracts.contacts import CustomerIdentifiers
from services.intake.core.identity import InvalidIdentifier, normalise


def test_identifiers_are_normalised():
    identity = normalise(
        CustomerIdentifiers(reference=" C-100 ", email=" Anna@Example.COM", phone="06 1234 5678"), region="NL"
    )
    assert (identity.reference, identity.email, identity.phone) == ("C-100", "anna@example.com", "+31612345678")
    assert identity.keys() == ["ref:C-100", "email:anna@example.com", "phone:+31612345678"]


def test_international_numbers_keep_their_country():
    assert normalise(CustomerIdentifiers(phone="+358 40 123 4567"), region="NL").phone == "+358401234567"
    assert normalise(CustomerIdentifiers(phone="0049 30 1234567"), region="NL").phone == "+49301234567"


def test_the_customer_id_follows_the_strongest_key_and_the_tenant():
    by_email = normalise(CustomerIdentifiers(email="a@b.nl"), region="NL")
    by_both = normalise(CustomerIdentifiers(email="A@B.NL", phone="0612345678"), region="NL")
    assert by_email.customer_id_for("acme") == by_both.customer_id_for("acme")
    assert by_email.customer_id_for("acme") != by_email.customer_id_for("globex")


@pytest.mark.parametrize(
    ("identifiers", "field"),
    [
        (CustomerIdentifiers(email="not-an-email"), "customer.email"),
        (CustomerIdentifiers(phone="call me"), "customer.phone"),
        (CustomerIdentifiers(phone="12"), "customer.phone"),
    ],
)
def test_bad_identifiers_name_the_field(identifiers, field):
    with pytest.raises(InvalidIdentifier) as refused:
        normalise(identifiers, region="NL")
    assert refused.value.field == field

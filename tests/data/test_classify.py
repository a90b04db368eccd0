"""Validators (Luhn, IBAN mod-97, formats) and the field classifier: pure, no I/O."""

from __future__ import annotations

import random
import string
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from andon.data import validators as v
from andon.data.classify import classify_field, classify_fields, words

# Published test numbers: Visa, Mastercard, Amex test cards; IBANs from the ISO 13616 registry.
CARDS = ["4111111111111111", "5500 0000 0000 0004", "3782-822463-10005", "4012888888881881"]
IBANS = ["DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606",
         "NL91ABNA0417164300", "CH9300762011623852957"]  # fmt: skip


def _luhn_complete(body: str) -> str:
    return next(body + str(d) for d in range(10) if v.luhn_valid(body + str(d)))


def _iban(country: str, bban: str) -> str:
    moved = bban + country + "00"
    check = 98 - int("".join(str(int(ch, 36)) for ch in moved)) % 97
    return f"{country}{check:02d}{bban}"


def test_known_cards_and_ibans() -> None:
    assert all(v.luhn_valid(c) for c in CARDS)
    assert not v.luhn_valid("4111111111111112")
    assert v.luhn_valid("0" * 12) and not v.luhn_valid("0" * 11)  # 12 to 19 digits only
    assert not v.luhn_valid("4111-1111-1111-111x")
    assert all(v.iban_valid(i) for i in IBANS)
    assert v.iban_valid("DE89 3704 0044 0532 0130 00")
    assert not v.iban_valid("DE88370400440532013000")
    assert not v.iban_valid("D889370400440532013000")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=string.digits, min_size=11, max_size=18), min_size=1, max_size=30))
def test_vectorised_luhn_agrees_with_the_reference(bodies: list[str]) -> None:
    numbers = [b + "0" for b in bodies] + [_luhn_complete(b) for b in bodies]
    assert v.luhn_many(numbers).tolist() == [v.luhn_valid(n) for n in numbers]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["DE", "GB", "FR", "NL", "ZZ"]),
            st.text(alphabet=string.digits + "ABCXYZ", min_size=11, max_size=30),
            st.booleans(),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_vectorised_iban_agrees_with_the_reference(items: list[tuple[str, str, bool]]) -> None:
    values = []
    for country, bban, corrupt in items:
        iban = _iban(country, bban)
        if corrupt:  # one changed check digit: mod-97 catches every single-digit error
            iban = iban[:2] + str((int(iban[2]) + 1) % 10) + iban[3:]
        values.append(iban)
    expected = [v.iban_valid(i) for i in values]
    assert v.iban_many(values).tolist() == expected
    assert [not c for _, _, c in items] == expected


def test_format_shares_count_checksums_and_skip_absent_formats() -> None:
    cards = [_luhn_complete(f"4{i:014d}") for i in range(90)] + ["4000000000000001"] * 10
    shares = v.format_shares(cards)
    assert shares["payment_card"] == pytest.approx(0.9)  # 10 fail the Luhn check
    assert "email" not in shares
    mixed = [f"u{i}@example.com" for i in range(80)] + [None] * 10 + ["nope"] * 20
    assert v.format_shares(mixed)["email"] == pytest.approx(0.8)
    # Few distinct values are tested once each and weighed by their counts.
    assert v.format_shares(["USD"] * 300 + ["XXX"] * 100)["currency_code"] == pytest.approx(0.75)


def test_words_splits_every_naming_style() -> None:
    assert words("customerEmail") == words("customer_email") == words("CUSTOMER-EMAIL")
    assert words("customer_email") == "customer email"


def _tags(name: str, values: list[object]) -> dict[str, float]:
    return {t.tag: t.confidence for t in classify_field(name, values).tags}


def test_pii_from_name_and_values_with_evidence() -> None:
    r = random.Random(3)
    emails = [f"user{i}@example.com" for i in range(1000)]
    field = classify_field("contact_email", emails)
    assert field.category == "pii" and field.pii
    [tag] = field.tags
    assert tag.tag == "pii.email" and tag.confidence > 0.95
    assert tag.evidence["name_pattern"] == "email"
    assert tag.evidence["validator"] == "email" and tag.evidence["matched_share"] == 1.0
    # Values alone carry the tag (an uninformative name).
    assert _tags("c17", emails)["pii.email"] > 0.8
    ibans = [_iban("DE", "".join(r.choice(string.digits) for _ in range(18))) for _ in range(500)]
    got = _tags("x1", ibans)
    assert got["pii.iban"] > 0.95
    cards = [
        _luhn_complete("".join(r.choice(string.digits) for _ in range(15))) for _ in range(500)
    ]
    assert _tags("x2", cards)["pii.payment_card"] > 0.85
    bad_cards = [c[:-1] + str((int(c[-1]) + 1) % 10) for c in cards]  # every Luhn check fails
    assert "pii.payment_card" not in _tags("x2", bad_cards)
    ssns = [
        f"{r.randint(100, 665)}-{r.randint(10, 99)}-{r.randint(1000, 9999)}" for _ in range(300)
    ]
    assert _tags("x3", ssns)["pii.national_id"] > 0.8
    ips = [f"10.0.{r.randint(0, 255)}.{r.randint(1, 254)}" for _ in range(300)]
    assert _tags("client_ip", ips)["pii.ip_address"] > 0.95
    phones = [f"+44 20 7946 {r.randint(1000, 9999)}" for _ in range(300)]
    assert _tags("x4", phones)["pii.phone"] > 0.7
    names = [r.choice(["Ada Lovelace", "Alan Turing", "Grace Brewster Hopper"]) for _ in range(300)]
    assert _tags("full_name", names)["pii.person_name"] > 0.8
    streets = [f"{r.randint(1, 999)} {r.choice(['Main Street', 'Oak Ave', 'Park Road'])}" for _ in range(300)]  # fmt: skip
    assert _tags("x5", streets)["pii.postal_address"] > 0.6
    born = [date(1950 + i % 50, 1 + i % 12, 1 + i % 28) for i in range(300)]
    assert _tags("date_of_birth", born)["pii.date_of_birth"] > 0.9


def test_financial_and_operational() -> None:
    amounts = [round(i * 1.37, 2) for i in range(500)]
    field = classify_field("amount_usd", amounts)
    assert field.category == "financial"
    assert field.tags[0].evidence == {"name_pattern": "amount", "numeric": True}
    assert _tags("currency", ["USD", "EUR", "GBP"] * 100)["financial.currency"] > 0.9
    assert _tags("c9", ["USD", "EUR", "GBP"] * 100)["financial.currency"] > 0.8  # values alone
    status = classify_field("status", ["placed", "shipped"] * 200)
    assert (status.category, status.tags, status.confidence) == ("operational", (), 1.0)
    # A numeric column named like PII is not personal data ("email_count").
    assert classify_field("email_count", list(range(100))).category == "operational"


def test_values_that_contradict_the_name_lower_the_confidence() -> None:
    hashes = [f"{i:064x}" for i in range(200)]
    [tag] = classify_field("email", hashes).tags
    assert tag.tag == "pii.email" and tag.evidence["contradicted_by_values"] is True
    assert tag.confidence == pytest.approx(0.75 * 0.75)
    # Too few values to contradict anything: the name stands.
    assert classify_field("email", hashes[:5]).tags[0].confidence == pytest.approx(0.75)


def test_empty_and_null_fields_rest_on_the_name() -> None:
    assert _tags("phone", [None] * 10) == {"pii.phone": 0.7}
    assert classify_field("notes", []).category == "operational"


def test_classify_fields_keeps_order() -> None:
    got = classify_fields([("a", ["x"]), ("email", ["a@b.co"]), ("b", [1])])
    assert [f.column for f in got] == ["a", "email", "b"]
    assert [f.category for f in got] == ["operational", "pii", "operational"]

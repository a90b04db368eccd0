"""PII masking of free text and attribute JSON: pure, no I/O."""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from andon.core.errors import Invalid
from andon.data import masking
from andon.data.queries import MaskPolicy, mask_attributes, mask_json, mask_text
from andon.data.validators import iban_valid, luhn_valid

# Published test numbers (Visa, Mastercard, Amex, Diners, 13-digit Visa) and registry IBANs.
CARDS = ["4111111111111111", "4111 1111 1111 1111", "5500-0000-0000-0004", "3782 822463 10005",
         "3056 930902 5904", "4222222222222", "4012888888881881"]  # fmt: skip
IBANS = ["DE89370400440532013000", "DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432",
         "GB82 WEST 1234 5698 7654 32", "NL91ABNA0417164300", "FR1420041010050500013M02606",
         "BE68 5390 0754 7034"]  # fmt: skip
PHONES = ["+44 20 7946 0958", "+1 (415) 555-0134", "+14155550134", "+33 1 23 45 67 89",
          "+49-30-1234567", "+33.1.23.45.67.89", "(415) 555-0134", "415-555-0134"]  # fmt: skip
EMAILS = ["a.b@x.org", "jane.doe+tag@mail.example.co.uk", "o.neil@x.org", "USER_1@EXAMPLE.COM"]

NOT_PII = [
    "2024-12-01T10:00:00.123456Z",
    "2024-12-01 10:00:00+05:30",
    "1733140800000000000",  # unix nanoseconds
    "1733140800123456",  # microseconds: 16 digits, and Luhn-valid
    "1733140800123",  # milliseconds
    "550e8400-e29b-41d4-a716-446655440000",
    "12345678-1234-1234-1234-123456789012",  # a UUID of digits only
    "4bf92f3577b34da6a3ce929d0e0e4736",  # trace id
    "00f067aa0ba902b7",  # span id
    "192.168.1.10",
    "10.0.0.255:8080",
    "2001:db8::8a2e:370:7334",
    "v1.4.2",
    "10.0.19045.3693",  # a Windows build
    "1234.56",
    "-1234567.89",
    "EUR 1,234,567.89",
    "port 8080",
    "ORD-20241201-0042",
    "order 12345678",
    "INV-2024-000123",
    "mv_01JDQ8Z3K4M5N6P7Q8R9S0T1V2",  # an andon id
    "gpt-4o-mini-2024-07-18",
    "tokens 512 256 1024",
    "415.555.0134",  # dotted groups: versions and IPs look the same
    "020 7946 0958",  # a national form the classifier does not recognise
    "0042 512 256 1024",
    "+05:30",
    "rating +15 points",
    "0.4111111111111111",  # a probability, Luhn-valid digits
    "4111111111111112",  # fails Luhn
    "4111 1111 1111 1112",
    "DE88370400440532013000",  # fails mod-97
    "DE88 3704 0044 0532 0130 00",
    "x@y",
    "user@localhost",
]


def _luhn_complete(body: str) -> str:
    return next(body + d for d in string.digits if luhn_valid(body + d))


def _iban(country: str, bban: str) -> str:
    moved = bban + country + "00"
    check = 98 - int("".join(str(int(ch, 36)) for ch in moved)) % 97
    return f"{country}{check:02d}{bban}"


# --------------------------------------------------------------------------- each kind


@pytest.mark.parametrize("card", CARDS)
def test_cards_are_masked_in_context(card: str) -> None:
    assert luhn_valid(card)
    text = f"my card is {card}, thanks"
    assert mask_text(text) == ("my card is [card], thanks", {"card": 1})
    assert mask_text(card) == ("[card]", {"card": 1})


@pytest.mark.parametrize("iban", IBANS)
def test_ibans_are_masked_in_context(iban: str) -> None:
    assert iban_valid(iban)
    assert mask_text(f"pay to {iban} by Friday") == ("pay to [iban] by Friday", {"iban": 1})


@pytest.mark.parametrize("phone", PHONES)
def test_phones_are_masked_in_context(phone: str) -> None:
    assert mask_text(f"call {phone}.") == ("call [phone].", {"phone": 1})


@pytest.mark.parametrize("email", EMAILS)
def test_emails_are_masked_in_context(email: str) -> None:
    assert mask_text(f"mail <{email}>.") == ("mail <[email]>.", {"email": 1})


def test_a_prompt_with_several_kinds() -> None:
    text = (
        "my card is 4111 1111 1111 1111, mail me at a.b@x.org. Or call +1 (415) 555-0134 "
        "and refund to DE89 3704 0044 0532 0130 00."
    )
    masked, counts = mask_text(text)
    assert masked == (
        "my card is [card], mail me at [email]. Or call [phone] and refund to [iban]."
    )
    assert counts == {"card": 1, "email": 1, "phone": 1, "iban": 1}


def test_a_short_number_after_a_card_stays() -> None:
    assert mask_text("4111 1111 1111 1111 12 times")[0] == "[card] 12 times"
    assert mask_text("BE68 5390 0754 7034 SEPA")[0] == "[iban] SEPA"
    assert mask_text("1-800-555-0199")[0] == "1-[phone]"


@pytest.mark.parametrize("text", NOT_PII)
def test_operational_values_are_not_masked(text: str) -> None:
    assert mask_text(text) == (text, {})
    assert mask_text(f"seen {text} here") == (f"seen {text} here", {})


def test_glued_digits_are_not_cards() -> None:
    for text in ["x4111111111111111", "4111111111111111x", "12-4111111111111111",
                 "4111111111111111.5", "+4111111111111111", "41111111111111111111"]:  # fmt: skip
        assert mask_text(text) == (text, {}), text


# --------------------------------------------------------------------------- JSON


def _keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keys(v) for v in value]
    return None


def test_attribute_json_is_masked_and_stays_valid() -> None:
    attributes = {
        "http.method": "POST",
        "http.status_code": 200,
        "gen_ai.prompt": "card 4111 1111 1111 1111 and a.b@x.org",
        "gen_ai.usage.input_tokens": 4111111111111111,  # a number is never a card
        "messages": [
            {"role": "user", "content": "call +44 20 7946 0958"},
            "DE89370400440532013000",
        ],
        "nested": {"deeper": {"note": "write to jane@example.com"}, "ok": True, "none": None},
        "trace": "4bf92f3577b34da6a3ce929d0e0e4736",
    }
    text = json.dumps(attributes)
    masked, counts = mask_json(text)
    out = json.loads(masked)
    assert _keys(out) == _keys(attributes)
    assert list(out) == list(attributes)
    assert out["gen_ai.prompt"] == "card [card] and [email]"
    assert out["gen_ai.usage.input_tokens"] == 4111111111111111
    assert out["messages"] == [{"role": "user", "content": "call [phone]"}, "[iban]"]
    assert out["nested"] == {"deeper": {"note": "write to [email]"}, "ok": True, "none": None}
    assert out["trace"] == attributes["trace"]
    assert counts == {"card": 1, "email": 2, "phone": 1, "iban": 1}
    assert masked == json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def test_clean_json_comes_back_as_is() -> None:
    text = (
        '{"http.method": "GET", "url.path": "/orders/ORD-20241201-0042", "n": 1733140800000000000}'
    )
    masked, counts = mask_json(text)
    assert masked is text and counts == {}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ('{"note": "mail x\\u0040y.org", "tab": "a\\tb"}', "email"),
        ('{"note": "card 4\\u0031\\u00311 1111 1111 1111", "tab": "a\\tb"}', "card"),
        ('{"note": "call \\u002b44 20 7946 0958", "tab": "a\\tb"}', "phone"),
    ],
)
def test_escapes_cannot_hide_a_value(text: str, kind: str) -> None:
    masked, counts = mask_json(text)
    assert json.loads(masked)["note"].endswith(f" [{kind}]")
    assert json.loads(masked)["tab"] == "a\tb"
    assert counts == {kind: 1}


def test_allow_listed_keys_are_kept() -> None:
    text = json.dumps({
        "user.email": "a.b@x.org",
        "note": "a.b@x.org",
        "user": {"email": "c@x.org", "phone": "+44 20 7946 0958"},
    })  # fmt: skip
    policy = MaskPolicy(allow=frozenset({"user.email"}))
    out = json.loads(mask_json(text, policy)[0])
    assert out == {
        "user.email": "a.b@x.org",
        "note": "[email]",
        "user": {"email": "c@x.org", "phone": "[phone]"},  # the path user.email is allowed too
    }
    assert mask_json(text, MaskPolicy(allow=frozenset({"note"})))[1] == {"email": 2, "phone": 1}


def test_masking_by_key_follows_the_classifiers_name_rules() -> None:
    attributes = {
        "customer_name": "Jane Doe",
        "user.email": "hashed:9f86d081",
        "phone": 4155550134,
        "ssn": "078-05-1120",
        "email_verified": True,
        "enduser.id": "u-8812",
        "customer.email_count": 3,  # the classifier reads a number under an email name as a count
        "contact": {"name": "Jane"},  # the path contact.name
        "user.emails": ["one", "two"],
        "http.method": "GET",
    }
    text = json.dumps(attributes)
    assert json.loads(mask_json(text)[0]) == attributes  # off by default
    policy = MaskPolicy(by_key=True)
    masked, counts = mask_json(text, policy)
    assert json.loads(masked) == {
        "customer_name": "[person_name]",
        "user.email": "[email]",
        "phone": "[phone]",
        "ssn": "[national_id]",
        "email_verified": True,
        "enduser.id": "u-8812",
        "customer.email_count": 3,
        "contact": {"name": "[person_name]"},
        "user.emails": ["[email]", "[email]"],
        "http.method": "GET",
    }
    assert counts == {"person_name": 2, "email": 3, "phone": 1, "national_id": 1}
    assert mask_json(masked, policy) == (masked, {})
    allowed = MaskPolicy(allow=frozenset({"customer_name"}), by_key=True)
    assert json.loads(mask_json(text, allowed)[0])["customer_name"] == "Jane Doe"


def test_mask_attributes_leaves_its_input_alone() -> None:
    attributes = {"a": ["x a.b@x.org"], "b": {"c": "+44 20 7946 0958"}, "d": "clean"}
    before = json.dumps(attributes)
    masked, counts = mask_attributes(attributes)
    assert json.dumps(attributes) == before
    assert masked == {"a": ["x [email]"], "b": {"c": "[phone]"}, "d": "clean"}
    assert counts == {"email": 1, "phone": 1}
    clean = {"a": 1, "b": ["x"]}
    assert mask_attributes(clean)[0] is clean


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": "a.b@x.org"', "not JSON text"),
        ('["a.b@x.org"]', "must be a JSON object, not a JSON list"),
        ('"a.b@x.org"', "must be a JSON object, not a JSON str"),
    ],
)
def test_bad_json_is_refused_naming_the_field(text: str, message: str) -> None:
    with pytest.raises(Invalid, match=message) as caught:
        mask_json(text, field="resource")
    assert caught.value.field == "resource"


# --------------------------------------------------------------------------- properties

_NOISE = st.text(
    alphabet=st.sampled_from(string.ascii_letters + string.digits + " -+()@.,:_/\n" + "éß中"),
    max_size=40,
)
_SEPARATOR = st.sampled_from([" ", "\n", ", ", " (", ": ", " <", "\t"])
_LABEL = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=10)


@st.composite
def emails(draw: st.DrawFn) -> str:
    """Addresses of the classifier's e-mail format."""
    local = draw(st.text(alphabet=string.ascii_letters + string.digits + "._%+-", min_size=1,
                         max_size=20))  # fmt: skip
    labels = draw(st.lists(_LABEL, min_size=1, max_size=3))
    tld = draw(st.text(alphabet=string.ascii_lowercase, min_size=2, max_size=6))
    return f"{local}@{'.'.join(labels)}.{tld}"


@st.composite
def cards(draw: st.DrawFn) -> str:
    """Luhn-valid card numbers of a payment network, bare or grouped by fours."""
    length = draw(st.integers(13, 19))
    first = draw(st.sampled_from("23456"))
    body = first + draw(st.text(alphabet=string.digits, min_size=length - 2, max_size=length - 2))
    number = _luhn_complete(body)
    separator = draw(st.sampled_from(["", " ", "-"]))
    if not separator or length < 16:
        return number
    return separator.join(number[i : i + 4] for i in range(0, length, 4))


@st.composite
def ibans(draw: st.DrawFn) -> str:
    """mod-97-valid IBANs, compact or in groups of four."""
    country = draw(st.sampled_from(["DE", "FR", "NL", "GB", "IT", "ES", "CH"]))
    bban = draw(st.text(alphabet=string.digits + "ABCXYZ", min_size=11, max_size=26))
    iban = _iban(country, bban)
    if draw(st.booleans()):
        return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    return iban


_PII = st.one_of(emails(), cards(), ibans(), st.sampled_from(PHONES))


@st.composite
def texts_with_pii(draw: st.DrawFn) -> tuple[str, list[str]]:
    """Random text with values embedded between separators, and the values."""
    parts = [draw(_NOISE)]
    values = draw(st.lists(_PII, min_size=1, max_size=4))
    for value in values:
        parts += [draw(_SEPARATOR), value, draw(_SEPARATOR), draw(_NOISE)]
    return "".join(parts), values


@settings(max_examples=400, deadline=None)
@given(texts_with_pii())
def test_embedded_values_are_masked(case: tuple[str, list[str]]) -> None:
    text, values = case
    masked, counts = mask_text(text)
    for value in values:
        assert value not in masked
    assert sum(counts.values()) >= len(values)


@settings(max_examples=400, deadline=None)
@given(st.one_of(texts_with_pii().map(lambda case: case[0]), _NOISE, st.text(max_size=80)))
def test_masking_is_idempotent(text: str) -> None:
    once, _ = mask_text(text)
    assert mask_text(once) == (once, {})


@settings(max_examples=400, deadline=None)
@given(st.one_of(_NOISE, st.text(max_size=80), st.lists(_NOISE, max_size=6).map(" ".join)))
def test_a_clean_text_never_grows_or_changes(text: str) -> None:
    masked, counts = mask_text(text)
    assert len(masked) <= len(text) + counts.get("email", 0)  # "[email]" is 7, "a@b.co" 6
    if not counts:
        assert masked == text


@settings(max_examples=400, deadline=None)
@given(st.one_of(texts_with_pii().map(lambda case: case[0]), _NOISE))
def test_the_pre_test_never_hides_what_the_full_search_finds(text: str) -> None:
    every_kind = 0b1111
    assert mask_text(text)[0] == masking._search_and_mask(text, every_kind, {})


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.text(alphabet=string.ascii_lowercase + "._", min_size=1, max_size=12),
        st.one_of(
            texts_with_pii().map(lambda case: case[0]),
            _NOISE,
            st.integers(),
            st.lists(_NOISE, max_size=3),
        ),
        max_size=8,
    )
)
def test_json_and_decoded_attributes_agree(attributes: dict[str, Any]) -> None:
    assume(all(k not in masking.TOKENS for k in attributes))
    text = json.dumps(attributes, ensure_ascii=False)
    masked, counts = mask_json(text)
    expected, expected_counts = mask_attributes(attributes)
    assert json.loads(masked) == expected
    assert counts == expected_counts
    assert list(json.loads(masked)) == list(attributes)
    assert mask_json(masked) == (masked, {})

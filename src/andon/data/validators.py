"""Value validators for profiles and classification: formats, Luhn and IBAN mod-97.

Each format is one precompiled regular expression over a whole value; payment cards and IBANs
also need their checksum (Luhn, ISO 13616 mod-97). :func:`format_shares` answers "which share
of these values has format F" for many values at once, fast enough for thousands of columns a
second:

* the values are joined into one text, and a format is only tested in full when a cheap probe
  (16 values spread over the sample) hits it at least :data:`PROBE_HITS` times, or when the
  caller insists (the column's name suggests it). A format held by half the values fails the
  probe with probability below 0.3 %; one held by fewer than a fifth rarely passes it, and
  such shares are reported as 0 (below every tagging threshold anyway);
* a full test is one ``findall`` over the joined text (one C call, no Python loop per value);
* the checksums run vectorised in numpy over all matching values at once
  (:func:`luhn_many`, :func:`iban_many`); :func:`luhn_valid` and :func:`iban_valid` are the
  plain reference versions (the tests check one against the other).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import compress
from typing import Any

PROBE_SIZE = 16
PROBE_HITS = 3


@dataclass(frozen=True)
class Format:
    """A value format: a full-value pattern and an optional checksum over matching values."""

    name: str
    pattern: str
    checksum: str | None = None  # "luhn" or "iban"
    strength: float = 0.9  # how much a match alone says (0..1): weaker for loose shapes
    needs: str = ""  # every match holds one of these characters (a free pre-test); "" = none
    common: str = ""  # a simpler pattern for the usual shape: its matches all match ``pattern``

    @property
    def compiled(self) -> re.Pattern[str]:
        """The pattern anchored to one value."""
        return _compiled(self.pattern)

    @property
    def lines(self) -> re.Pattern[str]:
        """The pattern between newlines, as the one group (``findall`` gives the values).

        The leading newline makes scanning a joined text a fast literal search in C.
        """
        either = f"{self.common}|{self.pattern}" if self.common else self.pattern
        return _compiled(f"\\n({either})(?=\\n)")


_CACHE: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    found = _CACHE.get(pattern)
    if found is None:
        found = _CACHE[pattern] = re.compile(pattern)
    return found


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_STREET = (
    r"(?:St|Street|Ave|Avenue|Rd|Road|Blvd|Boulevard|Ln|Lane|Dr|Drive|Way|Ct|Court|Pl|Place|"
    r"Sq|Square|Ter|Terrace|Hwy|Highway|Strasse|Straße|Weg|Rue)"
)

FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "email",
            r"[A-Za-z0-9._%+-]++@(?>[A-Za-z0-9-]++\.)++[A-Za-z]{2,24}",
            strength=0.95,
            needs="@",
        ),
        Format(
            "phone",
            r"(?:\+|00)[1-9][0-9]{0,3}[ .-]?(?:\(?[0-9]{1,4}\)?[ .-]?){1,4}[0-9]{2,6}"
            r"|\(?[0-9]{3}\)?[ .-][0-9]{3}[ .-][0-9]{4}",
            strength=0.8,
            needs="+-(. ",
            common=r"\+[1-9][0-9]{0,3}(?: [0-9]{1,4}){1,4} [0-9]{2,6}",
        ),
        Format(
            "uuid",
            r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
            strength=0.95,
            needs="-",
        ),
        Format(
            "date",
            r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])",
            strength=0.9,
            needs="-",
        ),
        Format(
            "datetime",
            r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?"
            r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?",
            strength=0.9,
            needs=":",
        ),
        Format(
            "iban",
            r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}",
            checksum="iban",
            strength=0.99,
            common=r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}",
        ),
        Format(
            "payment_card",
            r"[0-9](?:[ -]?+[0-9]){11,18}+",
            checksum="luhn",
            strength=0.9,
            common=r"[0-9]{12,19}",
        ),
        Format("ipv4", rf"{_OCTET}(?:\.{_OCTET}){{3}}", strength=0.95, needs="."),
        Format(
            "ipv6",
            r"(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}"
            r"|(?:[0-9a-fA-F]{1,4}:){1,6}:(?:[0-9a-fA-F]{1,4}:?){0,5}[0-9a-fA-F]{0,4}",
            strength=0.9,
            needs=":",
        ),
        Format(
            "us_ssn",
            r"(?!000|666|9[0-9]{2})[0-9]{3}-(?!00)[0-9]{2}-(?!0000)[0-9]{4}",
            strength=0.85,
            needs="-",
        ),
        Format(
            "uk_nino",
            r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]",
            strength=0.85,
        ),
        Format("url", r"https?://[^\s/$.?#][^\s]*", strength=0.95, needs=":"),
        Format(
            "person_name",
            r"[A-Z][a-z]+(?:['-][A-Z]?[a-z]+)?(?: [A-Z]\.?)?(?: [A-Z][a-z]+(?:['-][A-Z]?[a-z]+)?){1,2}",
            strength=0.6,
            needs=" ",
        ),
        Format(
            "postal_address",
            rf"[0-9]{{1,5}}[A-Za-z]? (?:[A-Z][A-Za-z.'-]* )+{_STREET}\.?(?:,? [A-Za-z0-9 .,'-]+)?",
            strength=0.8,
            needs=" ",
        ),
        Format(
            "currency_code",
            r"(?:USD|EUR|GBP|JPY|CHF|CAD|AUD|CNY|SEK|NOK|DKK|PLN|INR|BRL|"
            r"MXN|ZAR|SGD|HKD|NZD|KRW|TRY|CZK|HUF|ILS)",
            strength=0.85,
        ),
        Format("country_code", r"[A-Z]{2}", strength=0.5),
    )
}
"""Every format andon detects, by name."""


# --------------------------------------------------------------------------- checksums


def luhn_valid(number: str) -> bool:
    """Whether ``number`` (digits, optionally spaced or dashed) passes the Luhn check."""
    digits = number.replace(" ", "").replace("-", "")
    if not digits.isascii() or not digits.isdigit() or not 12 <= len(digits) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    """Whether ``text`` is an IBAN whose check digits hold (ISO 13616 mod 97 == 1)."""
    s = text.replace(" ", "").upper()
    if not (15 <= len(s) <= 34 and s.isascii() and s.isalnum()):
        return False
    if not (s[:2].isalpha() and s[2:4].isdigit()):
        return False
    moved = s[4:] + s[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return int(number) % 97 == 1


def _rows_by_length(values: Sequence[str]) -> list[tuple[Any, Any]]:
    """The values grouped by length: ``(indices, uint8 matrix of those values)`` per length.

    One joined buffer (non-ASCII characters read as ``?``, one byte each) and a gather per
    length: no Python work per value. Most columns have one length, and one matrix.
    """
    import numpy as np

    n = len(values)
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=n)
    joined = np.frombuffer("".join(values).encode("ascii", "replace"), dtype=np.uint8)
    shortest, longest = int(lengths.min()), int(lengths.max())
    if shortest == longest:
        return [(np.arange(n), joined.reshape(n, shortest))]
    starts = np.cumsum(lengths) - lengths
    groups = []
    for length in np.unique(lengths).tolist():
        indices = np.flatnonzero(lengths == length)
        groups.append((indices, joined[starts[indices][:, None] + np.arange(length)]))
    return groups


def _byte_table(pairs: Iterable[tuple[str, int]]) -> Any:
    """A 256-entry look-up table over byte values, 0 except for the given characters."""
    import numpy as np

    table = np.zeros(256, dtype=np.int16)
    for ch, value in pairs:
        table[ord(ch)] = value
    return table


_DIGITS = "0123456789"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_POW10 = [pow(10, k, 97) for k in range(80)]


@dataclass(frozen=True)
class _ByteTables:
    """The byte look-up tables of the vectorised checksums."""

    luhn_doubled: Any
    is_digit: Any
    is_letter: Any
    iban_value: Any
    iban_width: Any


@cache
def _tables() -> _ByteTables:
    """Built on the first checksum, not at import: importing numpy costs every process that
    imports this module (a check run, the profile, telemetry masking) about 60 ms."""
    digit_values = [(d, i) for i, d in enumerate(_DIGITS)]
    letter_values = [(ch, 10 + i) for i, ch in enumerate(_LETTERS)]
    return _ByteTables(
        luhn_doubled=_byte_table((d, (2 * i) % 9 if i < 9 else 9) for i, d in enumerate(_DIGITS)),
        is_digit=_byte_table((d, 1) for d in _DIGITS).astype(bool),
        is_letter=_byte_table((ch, 1) for ch in _LETTERS).astype(bool),
        iban_value=_byte_table(digit_values + letter_values),
        iban_width=_byte_table([*((d, 1) for d in _DIGITS), *((ch, 2) for ch in _LETTERS)]),
    )


def luhn_many(values: Sequence[str]) -> Any:
    """Vectorised :func:`luhn_valid` (spaces and dashes must already be removed).

    Values of one length form the rows of a byte matrix; the columns doubled by Luhn are the
    same for every row, and a byte look-up table does the doubling.
    """
    import numpy as np

    valid = np.zeros(len(values), dtype=bool)
    if not values:
        return valid
    tables = _tables()
    for indices, rows in _rows_by_length(values):
        length = rows.shape[1]
        if not 12 <= length <= 19:
            continue
        from_right = length - 1 - np.arange(length)
        doubled = from_right % 2 == 1
        plain = rows[:, ~doubled].astype(np.int16) - 48
        total = plain.sum(axis=1) + tables.luhn_doubled[rows[:, doubled]].sum(axis=1)
        valid[indices] = tables.is_digit[rows].all(axis=1) & (total % 10 == 0)
    return valid


def iban_many(values: Sequence[str]) -> Any:
    """Vectorised :func:`iban_valid` for values without spaces, in upper case.

    The check moves the first four characters to the end and reads letters as two digits
    (A=10 .. Z=35); the number mod 97 must be 1. Instead of building that number, each
    character contributes ``value * 10**k mod 97``, where ``k`` counts the digits to its right
    in the rearranged string (a suffix sum of widths along each row of a byte matrix of the
    values of one length: 2 per letter, 1 per digit).
    """
    import numpy as np

    valid = np.zeros(len(values), dtype=bool)
    if not values:
        return valid
    tables = _tables()
    pow10 = np.asarray(_POW10, dtype=np.int16)
    for indices, rows in _rows_by_length(values):
        length = rows.shape[1]
        if not 15 <= length <= 34:
            continue
        country, check_digits = rows[:, :2], rows[:, 2:4]
        shape_ok = tables.is_letter[country].all(axis=1) & tables.is_digit[check_digits].all(axis=1)
        moved = rows[:, np.r_[4:length, 0:4]]
        width = tables.iban_width[moved]
        shape_ok &= (width > 0).all(axis=1)
        power = np.cumsum(width[:, ::-1], axis=1, dtype=np.int16)[:, ::-1] - width
        total = (tables.iban_value[moved] * pow10[power] % 97).sum(axis=1) % 97
        valid[indices] = shape_ok & (total == 1)
    return valid


# --------------------------------------------------------------------------- shares


def _matching(fmt: Format, texts: list[str], joined: str | None) -> list[str]:
    """The texts holding ``fmt`` (checksums included).

    With ``joined`` (the texts between newlines, none holding one), one ``findall`` of the
    pattern between newlines scans them all in C; without it, one ``fullmatch`` per text.
    """
    if joined is not None:
        found = fmt.lines.findall(joined)
    else:
        found = list(filter(fmt.compiled.fullmatch, texts))
    if found and fmt.checksum is not None:
        if fmt.checksum == "luhn":
            valid = luhn_many([m.replace(" ", "").replace("-", "") for m in found])
        else:
            valid = iban_many([m.replace(" ", "") for m in found])
        found = list(compress(found, valid.tolist()))
    return found


def _matching_reference(fmt: Format, texts: list[str]) -> list[str]:
    """:func:`_matching` the plain way: one ``fullmatch`` and one checksum call per text."""
    found = list(filter(fmt.compiled.fullmatch, texts))
    if fmt.checksum == "luhn":
        return [t for t in found if luhn_valid(t)]
    if fmt.checksum == "iban":
        return [t for t in found if iban_valid(t)]
    return found


def format_shares(
    values: Sequence[Any],
    *,
    insist: Iterable[str] = (),
    formats: Iterable[str] | None = None,
    reference: bool = False,
) -> dict[str, float]:
    """The share of non-null ``values`` (as text) holding each format worth testing in full.

    Formats in ``insist`` are always tested; the others only after the probe (see the module
    docstring). Every value is validated. ``reference=True`` tests each value on its own
    (one ``fullmatch`` and one scalar checksum per value): the slow path the tests hold the
    fast one to. Formats that were not tested, or matched nothing, are left out.
    """
    texts = [v for v in values if v is not None] if None in values else list(values)
    if set(map(type, texts)) - {str}:
        texts = [v if isinstance(v, str) else str(v) for v in texts]
    if not texts:
        return {}
    n = len(texts)
    weights: Counter[str] | None = None
    distinct = set(texts)
    if len(distinct) * 4 <= n:  # few distinct values: test each once, weigh by its count
        weights = Counter(texts)
        texts = sorted(distinct)
    joined: str | None = "\n" + "\n".join(texts) + "\n"
    if reference or joined.count("\n") != len(texts) + 1:  # type: ignore[union-attr]
        joined = None  # a value holds a newline: test value by value
    names = list(FORMATS) if formats is None else list(dict.fromkeys(formats))
    step_probe = max(1, n // PROBE_SIZE)
    probe = texts[::step_probe][:PROBE_SIZE]
    need = min(PROBE_HITS, len(probe))
    probe_text = "\n".join(probe)
    must = set(insist)
    out: dict[str, float] = {}
    for name in names:
        fmt = FORMATS[name]
        if name not in must:
            if fmt.needs and not any(ch in probe_text for ch in fmt.needs):
                continue
            hits = sum(1 for _ in filter(fmt.compiled.fullmatch, probe))
            if hits < need:
                continue
        found = _matching_reference(fmt, texts) if reference else _matching(fmt, texts, joined)
        matched = len(found) if weights is None else sum(map(weights.__getitem__, found))
        if matched:
            out[name] = matched / n
    return out

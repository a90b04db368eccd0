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
from typing import Any

PROBE_SIZE = 16
PROBE_HITS = 3
VALIDATED = 256


@dataclass(frozen=True)
class Format:
    """A value format: a full-value pattern and an optional checksum over matching values."""

    name: str
    pattern: str
    checksum: str | None = None  # "luhn" or "iban"
    strength: float = 0.9  # how much a match alone says (0..1): weaker for loose shapes
    needs: str = ""  # every match holds one of these characters (a free pre-test); "" = none

    @property
    def compiled(self) -> re.Pattern[str]:
        """The pattern anchored to one value."""
        return _compiled(self.pattern)

    @property
    def lines(self) -> re.Pattern[str]:
        """The pattern anchored to one line of a joined text."""
        return _compiled(f"(?m)^(?:{self.pattern})$")


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
        Format("iban", r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}", checksum="iban", strength=0.99),
        Format("payment_card", r"[0-9](?:[ -]?+[0-9]){11,18}+", checksum="luhn", strength=0.9),
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


def _bytes_and_lines(values: Sequence[str]) -> tuple[Any, Any, Any]:
    """The joined values as a uint8 array, each byte's line number, and line end offsets."""
    import numpy as np

    text = "\n".join(values).encode("ascii", "replace")
    b = np.frombuffer(text, dtype=np.uint8)
    newline = b == 10
    line = np.cumsum(newline) - newline  # newlines belong to the line they end
    ends = np.append(np.flatnonzero(newline), len(b))
    return b, line, ends


def luhn_many(values: Sequence[str]) -> Any:
    """Vectorised :func:`luhn_valid` (spaces and dashes must already be removed)."""
    import numpy as np

    if not values:
        return np.zeros(0, dtype=bool)
    b, line, ends = _bytes_and_lines(values)
    keep = b != 10
    digit = b - 48
    ok_chars = np.bincount(line[keep], weights=(digit[keep] > 9), minlength=len(values)) == 0
    from_right = ends[line] - np.arange(len(b)) - 1
    d = digit.astype(np.int64)
    doubled = np.where(from_right % 2 == 1, d * 2, d)
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    total = np.bincount(line[keep], weights=doubled[keep], minlength=len(values))
    lengths = np.diff(np.append(-1, ends)) - 1
    return ok_chars & (lengths >= 12) & (lengths <= 19) & (total.astype(np.int64) % 10 == 0)


_POW10 = [pow(10, k, 97) for k in range(80)]


def iban_many(values: Sequence[str]) -> Any:
    """Vectorised :func:`iban_valid` for values without spaces, in upper case.

    The check moves the first four characters to the end and reads letters as two digits
    (A=10 .. Z=35); the number mod 97 must be 1. Instead of building that number, each
    character contributes ``value * 10**k mod 97``, where ``k`` counts the digits to its right
    in the rearranged string (a per-line suffix sum of widths, 2 per letter, 1 per digit).
    """
    import numpy as np

    n = len(values)
    if not n:
        return np.zeros(0, dtype=bool)
    b, line, ends = _bytes_and_lines(values)
    starts = np.append(0, ends[:-1] + 1)
    lengths = ends - starts
    keep = b != 10
    b, line = b[keep], line[keep]
    pos = np.arange(len(b)) - (starts[line] - line)  # position within the line
    is_digit = (b >= 48) & (b <= 57)
    is_letter = (b >= 65) & (b <= 90)
    value = np.where(is_digit, b.astype(np.int64) - 48, b.astype(np.int64) - 55)
    width = np.where(is_letter, 2, 1)
    head = pos < 4
    seg = line * 2 + (~head)  # per line: [first four][rest], contiguous
    seg_total = np.bincount(seg, weights=width, minlength=2 * n).astype(np.int64)
    seg_offset = np.append(0, np.cumsum(seg_total)[:-1])
    inclusive = np.cumsum(width) - seg_offset[seg]
    power = seg_total[seg] - inclusive + np.where(head, 0, seg_total[line * 2])
    pow10 = np.asarray(_POW10, dtype=np.int64)
    contribution = (value % 97) * pow10[np.minimum(power, len(_POW10) - 1)] % 97
    total = np.bincount(line, weights=contribution, minlength=n).astype(np.int64) % 97
    bad = np.bincount(line, weights=~(is_digit | is_letter), minlength=n) > 0
    first_two = np.bincount(line, weights=(pos < 2) & is_letter, minlength=n) == 2
    check_digits = np.bincount(line, weights=(pos >= 2) & (pos < 4) & is_digit, minlength=n) == 2
    return (total == 1) & ~bad & first_two & check_digits & (lengths >= 15) & (lengths <= 34)


# --------------------------------------------------------------------------- shares


def _matching(fmt: Format, values: list[str], weights: dict[str, int] | None) -> int:
    found = list(filter(fmt.compiled.fullmatch, values))
    if found and fmt.checksum is not None:
        if fmt.checksum == "luhn":
            valid = luhn_many([m.replace(" ", "").replace("-", "") for m in found])
        else:
            valid = iban_many([m.replace(" ", "") for m in found])
        found = [m for m, ok in zip(found, valid.tolist(), strict=True) if ok]
    if weights is None:
        return len(found)
    return sum(weights[m] for m in found)


def format_shares(
    values: Sequence[Any],
    *,
    insist: Iterable[str] = (),
    formats: Iterable[str] | None = None,
    validate: int | None = None,
) -> dict[str, float]:
    """The share of non-null ``values`` (as text) holding each format worth testing in full.

    Formats in ``insist`` are always tested; the others only after the probe (see the module
    docstring). Shares are measured over at most ``validate`` values spread evenly over the
    sample (default :data:`VALIDATED`). Formats that were not tested, or matched nothing, are left out.
    """
    limit = VALIDATED if validate is None else validate
    if len(values) > limit:
        step = len(values) / limit
        values = [values[int(i * step)] for i in range(limit)]
    texts = [v if isinstance(v, str) else str(v) for v in values if v is not None]
    if not texts:
        return {}
    n = len(texts)
    weights: dict[str, int] | None = None
    distinct = set(texts)
    if len(distinct) * 4 <= n:  # few distinct values: test each once, weigh by its count
        weights = Counter(texts)
        texts = sorted(distinct)
    names = list(FORMATS) if formats is None else list(formats)
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
        matched = _matching(fmt, texts, weights)
        if matched:
            out[name] = matched / n
    return out

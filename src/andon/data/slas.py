"""Service-level properties (``slaProperties``) as ODCS names them, and which andon checks.

Four are measured on the data, on the timestamp column their ``element`` names
(``table.column``; just ``column`` when the contract has one table; several separated by
commas; the deprecated top-level ``slaDefaultElement`` when none is given):

==================  ==============================  ===============================================
property            value                           check
==================  ==============================  ===============================================
``latency``         a duration (``4``, ``d``)       the newest value is at most that old
``retention``       a duration (``3``, ``y``)       the oldest value is at most that old (older
                                                    rows should have been removed)
``frequency``       a duration (``1``, ``d``)       the newest value is at most one period old
``timeOfAvailability``  ``HH:MM`` with an offset    once that time has passed today (in that
                    (``09:00-08:00``)               offset), a value of today exists
==================  ==============================  ===============================================

Synonyms are read as the standard lists them (``ly``, ``re``, ``fy``; ``freshness`` for
latency), case-insensitively. Durations take the standard's unit spellings: ``s``/``sec``/
``second(s)``, ``min``/``minute(s)``, ``h``/``hr``/``hour(s)``, ``d``/``day(s)``,
``w``/``week(s)``, ``mo``/``month(s)``, ``y``/``yr``/``year(s)``. A bare ``m`` could be
minutes or months and is refused. Every other property (``availability``, ``errorRate``,
``endOfLife``, ...) is about the service rather than the data it holds, and is reported
``not_checked`` with that reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from andon.data.problems import Problems, is_number

if TYPE_CHECKING:
    from andon.data.contracts import SchemaObject, Unchecked

SECONDS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86_400),
    **dict.fromkeys(("w", "wk", "week", "weeks"), 604_800),
    **dict.fromkeys(("mo", "mon", "month", "months"), 2_629_746),  # 365.2425 d / 12
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), 31_556_952),
}
CHECKED = ("latency", "retention", "frequency", "timeOfAvailability")
SYNONYMS = {
    "latency": "latency", "ly": "latency", "freshness": "latency",
    "retention": "retention", "re": "retention",
    "frequency": "frequency", "fy": "frequency",
    "timeofavailability": "timeOfAvailability",
    "availability": "availability", "av": "availability",
    "throughput": "throughput", "th": "throughput",
    "errorrate": "errorRate", "er": "errorRate",
    "generalavailability": "generalAvailability", "ga": "generalAvailability",
    "endofsupport": "endOfSupport", "es": "endOfSupport",
    "endoflife": "endOfLife", "el": "endOfLife",
    "timetodetect": "timeToDetect", "td": "timeToDetect",
    "timetonotify": "timeToNotify", "tn": "timeToNotify",
    "timetorepair": "timeToRepair", "tr": "timeToRepair",
}  # fmt: skip
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?(Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?$")


@dataclass(frozen=True)
class SlaProperty:
    """One service-level property andon checks on one timestamp column."""

    kind: str  # latency, retention, frequency or timeOfAvailability
    table: str
    column: str
    value: Any
    unit: str
    seconds: int | None  # the duration; None for timeOfAvailability
    path: str
    at_minutes: int | None = None  # timeOfAvailability: minutes after midnight in the offset
    offset_minutes: int = 0  # timeOfAvailability: the offset the day is counted in

    @property
    def name(self) -> str:
        """The check's name: ``table.column.kind``."""
        return f"{self.table}.{self.column}.{self.kind}"


def time_of_day(value: str) -> tuple[int, int] | None:
    """``(minutes after midnight, offset minutes)`` of ``09:00-08:00``; None when malformed."""
    match = _TIME.match(value.strip())
    if not match:
        return None
    hours, minutes, _, zone = match.groups()
    offset = 0
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 60 + int(digits[2:]))
    return int(hours) * 60 + int(minutes), offset


def _elements(raw: Any, default: Any, objects: dict[str, SchemaObject]) -> list[str] | str:
    element = raw if raw is not None else default
    if element is None:
        return "no element names the timestamp column to measure (table.column)"
    if not isinstance(element, str) or not element.strip():
        return f"!element must be table.column, not {element!r}"
    found = []
    for part in (p.strip() for p in element.split(",")):
        if "." not in part:
            if len(objects) != 1:
                return f"!{part!r} needs its table (table.column): the contract has several"
            part = f"{next(iter(objects))}.{part}"
        found.append(part)
    return found


def parse_slas(
    raw: list[Any], default_element: Any, objects: dict[str, SchemaObject], problems: Problems
) -> tuple[list[SlaProperty], list[Unchecked]]:
    """The ``slaProperties`` andon checks, and the ones it reports ``not_checked``."""
    from andon.data.contracts import Unchecked

    checked: list[SlaProperty] = []
    unchecked: list[Unchecked] = []
    for i, entry in enumerate(raw):
        path = f"slaProperties[{i}]"
        if not isinstance(entry, dict):
            problems.add(path, "must be a mapping")
            continue
        written = entry.get("property")
        if not isinstance(written, str) or not written.strip():
            problems.add(f"{path}.property", "is required")
            continue
        prop = SYNONYMS.get(written.strip().lower())
        if prop not in CHECKED:
            reason = (
                f"{prop} describes the service, not the data andon reads"
                if prop
                else f"{written!r} is not an SLA property andon knows"
            )
            unchecked.append(
                Unchecked(f"sla.{written}", None, None, f"sla:{written}", reason, path)
            )
            continue
        elements = _elements(entry.get("element"), default_element, objects)
        if isinstance(elements, str):
            if elements.startswith("!"):
                problems.add(f"{path}.element", elements[1:])
            else:
                unchecked.append(
                    Unchecked(f"sla.{prop}", None, None, f"sla:{prop}", elements, path)
                )
            continue
        value: Any = entry.get("value")
        unit: Any = entry.get("unit")
        seconds: int | None = None
        clock: tuple[int, int] | None = None
        if prop == "timeOfAvailability":
            clock = time_of_day(str(value)) if isinstance(value, str) else None
            if clock is None:
                problems.add(
                    f"{path}.value", f"must be a time of day such as 09:00-08:00, not {value!r}"
                )
                continue
        else:
            if not is_number(value) or float(value) <= 0:
                problems.add(f"{path}.value", f"must be a positive number, not {value!r}")
                continue
            factor = SECONDS.get(str(unit).strip().lower()) if isinstance(unit, str) else None
            if factor is None:
                hint = " (m could be minutes or months: write min or mo)" if unit == "m" else ""
                problems.add(
                    f"{path}.unit",
                    f"{unit!r} is not a duration unit such as d, day, days, h, min, y{hint}",
                )
                continue
            seconds = int(float(value) * factor)
        for element in elements:
            table, _, column = element.partition(".")
            obj = objects.get(table)
            if obj is None:
                problems.add(f"{path}.element", f"no schema object named {table!r}")
                continue
            declared = obj.prop(column)
            if declared is None:
                problems.add(f"{path}.element", f"{table!r} declares no property {column!r}")
                continue
            if declared.logical_type not in ("timestamp", "date", ""):
                problems.add(
                    f"{path}.element", f"{element} is {declared.logical_type}, not a timestamp"
                )
                continue
            checked.append(
                SlaProperty(
                    prop, table, column, value, str(unit or ""), seconds, path,
                    clock[0] if clock else None, clock[1] if clock else 0,
                )
            )  # fmt: skip
    return checked, unchecked

"""Units a contract column may declare for the unit-mismatch rule, with their factors.

Both the contract parser (:mod:`andon.data.contracts`, which refuses an unknown unit) and the
engine (:mod:`andon.data.compile`, which divides by the factor) read this table.
"""

from __future__ import annotations

UNIT_FACTORS: dict[str, float] = {
    "kg": 1000,  # grams
    "t": 1000,  # kilograms
    "g": 1000,  # milligrams
    "km": 1000,  # metres
    "m": 100,  # centimetres
    "s": 1000,  # milliseconds
    "h": 60,  # minutes
    "l": 1000,  # millilitres
    "USD": 100,  # cents
    "EUR": 100,
    "GBP": 100,
    "CHF": 100,
}
"""Declared unit -> factor to the smaller unit values are often mistakenly written in."""

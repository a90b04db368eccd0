"""Sniffing arbitrary bytes for a pickle never raises a warning of pickletools'."""

from __future__ import annotations

import warnings

from andon.registry import sniff


def test_bytes_that_read_as_an_escaped_string_opcode_are_sniffed_quietly() -> None:
    # 'S' is STRING: a quoted, escape-decoded argument; a lone backslash makes pickletools warn.
    data = b"S'a\\q'\n."
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sniff.looks_pickled(data, True)  # raised DeprecationWarning before

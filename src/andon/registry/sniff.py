"""Recognising a pickle by its bytes, whatever the file is called.

A pickle runs code when loaded, so the registry must see one even when it is named
``model.bin``, has no ``PROTO`` opcode (protocols 0 and 1 start straight with an opcode), or
is wrapped in gzip, bz2, xz, lzma or zlib (joblib's ``compress=``). :func:`is_pickle` reads a
bounded prefix (never the whole file), decompresses a bounded amount of it when it starts
with a compressor's magic bytes, and walks the pickle opcodes of what it finds with
:func:`pickletools.genops`, keeping the pickle machine's stack and marks, so text or binary
data that merely contains opcode bytes does not pass for a pickle.
"""

from __future__ import annotations

import bz2
import io
import lzma
import pickletools
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

PREFIX = 1 << 20
"""Bytes of the file read (compressed input included)."""
INFLATED = 1 << 16
"""Bytes of decompressed output looked at."""
_ENOUGH_OPS = 16  # a prefix that cuts a pickle short must have shown this many opcodes
_BEFORE_TRAILER = 4  # a pickle followed by other bytes: fewer opcodes are likely chance
_CERTAIN = 4096  # this many opcodes in a row with a consistent stack are no accident
_NESTING = 2  # compression inside compression, at most this deep

_MARK = pickletools.markobject
_SLICE = pickletools.stackslice


def _zlib_header(data: bytes) -> bool:
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0


def _inflate(make: Callable[[], object]) -> Callable[[bytes], bytes | None]:
    def run(data: bytes) -> bytes | None:
        try:
            out: bytes = make().decompress(data, INFLATED)  # type: ignore[attr-defined]
        except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error):
            return None
        return out or None

    return run


_COMPRESSORS: tuple[tuple[Callable[[bytes], bool], Callable[[bytes], bytes | None]], ...] = (
    (lambda d: d.startswith(b"\x1f\x8b"), _inflate(lambda: zlib.decompressobj(wbits=31))),
    (lambda d: d.startswith(b"BZh"), _inflate(bz2.BZ2Decompressor)),
    (lambda d: d.startswith(b"\xfd7zXZ\x00"), _inflate(lzma.LZMADecompressor)),
    # lzma's "alone" format (joblib's 'lzma'): properties byte 0x5d, then the dictionary size.
    (
        lambda d: d.startswith(b"\x5d\x00\x00"),
        _inflate(lambda: lzma.LZMADecompressor(format=lzma.FORMAT_ALONE)),
    ),
    (_zlib_header, _inflate(zlib.decompressobj)),
)


def _walk(data: bytes, complete: bool) -> bool:
    """Whether ``data`` is a pickle (``complete``: the whole file) or the start of one."""
    # Any bytes are read as opcodes here; an argument that happens to hold a backslash makes
    # pickletools warn (invalid escape), which says nothing about whether this is a pickle.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return _walk_opcodes(data, complete)


def _walk_opcodes(data: bytes, complete: bool) -> bool:
    stack: list[object] = []
    marks = 0
    count = 0
    try:
        for opcode, _arg, pos in pickletools.genops(io.BytesIO(data)):
            count += 1
            if count >= _CERTAIN:
                return True
            before = opcode.stack_before
            if _MARK in before:  # pops everything down to and including the topmost mark
                if not marks:
                    return False
                while stack.pop() is not _MARK:
                    pass
                marks -= 1
                before = [b for b in before if b is not _MARK and b is not _SLICE]
            elif opcode.name == "POP" and stack and stack[-1] is _MARK:
                stack.pop()
                marks -= 1
                before = []
            popped = stack[len(stack) - len(before) :]
            if len(stack) < len(before) or any(s is _MARK for s in popped):
                return False
            if before:
                del stack[-len(before) :]
            for item in opcode.stack_after:
                stack.append(item)
                marks += item is _MARK
            if opcode.name == "STOP":  # pickle.load ignores what follows: so must we
                whole = (pos or 0) + 1 == len(data) or count >= _BEFORE_TRAILER
                return not stack and not marks and whole
    except ValueError:  # ran out of bytes, or an argument that no pickler writes
        return not complete and count >= _ENOUGH_OPS
    return False


def looks_pickled(data: bytes, complete: bool, depth: int = 0) -> bool:
    """Whether ``data`` (a prefix unless ``complete``) is a pickle, plain or compressed."""
    if not data:
        return False
    if data[0] == 0x80 and len(data) > 1 and 2 <= data[1] <= 5:  # PROTO 2 to 5
        return True
    if depth < _NESTING:
        for matches, inflate in _COMPRESSORS:
            if matches(data):
                inner = inflate(data)
                if inner is not None:
                    return looks_pickled(inner, len(inner) < INFLATED and complete, depth + 1)
    return _walk(data, complete)


def is_pickle(path: Path) -> bool:
    """Whether the file at ``path`` holds a pickle or a joblib dump (compressed or not)."""
    with Path(path).open("rb") as src:
        data = src.read(PREFIX + 1)
    complete = len(data) <= PREFIX
    return looks_pickled(data[:PREFIX], complete)

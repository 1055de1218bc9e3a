"""User strings (study, parameter and attribute names, values, fail reasons) shown on a
terminal as text: control characters that a terminal would obey are written escaped."""

from __future__ import annotations

import re

__all__ = ["printable"]

# C0 and C1 controls and DEL (escape sequences, title changes, clearing the screen, carriage
# returns that overwrite a line), plus the bidirectional and line-separator marks that make
# text display in another order than it is stored.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_UNSAFE_KEEP_LINES = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, *, lines: bool = False) -> str:
    """``str(text)`` with every control character written as an escape (``\\x1b``,
    ``\\n``, ``\\u202e``); with ``lines``, newlines and tabs are kept (messages)."""
    return (_UNSAFE_KEEP_LINES if lines else _UNSAFE).sub(_escape, str(text))

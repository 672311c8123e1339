"""Job ids: 26-character, time-ordered, unique without coordination (ULID layout)."""

from __future__ import annotations

import os

from corral import clock

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_job_id(now: int | None = None) -> str:
    """A new id whose lexical order follows creation time."""
    ms = clock.now_ms() if now is None else now
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))

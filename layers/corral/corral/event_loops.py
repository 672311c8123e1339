"""The event loop corral's functions run on: uvloop's.

Every Lambda handler (``lambda_support.ThreadLoops``, the API function's Mangum) and the
local emulator run their work on a loop from ``new_loop``, and the test suite runs every
async test on one. uvloop's loop is asyncio's, written in C over libuv: a Redis round trip
costs the client about 40% fewer instructions on it, and a single enqueue about 20% fewer.
"""

from __future__ import annotations

import asyncio

import uvloop


def new_loop() -> asyncio.AbstractEventLoop:
    """A new event loop (not set as current)."""
    return uvloop.new_event_loop()

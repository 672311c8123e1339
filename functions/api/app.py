"""The API function's entry point: ``handler`` for Lambda, ``app`` for a local server.

Its clients come from the process's wiring (``corral.wiring``), whose restore hook
reconnects them after a SnapStart restore. Mangum runs each request on the thread's
current event loop: corral's (``corral.event_loops``), set here.
"""

from __future__ import annotations

import asyncio

from corral.event_loops import new_loop
from corral.wiring import current
from mangum import Mangum

from api.wiring import build_app

event_loop = new_loop()
asyncio.set_event_loop(event_loop)
wiring = current()
app = build_app(wiring)
handler = Mangum(app, lifespan="off")

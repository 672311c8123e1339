"""The API function's entry point: ``handler`` for Lambda, ``app`` for a local server.

Its clients come from the process's wiring (``corral.wiring``), whose restore hook
reconnects them after a SnapStart restore.
"""

from __future__ import annotations

from corral.wiring import current
from mangum import Mangum

from api.wiring import build_app

wiring = current()
app = build_app(wiring)
handler = Mangum(app, lifespan="off")

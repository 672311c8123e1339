"""The API function's entry point: ``handler`` for Lambda, ``app`` for a local server."""

from __future__ import annotations

from mangum import Mangum

from api.wiring import build_app

app = build_app()
handler = Mangum(app, lifespan="off")

"""What a handler's import costs before any corral code: the libraries it cannot do without.

Each floor imports the third-party modules a handler needs and does the first thing the
handler does with them that has a one-time cost (pydantic builds its first model,
FastAPI its first route, the tracer patches botocore). The difference between a handler's
count and its floor is the engine's and the handler's own code. ``make importtime``
prints both with ``--instructions``.
"""

from __future__ import annotations

_FIRST_MODEL = """
from pydantic import BaseModel
class First(BaseModel):
    value: int = 0
"""

_ENGINE = (
    "import asyncio, concurrent.futures, json\n"
    "import redis.asyncio, redis.asyncio.cluster, hiredis\n"
    "import pydantic, pydantic.types\n"
    "import botocore.exceptions\n" + _FIRST_MODEL
)

_POLLER = _ENGINE + "import aws_lambda_powertools.logging, aws_lambda_powertools.metrics\n"

_TRACER = """
from aws_lambda_powertools import Tracer
Tracer(service="floor", patch_modules=("botocore",))
"""

_API = (
    _ENGINE
    + """
import mangum
from fastapi import FastAPI
app = FastAPI()
@app.get("/first")
def first() -> First:
    return First()
"""
)

FLOORS = {"api.app": _API, "poller.app": _POLLER}
"""Handler module -> the code of its floor (without tracing)."""


def floor_of(module: str, *, tracing: bool) -> str | None:
    """The floor's code for ``module``, with the tracer's when tracing is on."""
    code = FLOORS.get(module)
    if code is None:
        return None
    # The API is not traced in-process (corral.tracing wraps the pollers and the reconciler).
    return code + _TRACER if tracing and module == "poller.app" else code

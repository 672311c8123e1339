"""The API function's entry point: ``handler`` for Lambda, ``app`` for a local server."""

from __future__ import annotations

import asyncio
import warnings

from corral.redis_client import create_redis
from corral.snapshot import after_restore
from mangum import Mangum

from api.wiring import build_app

redis = create_redis()
app = build_app(redis=redis)
handler = Mangum(app, lifespan="off")


@after_restore
def reconnect_redis() -> None:
    """Close the Redis connections a restored snapshot kept (their sockets are gone);
    redis-py opens new ones on the next command.

    Init sends no command, so a snapshot normally holds none; this keeps it so if that
    changes. Mangum runs every request on the loop it set up, which owns the connections.
    """
    with warnings.catch_warnings():
        # Newer Pythons warn (or raise) when no loop is current: then none holds a socket.
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            return
    if not loop.is_closed():
        loop.run_until_complete(redis.aclose())

"""X-Ray tracing of a Lambda handler, set up only where tracing is on.

Powertools' ``Tracer`` imports the X-Ray SDK even when it is disabled, and the SDK builds
a botocore session as it loads: about 40% of a poller's import time. Tracing is off
wherever Powertools would turn it off (outside Lambda, under ``sam local``, with
``POWERTOOLS_TRACE_DISABLED``), and there the handler is returned as it is, without
loading the SDK. Where it is on (the deployed functions, ``Tracing: Active``), the
handler is wrapped by ``Tracer.capture_lambda_handler`` exactly as before.

Only botocore is patched, not every library the SDK knows (Powertools' default): the
AWS calls are what a poller's trace is for, and patching httpx and ``http.client`` as
well cost a deployed poller about 20 ms of its cold start.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools.tracing.tracer import Tracer

Handler = TypeVar("Handler", bound=Callable[..., Any])
PATCHED = ("botocore",)


def tracing_enabled() -> bool:
    """Whether Powertools would trace in this process (it reads its own variables)."""
    # Powertools' own rule, so that this module and Tracer can never disagree.
    return not Tracer._is_tracer_disabled()


def traced(service: str) -> Callable[[Handler], Handler]:
    """Decorate a handler with an X-Ray subsegment (no response metadata) if tracing is on.

    Args:
        service: the service name annotated on each trace.

    Returns:
        A decorator: ``Tracer(service).capture_lambda_handler`` where tracing is on, and
        the identity elsewhere.
    """
    if not tracing_enabled():
        return lambda handler: handler
    tracer = Tracer(service=service, patch_modules=PATCHED)

    def wrap(handler: Handler) -> Handler:
        return cast(Handler, tracer.capture_lambda_handler(handler, capture_response=False))

    return wrap

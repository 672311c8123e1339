"""The one place a process builds its clients and the parts made of them.

Every function (the API, the pollers, the reconciler, the scheduler, the authorizer, the
queues' own handlers) and the local emulator take from here their boto3 clients, their
Redis clients and the engine parts built on them: the job table, the dead-letter queue,
the poller and reconciler runtimes.

- boto3 clients are built on first use, once per process, in the settings' region with
  botocore's standard retries. Importing boto3 and loading a service's model costs tens
  of milliseconds, so a cold start pays only for the clients it calls.
- What is handed out are proxies (``corral.lazy_client``). With SnapStart, after a
  restore from a snapshot one hook (``restore``) forgets every client built so far (its
  pooled HTTP connections are gone) and closes the Redis connections and event loops;
  the holders keep their proxies, which build new clients on next use, and the next
  invocation opens new Redis connections. Nothing is rebuilt from the top.

The process's wiring (``current``) is built from the settings; the emulator and tests
``install`` one of their own (their queues, Redis, poller starts). This module imports
only the settings at import time: the authorizer, which needs none of Redis, uses it.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
import warnings
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from corral.aws_clients import AwsClients
from corral.settings import Settings, get_settings
from corral.snapshot import after_restore

if TYPE_CHECKING:
    from corral.definition import QueueRegistry
    from corral.dlq import DeadLetterQueue
    from corral.events.deploy import DeploymentEvents
    from corral.lambda_support import ThreadLoops
    from corral.poller import PollerRuntime, PollerSettings
    from corral.reconciler import ReconcilerRuntime
    from corral.scripts import RedisClient
    from corral.store import JobStore

T = TypeVar("T")
Starter = Callable[[str], Awaitable[None]]
"""Starts something for a queue: a poller (wake-up, fan-out) or a reconcile."""

DEPLOYMENT_QUEUES = "queues"
"""The package whose ``registry`` holds the deployment's queues (``functions/queues``)."""


class _Part(Generic[T]):
    """A wiring's part, built once on first use under the wiring's lock: the emulator's
    threads may all ask for it at once, and a part built twice would leak the first."""

    def __init__(self, build: Callable[[Any], T]) -> None:
        self.build = build
        self.name = build.__name__
        self.__doc__ = build.__doc__

    def __get__(self, wiring: Wiring, owner: type | None = None) -> T:
        return wiring.part(self.name, self.build)


def deployment_queues() -> QueueRegistry:
    """The deployment's queues (``DEPLOYMENT_QUEUES``), imported on first use."""
    registry: QueueRegistry = importlib.import_module(DEPLOYMENT_QUEUES).registry
    return registry


class Wiring:
    """A process's clients and the parts built on them, each made once, on first use.

    Args:
        settings: what to connect to (default: the process's settings).
        registry: returns the queues (default: ``deployment_queues``).
        redis: makes a Redis client (default: ``create_redis`` of the settings).
        starter: starts a poller of a queue (default: an async invoke of the settings'
            poller function; none without one).
        reconcile: starts a reconcile of a queue Redis lost (default: an async invoke of
            the settings' reconciler function; none without one).
        store, dlq, loops, poller, reconciler: ready parts to use instead of building
            them (tests).
        poller_settings: how pollers drain (default: from the settings).
        reconcile_grace_ms: records younger than this are left to the next reconcile.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        registry: Callable[[], QueueRegistry] = deployment_queues,
        redis: Callable[[], RedisClient] | None = None,
        starter: Starter | None = None,
        reconcile: Starter | None = None,
        store: JobStore | None = None,
        dlq: DeadLetterQueue | None = None,
        loops: ThreadLoops | None = None,
        poller: PollerRuntime | None = None,
        reconciler: ReconcilerRuntime | None = None,
        poller_settings: PollerSettings | None = None,
        reconcile_grace_ms: int = 10_000,
    ) -> None:
        self.settings = settings or get_settings()
        self.aws = AwsClients(self.settings.region)
        self._registry = registry
        self._redis = redis
        self._given: dict[str, Any] = {
            "starter": starter,
            "reconcile": reconcile,
            "store": store,
            "dlq": dlq,
            "loops": loops,
            "poller": poller,
            "reconciler": reconciler,
        }
        self._poller_settings = poller_settings
        self.reconcile_grace_ms = reconcile_grace_ms
        self._parts: dict[str, Any] = {}
        self._lock = threading.RLock()  # a part's build asks for the parts it needs

    # -- clients ------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        """The boto3 client of ``service``, built on first use."""
        return self.aws.client(service)

    def new_redis(self) -> RedisClient:
        """A new Redis client (it belongs to the event loop that first uses it)."""
        if self._redis is not None:
            return self._redis()
        from corral.redis_client import create_redis

        return create_redis(self.settings)

    @_Part
    def redis(self) -> RedisClient:
        """The API's Redis client: one, used on the event loop that serves the requests."""
        return self.new_redis()

    @_Part
    def loops(self) -> ThreadLoops:
        """One event loop and one Redis client per thread (the pollers, the reconciler and
        the scheduler run on these)."""
        from corral.lambda_support import ThreadLoops

        given: ThreadLoops | None = self._given["loops"]
        return given or ThreadLoops(self.new_redis)

    # -- parts --------------------------------------------------------------------------

    @_Part
    def registry(self) -> QueueRegistry:
        return self._registry()

    @_Part
    def store(self) -> JobStore:
        """The job table, with large results in the bucket if one is set."""
        from corral.results import ResultStore
        from corral.store import JobStore

        given: JobStore | None = self._given["store"]
        if given is not None:
            return given
        s = self.settings
        results = ResultStore(self.client("s3") if s.bucket else None, s.bucket)
        return JobStore(self.client("dynamodb"), s.table, results=results)

    @_Part
    def dlq(self) -> DeadLetterQueue | None:
        """The dead-letter queue, or None if none is configured."""
        from corral.dlq import DeadLetterQueue

        given: DeadLetterQueue | None = self._given["dlq"]
        if given is not None or not self.settings.dlq_url:
            return given
        return DeadLetterQueue(self.client("sqs"), self.settings.dlq_url)

    def lambda_starter(self, function: str) -> Starter:
        """Async invokes of ``function`` (``{queue}`` in it: one function per queue)."""
        from corral.wake import function_name_for, lambda_starter

        return lambda_starter(self.client("lambda"), function_name_for(function))

    @_Part
    def starter(self) -> Starter | None:
        """Starts a poller of a queue (None: the schedule will)."""
        given: Starter | None = self._given["starter"]
        if given is not None or not self.settings.poller_function:
            return given
        return self.lambda_starter(self.settings.poller_function)

    @_Part
    def reconcile(self) -> Starter | None:
        """Starts a reconcile of a queue Redis lost (None: the schedule will)."""
        from corral.index_marker import lambda_reconcile

        given: Starter | None = self._given["reconcile"]
        if given is not None or not self.settings.reconciler_function:
            return given
        return lambda_reconcile(self.client("lambda"), self.settings.reconciler_function)

    def events(self, wake: Starter | None) -> DeploymentEvents | None:
        """The deployment's event sinks (None: off); ``wake`` wakes the webhook poller."""
        from corral.events.deploy import DeploymentEvents

        return DeploymentEvents.from_settings(
            self.settings, self.client, self.registry, self.store, wake
        )

    def part(self, name: str, build: Callable[[Wiring], T]) -> T:
        """The part ``name``, built once from this wiring (the scheduler's deployment)."""
        with self._lock:
            if name not in self._parts:
                self._parts[name] = build(self)
            made: T = self._parts[name]
        return made

    @_Part
    def poller(self) -> PollerRuntime:
        """Runs poller invocations of every queue."""
        from corral.poller import PollerRuntime, PollerSettings

        given: PollerRuntime | None = self._given["poller"]
        if given is not None:
            return given
        return PollerRuntime(
            self.registry,
            self.store,
            self.dlq,
            self.loops,
            prefix=self.settings.key_prefix,
            settings=self._poller_settings or PollerSettings.from_settings(self.settings),
            starter=self.starter,
            # Webhook deliveries wake their queue's poller like an enqueue through the API does.
            events=self.events(self.starter),
            reconcile=self.reconcile,
        )

    @_Part
    def reconciler(self) -> ReconcilerRuntime:
        """Runs reconciles of every queue."""
        from corral.reconciler import ReconcilerRuntime

        given: ReconcilerRuntime | None = self._given["reconciler"]
        if given is not None:
            return given
        return ReconcilerRuntime(
            self.registry,
            self.store,
            self.dlq,
            self.loops,
            starter=self.starter,
            prefix=self.settings.key_prefix,
            grace_ms=self.reconcile_grace_ms,
        )

    # -- snapshots ----------------------------------------------------------------------

    def restore(self) -> None:
        """After a restore from a snapshot: forget the boto3 clients and close the Redis
        connections and event loops (their sockets did not survive); all are made afresh
        on next use."""
        self.aws.reset()
        self.close()
        if "redis" in self._parts:
            _close_on_current_loop(self.redis)

    def close(self) -> None:
        """Close the per-thread loops and their clients (the runtimes' too, which may have
        been given with loops of their own); call it once nothing runs."""
        runtimes = [self._parts.get(n) or self._given[n] for n in ("poller", "reconciler")]
        loops = [r.loops for r in runtimes if r is not None]
        if "loops" in self._parts or self._given["loops"] is not None:
            loops.append(self.loops)
        for each in {id(x): x for x in loops}.values():
            each.close()


def _close_on_current_loop(redis: RedisClient) -> None:
    """Close the connections of a client used on this thread's current loop (the API's:
    Mangum runs every request on the loop it set up); redis-py reconnects on the next
    command. Without a current loop no request ran, so no connection is open."""
    with warnings.catch_warnings():
        # Newer Pythons warn (or raise) when no loop is current.
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            return
    if not loop.is_closed():
        loop.run_until_complete(redis.aclose())


_installed: Wiring | None = None
_default: Wiring | None = None
_lock = threading.Lock()


def install(wiring: Wiring | None) -> None:
    """Make ``wiring`` the process's (the emulator and tests); None goes back to the one
    built from the settings."""
    global _installed
    _installed = wiring


def current() -> Wiring:
    """The installed wiring, else the one built from the process's settings (made again
    if the settings were read again)."""
    global _default
    if _installed is not None:
        return _installed
    with _lock:
        old = _default
        made = old
        if made is None or made.settings is not get_settings():
            made = _default = Wiring()
    if old is not None and old is not made:
        old.close()  # its loops and Redis clients; nothing else holds them
    return made


def reset() -> None:
    """Close and forget the wiring built from the settings (tests that change them)."""
    global _default
    with _lock:
        old, _default = _default, None
    if old is not None:
        old.close()


def aws_client(service: str) -> Any:
    """The process's boto3 client of ``service`` (``current().client``)."""
    return current().client(service)


@after_restore
def restore() -> None:
    """The one restore hook of every function: see ``Wiring.restore``."""
    for wiring in {id(w): w for w in (_installed, _default) if w is not None}.values():
        wiring.restore()

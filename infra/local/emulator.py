"""``make run``: wire the functions to Redis and moto, serve the API, run the schedules."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from corral.definition import QueueRegistry
from corral.event_loops import new_loop
from corral.index_marker import LOST_SOURCE
from corral.settings import Settings, get_settings
from corral.wiring import Wiring, install
from corral_client.redact import redact_text, redact_url

from infra.local.aws import LocalAws, function_environment, start_aws
from infra.local.lambdas import Invoker, scheduled_event
from infra.local.settings import RECONCILER, LocalSettings
from infra.local.template import FunctionSize, ScheduledFunction, poller_sizes, scheduled_functions

logger = logging.getLogger("corral.local")

DEFAULT_KEYS = "local-admin:local:admin,local-acme:acme,local-globex:globex"
"""API keys when ``CORRAL_API_KEYS`` is unset: an admin and two tenants."""
POLLER = "poller.app.handler"
SCHEDULER = "scheduler.app.handler"


def redis_problem(url: str) -> str | None:
    """What keeps the emulator from using the Redis at ``url`` (None: it answers).

    A refused connection, refused credentials and a failed TLS handshake each get their
    own message: "no Redis answers" for a wrong password sends people looking in the
    wrong place. Every URL and error text is printed with its password hidden.
    """
    import ssl

    import redis

    shown = redact_url(url)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    except ValueError as exc:
        return f"REDIS_URL is not a Redis URL ({shown}): {redact_text(str(exc), url)}"
    try:
        client.ping()
    except redis.AuthenticationError as exc:
        return (
            f"Redis at {shown} refused the credentials: {redact_text(str(exc), url)}.\n"
            "Check the user and password in REDIS_URL."
        )
    except redis.ResponseError as exc:
        if "NOAUTH" in str(exc) or "WRONGPASS" in str(exc):
            return (
                f"Redis at {shown} needs a password: {redact_text(str(exc), url)}.\n"
                "Put it in REDIS_URL (redis://:PASSWORD@host:port/0)."
            )
        return f"Redis at {shown} answered an error: {redact_text(str(exc), url)}"
    except redis.RedisError as exc:
        if isinstance(exc.__context__, ssl.SSLError) or "SSL" in str(exc):
            return (
                f"The TLS handshake with Redis at {shown} failed: "
                f"{redact_text(str(exc), url)}.\n"
                "Check the scheme (rediss:// for TLS) and ssl_ca_certs in REDIS_URL."
            )
        return no_redis_message(shown)
    finally:
        client.close()
    return None


def no_redis_message(shown_url: str) -> str:
    return (
        f"No Redis answers at {shown_url}.\n"
        "Start one (nothing is kept on disk) with:\n"
        "  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no\n"
        "(install it with 'apt-get install redis-server' or 'brew install redis'),\n"
        "or point REDIS_URL at one that runs, then start again."
    )


def port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def load_registry(spec: str) -> QueueRegistry:
    """The deployment's queues, or the registry ``module:attribute`` names."""
    module, _, attribute = (spec or "queues:registry").partition(":")
    registry: QueueRegistry = getattr(importlib.import_module(module), attribute or "registry")
    return registry


@dataclass
class Emulator:
    """Everything ``make run`` runs, wired."""

    local: LocalSettings
    settings: Settings
    registry: QueueRegistry
    aws: LocalAws
    schedules: list[ScheduledFunction]
    invoker: Invoker
    poller_sizes: dict[str, FunctionSize]

    @cached_property
    def wiring(self) -> Wiring:
        """The clients and runtimes of every function this process runs (``corral.wiring``):
        the settings' (moto, Redis), with poller starts and reconciles run in-process."""
        return Wiring(
            self.settings,
            registry=lambda: self.registry,
            # Looked up at each call: a driver (the chaos bench) may wrap them.
            starter=lambda queue: self.start_poller(queue),
            reconcile=lambda queue: self.start_reconcile(queue),
            reconcile_grace_ms=self.local.reconcile_grace_ms,
        )

    @property
    def url(self) -> str:
        return f"http://{self.local.host}:{self.local.port}"

    def poller_size(self, queue: str) -> FunctionSize:
        """The queue's poller function as the template sizes it (its definition's when the
        template has no poller for it, as for the test queues)."""
        size = self.poller_sizes.get(queue)
        if size is not None:
            return size
        definition = self.registry.get(queue)
        return FunctionSize(definition.poller_timeout_s, definition.poller_memory_mb)

    async def start_poller(self, queue: str) -> None:
        """What the API's wake-up and the pollers' fan-out call: an async invoke."""
        event = {"queue": queue, "source": "corral.wake"}
        self.invoker.invoke_async(POLLER, event, poller_name(queue), self.poller_size(queue))

    async def start_reconcile(self, queue: str) -> None:
        """What the API and the pollers call when Redis lost a queue: an async invoke."""
        event = {"queues": [queue], "source": LOST_SOURCE}
        size = next((f.size for f in self.schedules if f.handler == RECONCILER), FunctionSize())
        self.invoker.invoke_async(RECONCILER, event, "corral-reconciler", size)

    def tick(self, function: ScheduledFunction) -> None:
        """One EventBridge tick of a scheduled function (a poller tick per queue)."""
        if function.handler == POLLER:
            for name in self.registry.names():
                event = scheduled_event(function.rule, {"queue": name})
                self.invoker.invoke_async(POLLER, event, poller_name(name), self.poller_size(name))
            return
        name = function.handler.split(".")[0]
        event = scheduled_event(function.rule)
        self.invoker.invoke_async(function.handler, event, f"corral-{name}", function.size)

    def period_s(self, function: ScheduledFunction) -> float:
        """How often ``function`` runs: the template's period, or the settings' override."""
        return self.local.period_s(function.handler, function.period_s)

    async def every(self, function: ScheduledFunction) -> None:
        period = self.period_s(function)
        while True:
            self.tick(function)
            await asyncio.sleep(period)

    def app(self) -> Any:
        from api.wiring import build_app

        return build_app(self.wiring)

    async def serve(self) -> None:
        import uvicorn

        config = uvicorn.Config(
            self.app(), host=self.local.host, port=self.local.port, log_level="warning"
        )
        server = uvicorn.Server(config)
        ticks = [asyncio.create_task(self.every(f)) for f in self.schedules]
        try:
            await server.serve()
        finally:
            for task in ticks:
                task.cancel()
            await asyncio.gather(*ticks, return_exceptions=True)

    def stop(self) -> None:
        print("stopping: waiting for running pollers to finish...", flush=True)
        self.invoker.shutdown(wait_s=15)
        if self.invoker.running() == 0:
            with contextlib.suppress(Exception):
                self.wiring.close()
        self.aws.stop()
        print("stopped", flush=True)


def poller_name(queue: str) -> str:
    """The queue's poller function, named as the template names it (stack ``corral``)."""
    return f"corral-poller-{queue}"


def banner(emulator: Emulator, notes: list[str]) -> str:
    s = emulator.settings
    keys = [entry.split(":") for entry in s.api_keys.split(",") if entry.strip()]
    lines = [
        "",
        f"corral is running at {emulator.url}  (API docs: {emulator.url}/docs,"
        f" dashboard: {emulator.url}/dashboard)",
        f"  Redis: {redact_url(s.redis_url)} (key prefix '{s.key_prefix}')",
        f"  AWS: moto in this process at {emulator.aws.endpoint} (DynamoDB, SQS, S3, SES,"
        " SNS, EventBridge); nothing leaves this machine",
        f"  S3 bucket: {emulator.aws.bucket}; put a file-processing input with:",
        f"    curl -T input.csv {emulator.aws.endpoint}/{emulator.aws.bucket}/acme/input.csv",
        f"  email: sends as {emulator.aws.email_sender} (verified in SES;"
        " CORRAL_EMAIL_SENDER to change)",
        f"  sendNotification topic: {emulator.aws.topic_arn}",
        f"  queues: {', '.join(emulator.registry.names())}",
        "  API keys (Authorization: Bearer <key>)"
        + ("" if get_settings().api_keys else ", local defaults; set CORRAL_API_KEYS to change")
        + ":",
    ]
    for key in keys:
        # A "sha256:<hex>:tenant[:admin]" entry names no usable token: show it as hashed.
        token, rest = ("(hashed key)", key[2:]) if key[0] == "sha256" else (key[0], key[1:])
        role = "admin" if len(rest) > 1 and rest[1] == "admin" else "tenant"
        lines.append(f"    {token:<16} tenant {rest[0] if rest else '?':<10} {role}")
    for f in emulator.schedules:
        lines.append(f"  schedule: {f.handler} every {emulator.period_s(f):g} s")
    lines += [f"  note: {note}" for note in notes]
    usable = [key[0] for key in keys if key[0] != "sha256"]
    token = usable[0] if usable else "TOKEN"
    queue = emulator.registry.names()[0] if emulator.registry.names() else "QUEUE"
    lines += [
        "Try:",
        f"  curl -s -H 'Authorization: Bearer {token}' {emulator.url}/queues",
        f"  curl -s -H 'Authorization: Bearer {token}' {emulator.url}/queues/{queue}",
        "Stop with Ctrl-C.",
        "",
    ]
    return "\n".join(lines)


def build(local: LocalSettings, settings: Settings) -> tuple[Emulator, list[str]]:
    registry = load_registry(local.registry)
    schedules, notes = scheduled_functions()
    if local.registry:
        # The scheduler serves the deployment's queues and their declared schedules.
        schedules = [f for f in schedules if f.handler != SCHEDULER]
        notes.append(f"queues from {local.registry}; the scheduler is off")
    aws = start_aws(settings, local.host, local.aws_port)
    # The functions read their settings from the environment, as in Lambda: give them the
    # local resources' names. EMF metric lines stay off unless asked for: locally they
    # would print every minute for every idle queue.
    os.environ.update(function_environment(aws))
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    get_settings.cache_clear()
    settings = get_settings().model_copy(update={"api_keys": settings.api_keys or DEFAULT_KEYS})
    sizes = poller_sizes()
    emulator = Emulator(local, settings, registry, aws, schedules, Invoker(), sizes)
    notes += unfit_queues(emulator)
    install(emulator.wiring)
    return emulator, notes


def unfit_queues(emulator: Emulator) -> list[str]:
    """Queues whose jobs could never start in their poller as sized (said at start)."""
    from corral.poller import longest_job_ms

    notes = []
    for definition in emulator.registry:
        size = emulator.poller_size(definition.name)
        room = longest_job_ms(size.timeout_s)
        if definition.timeout_ms > room:
            notes.append(
                f"queue {definition.name}: its {definition.timeout_ms} ms timeout does not fit"
                f" its poller's {size.timeout_s} s (at most {room} ms); its jobs never start"
            )
    return notes


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``main`` on the loop the functions run on in AWS (``corral.event_loops``)."""
    with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(loop_factory=new_loop) as runner:
        runner.run(main())


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    local = LocalSettings()
    settings = get_settings()
    problem = redis_problem(settings.redis_url)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    if not port_free(local.host, local.port):
        print(f"Port {local.port} is in use; choose another with PORT=...", file=sys.stderr)
        return 1
    if local.aws_port and not port_free(local.host, local.aws_port):
        print(
            f"Port {local.aws_port} (the emulated AWS) is in use; choose another with"
            " CORRAL_LOCAL_AWS_PORT=... (0: any free port)",
            file=sys.stderr,
        )
        return 1
    emulator, notes = build(local, settings)
    print(banner(emulator, notes), flush=True)
    try:
        run(emulator.serve)
    finally:
        emulator.stop()
    return 0

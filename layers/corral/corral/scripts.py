"""The table of Lua scripts: loaded once, called with EVALSHA, NOSCRIPT-safe.

Each script lives in ``lua/<name>.lua``; ``--@include path`` lines splice in shared
pieces from ``lua/includes`` so that each script stays one self-contained program.

A script of a queue declares the keys it uses in one line of its header,
``KEYS: prefix meta ring`` (names from ``keys.NAMED``): it receives those keys, in that
order, and reads them by name from the table ``k`` that loading puts after its header.
Reading a key it did not declare is an error, not a nil.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeAlias

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import NoScriptError

from corral import redis_call
from corral.keys import NAMED, QueueKeys

LUA_DIR = Path(__file__).parent / "lua"

SCRIPT_NAMES = (
    "enqueue",
    "claim",
    "settle",
    "extend",
    "progress",
    "recover",
    "release",
    "cancel",
    "retry",
    "promote",
    "pause",
    "counts",
    "list_jobs",
    "clean",
    "throughput",
    "restore",
    "quota_rate",
    "append_logs",
    "read_logs",
    "request_cancel",
    "update_waiting",
    "set_limits",
    "set_key_groups",
    "list_key_groups",
    # poller presence (corral.poller.presence)
    "poller_join",
    "poller_leave",
    # flows (corral.flows)
    "flow_add",
    "child_done",
    "cancel_parent",
    "rearm_parent",
    "wait_again",
    # daily counters (corral.stats.tally)
    "tally_add",
    "tally_take",
    "tally_done",
)


RedisClient: TypeAlias = "Redis | RedisCluster"
"""An async client with ``decode_responses=True``: one server, or a cluster."""


@dataclass(frozen=True)
class Script:
    name: str
    source: str
    sha: str
    keys: tuple[str, ...] = ()
    """The queue keys it declares (empty: it documents its own ``KEYS[n]``)."""


DECLARED = re.compile(r"^  KEYS: ([a-z]+(?: [a-z]+)*)$", re.MULTILINE)


def read_source(path: str) -> str:
    return (LUA_DIR / path).read_text(encoding="utf-8")


def expand(source: str) -> str:
    lines = []
    for line in source.splitlines():
        if line.startswith("--@include "):
            lines.append(read_source(line.removeprefix("--@include ").strip()))
        else:
            lines.append(line)
    return "\n".join(lines)


def declared_keys(name: str, source: str) -> tuple[str, ...]:
    """The key names a script's header declares (checked against ``keys.NAMED``)."""
    header = source[: source.find("]]")]
    found = DECLARED.findall(header)
    if not found:
        return ()
    names = tuple(found[0].split())
    unknown = [n for n in names if n not in NAMED]
    if len(found) > 1 or unknown or len(set(names)) != len(names):
        raise ValueError(f"{name}.lua: bad KEYS line {found} (unknown: {unknown})")
    return names


def _key_table(names: tuple[str, ...]) -> str:
    fields = ", ".join(f"{n} = KEYS[{i}]" for i, n in enumerate(names, start=1))
    return (
        f"local k = {{{fields}}}\n"
        "setmetatable(k, {__index = function(_, name)\n"
        "  error('key not declared in the KEYS line: ' .. tostring(name)) end})"
    )


@cache
def load_script(name: str) -> Script:
    """The expanded source, SHA1 and declared keys of one script (read once per process)."""
    raw = read_source(f"{name}.lua")
    names = declared_keys(name, raw)
    source = expand(raw)
    if names:
        end = source.index("]]") + 2
        source = f"{source[:end]}\n{_key_table(names)}{source[end:]}"
    return Script(name, source, hashlib.sha1(source.encode()).hexdigest(), names)


async def run_script(
    client: RedisClient, name: str, keys: Sequence[str | bytes], args: list[Any]
) -> Any:
    """Run a script by SHA; on NOSCRIPT (a restarted or new node) send its source once."""
    script = load_script(name)
    try:
        if redis_call.direct(client):
            command = (b"EVALSHA", script.sha, len(keys), *keys, *args)
            return await redis_call.call(client, command)
        return await client.evalsha(script.sha, len(keys), *keys, *args)
    except NoScriptError:
        return await client.eval(script.source, len(keys), *keys, *args)


async def run_queue_script(client: RedisClient, keys: QueueKeys, name: str, args: list[Any]) -> Any:
    """Run a script of a queue with the keys its header declares."""
    return await run_script(client, name, keys.script_keys(load_script(name).keys), args)

"""The table of Lua scripts: loaded once, called with EVALSHA, NOSCRIPT-safe.

Each script lives in ``lua/<name>.lua``, its includes spliced in (``script_source``).

A script of a queue declares the keys it uses in one line of its header,
``KEYS: prefix meta ring`` (names from ``keys.NAMED``): it receives those keys, in that
order, and reads them by name from the table ``k`` that loading puts after its header.
That a script reads only the keys it declares is checked before it ships, by a unit test
that reads every script's code, not on each call: a guard on ``k`` (a metatable whose
``__index`` raises) cost Redis about 5% of a single enqueue.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeAlias

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import NoScriptError

from corral import redis_call
from corral.keys import NAMED, QueueKeys
from corral.script_source import expand, read_source

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
    return f"local k = {{{fields}}}"


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


@dataclass(frozen=True)
class PackedArgs:
    """Arguments that end many calls alike, packed once (``ScriptCall.packed``)."""

    args: tuple[Any, ...]
    items: bytes

    @classmethod
    def of(cls, args: Sequence[Any]) -> PackedArgs:
        return cls(tuple(args), _items(redis_call.pack(tuple(args))) if args else b"")


NO_TAIL = PackedArgs((), b"")


@dataclass(frozen=True)
class ScriptCall:
    """A script and the keys it is called with, the fixed part of its EVALSHA command
    packed once. Packing costs hiredis about 1,800 instructions an argument; a queue calls
    the same scripts with the same keys, so only the arguments are packed per call, and of
    those only the ones that change (``tail``: packed once by the caller)."""

    script: Script
    keys: tuple[str | bytes, ...]
    head: bytes
    """EVALSHA, the SHA, the key count and the keys, without the array's length."""

    @classmethod
    def of(cls, name: str, keys: Sequence[str | bytes]) -> ScriptCall:
        script = load_script(name)
        packed = redis_call.pack((b"EVALSHA", script.sha, len(keys), *keys))
        return cls(script, tuple(keys), _items(packed))

    def packed(self, args: Sequence[Any], tail: PackedArgs = NO_TAIL) -> bytes:
        length = b"*%d\r\n" % (3 + len(self.keys) + len(args) + len(tail.args))
        items = _items(redis_call.pack(tuple(args))) if args else b""
        return length + self.head + items + tail.items


def _items(packed: bytes) -> bytes:
    """A packed command's items, without the array length that heads them."""
    return packed[packed.index(b"\r\n") + 2 :]


async def run_call(
    client: RedisClient, call: ScriptCall, args: Sequence[Any], tail: PackedArgs = NO_TAIL
) -> Any:
    """Run a script by SHA with ``args`` then ``tail``'s (``_evalsha``)."""
    if redis_call.direct(client):
        try:  # _evalsha written out: the path of every enqueue and claim
            return await redis_call.send(client, call.packed(args, tail))
        except NoScriptError:
            return await _eval(client, call.script, call.keys, args, tail.args)
    return await _evalsha(client, call.script, call.keys, args, tail.args, None)


async def run_script(
    client: RedisClient, name: str, keys: Sequence[str | bytes], args: list[Any]
) -> Any:
    """Run script ``name`` once with ``keys`` and ``args``: the whole command packed in one
    go, as nothing of it is sent again (``_evalsha``)."""
    script = load_script(name)
    direct = None
    if redis_call.direct(client):
        direct = client, redis_call.pack((b"EVALSHA", script.sha, len(keys), *keys, *args))
    return await _evalsha(client, script, keys, args, (), direct)


async def _evalsha(
    client: RedisClient,
    script: Script,
    keys: Sequence[str | bytes],
    args: Sequence[Any],
    more: Sequence[Any],
    direct: tuple[Redis, bytes] | None,
) -> Any:
    """EVALSHA: on a plain client (``direct``: it, and the whole command packed) down its
    lane, else through redis-py with ``args`` then ``more``; on NOSCRIPT (a restarted or
    new node) the source is sent once."""
    try:
        if direct is not None:
            return await redis_call.send(*direct)
        return await client.evalsha(script.sha, len(keys), *keys, *args, *more)
    except NoScriptError:
        return await _eval(client, script, keys, args, more)


async def _eval(
    client: RedisClient,
    script: Script,
    keys: Sequence[str | bytes],
    args: Sequence[Any],
    more: Sequence[Any],
) -> Any:
    """EVAL: Redis lacks the script (a restarted or new node), so its source is sent once."""
    return await client.eval(script.source, len(keys), *keys, *args, *more)


async def run_queue_script(client: RedisClient, keys: QueueKeys, name: str, args: list[Any]) -> Any:
    """Run a script of a queue with the keys its header declares."""
    return await run_script(client, name, keys.script_keys(load_script(name).keys), args)

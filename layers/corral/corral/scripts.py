"""The table of Lua scripts: loaded once, called with EVALSHA, NOSCRIPT-safe.

Each script lives in ``lua/<name>.lua``; ``--@include path`` lines splice in shared
pieces from ``lua/includes`` so that each script stays one self-contained program.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeAlias

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import NoScriptError

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
    # flows (corral.flows)
    "flow_add",
    "child_done",
    "cancel_parent",
    "rearm_parent",
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


def _read(path: str) -> str:
    return (LUA_DIR / path).read_text(encoding="utf-8")


def _expand(source: str) -> str:
    lines = []
    for line in source.splitlines():
        if line.startswith("--@include "):
            lines.append(_read(line.removeprefix("--@include ").strip()))
        else:
            lines.append(line)
    return "\n".join(lines)


@cache
def load_script(name: str) -> Script:
    """The expanded source and SHA1 of one script (read once per process)."""
    source = _expand(_read(f"{name}.lua"))
    return Script(name, source, hashlib.sha1(source.encode()).hexdigest())


async def run_script(client: RedisClient, name: str, keys: list[str], args: list[Any]) -> Any:
    """Run a script by SHA; on NOSCRIPT (a restarted or new node) send its source once."""
    script = load_script(name)
    try:
        return await client.evalsha(script.sha, len(keys), *keys, *args)
    except NoScriptError:
        return await client.eval(script.source, len(keys), *keys, *args)

"""``corral flow <file.json> [--wait]``: add a flow, print its tree of ids, follow it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from corral_client.client import FINAL_STATUSES, Client

POLL_S = 0.5


def nodes(tree: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of a flow's answer, parents first."""
    yield tree
    for child in tree.get("children") or []:
        yield from nodes(child)


def add(client: Client, path: str, wait: bool, timeout_s: float = 300) -> dict[str, Any]:
    """Add the flow in ``path``; with ``wait``, follow every job until all have ended."""
    tree: dict[str, Any] = dict(client.add_flow(json.loads(Path(path).read_text("utf-8"))))
    end = time.monotonic() + timeout_s
    while wait and time.monotonic() < end:
        open_nodes = [n for n in nodes(tree) if n["status"] not in FINAL_STATUSES]
        if not open_nodes:
            break
        for node in open_nodes:
            node["status"] = client.status(node["queue"], node["jobId"])["status"]
        time.sleep(POLL_S)
    return tree


def is_tree(result: Any) -> bool:
    """Whether ``result`` is a flow's answer (a job's own record carries its data)."""
    return isinstance(result, dict) and "children" in result and "data" not in result


def print_tree(
    tree: dict[str, Any], out: TextIO, prefix: str = "", last: bool | None = None
) -> None:
    """One line per job, indented under its parent: queue, id, status."""
    line = f"{tree['queue']}  {tree['jobId']}  {tree['status']}"
    if last is None:  # the root
        print(line, file=out)
    else:
        print(f"{prefix}{'└─ ' if last else '├─ '}{line}", file=out)
        prefix += "   " if last else "│  "
    children = tree.get("children") or []
    for i, child in enumerate(children):
        print_tree(child, out, prefix, i == len(children) - 1)

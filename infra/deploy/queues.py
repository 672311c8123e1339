"""Generate the template's per-queue pieces from the queue registry (``functions/queues``).

Two blocks of ``template.yaml`` sit between ``# BEGIN generated`` and ``# END generated``
markers: the ``QueuePollers`` mapping (memory, timeout and reserved concurrency of each
queue's poller) and the list ``Fn::ForEach::Pollers`` iterates over. Both come from the
``QueueDefinition`` objects, so a queue is still defined in one place.

Run with ``functions`` on the path: ``PYTHONPATH=functions python -m infra.deploy.queues``
rewrites the template; ``--check`` fails when it is stale, or when a queue's job timeout
cannot fit in its poller's Lambda timeout (its jobs would never start).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from pathlib import Path

from corral.definition import QueueDefinition, QueueRegistry
from corral.poller.budget import unfit

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
UNLIMITED_RESERVATION = 10
"""Reserved concurrency of a poller whose queue sets no concurrency limit."""

MAPPING_BLOCK = re.compile(
    r"(# BEGIN generated: infra/deploy/queues.py[^\n]*\n)(.*?)(# END generated\n)", re.S
)
LIST_BLOCK = re.compile(
    r"(\n(\s*)# BEGIN generated: queue list\n)(.*?)(\s*# END generated\n)", re.S
)


def load_registry(module: str = "queues") -> QueueRegistry:
    """The deployment's registry: ``registry`` in the ``queues`` package."""
    registry = importlib.import_module(module).registry
    if not isinstance(registry, QueueRegistry):
        raise TypeError(f"{module}.registry is not a QueueRegistry")
    return registry


def reserved_concurrency(definition: QueueDefinition) -> int:
    """Lambda's coarse fence: at most one poller invocation per job the queue may run at once."""
    return definition.concurrency or UNLIMITED_RESERVATION


def poller_rows(registry: QueueRegistry) -> dict[str, dict[str, int]]:
    """The ``QueuePollers`` mapping: queue name to its poller's settings."""
    return {
        d.name: {
            "MemorySize": d.poller_memory_mb,
            "Timeout": d.poller_timeout_s,
            "ReservedConcurrency": reserved_concurrency(d),
        }
        for d in sorted(registry, key=lambda d: d.name)
    }


def render_mapping(registry: QueueRegistry) -> str:
    """The ``Mappings`` section, as YAML text."""
    lines = ["Mappings:", "  QueuePollers:"]
    for name, row in poller_rows(registry).items():
        values = ", ".join(f"{key}: {value}" for key, value in row.items())
        lines.append(f"    {name}: {{ {values} }}")
    return "\n".join(lines) + "\n"


def render_template(text: str, registry: QueueRegistry) -> str:
    """``text`` with both generated blocks rewritten for ``registry``."""
    names = ", ".join(sorted(registry.names()))
    text, found = MAPPING_BLOCK.subn(lambda m: m[1] + render_mapping(registry) + m[3], text)
    if found != 1:
        raise ValueError("template.yaml lost its generated Mappings markers")
    text, found = LIST_BLOCK.subn(lambda m: f"{m[1]}{m[2]}- [{names}]{m[4]}", text)
    if found != 1:
        raise ValueError("template.yaml lost its generated queue list markers")
    return text


def main(argv: list[str] | None = None, registry: QueueRegistry | None = None) -> int:
    """Rewrite the template, or with ``--check`` say whether it matches the registry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the template is stale")
    args = parser.parse_args(argv)
    registry = registry or load_registry()
    problems = unfit(registry)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    current = TEMPLATE.read_text()
    wanted = render_template(current, registry)
    if args.check:
        if current != wanted:
            print("template.yaml is stale: run PYTHONPATH=functions python -m infra.deploy.queues")
            return 1
        return 0
    TEMPLATE.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())

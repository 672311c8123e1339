"""Print what a layer installed on top of the engine layer adds, as ``name==version`` lines.

``python on_top.py ENGINE_REPORT ALL_REPORT`` reads two ``pip install --dry-run --report``
files: the engine layer's resolution and the resolution of the engine's requirements with
the extra's. It prints each distribution of the second that the first lacks (less those
the Lambda runtime ships), for ``pip install --no-deps``. It fails when the two disagree
on a distribution they share: the extra would need a version the engine layer does not
ship. ``python on_top.py --pins ENGINE_REPORT`` prints the engine's resolution as pins,
which the second resolution takes as constraints: two resolutions a few seconds apart
could otherwise see different latest releases. ``layers/Makefile`` runs it; it needs only
the standard library.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

IN_RUNTIME = frozenset({"boto3", "botocore", "s3transfer", "jmespath"})
"""Distributions the Lambda Python runtime provides."""


def pins(report: Path) -> dict[str, str]:
    """Normalised distribution name -> version, of what a pip report installs."""
    data = json.loads(report.read_text())
    return {
        re.sub(r"[-_.]+", "-", item["metadata"]["name"]).lower(): item["metadata"]["version"]
        for item in data["install"]
    }


def on_top(engine: dict[str, str], combined: dict[str, str]) -> list[str]:
    """``name==version`` of what ``combined`` adds to ``engine`` (raises on a conflict)."""
    conflicts = sorted(
        f"{name} {engine[name]} (engine) != {version}"
        for name, version in combined.items()
        if name in engine and engine[name] != version and name not in IN_RUNTIME
    )
    if conflicts:
        needs = ", ".join(conflicts)
        raise SystemExit(f"the layer needs other versions than the engine layer's: {needs}")
    return sorted(
        f"{name}=={version}"
        for name, version in combined.items()
        if name not in engine and name not in IN_RUNTIME
    )


def main(argv: list[str]) -> int:
    """Print the added pins (or, with ``--pins``, the engine's), one a line."""
    if argv[0] == "--pins":
        print(
            "\n".join(f"{name}=={version}" for name, version in sorted(pins(Path(argv[1])).items()))
        )
        return 0
    engine_report, combined_report = map(Path, argv)
    print("\n".join(on_top(pins(engine_report), pins(combined_report))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

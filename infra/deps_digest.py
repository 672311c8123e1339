"""Print a short digest of what the virtualenv is built from: the dependency lists of
``pyproject.toml`` and ``client/pyproject.toml`` (``make install`` reinstalls only when it
changes, not whenever either file is touched or edited elsewhere)."""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from pathlib import Path

FILES = ("pyproject.toml", "client/pyproject.toml")


def digest(root: Path) -> str:
    parts = []
    for name in FILES:
        project = tomllib.loads((root / name).read_text(encoding="utf-8")).get("project", {})
        parts.append(
            {
                "requires-python": project.get("requires-python"),
                "dependencies": project.get("dependencies", []),
                "optional": project.get("optional-dependencies", {}),
                "scripts": project.get("scripts", {}),
            }
        )
    text = json.dumps(parts, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


if __name__ == "__main__":
    sys.stdout.write(digest(Path(sys.argv[1] if len(sys.argv) > 1 else ".")) + "\n")

"""Each script of a queue declares in its header the keys it reads (scripts.py), and
declares exactly those: the ones its code, and the include functions it calls, use."""

from __future__ import annotations

import re

import pytest
from corral.keys import NAMED
from corral.scripts import SCRIPT_NAMES, expand, load_script, read_source

FUNCTION = re.compile(r"^local function (\w+)\(.*?^end$", re.MULTILINE | re.DOTALL)
KEY = re.compile(r"\bk\.(\w+)")
DYNAMIC = re.compile(r"\bk\[")
ZSETS_BY_STATE = {"active", "delayed", "completed", "failed", "cancelled"}
"""What ``k[state]`` may read (clean.lua, list_jobs.lua, retry.lua)."""


def referenced(source: str) -> tuple[set[str], bool]:
    """The keys the code that runs can read: the main chunk's, and those of every top-level
    function it calls, transitively; and whether any of it indexes ``k`` by a variable."""
    source = re.sub(r"--\[\[.*?\]\]", "", source, flags=re.DOTALL)
    source = re.sub(r"--[^\n]*", "", source)
    bodies = {m.group(1): m.group(0) for m in FUNCTION.finditer(source)}
    main = FUNCTION.sub("", source)
    seen: set[str] = set()
    todo = [main]
    keys: set[str] = set()
    dynamic = False
    while todo:
        code = todo.pop()
        keys |= set(KEY.findall(code))
        dynamic = dynamic or DYNAMIC.search(code) is not None
        for name, body in bodies.items():
            if name not in seen and re.search(rf"\b{name}\(", code):
                seen.add(name)
                todo.append(body)
    return keys, dynamic


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_a_script_declares_the_keys_it_reads(name: str) -> None:
    script = load_script(name)
    used, dynamic = referenced(expand(read_source(f"{name}.lua")))
    if not script.keys:
        assert not used, f"{name}.lua reads k.{sorted(used)} but has no KEYS line"
        return
    declared = set(script.keys)
    assert used <= declared, f"{name}.lua reads undeclared keys {sorted(used - declared)}"
    unused = declared - used
    if dynamic:
        unused -= ZSETS_BY_STATE
    assert not unused, f"{name}.lua declares keys it never reads: {sorted(unused)}"


def test_only_named_keys_are_declared() -> None:
    for name in SCRIPT_NAMES:
        assert set(load_script(name).keys) <= set(NAMED)

"""Each script of a queue declares in its header the keys it reads (scripts.py), and
declares exactly those: the ones its code, and the include functions it keeps, use.
Nothing checks this when a script runs: this test is the guard."""

from __future__ import annotations

import re

import pytest
from corral.keys import NAMED
from corral.script_source import COMMENT, expand, read_source
from corral.scripts import SCRIPT_NAMES, load_script

KEY = re.compile(r"\bk\.(\w+)")
DYNAMIC = re.compile(r"\bk\[")
ZSETS_BY_STATE = {"active", "delayed", "completed", "failed", "cancelled"}
"""What ``k[state]`` may read (clean.lua, list_jobs.lua, retry.lua)."""


def referenced(source: str) -> tuple[set[str], bool]:
    """The keys a script's code can read, and whether any of it indexes ``k`` by a variable.

    ``expand`` keeps only the include functions the script names, so all of its code
    counts."""
    code = COMMENT.sub("", source)
    return set(KEY.findall(code)), DYNAMIC.search(code) is not None


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

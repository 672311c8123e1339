"""script_source: includes are cut into definitions and pruned to what a script reaches."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from corral.script_source import LUA_DIR, definitions, reachable, read_source
from corral.scripts import SCRIPT_NAMES, load_script

INCLUDE = """--[[
  A header.
]]
local function a()
  return 1
end
-- b calls a
local function b()
  return a() + 1
end
local cache = nil
local function c()
  cache = cache or b()
  return cache
end
-- a trailing comment
"""


def test_an_include_is_cut_into_its_definitions_with_their_comments() -> None:
    found = definitions(INCLUDE)

    assert [d.name for d in found] == ["a", "b", "cache", "c"]
    assert found[0].text.startswith("--[[\n  A header.")
    assert found[1].text.startswith("-- b calls a\nlocal function b()")
    assert "\n".join(d.text for d in found) + "\n-- a trailing comment\n" == INCLUDE


def test_only_what_the_code_names_is_kept_transitively_and_in_order() -> None:
    found = definitions(INCLUDE)

    assert [d.name for d in reachable("return b()", found)] == ["a", "b"]
    assert [d.name for d in reachable("return c()", found)] == ["a", "b", "cache", "c"]
    assert reachable("-- a() is only mentioned\nreturn 0", found) == []


def test_a_function_without_its_end_line_is_an_error() -> None:
    with pytest.raises(ValueError, match="no closing"):
        definitions("local function a()\n  return 1\n  end")


@pytest.mark.parametrize("path", sorted(p.name for p in (LUA_DIR / "includes").glob("*.lua")))
def test_every_include_cuts_without_loss(path: str) -> None:
    text = read_source(f"includes/{path}")
    joined = "\n".join(d.text for d in definitions(text))
    # What follows the last definition is comments or blank lines.
    rest = text[len(joined) :]
    assert text.startswith(joined)
    assert all(not line.strip() or line.startswith("--") for line in rest.splitlines())


def test_a_script_keeps_fewer_functions_than_its_includes_define() -> None:
    functions = re.compile(r"^local function (\w+)", re.MULTILINE)
    for name in SCRIPT_NAMES:
        kept = set(functions.findall(load_script(name).source))
        own = set(functions.findall(read_source(f"{name}.lua")))
        included = {
            fn
            for line in read_source(f"{name}.lua").splitlines()
            if line.startswith("--@include ")
            for fn in functions.findall(
                Path(LUA_DIR, line.removeprefix("--@include ").strip()).read_text()
            )
        }
        assert kept <= own | included
    enqueue = set(functions.findall(load_script("enqueue").source))
    assert "push_waiting" in enqueue and "kg_unpark_due" not in enqueue

"""ScriptCall packs a script's command as hiredis would pack it whole, from a head and a
tail packed once."""

from __future__ import annotations

from typing import Any

import hiredis
from corral.scripts import NO_TAIL, PackedArgs, ScriptCall, load_script


def whole(call: ScriptCall, *args: Any) -> bytes:
    sha = load_script("enqueue").sha
    return bytes(hiredis.pack_command((b"EVALSHA", sha, len(call.keys), *call.keys, *args)))


def test_a_call_packs_as_the_whole_command_would() -> None:
    call = ScriptCall.of("enqueue", [b"corral:{q}:a", "corral:{q}:b"])
    tail = PackedArgs.of([0, 1, '{"attempts":3}', 30000])

    assert call.packed([1, "id", b"{}"], tail) == whole(
        call, 1, "id", b"{}", 0, 1, '{"attempts":3}', 30000
    )
    assert call.packed([1, "id"]) == whole(call, 1, "id")
    assert call.packed([], tail) == whole(call, 0, 1, '{"attempts":3}', 30000)
    assert call.packed([], NO_TAIL) == whole(call)

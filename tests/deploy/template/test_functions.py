"""Every function's handler exists and every setting its code reads is set by the template."""

from __future__ import annotations

import asyncio
import importlib
import sys
from typing import Any

import pytest
from api.factory import PUBLIC_ROUTES
from corral.settings import Settings

from infra.deploy.code_scan import closure, settings_read
from infra.deploy.template_model import Function

FIELDS = Settings.model_fields
SET_BY_LAMBDA = {"region"}
"""Settings Lambda itself provides (AWS_REGION)."""

LOCAL_ONLY = {"api_keys", "local"}
"""Settings only the local emulator uses; in AWS the authorizer does their job."""


def env_name(field: str) -> str:
    alias = FIELDS[field].validation_alias
    return alias if isinstance(alias, str) else f"CORRAL_{field.upper()}"


def handler_module(function: Function) -> str:
    return function.handler.rpartition(".")[0]


def test_the_template_has_the_functions_the_design_names(lambdas: dict[str, Function]) -> None:
    assert {"ApiFunction", "SchedulerFunction", "ReconcilerFunction"} <= set(lambdas)
    assert lambdas["ApiFunction"].handler == "api.app.handler"


def test_every_handler_resolves_to_a_callable(function: Function) -> None:
    module_name, _, attribute = function.handler.rpartition(".")
    # The API's module sets an event loop of its own as current on import, for Mangum
    # (the Lambda runtime keeps it for the process). This test closes it: a loop left
    # behind is closed by nobody and fails a later test when the garbage collector finds it.
    try:
        module = importlib.import_module(module_name)
    finally:
        made = getattr(sys.modules.get(module_name), "event_loop", None)
        if made is not None:
            asyncio.set_event_loop(None)
            made.close()
    assert callable(getattr(module, attribute, None))


def test_every_setting_the_code_reads_is_set(function: Function) -> None:
    poller = function.handler == "poller.app.handler"
    files = closure(handler_module(function), runs_queue_handlers=poller)
    read = settings_read(files, set(FIELDS))
    needed = {env_name(field) for field in read - SET_BY_LAMBDA - LOCAL_ONLY}
    assert needed - set(function.environment) == set()


def test_the_template_sets_no_variable_the_code_does_not_know(
    lambdas: dict[str, Function],
) -> None:
    known = {env_name(field) for field in FIELDS}
    for function in lambdas.values():
        ours = {name for name in function.environment if name.startswith("CORRAL_")}
        assert ours - known == set(), function.logical_id


def test_redis_settings_reach_every_function(lambdas: dict[str, Function]) -> None:
    redis = {env_name(f) for f in FIELDS if f.startswith("redis_")}
    for function in lambdas.values():
        assert redis <= set(function.environment), function.logical_id


@pytest.mark.parametrize("field", sorted(LOCAL_ONLY | SET_BY_LAMBDA))
def test_exempt_settings_still_exist(field: str) -> None:
    # An exemption for a field that was renamed would hide a missing variable.
    assert field in FIELDS


def test_runtime_is_python313_on_arm64(template: dict[str, Any]) -> None:
    function_globals = template["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]
    layer = template["Resources"]["CorralLayer"]
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"


def test_only_the_public_paths_skip_the_authorizer(template: dict[str, Any]) -> None:
    events = template["Resources"]["ApiFunction"]["Properties"]["Events"].values()
    open_routes = {
        (e["Properties"]["Method"], e["Properties"]["Path"])
        for e in events
        if e["Properties"].get("Auth", {}).get("Authorizer") == "NONE"
    }
    assert open_routes == set(PUBLIC_ROUTES)


def test_the_api_and_the_pollers_may_start_the_reconciler_they_name(
    lambdas: dict[str, Function],
) -> None:
    """When Redis lost a queue, the API and the pollers start a reconcile at once."""
    name = lambdas["ReconcilerFunction"].properties["FunctionName"]
    starters = [
        f for f in lambdas.values() if f.handler in ("api.app.handler", "poller.app.handler")
    ]
    assert len(starters) > 2
    for function in starters:
        assert function.environment["CORRAL_RECONCILER_FUNCTION"] == name
        invokable = [
            p["LambdaInvokePolicy"]["FunctionName"]
            for p in function.policies
            if "LambdaInvokePolicy" in p
        ]
        assert name in invokable, function.logical_id

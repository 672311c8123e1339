"""SnapStart as a template option: off by default; on, everything that invokes the API or a
poller targets the published alias that runs from the snapshot."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.deploy.queues import logical_id, render_poller
from tests.deploy.template.translated import needs_sam, translate

ALIAS = "live"
SNAPSTART_FUNCTIONS = ["ApiFunction", *(logical_id(q) for q in ("email", "file-processing"))]


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def poller_targets(template: dict[str, Any]) -> list[Any]:
    """What each poller's EventBridge schedule invokes."""
    return [
        target["Arn"]
        for rule in resources(template, "AWS::Events::Rule").values()
        for target in rule["Properties"]["Targets"]
        if "Poller" in json.dumps(target["Arn"])
    ]


def poller_function_env(template: dict[str, Any], name: str, *, snapstart: bool) -> str:
    """The CORRAL_POLLER_FUNCTION a function gets, with the UseSnapStart condition decided
    (CloudFormation decides it: the translation keeps the ``Fn::If``)."""
    value = template["Resources"][name]["Properties"]["Environment"]["Variables"][
        "CORRAL_POLLER_FUNCTION"
    ]
    if "Fn::If" in value:
        condition, when_on, when_off = value["Fn::If"]
        assert condition == "UseSnapStart"
        value = when_on if snapstart else when_off
    return str(value["Fn::Sub"])


def test_the_generator_writes_snapstart_on_every_poller() -> None:
    from queues import registry

    for definition in registry:
        text = render_poller(definition)
        assert "ApplyOn: !Ref SnapStart" in text
        assert "AutoPublishAlias: !If [UseSnapStart, live, !Ref AWS::NoValue]" in text


@needs_sam
def test_snapstart_is_off_by_default_and_nothing_targets_an_alias() -> None:
    template = translate()
    functions = resources(template, "AWS::Lambda::Function")
    for name in SNAPSTART_FUNCTIONS:
        assert functions[name]["Properties"]["SnapStart"] == {"ApplyOn": "None"}
    assert not resources(template, "AWS::Lambda::Alias")
    assert not resources(template, "AWS::Lambda::Version")
    assert all("Fn::GetAtt" in arn for arn in poller_targets(template))
    assert not poller_function_env(template, "ApiFunction", snapstart=False).endswith(ALIAS)


@needs_sam
def test_snapstart_on_publishes_an_alias_that_every_invoker_targets() -> None:
    template = translate(SnapStart="PublishedVersions")
    functions = resources(template, "AWS::Lambda::Function")
    aliases = resources(template, "AWS::Lambda::Alias")
    for name in SNAPSTART_FUNCTIONS:
        assert functions[name]["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
        assert aliases[f"{name}Alias{ALIAS}"]["Properties"]["Name"] == ALIAS
    pollers = [n for n in functions if n.startswith("Poller")]
    assert len(pollers) >= 6
    assert {f"{n}Alias{ALIAS}" for n in pollers} <= set(aliases)
    # The scheduler and reconciler keep $LATEST: only the API and the pollers snapshot.
    assert functions["SchedulerFunction"]["Properties"].get("SnapStart") is None
    # EventBridge ticks, and the permission they need, are on the alias.
    targets = poller_targets(template)
    assert len(targets) == len(pollers)
    assert all(arn == {"Ref": arn["Ref"]} and arn["Ref"].endswith(ALIAS) for arn in targets)
    for name, permission in resources(template, "AWS::Lambda::Permission").items():
        if name.startswith(("Poller", "ApiFunction")):
            assert permission["Properties"]["FunctionName"]["Ref"].endswith(f"Alias{ALIAS}")
    # API Gateway calls the API's alias.
    paths = template["Resources"]["HttpApi"]["Properties"]["Body"]["paths"]
    for methods in paths.values():
        for method in methods.values():
            uri = json.dumps(method["x-amazon-apigateway-integration"]["uri"])
            assert f"${{ApiFunctionAlias{ALIAS}}}" in uri
    # Async invoke settings (no retries) apply to the alias the invokers call.
    for config in resources(template, "AWS::Lambda::EventInvokeConfig").values():
        if config["Properties"]["FunctionName"]["Ref"] in pollers:
            assert config["Properties"]["Qualifier"] == ALIAS


@needs_sam
def test_snapstart_on_wakes_and_fans_out_through_the_alias() -> None:
    template = translate(SnapStart="PublishedVersions")
    for name in ("ApiFunction", "Polleremail", "ReconcilerFunction", "SchedulerFunction"):
        wanted = "${AWS::StackName}-poller-{queue}:live"
        assert poller_function_env(template, name, snapstart=True) == wanted


@needs_sam
@pytest.mark.parametrize("snapstart", ["None", "PublishedVersions"])
def test_invoke_grants_cover_the_pollers_alias(snapstart: str) -> None:
    """The API and the pollers may invoke ``<poller>:live``: their grant ends in a wildcard."""
    template = translate(SnapStart=snapstart)
    for role in ("ApiFunctionRole", "PolleremailRole"):
        statements = json.dumps(template["Resources"][role]["Properties"]["Policies"])
        assert "function:${functionName}*" in statements
        assert "${AWS::StackName}-poller-" in statements

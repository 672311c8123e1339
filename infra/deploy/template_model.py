"""Read ``template.yaml`` the way a deploy would, for checks that need no AWS account.

``load_template`` parses the CloudFormation YAML tags (with cfn-lint's loader) and expands
``Fn::ForEach`` loops; ``functions`` then gives each Lambda function's handler,
environment (``Globals`` merged in) and the IAM actions its policies grant, with SAM
policy templates expanded as SAM expands them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
FOREACH = "Fn::ForEach::"


def _substitute(node: Any, var: str, value: str) -> Any:
    """``node`` with the loop variable replaced (``Ref``, ``${var}`` and ``&{var}``)."""
    if isinstance(node, dict):
        if node == {"Ref": var}:
            return value
        return {_substitute(k, var, value): _substitute(v, var, value) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(item, var, value) for item in node]
    if isinstance(node, str):
        alnum = re.sub(r"[^A-Za-z0-9]", "", value)
        return node.replace("&{" + var + "}", alnum).replace("${" + var + "}", value)
    return node


def expand_foreach(section: dict[str, Any]) -> dict[str, Any]:
    """A template section with every ``Fn::ForEach::`` loop unrolled."""
    out: dict[str, Any] = {}
    for key, body in section.items():
        if not key.startswith(FOREACH):
            out[key] = body
            continue
        var, collection, fragment = body
        for value in collection:
            out.update(expand_foreach(_substitute(fragment, var, value)))
    return out


def parse_yaml(text: str) -> dict[str, Any]:
    """A CloudFormation template's text as plain data (short-form tags become ``Fn::`` keys)."""
    from cfnlint.decode.cfn_yaml import loads

    parsed: dict[str, Any] = json.loads(json.dumps(loads(text)))
    return parsed


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as a dict, with ``Fn::ForEach`` expanded in ``Resources`` and ``Outputs``."""
    from cfnlint.decode.cfn_yaml import load

    template: dict[str, Any] = json.loads(json.dumps(load(str(path))))
    for section in ("Resources", "Outputs", "Conditions"):
        if section in template:
            template[section] = expand_foreach(template[section])
    return template


def resolve(node: Any, template: dict[str, Any]) -> Any:
    """``node`` with ``Fn::FindInMap`` and ``Ref`` of a parameter worked out as a deploy with
    the parameters' defaults would; anything else is returned as it is."""
    if isinstance(node, dict) and set(node) == {"Ref"}:
        parameter = template.get("Parameters", {}).get(node["Ref"])
        return parameter.get("Default", node) if isinstance(parameter, dict) else node
    if isinstance(node, dict) and set(node) == {"Fn::FindInMap"}:
        name, first, second = (resolve(part, template) for part in node["Fn::FindInMap"])
        return template["Mappings"][name][first][second]
    return node


def both_branches(node: Any) -> list[Any]:
    """Every value a node may take: both branches of each ``Fn::If``, flattened."""
    if isinstance(node, dict) and set(node) == {"Fn::If"}:
        _, yes, no = node["Fn::If"]
        return [*both_branches(yes), *both_branches(no)]
    if node == {"Ref": "AWS::NoValue"}:
        return []
    return [node]


POLICY_TEMPLATES = {
    "LambdaInvokePolicy": {"lambda:InvokeFunction"},
    "AWSSecretsManagerGetSecretValuePolicy": {"secretsmanager:GetSecretValue"},
}
"""The SAM policy templates the template uses, with the actions SAM expands them to."""


def _actions_of_statements(statements: Any) -> set[str]:
    actions: set[str] = set()
    for statement in both_branches(statements):
        for one in statement if isinstance(statement, list) else [statement]:
            for resolved in both_branches(one):
                if resolved.get("Effect") != "Allow":
                    continue
                granted = resolved["Action"]
                actions.update([granted] if isinstance(granted, str) else granted)
    return actions


@dataclass
class Function:
    """One ``AWS::Serverless::Function`` as deployed."""

    logical_id: str
    handler: str
    environment: dict[str, Any]
    policies: list[Any]
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def layers(self) -> list[str]:
        """The logical ids of the layers the function has, in Lambda's order."""
        return [layer["Ref"] for layer in self.properties.get("Layers", [])]

    def granted_actions(self, template: dict[str, Any]) -> set[str]:
        """IAM actions the function's policies allow (every ``Fn::If`` branch counted)."""
        actions: set[str] = set()
        for policy in self.policies:
            for item in both_branches(policy):
                actions |= _actions_of_policy(item, template)
        return actions


def _actions_of_policy(item: Any, template: dict[str, Any]) -> set[str]:
    if isinstance(item, str):
        raise ValueError(f"managed policy by name or ARN is not allowed: {item}")
    if "Ref" in item:
        resource = template["Resources"][item["Ref"]]
        return _actions_of_statements(resource["Properties"]["PolicyDocument"]["Statement"])
    if "Statement" in item:
        return _actions_of_statements(item["Statement"])
    (name,) = item
    if name not in POLICY_TEMPLATES:
        raise ValueError(f"add SAM policy template {name} to POLICY_TEMPLATES")
    return set(POLICY_TEMPLATES[name])


def functions(template: dict[str, Any]) -> dict[str, Function]:
    """Every Lambda function of the template, with ``Globals`` merged in."""
    globals_ = template.get("Globals", {}).get("Function", {})
    global_env = globals_.get("Environment", {}).get("Variables", {})
    found: dict[str, Function] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = {**globals_, **resource["Properties"]}
        # SAM appends a function's list to the Globals' one (maps merge, scalars override).
        props["Layers"] = [*globals_.get("Layers", []), *resource["Properties"].get("Layers", [])]
        env = {**global_env, **props.get("Environment", {}).get("Variables", {})}
        found[logical_id] = Function(
            logical_id, props["Handler"], env, props.get("Policies", []), props
        )
    return found

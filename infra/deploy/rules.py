"""Evaluate the template's ``Rules`` as CloudFormation does before it creates anything.

A rule whose ``RuleCondition`` holds must have every ``Assert`` true, or CloudFormation
refuses the stack with the ``AssertDescription``. Only the functions the template's rules use
are implemented (``Ref``, ``Fn::Equals``, ``Fn::Not``, ``Fn::And``, ``Fn::Or``,
``Fn::Contains``); any other one is an error, not a guess.
"""

from __future__ import annotations

from typing import Any


def parameter_values(template: dict[str, Any], given: dict[str, str]) -> dict[str, Any]:
    """Each parameter's value as a rule sees it: given or default; lists split on commas."""
    values: dict[str, Any] = {}
    for name, declaration in template.get("Parameters", {}).items():
        raw = given.get(name, declaration.get("Default"))
        if raw is None:
            continue
        raw = str(raw)
        is_list = declaration["Type"].startswith("List<") or declaration["Type"] in {
            "CommaDelimitedList"
        }
        values[name] = [item.strip() for item in raw.split(",")] if is_list else raw
    return values


def evaluate(node: Any, values: dict[str, Any]) -> Any:
    """The value of a rule expression for these parameter values."""
    if not isinstance(node, dict):
        return node
    (function, argument), *rest = node.items()
    if rest:
        raise ValueError(f"not one function: {node}")
    if function == "Ref":
        return values[argument]
    if function == "Fn::Equals":
        left, right = (evaluate(a, values) for a in argument)
        return left == right
    if function == "Fn::Not":
        return not evaluate(argument[0], values)
    if function == "Fn::And":
        return all(evaluate(a, values) for a in argument)
    if function == "Fn::Or":
        return any(evaluate(a, values) for a in argument)
    if function == "Fn::Contains":
        collection, item = (evaluate(a, values) for a in argument)
        return item in collection
    raise ValueError(f"rule function {function} is not implemented here")


def failed_assertions(template: dict[str, Any], given: dict[str, str]) -> list[str]:
    """The ``AssertDescription`` of every assertion CloudFormation would reject."""
    values = parameter_values(template, given)
    failed = []
    for rule in template.get("Rules", {}).values():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], values):
            continue
        for assertion in rule["Assertions"]:
            if not evaluate(assertion["Assert"], values):
                failed.append(" ".join(str(assertion.get("AssertDescription", "")).split()))
    return failed

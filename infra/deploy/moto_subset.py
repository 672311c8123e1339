"""The part of a translated template that moto's CloudFormation can create.

moto creates only the resource types it models, and it rejects an IAM managed policy whose
document holds intrinsic functions (it checks the document before resolving them), so those
are left out, and so is every resource that refers to one left out (a function needs its
role, the role its policies). What remains is created as a real stack in moto: the tables
with their indexes, the queue, the bucket, the layer version from the uploaded artefact, the
security groups, the VPC endpoints, the event bus.
"""

from __future__ import annotations

import re
from typing import Any

REJECTED_BY_MOTO = frozenset({"AWS::IAM::ManagedPolicy"})
_SUB_NAME = re.compile(r"\$\{([^}!][^}]*)\}")


def references(node: Any) -> set[str]:
    """Names a template fragment refers to (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``)."""
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("Ref"), str):
            found.add(node["Ref"])
        if "Fn::GetAtt" in node:
            target = node["Fn::GetAtt"]
            found.add(target[0] if isinstance(target, list) else target.split(".")[0])
        if "Fn::Sub" in node:
            text = node["Fn::Sub"][0] if isinstance(node["Fn::Sub"], list) else node["Fn::Sub"]
            found.update(name.split(".")[0] for name in _SUB_NAME.findall(text))
        for value in node.values():
            found |= references(value)
    elif isinstance(node, list):
        for value in node:
            found |= references(value)
    return found


def supported_subset(template: dict[str, Any], modelled: set[str]) -> dict[str, Any]:
    """``template`` with only the resources moto can create, and what they need."""
    resources = template["Resources"]
    keep = {n for n, r in resources.items() if r["Type"] in modelled - REJECTED_BY_MOTO}
    changed = True
    while changed:
        changed = False
        for name in sorted(keep):
            depends = resources[name].get("DependsOn", [])
            needed = (
                references(resources[name])
                | set([depends] if isinstance(depends, str) else depends)
            ) & set(resources)
            if not needed <= keep:
                keep.discard(name)
                changed = True
    subset = {k: v for k, v in template.items() if k not in {"Outputs", "Rules"}}
    subset["Resources"] = {name: resources[name] for name in sorted(keep)}
    return subset

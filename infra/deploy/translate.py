"""Translate the template offline as ``sam deploy`` would, with the SAM CLI's own libraries.

Expands ``AWS::LanguageExtensions`` (Fn::ForEach, and the Fn::If that picks the API's
authorizer) and runs the SAM translator, so errors that only SAM catches (an authorizer it
cannot read, a bad event) show up without an AWS account. It must run under the SAM CLI's
interpreter: ``.venv-sam/bin/python -m infra.deploy.translate [Name=Value ...]`` prints
the logical ids of the resulting CloudFormation resources, one a line.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDERS = {"VpcId": "vpc-00000000", "SubnetIds": "subnet-00000000,subnet-11111111"}


class _NoManagedPolicies:
    """The translator asks IAM for managed policy ARNs; the template names none by name."""

    def load(self) -> dict[str, str]:
        return {}


def translate(parameters: dict[str, str]) -> dict[str, Any]:
    """The CloudFormation template ``sam deploy`` would create for ``parameters``."""
    from samcli.lib.cfn_language_extensions.api import (  # type: ignore[import-not-found]
        process_template,
    )
    from samcli.yamlhelper import yaml_parse  # type: ignore[import-not-found]
    from samtranslator.translator.transform import transform

    template = yaml_parse((ROOT / "template.yaml").read_text())
    expanded: dict[str, Any] = process_template(template, parameter_values=parameters)
    expanded["Transform"] = "AWS::Serverless-2016-10-31"
    # sam package would have uploaded the code: stand-in S3 locations.
    expanded["Globals"]["Function"]["CodeUri"] = "s3://artefacts/functions.zip"
    for resource in expanded["Resources"].values():
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            resource["Properties"]["ContentUri"] = "s3://artefacts/layer.zip"
    result: dict[str, Any] = transform(expanded, parameters, _NoManagedPolicies())
    return result


def main(argv: list[str]) -> int:
    """Print the translated resources' logical ids and types."""
    parameters = dict(PLACEHOLDERS)
    parameters.update(arg.split("=", 1) for arg in argv)  # type: ignore[misc]
    for logical_id, resource in sorted(translate(parameters)["Resources"].items()):
        print(logical_id, resource["Type"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

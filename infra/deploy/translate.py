"""Translate the template offline as ``sam deploy`` would, with the SAM CLI's own libraries.

Expands ``AWS::LanguageExtensions`` (Fn::ForEach, and the Fn::If that picks the API's
authorizer) and runs the SAM translator, so errors that only SAM catches (an authorizer it
cannot read, a bad event) show up without an AWS account. It must run under the SAM CLI's
interpreter: ``.venv-sam/bin/python -m infra.deploy.translate [--template FILE] [Name=Value ...]``
prints the resulting CloudFormation template as JSON.

Given the template ``sam deploy`` uploaded (``--template``), it translates that as it is: its
code locations are the ``s3://`` URIs ``sam package`` wrote, which is what the deploy rehearsal
(``infra.deploy.rehearse``) checks. Without one it reads ``template.yaml`` and puts stand-in S3
locations in place of the local code paths: enough for checks of the template's shape, which is
what the template tests use it for; it proves nothing about packaging.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDERS = {"VpcId": "vpc-00000000", "SubnetIds": "subnet-00000000,subnet-11111111"}


class _NoManagedPolicies:
    """The translator asks IAM for managed policy ARNs; the template names none by name."""

    def load(self) -> dict[str, str]:
        return {}


def _with_stand_in_code(template: dict[str, Any]) -> dict[str, Any]:
    """``template`` with stand-in S3 locations where ``sam package`` would put the code."""
    template["Globals"]["Function"]["CodeUri"] = "s3://artefacts/functions.zip"
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            resource["Properties"]["ContentUri"] = "s3://artefacts/layer.zip"
        elif resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"].pop("CodeUri", None)
    return template


def translate(parameters: dict[str, str], packaged: str | None = None) -> dict[str, Any]:
    """The CloudFormation template ``sam deploy`` would create for ``parameters``.

    Args:
        parameters: the stack's parameter values.
        packaged: the text of a template ``sam package`` wrote; None for ``template.yaml``
            with stand-in code locations.
    """
    from samcli.lib.cfn_language_extensions.api import (  # type: ignore[import-not-found]
        process_template,
    )
    from samcli.yamlhelper import yaml_parse  # type: ignore[import-not-found]
    from samtranslator.translator.transform import transform

    source = packaged if packaged is not None else (ROOT / "template.yaml").read_text()
    expanded: dict[str, Any] = process_template(yaml_parse(source), parameter_values=parameters)
    expanded["Transform"] = "AWS::Serverless-2016-10-31"
    if packaged is None:
        expanded = _with_stand_in_code(expanded)
    result: dict[str, Any] = transform(expanded, parameters, _NoManagedPolicies())
    return result


def main(argv: list[str]) -> int:
    """Print the translated template as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, help="a template sam package wrote")
    parser.add_argument("parameters", nargs="*", help="Name=Value stack parameters")
    args = parser.parse_args(argv)
    parameters = dict(PLACEHOLDERS)
    for pair in args.parameters:
        name, _, value = pair.partition("=")
        parameters[name] = value
    packaged = args.template.read_text() if args.template else None
    print(json.dumps(translate(parameters, packaged)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

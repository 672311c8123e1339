"""The template as CloudFormation would receive it, translated by the SAM CLI's own libraries.

Code locations are stand-ins here (``infra.deploy.translate``): these checks are about the
template's shape. That the code really packages and uploads is the deploy rehearsal's job
(``tests/deploy/rehearsal``).
"""

from __future__ import annotations

import json
import os
import subprocess
from functools import cache
from typing import Any

import pytest

from infra.deploy.template_model import ROOT

SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
needs_sam = pytest.mark.skipif(
    not SAM_PYTHON.is_file(), reason="needs the SAM CLI's virtualenv (make sam-cli)"
)


@cache
def _translate(parameters: str) -> str:
    pairs = [f"{name}={value}" for name, value in json.loads(parameters).items()]
    run = subprocess.run(
        [str(SAM_PYTHON), "-m", "infra.deploy.translate", *pairs],
        cwd=ROOT,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        check=True,
    )
    return run.stdout


def translate(**parameters: str) -> dict[str, Any]:
    """The translated template for these parameters (placeholders for the network)."""
    translated: dict[str, Any] = json.loads(_translate(json.dumps(parameters, sort_keys=True)))
    return translated

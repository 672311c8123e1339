"""Fixtures for the template checks: the parsed template and its functions."""

from __future__ import annotations

from typing import Any

import pytest

from infra.deploy.code_scan import module_file
from infra.deploy.template_model import Function, functions, load_template

TEMPLATE = load_template()
FUNCTIONS = functions(TEMPLATE)


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return TEMPLATE


@pytest.fixture(scope="session")
def lambdas() -> dict[str, Function]:
    return FUNCTIONS


@pytest.fixture(params=sorted(FUNCTIONS))
def function(request: pytest.FixtureRequest) -> Function:
    """Each function whose handler module exists (the others are reported as skipped)."""
    found = FUNCTIONS[request.param]
    if module_file(found.handler.rpartition(".")[0]) is None:
        pytest.skip(f"{found.handler} is not written yet")
    return found

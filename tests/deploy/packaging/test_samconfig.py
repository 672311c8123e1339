"""The committed samconfig.toml: every command that reads the template expands its extensions."""

from __future__ import annotations

import tomllib

import pytest

from infra.deploy.build import ROOT

CONFIG = tomllib.loads((ROOT / "samconfig.toml").read_text())
ENVIRONMENTS = sorted(name for name, section in CONFIG.items() if isinstance(section, dict))


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("command", ["build", "package", "deploy", "sync"])
def test_language_extensions_are_on(environment: str, command: str) -> None:
    # Without it, sam deploy reads the raw Fn::If of the authorizer and crashes.
    assert CONFIG[environment][command]["parameters"]["language_extensions"] is True


def test_no_environment_reserves_concurrency_by_default_but_prod() -> None:
    for environment in ("default", "dev"):
        overrides = CONFIG[environment]["deploy"]["parameters"]["parameter_overrides"]
        assert "ReservePollerConcurrency=false" in overrides

"""cfn-lint reports nothing on the template: no errors, no warnings."""

from __future__ import annotations

from cfnlint.api import lint_file

from infra.deploy.template_model import TEMPLATE


def test_cfn_lint_is_clean() -> None:
    matches = lint_file(TEMPLATE)
    assert [str(match) for match in matches] == []

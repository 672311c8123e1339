"""``make deploy-check``'s rehearsal: the README's build and ``sam deploy`` against moto.

Slow on purpose (about a minute on a cold cache): it runs the real ``sam build`` into
``.aws-sam/build``, as ``make build`` does, and the real ``sam deploy`` with the committed
``samconfig.toml``. What it cannot reach (executing the change set) is in the module doc of
``infra.deploy.rehearse``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.deploy.build import ROOT, python_for, sam_build, sam_command
from infra.deploy.rehearse import Rehearsal, rehearse
from infra.deploy.template_model import functions, load_template

pytestmark = [pytest.mark.slow, pytest.mark.deploy, pytest.mark.timeout(900)]

SAM = sam_command()
PYTHON = python_for()


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Rehearsal:
    if SAM is None or PYTHON is None:
        pytest.skip("needs the SAM CLI (make sam-cli) and python3.13")
    sam_build(ROOT / ".aws-sam" / "build", sam=SAM, python=PYTHON)
    return rehearse(tmp_path_factory.mktemp("rehearsal"))


def test_the_rehearsal_finds_no_problem(rehearsal: Rehearsal) -> None:
    assert rehearsal.problems() == []


def test_every_function_and_layer_was_uploaded(rehearsal: Rehearsal) -> None:
    expected = set(functions(load_template())) | {"CorralLayer", "ApiLayer", "ImagingLayer"}
    assert set(rehearsal.code_uris) == expected
    assert all(uri.startswith("s3://") for uri in rehearsal.code_uris.values())
    assert rehearsal.missing_objects == []


def test_a_change_set_was_requested_and_created(rehearsal: Rehearsal) -> None:
    assert [c["Status"] for c in rehearsal.change_sets] == ["CREATE_COMPLETE"]
    assert rehearsal.change_sets[0]["ExecutionStatus"] == "AVAILABLE"


def test_the_uploaded_template_translates_with_every_function(rehearsal: Rehearsal) -> None:
    translated = {
        n for n, t in rehearsal.translated_resources.items() if t == "AWS::Lambda::Function"
    }
    assert set(functions(load_template())) - {"ApiKeyAuthorizerFunction"} <= translated


def test_moto_creates_what_it_supports_from_the_uploaded_template(rehearsal: Rehearsal) -> None:
    created = dict(rehearsal.created)
    assert created.pop("(stack)") == "CREATE_COMPLETE"
    assert set(created.values()) == {"CREATE_COMPLETE"}
    expected = {"JobTable", "SchedulesTable", "TenantTable", "DeadLetterQueue", "ResultsBucket"}
    expected |= {"DynamoDbEndpoint", "S3Endpoint", "FunctionSecurityGroup", "EventBus"}
    assert expected <= set(created)
    # The layer versions are created from the zips sam deploy uploaded.
    for layer in ("CorralLayer", "ApiLayer", "ImagingLayer"):
        assert any(name.startswith(layer) for name in created), layer


def test_nothing_was_sent_off_loopback(rehearsal: Rehearsal) -> None:
    assert rehearsal.off_loopback == []


def test_the_rehearsal_is_quick_enough_for_ci(rehearsal: Rehearsal) -> None:
    assert rehearsal.seconds < 120


def test_the_build_left_the_artefacts_the_deploy_read(rehearsal: Rehearsal) -> None:
    # The rehearsal runs the build: without it (no SAM CLI) there is nothing to look at.
    assert (Path(ROOT) / ".aws-sam" / "build" / "template.yaml").is_file()

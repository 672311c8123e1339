"""The registry of typed queues, and adding a queue as one module plus one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import queues
from corral.definition import QueueRegistry
from corral.job import JobState
from corral.queue import Queue
from pydantic import ValidationError

from tests.functions.queues import greeting_queue
from tests.functions.queues.queue_helpers import TENANT, drain, stored


def test_the_queues_are_registered() -> None:
    assert queues.registry.names() == [
        "email",
        "sms",
        "data-export",
        "file-processing",
        "generic-task",
        "webhook",
    ]


@pytest.mark.parametrize("definition", list(queues.registry), ids=lambda d: d.name)
def test_every_payload_needs_a_tenant_and_rejects_unknown_fields(definition: Any) -> None:
    with pytest.raises(ValidationError, match="subAccountId"):
        definition.payload.model_validate({})
    with pytest.raises(ValidationError, match="surprise"):
        definition.payload.model_validate({"subAccountId": TENANT, "surprise": 1})
    assert definition.description


async def test_adding_a_queue_is_one_module_plus_one_line(redis: Any, prefix: str) -> None:
    registry = QueueRegistry([*queues.registry, greeting_queue.queue])

    definition = registry.get("greeting")
    queue = Queue(redis, definition, prefix=prefix)
    added = await queue.add({"subAccountId": TENANT, "name": "Ann"})
    await drain(queue)
    job = await stored(queue, added.job_id)
    assert (job.state, job.result, job.group) == (JobState.COMPLETED, "hello Ann", TENANT)


def test_importing_the_queues_leaves_heavy_modules_for_first_use() -> None:
    # A poller imports every queue before its first claim; boto3, Pillow and XlsxWriter
    # cost more import time than that budget allows, so they load on first use.
    root = Path(__file__).resolve().parents[3]
    paths = [str(root / "functions"), str(root / "layers" / "corral")]
    code = (
        f"import sys; sys.path[:0] = {paths!r}; import queues; "
        "heavy = {'boto3', 'botocore', 'PIL', 'xlsxwriter'}; "
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"

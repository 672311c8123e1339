"""What a handler's import leaves out, checked in a fresh interpreter (never timed).

The figures themselves come from ``make importtime``; these tests keep the heavy imports
that were moved off the import path (boto3 and its clients, the X-Ray SDK, FastAPI in the
pollers, pydantic-settings) from coming back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from corral.lazy_client import LazyClient, lazy
from corral.settings import Settings

from infra.deploy.import_floor import FLOORS, floor_of

ROOT = Path(__file__).resolve().parents[3]

BOTO = {"boto3", "botocore.session", "botocore.client", "s3transfer"}
"""boto3 and what building a client needs. Powertools imports the bare ``botocore``
package (to tag its user agent), which is cheap, so that one is allowed."""
TRACING_ON = {"LAMBDA_TASK_ROOT": str(ROOT / "functions")}
"""As deployed with ``Tracing: Active``: Lambda sets ``LAMBDA_TASK_ROOT``."""
NEVER = {"aws_xray_sdk", "pydantic_settings", "dotenv"}

FORBIDDEN = {
    # Pillow only where the file-processing queue runs a job (queues._file_ops).
    "poller.app": BOTO | NEVER | {"fastapi", "starlette", "mangum", "httpx", "PIL"},
    "reconciler.app": BOTO | NEVER | {"fastapi", "starlette", "mangum", "PIL"},
    "api.app": BOTO | NEVER | {"httpx"},  # only the webhook poller sends anything
    "authorizer.app": BOTO | NEVER | {"fastapi", "redis", "aws_lambda_powertools"},
}


def loaded_by(module: str, **env: str) -> set[str]:
    """The modules in ``sys.modules`` after importing ``module`` in a fresh interpreter."""
    return loaded_after(f"import {module}", **env)


def loaded_after(code: str, **env: str) -> set[str]:
    """The modules in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    code += "\nimport json, sys; print(json.dumps(sorted(sys.modules)))"
    base = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(ROOT)]),
        "AWS_REGION": "us-east-1",
    }
    run = subprocess.run(
        [sys.executable, "-c", code],
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(json.loads(run.stdout.splitlines()[-1]))


@pytest.mark.parametrize("tracing", [False, True])
@pytest.mark.parametrize("module", sorted(FLOORS))
def test_a_handler_floor_loads_only_what_the_handler_loads(module: str, tracing: bool) -> None:
    # The floor is what the handler cannot do without: anything more would flatter the engine.
    env = TRACING_ON if tracing else {}
    floor = floor_of(module, tracing=tracing)
    assert floor is not None
    extra = loaded_after(floor, **env) - loaded_by(module, **env)
    assert extra == set()


@pytest.mark.parametrize("module", sorted(FORBIDDEN))
def test_a_handler_import_skips_what_it_does_not_need(module: str) -> None:
    loaded = loaded_by(module)
    assert module in loaded
    assert FORBIDDEN[module] & loaded == set()


@pytest.mark.parametrize("module", sorted(FORBIDDEN))
def test_a_handler_import_takes_no_id(module: str) -> None:
    """With SnapStart, init runs once for every environment restored from its snapshot: an
    id that corral took then would be shared by all of them. (Libraries may: OpenTelemetry
    names its context keys with uuid4, which only need to differ within one process.)"""
    refuse = (
        "import secrets, sys, uuid\n"
        "def guard(real):\n"
        "    def call(*args, **kwargs):\n"
        "        caller = sys._getframe(1).f_code.co_filename\n"
        f"        if caller.startswith(({str(ROOT / 'functions')!r}, {str(ROOT / 'layers')!r})):\n"
        "            raise AssertionError('an id taken at init')\n"
        "        return real(*args, **kwargs)\n"
        "    return call\n"
        "for module, name in [(uuid, 'uuid1'), (uuid, 'uuid4'), (secrets, 'token_bytes'),\n"
        "                     (secrets, 'token_hex'), (secrets, 'token_urlsafe')]:\n"
        "    setattr(module, name, guard(getattr(module, name)))\n"
    )
    assert module in loaded_after(f"{refuse}import {module}")


def test_the_tracer_and_its_sdk_load_where_tracing_is_on() -> None:
    loaded = loaded_by("poller.app", **TRACING_ON)
    assert "aws_xray_sdk.core" in loaded


def test_traced_wraps_only_where_powertools_would_trace() -> None:
    code = (
        "import sys; from corral.tracing import traced\n"
        "def handler(event, context): return event\n"
        "wrapped = traced('corral')(handler)\n"
        "print(wrapped is handler, 'aws_xray_sdk.core' in sys.modules)"
    )
    base = {"PATH": os.environ.get("PATH", ""), "AWS_REGION": "us-east-1"}
    lambda_env = {**base, "LAMBDA_TASK_ROOT": str(ROOT)}
    answers = {}
    for name, env in {
        "local": base,
        "lambda": lambda_env,
        "lambda, disabled": {**lambda_env, "POWERTOOLS_TRACE_DISABLED": "true"},
        "sam local": {**lambda_env, "AWS_SAM_LOCAL": "true"},
    }.items():
        run = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        answers[name] = run.stdout.split()
    assert answers == {
        "local": ["True", "False"],
        "lambda": ["False", "True"],
        "lambda, disabled": ["True", "False"],
        "sam local": ["True", "False"],
    }


class Client:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def get_item(self, **kwargs: Any) -> str:
        self.calls.append("get_item")
        return "item"


def test_a_lazy_client_is_built_on_first_use_and_only_once() -> None:
    built: list[Client] = []

    def build() -> Client:
        built.append(Client())
        return built[-1]

    proxy = LazyClient(build)
    assert built == [] and not proxy.built
    client = lazy(build)
    assert built == []
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(client.get_item())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["item"] * 8 and len(built) == 1
    assert built[0].calls == ["get_item"] * 8
    with pytest.raises(AttributeError):
        client.delete_table  # type: ignore[attr-defined]  # noqa: B018


def test_settings_read_the_environment_as_pydantic_settings_did(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://cache:6380/1")
    monkeypatch.setenv("CORRAL_REDIS_CLUSTER", "true")
    monkeypatch.setenv("corral_table", "jobs-lower-case")
    monkeypatch.setenv("CORRAL_MAX_BODY_BYTES", "1024")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("CORRAL_NOT_A_SETTING", "ignored")
    settings = Settings(key_prefix="mine", table="from-argument")
    assert settings.redis_url == "redis://cache:6380/1"
    assert settings.redis_cluster is True
    assert settings.max_body_bytes == 1024
    assert settings.region == "eu-west-1"
    assert (settings.key_prefix, settings.table) == ("mine", "from-argument")
    assert Settings().table == "jobs-lower-case"
    monkeypatch.setenv("CORRAL_REDIS_CLUSTER", "perhaps")
    with pytest.raises(ValueError, match="redis_cluster"):
        Settings()

"""The client's return types name exactly the keys the API's response schemas have."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import pytest
from corral_client import types as client_types

ROOT = Path(__file__).resolve().parents[3]
SCHEMAS: dict[str, Any] = json.loads((ROOT / "docs" / "openapi.json").read_text())["components"][
    "schemas"
]

TYPES = {
    "AcceptedJob": client_types.AcceptedJob,
    "BatchAccepted": client_types.BatchAccepted,
    "BatchItem": client_types.BatchItem,
    "FieldError": client_types.FieldError,
    "BatchValid": client_types.BatchValid,
    "JobPublic": client_types.Job,
    "Cancelled": client_types.Cancelled,
    "Cancelling": client_types.Cancelling,
    "JobLogs": client_types.JobLogs,
    "LogLine": client_types.LogLine,
    "QueueSettings": client_types.QueueSettings,
    "QueueLimits": client_types.QueueLimits,
    "KeyGroupPublic": client_types.KeyGroup,
    "KeyGroupList": client_types.KeyGroupList,
    "RateLimitSetting": client_types.RateLimitSetting,
    "JobPage": client_types.JobPage,
    "QueuePublic": client_types.QueueStats,
    "QueueList": client_types.QueueList,
    "Paused": client_types.Paused,
    "Cleaned": client_types.Cleaned,
    "Redriven": client_types.Redriven,
    "MinutePublic": client_types.Minute,
    "Throughput": client_types.Throughput,
    "SchedulePublic": client_types.Schedule,
    "SchedulePage": client_types.SchedulePage,
    "Deleted": client_types.Deleted,
    "WebhookPublic": client_types.Webhook,
    "WebhookCreated": client_types.WebhookCreated,
    "WebhookList": client_types.WebhookList,
    "SigningSecret": client_types.SigningSecret,
    "DayStats": client_types.DayStats,
    "Durations": client_types.Durations,
    "TopError": client_types.TopError,
    "Reads": client_types.Reads,
    "EstimatedCost": client_types.EstimatedCost,
    "StatsPublic": client_types.History,
    "Me": client_types.Me,
    "SignInLink": client_types.SignInLink,
    "Health": client_types.Health,
    "FlowAccepted": client_types.FlowAccepted,
    "FlowParent": client_types.FlowParent,
    "FlowChild": client_types.FlowChild,
    "ErrorBody": client_types.ErrorBody,
}


def enum_of(schema: dict[str, Any]) -> set[str] | None:
    if "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]]
    if "const" in schema:
        return {schema["const"]}
    return set(schema["enum"]) if "enum" in schema else None


@pytest.mark.parametrize("name", sorted(TYPES))
def test_a_return_type_has_the_keys_and_choices_of_its_schema(name: str) -> None:
    schema = SCHEMAS[name]
    hints = typing.get_type_hints(TYPES[name])
    assert set(hints) == set(schema["properties"]), name
    for key, hint in hints.items():
        choices = enum_of(schema["properties"][key])
        if typing.get_origin(hint) is typing.Literal:
            assert set(typing.get_args(hint)) == choices, (name, key)
        else:
            assert choices is None, f"{name}.{key} should be a Literal of {choices}"


def test_errors_are_documented_as_they_are_sent() -> None:
    """Every error answer is an ``ErrorBody``; FastAPI's own 422 shape appears nowhere."""
    assert "HTTPValidationError" not in SCHEMAS
    paths = json.loads((ROOT / "docs" / "openapi.json").read_text())["paths"]
    for path, item in paths.items():
        for method, operation in item.items():
            for code, answer in operation["responses"].items():
                if code.startswith(("4", "5")) and (path, code) != ("/health", "503"):
                    ref = answer["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorBody"), (method, path, code)


def test_every_response_schema_has_a_return_type() -> None:
    requests = {"EnqueueRequest", "BatchRequest", "CleanRequest", "RedriveRequest", "FlowRequest"}
    requests |= {"JobChangeRequest", "LimitsChange", "KeyGroupLimits"}
    inputs = {"ScheduleCreate", "WebhookCreate", "JobOptions", "Backoff", "Deduplication"}
    inputs |= {"FlowOptions", "OnComplete", "WebhookOption"}
    inputs |= {"KeyGroupOption", "KeyGroupRate"}
    # The page's own exchange of a sign-in code: no client call.
    inputs |= {"LinkRequest", "SessionRequest", "Session"}
    enums = {name for name, schema in SCHEMAS.items() if "enum" in schema}
    assert requests | inputs <= set(SCHEMAS)
    assert set(SCHEMAS) - set(TYPES) - requests - inputs - enums == set()

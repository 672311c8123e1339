"""Every URL corral prints or logs has its password hidden (``corral.redact``)."""

from __future__ import annotations

import io
from types import SimpleNamespace

import httpx
import pytest
from corral.settings import Settings
from corral_client import cli
from corral_client.redact import redact_text, redact_url

from infra.local.emulator import banner, no_redis_message

SECRET = "s3cr3t-Pa55"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        (f"redis://:{SECRET}@cache:6379/0", "redis://:***@cache:6379/0"),
        (f"rediss://app:{SECRET}@cache:6380/1?x=1", "rediss://app:***@cache:6380/1?x=1"),
        ("rediss://app:p%40ss@cache:6380/1", "rediss://app:***@cache:6380/1"),
        (f"redis://cache/0?password={SECRET}&db=1", "redis://cache/0?password=***&db=1"),
        ("redis://app@cache:6379", "redis://app@cache:6379"),
        (f"redis://:{SECRET}@[::1:6379", "redis://:***@[::1:6379"),  # does not parse
        (f"https://ops:{SECRET}@api.example.com/x", "https://ops:***@api.example.com/x"),
    ],
)
def test_the_password_is_hidden_and_the_rest_kept(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_a_message_loses_the_password_in_the_url_and_on_its_own() -> None:
    url = f"rediss://app:{SECRET}@cache:6380/0"
    text = f"Error connecting to {url}: WRONGPASS for {SECRET}"
    assert redact_text(text, url) == (
        "Error connecting to rediss://app:***@cache:6380/0: WRONGPASS for ***"
    )
    assert redact_text("p@ss failed", "redis://:p%40ss@h/0") == "*** failed"


def test_the_emulator_banner_and_its_no_redis_message_hide_the_password() -> None:
    url = f"redis://:{SECRET}@127.0.0.1:6379/0"
    emulator = SimpleNamespace(
        settings=Settings(redis_url=url, api_keys="k:acme"),
        url="http://127.0.0.1:3000",
        registry=SimpleNamespace(names=lambda: ["email"]),
        schedules=[],
        aws=SimpleNamespace(
            endpoint="http://127.0.0.1:5000",
            bucket="b",
            email_sender="a@example.com",
            topic_arn="arn:aws:sns:us-east-1:1:t",
        ),
    )
    shown = banner(emulator, [])  # type: ignore[arg-type]
    assert "Redis: redis://:***@127.0.0.1:6379/0" in shown and SECRET not in shown
    assert SECRET not in no_redis_message(redact_url(url))


def test_the_command_line_hides_the_password_of_an_unreachable_api(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"https://ops:{SECRET}@api.example.com"

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {url}", request=request)

    code = cli.main(
        ["--url", url, "--token", "t", "stats"], io.StringIO(), httpx.MockTransport(refuse)
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "https://ops:***@api.example.com" in err and SECRET not in err

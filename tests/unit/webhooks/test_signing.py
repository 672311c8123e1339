"""Signatures: HMAC-SHA256 over ``timestamp.body``, checked in constant time, with a
tolerance on the timestamp (replays), and header names in any case."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from corral.webhooks import WebhookSignatureError, sign, verify
from corral.webhooks.signing import signature_headers

SECRET = "whsec_test"
BODY = b'{"id":"whd-1","type":"Job Completed"}'
NOW = 1_800_000_000


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, NOW, BODY) == f"v1={expected}"


def test_a_fresh_delivery_verifies_with_headers_in_any_case() -> None:
    headers = signature_headers(SECRET, NOW, BODY, "whd-1", "Job Completed")
    lowered = {k.lower(): v for k, v in headers.items()}
    assert verify(SECRET, BODY, lowered, now=NOW + 10) == NOW


@pytest.mark.parametrize("skew", [-301, 301, 3600])
def test_timestamps_outside_the_tolerance_are_refused(skew: int) -> None:
    headers = signature_headers(SECRET, NOW, BODY, "whd-1", "Job Completed")
    with pytest.raises(WebhookSignatureError, match="tolerance"):
        verify(SECRET, BODY, headers, now=NOW + skew)


def test_a_replay_with_a_new_timestamp_but_the_old_signature_is_refused() -> None:
    headers = signature_headers(SECRET, NOW, BODY, "whd-1", "Job Completed")
    headers["Corral-Timestamp"] = str(NOW + 1000)
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify(SECRET, BODY, headers, now=NOW + 1000)


@pytest.mark.parametrize("missing", ["Corral-Timestamp", "Corral-Signature"])
def test_missing_headers_are_refused(missing: str) -> None:
    headers = signature_headers(SECRET, NOW, BODY, "whd-1", "Job Completed")
    del headers[missing]
    with pytest.raises(WebhookSignatureError, match="missing"):
        verify(SECRET, BODY, headers, now=NOW)


def test_any_one_of_several_signatures_may_match() -> None:
    headers = {
        "Corral-Timestamp": str(NOW),
        "Corral-Signature": f"v1=00, {sign(SECRET, NOW, BODY)}",
    }
    assert verify(SECRET, BODY, headers, now=NOW) == NOW

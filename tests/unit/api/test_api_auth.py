"""Who the caller is: API keys locally, the authorizer's claims or context in AWS."""

from __future__ import annotations

from typing import Any

import pytest
from api.auth import Authenticator, Caller, caller_from_claims, parse_api_keys


def test_api_keys_parse() -> None:
    keys = parse_api_keys(" k1:acme , k2:zeta:admin,")
    assert keys == {"k1": Caller("acme"), "k2": Caller("zeta", admin=True)}
    assert parse_api_keys("") == {}


@pytest.mark.parametrize("value", ["k1", "k1:", ":acme", "k1:acme:root", "k1:bad tenant"])
def test_malformed_api_keys_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="CORRAL_API_KEYS"):
        parse_api_keys(value)


def test_bearer_tokens() -> None:
    auth = Authenticator.from_setting("k1:acme,k2:zeta:admin")
    assert auth.authenticate("Bearer k1") == Caller("acme")
    assert auth.authenticate("bearer k2") == Caller("zeta", True)
    for header in (None, "", "Bearer", "Bearer k3", "Token k1", "k1"):
        assert auth.authenticate(header) is None


@pytest.mark.parametrize(
    ("claims", "scopes", "expected"),
    [
        ({"custom:subAccountId": "acme"}, None, Caller("acme")),
        ({"subAccountId": "acme", "scope": "corral/jobs corral/admin"}, None, Caller("acme", True)),
        ({"tenant": "acme"}, ["corral/admin"], Caller("acme", True)),
        ({"custom:tenant": "acme", "cognito:groups": ["ops", "admin"]}, [], Caller("acme", True)),
        ({"tenant": "acme", "admin": "true"}, None, Caller("acme", True)),
        ({"tenant": "acme", "admin": "false"}, None, Caller("acme")),
        ({"sub": "someone"}, None, None),
        ({"tenant": "not a tenant"}, None, None),
        ({"tenant": 42}, None, None),
    ],
)
def test_claims(claims: dict[str, Any], scopes: Any, expected: Caller | None) -> None:
    assert caller_from_claims(claims, scopes) == expected


def test_the_authorizer_wins_over_a_token_but_a_token_still_works_without_one() -> None:
    auth = Authenticator.from_setting("k1:zeta")
    jwt = {"requestContext": {"authorizer": {"jwt": {"claims": {"tenant": "acme"}}}}}
    assert auth.authenticate("Bearer k1", jwt) == Caller("acme")
    lam = {"requestContext": {"authorizer": {"lambda": {"tenant": "acme", "admin": True}}}}
    assert auth.authenticate(None, lam) == Caller("acme", True)
    assert auth.authenticate("Bearer k1", {"requestContext": {}}) == Caller("zeta")
    assert Authenticator().authenticate("Bearer k1", {"requestContext": {}}) is None

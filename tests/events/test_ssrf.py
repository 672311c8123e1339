"""Webhook URLs outside local mode: https only, and no address that is not public, written
literally or reached through DNS (a fake resolver, and the system's own for localhost)."""

from __future__ import annotations

import pytest
from corral.webhooks.urls import Resolver, UnsafeUrlError, check_url

PUBLIC = "93.184.216.34"


def resolving_to(address: str) -> Resolver:
    def resolve(host: str, port: int) -> list[str]:
        return [address]

    return resolve


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://10.0.0.1/hook", "private"),
        ("https://192.168.1.20:8443/hook", "private"),
        ("https://[::1]/hook", "loopback"),
        ("https://[::ffff:10.0.0.1]/hook", "private"),
        ("https://0.0.0.0/hook", "private"),
        ("https://100.64.0.1/hook", "not a public"),
    ],
)
def test_private_addresses_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrlError, match=reason):
        check_url(url, local=False)


@pytest.mark.parametrize(
    ("address", "reason"),
    [("127.0.0.1", "loopback"), ("169.254.169.254", "metadata"), ("10.0.0.1", "private")],
)
def test_a_hostname_resolving_to_a_private_address_is_refused(address: str, reason: str) -> None:
    with pytest.raises(UnsafeUrlError, match=reason):
        check_url("https://hooks.example.com/in", local=False, resolve=resolving_to(address))


def test_localhost_through_the_system_resolver_is_refused() -> None:
    with pytest.raises(UnsafeUrlError, match="loopback"):
        check_url("https://localhost:8443/hook", local=False)


def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    def resolve(host: str, port: int) -> list[str]:
        return [PUBLIC, "10.0.0.1"]

    with pytest.raises(UnsafeUrlError, match="private"):
        check_url("https://hooks.example.com/in", local=False, resolve=resolve)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/in", "https"),
        ("ftp://hooks.example.com/in", "https"),
        ("https://user:pw@hooks.example.com/in", "credentials"),
        ("https:///in", "no host"),
        ("https://hooks.example.com:99999/in", "port"),
    ],
)
def test_malformed_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrlError, match=reason):
        check_url(url, local=False, resolve=resolving_to(PUBLIC))


def test_a_public_https_url_is_accepted_with_the_address_to_connect_to() -> None:
    target = check_url(
        "https://hooks.example.com/in?x=1", local=False, resolve=resolving_to(PUBLIC)
    )
    assert (target.host, target.port, target.address) == ("hooks.example.com", 443, PUBLIC)


def test_local_mode_allows_http_to_this_machine_but_never_the_metadata_service() -> None:
    assert check_url("http://127.0.0.1:9000/hook", local=True).address == "127.0.0.1"
    with pytest.raises(UnsafeUrlError, match="metadata"):
        check_url("http://169.254.169.254/latest/", local=True)

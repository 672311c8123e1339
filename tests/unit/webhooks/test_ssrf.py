"""Webhook URLs: https only, and no address that is not globally routable, written
literally or reached through DNS (a fake resolver, and the system's own for localhost);
local mode adds loopback and nothing else. A delivery connects to the address it checked.
No test here opens a connection: refusals happen before any, and accepted deliveries go
to a transport that records them."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest
from corral.errors import NonRetryableError
from corral.webhooks.delivery import DeliverySettings, deliver
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


# -- every address that is not globally routable, and nothing connects while checking ------


@pytest.fixture
def no_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything opens a connection: refusals happen before any."""

    def connect(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setattr(socket, "create_connection", connect)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect)


SPECIAL = "private|not a public"
"""Python's ``is_private`` names some special blocks, the table the rest."""

NOT_GLOBAL = [
    ("2002:7f00:1::", "embeds an IPv4"),  # 6to4 of 127.0.0.1
    ("2002:a00:1::", "embeds an IPv4"),  # 6to4 of 10.0.0.1
    ("2002:5db8:d822::", "embeds an IPv4"),  # 6to4 of a public address: still a relay
    ("64:ff9b::7f00:1", "embeds an IPv4"),  # NAT64 of 127.0.0.1
    ("64:ff9b::a9fe:a9fe", "embeds an IPv4"),  # NAT64 of 169.254.169.254
    ("64:ff9b:1::a00:1", "embeds an IPv4"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "embeds an IPv4"),  # Teredo
    ("::ffff:127.0.0.1", "loopback"),
    ("::127.0.0.1", SPECIAL),  # IPv4-compatible (deprecated)
    ("192.0.0.8", SPECIAL),
    ("192.0.0.170", SPECIAL),
    ("100.64.0.1", SPECIAL),
    ("198.18.0.1", SPECIAL),
    ("192.0.2.1", SPECIAL),
    ("203.0.113.9", SPECIAL),
    ("224.0.0.1", "multicast"),
    ("ff0e::1", "multicast"),
    ("240.0.0.1", SPECIAL),
    ("255.255.255.255", SPECIAL),
    ("fe80::1%eth0", "link-local"),
    ("fc00::1", SPECIAL),
    ("fd00:ec2::254", "metadata"),
    ("2001:db8::1", SPECIAL),
    ("3fff::1", SPECIAL),
    ("100::1", SPECIAL),
    ("4000::1", SPECIAL),
]


@pytest.mark.usefixtures("no_connection")
@pytest.mark.parametrize(("address", "reason"), NOT_GLOBAL)
def test_every_address_that_is_not_globally_routable_is_refused(address: str, reason: str) -> None:
    with pytest.raises(UnsafeUrlError, match=reason):
        check_url("https://hooks.example.com/in", local=False, resolve=resolving_to(address))
    if reason != "loopback":  # local mode allows loopback, and nothing else
        with pytest.raises(UnsafeUrlError, match=reason):
            check_url("https://hooks.example.com/in", local=True, resolve=resolving_to(address))


@pytest.mark.usefixtures("no_connection")
@pytest.mark.parametrize("address", [PUBLIC, "2606:2800:220:1:248:1893:25c8:1946"])
def test_global_addresses_are_accepted(address: str) -> None:
    target = check_url("https://hooks.example.com/in", local=False, resolve=resolving_to(address))
    assert target.address == address


@pytest.mark.usefixtures("no_connection")
@pytest.mark.parametrize("url", ["http://x]/hook", "https://[::1/hook", "https://[zz::1]/in"])
def test_a_malformed_host_is_refused_not_crashed_on(url: str) -> None:
    with pytest.raises(UnsafeUrlError, match=r"malformed|not an IP|resolve"):
        check_url(url, local=False)


@pytest.mark.usefixtures("no_connection")
@pytest.mark.parametrize("address", ["10.0.0.1", "192.168.1.1", "100.64.0.1", "172.16.0.1"])
def test_local_mode_allows_loopback_only(address: str) -> None:
    for url in (f"http://{address}/hook", f"https://{address}/hook"):
        with pytest.raises(UnsafeUrlError, match=SPECIAL):
            check_url(url, local=True)
    for loopback in ("127.0.0.1", "127.5.6.7", "::1"):
        assert check_url("http://receiver.test/h", local=True, resolve=resolving_to(loopback))


@pytest.mark.usefixtures("no_connection")
def test_local_mode_sends_plain_http_nowhere_but_loopback() -> None:
    with pytest.raises(UnsafeUrlError, match="loopback"):
        check_url("http://hooks.example.com/in", local=True, resolve=resolving_to(PUBLIC))
    assert check_url("https://hooks.example.com/in", local=True, resolve=resolving_to(PUBLIC))


# -- pinning: the delivery connects to the address it checked ------------------------------


class ChangingResolver:
    """A DNS stub that answers ``first`` once, then ``later`` (a rebinding attack)."""

    def __init__(self, first: str, later: str) -> None:
        self.answers = [first, later]
        self.calls = 0

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls += 1
        return [self.answers[min(self.calls, 2) - 1]]


def deliver_with(resolve: Resolver) -> tuple[dict[str, Any], list[httpx.Request]]:
    """One delivery through a transport that records requests and sends nothing."""
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    with httpx.Client(transport=httpx.MockTransport(record)) as http:
        settings = DeliverySettings(secret_of=lambda t: "whsec_x", http=http, resolve=resolve)
        result = deliver(
            tenant="acme",
            url="https://hooks.example.com:8443/in?x=1",
            delivery_id="whd-1",
            event="Job Completed",
            at_ms=1_800_000_000_000,
            detail={"jobId": "j1"},
            settings=settings,
        )
    return result, sent


@pytest.mark.usefixtures("no_connection")
def test_the_delivery_resolves_once_and_connects_to_the_address_it_checked() -> None:
    rebinding = ChangingResolver(PUBLIC, "127.0.0.1")

    result, sent = deliver_with(rebinding)

    assert result["status"] == 204 and rebinding.calls == 1
    (request,) = sent
    assert (request.url.host, request.url.port, request.url.path) == (PUBLIC, 8443, "/in")
    assert request.url.query == b"x=1"
    assert request.headers["Host"] == "hooks.example.com:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.com"


@pytest.mark.usefixtures("no_connection")
def test_a_name_rebound_after_registration_is_refused_at_delivery_before_any_request() -> None:
    rebinding = ChangingResolver(PUBLIC, "10.0.0.1")
    check_url("https://hooks.example.com/in", local=False, resolve=rebinding)  # registration

    with pytest.raises(NonRetryableError, match="private"):
        deliver_with(rebinding)

"""Webhook URL checks against server-side request forgery.

A URL must be ``https``, carry no credentials, and every address its host resolves to
must be globally routable: private, loopback, link-local (the instance metadata service
at ``169.254.169.254``), shared (``100.64.0.0/10``), reserved, documentation and multicast
addresses are refused, and so is every IPv6 form that carries an IPv4 address inside it
(6to4 ``2002::/16``, Teredo ``2001::/32``, NAT64 ``64:ff9b::/96``), since the IPv4 address
is where the packet ends up. The rule is an explicit table of the IANA special-purpose
registries, not Python's ``is_global`` alone, which lets some of them through (on 3.11,
``192.0.0.8`` and ``2002:7f00:1::`` are "global").

In local mode (the emulator) loopback is allowed too, over ``http`` or ``https``, for a
receiver on the developer's machine; every other address follows the same rule.

The check runs when a webhook is registered and again at each delivery, and the delivery
connects to the address that was checked (``Target.address``), so a DNS answer that
changes in between is no way in.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

Resolver = Callable[[str, int], list[str]]
"""``resolve(host, port)``: the IP addresses of ``host``."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)

EMBEDS_IPV4 = tuple(
    ipaddress.ip_network(net)
    for net in ("2002::/16", "2001::/32", "64:ff9b::/96", "64:ff9b:1::/48")
)
"""6to4, Teredo and NAT64: IPv6 addresses that deliver to an IPv4 address inside them."""

NOT_GLOBAL = tuple(
    ipaddress.ip_network(net)
    for net in (
        # IPv4 special-purpose registry: every block not reachable across the Internet.
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        # IPv6: outside global unicast (2000::/3) nothing is routable; inside it, these.
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",
    )
)
GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")


class UnsafeUrlError(ValueError):
    """The URL may not receive webhooks."""


@dataclass(frozen=True)
class Target:
    """A checked URL and the address to connect to."""

    url: str
    scheme: str
    host: str
    port: int
    address: str


def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrlError(f"cannot resolve {host!r}: {exc}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse_address(address: str) -> IPAddress:
    """The address without its IPv6 zone; an IPv4-mapped IPv6 address as its IPv4 one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def refused(address: str, *, local: bool) -> str | None:
    """Why ``address`` may not be reached, or None if it may.

    ``local``: loopback is allowed (the emulator's receivers on this machine).
    """
    try:
        ip = parse_address(address)
    except ValueError:
        return "not an IP address"
    if ip in METADATA:
        return "the instance metadata address"
    if ip.is_loopback:
        return None if local else "a loopback address"
    if isinstance(ip, ipaddress.IPv6Address) and any(ip in net for net in EMBEDS_IPV4):
        return "an IPv6 address that embeds an IPv4 one (6to4, Teredo or NAT64)"
    for label, hit in (
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
    ):
        if hit:
            return f"a {label} address"
    if isinstance(ip, ipaddress.IPv6Address) and ip not in GLOBAL_UNICAST_V6:
        return "not a public address"
    if not ip.is_global or any(ip in net for net in NOT_GLOBAL):
        return "not a public address"
    return None


def check_url(url: str, *, local: bool, resolve: Resolver = system_resolver) -> Target:
    """Check ``url`` and resolve it once; raises UnsafeUrlError.

    ``http`` is allowed only in local mode and only to loopback.
    """
    try:
        parts = urlsplit(url)
        host, explicit_port = parts.hostname, parts.port
    except ValueError as exc:
        raise UnsafeUrlError(f"the URL's host or port is malformed: {exc}") from None
    allowed = ("https", "http") if local else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeUrlError(f"the URL must use {' or '.join(allowed)}")
    if parts.username or parts.password:
        raise UnsafeUrlError("the URL may not carry credentials")
    if not host:
        raise UnsafeUrlError("the URL has no host")
    port = explicit_port or (443 if parts.scheme == "https" else 80)
    addresses = resolve(host, port)
    if not addresses:
        raise UnsafeUrlError(f"{host!r} has no address")
    for address in addresses:
        reason = refused(address, local=local)
        if reason:
            raise UnsafeUrlError(f"{host!r} resolves to {reason} ({address})")
        if parts.scheme == "http" and not parse_address(address).is_loopback:
            raise UnsafeUrlError("http is allowed only to this machine (loopback); use https")
    return Target(url, parts.scheme, host, port, addresses[0])

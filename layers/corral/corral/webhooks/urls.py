"""Webhook URL checks against server-side request forgery.

A URL must be ``https`` (``http`` too in local mode), carry no credentials, and every
address its host resolves to must be public: private, loopback, link-local (the instance
metadata service at ``169.254.169.254``), shared, reserved and multicast addresses are
refused, whether written literally or reached through DNS. The check runs when a webhook
is registered and again at each delivery, and the delivery connects to the address that
was checked (``Target.address``), so a DNS answer that changes in between is no way in.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

Resolver = Callable[[str, int], list[str]]
"""``resolve(host, port)``: the IP addresses of ``host``."""

METADATA = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)


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


def refused(address: str, *, local: bool) -> str | None:
    """Why ``address`` may not be reached, or None if it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA:
        return "the instance metadata address"
    if local:
        return None  # the local emulator delivers to receivers on this machine
    for label, hit in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved or ip.is_unspecified),
    ):
        if hit:
            return f"a {label} address"
    if not ip.is_global:
        return "not a public address"
    return None


def check_url(url: str, *, local: bool, resolve: Resolver = system_resolver) -> Target:
    """Check ``url`` and resolve it; raises UnsafeUrlError."""
    parts = urlsplit(url)
    allowed = ("https", "http") if local else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeUrlError(f"the URL must use {' or '.join(allowed)}")
    if parts.username or parts.password:
        raise UnsafeUrlError("the URL may not carry credentials")
    host = parts.hostname
    if not host:
        raise UnsafeUrlError("the URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrlError("the URL has an invalid port") from None
    addresses = resolve(host, port)
    if not addresses:
        raise UnsafeUrlError(f"{host!r} has no address")
    for address in addresses:
        reason = refused(address, local=local)
        if reason:
            raise UnsafeUrlError(f"{host!r} resolves to {reason} ({address})")
    return Target(url, parts.scheme, host, port, addresses[0])

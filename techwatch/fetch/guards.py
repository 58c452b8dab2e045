"""Which addresses a fetch may reach, enforced where the connection is made.

A source URL, or any redirect it leads to, must not reach the machine itself, the local network or
a cloud metadata service (RELIABILITY 8). Host names are checked by `GuardedResolver`, the only
resolver the connector uses, so the address that was checked is the address that is dialled: a DNS
answer cannot change between the check and the connection. IP literals never reach a resolver in
aiohttp, so `literal_address` checks them before the request is sent.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# NAT64 well-known prefix: 64:ff9b::a.b.c.d reaches the IPv4 address a.b.c.d through a gateway.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class AddressRefused(OSError):
    """A host names or resolves to an address the policy forbids.

    An OSError, so that aiohttp reports it like any other resolution failure and the fetch layer
    finds it in the exception chain.
    """

    def __init__(self, host: str, address: IPAddress) -> None:
        super().__init__(f"{host} is a non-public address ({address})")
        self.host = host
        self.address = address


class AddressPolicy:
    """Decides whether an IP address may be connected to.

    Only globally routable unicast addresses are allowed, unless the operator allowed private
    networks (tests and the demo do). `allowed` lists exact addresses to let through anyway, e.g.
    one local test server while every other private address stays refused.
    """

    def __init__(self, *, allow_private: bool = False, allowed: Iterable[str] = ()) -> None:
        self.allow_private = allow_private
        self.allowed = frozenset(ipaddress.ip_address(a) for a in allowed)

    def permits(self, address: IPAddress) -> bool:
        if self.allow_private or address in self.allowed:
            return True
        return _is_public(address)


def _is_public(address: IPAddress) -> bool:
    """True for a globally routable unicast address, looking through IPv6 wrappers of IPv4."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return _is_public(embedded)
    # `is_global` alone lets multicast through on Python 3.11, hence the explicit checks.
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
    )


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def literal_address(host: str) -> IPAddress | None:
    """The IP address a URL host spells literally, or None for a host name.

    Besides the canonical forms this accepts what `inet_aton` accepts (`2130706433`, `0x7f.1`,
    `127.1`), because the system resolver would turn those into addresses too.
    """
    bare = host.strip("[]").split("%", 1)[0]  # brackets of IPv6 literals, zone ids
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except OSError:
        return None


class GuardedResolver(AbstractResolver):
    """The system resolver, refusing any host that resolves to a forbidden address.

    If one of the answers is forbidden the whole host is refused rather than filtered: a public
    name that also points inside the network is an attack or a misconfiguration either way.
    """

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            address = ipaddress.ip_address(result["host"].split("%", 1)[0])
            if not self._policy.permits(address):
                raise AddressRefused(host, address)
        return results

    async def close(self) -> None:
        await self._inner.close()

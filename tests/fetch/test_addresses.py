"""RELIABILITY 8: private, loopback and link-local addresses are refused before connecting."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

import pytest

from techwatch.fetch.guards import AddressPolicy, AddressRefused, GuardedResolver, literal_address
from tests.fetch.helpers import LOCAL, fetch, fetch_failure
from tests.fetch.server import Handler, LocalServer

pytestmark = pytest.mark.timeout(20)

GUARDED = replace(LOCAL, allow_private_networks=False)


def feed(h: Handler) -> None:
    h.reply(200, b"<rss/>")


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer({"/feed": feed}) as running:
        yield running


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "LOCALHOST",
        "[::ffff:127.0.0.1]",
        "2130706433",
        "0x7f.1",
        "127.1",
        "0.0.0.0",
        "[::1]",
        "169.254.169.254",
        "10.0.0.1",
        "192.168.1.1",
        "[fe80::1]",
        "224.0.0.1",
    ],
)
def test_a_non_public_address_is_refused_and_never_connected(
    now: datetime, server: LocalServer, host: str
) -> None:
    failure = fetch_failure(f"http://{host}:{server.port}/feed", now, settings=GUARDED)
    assert failure.error.kind == "private_address"
    assert not failure.error.transient
    assert server.connections == 0


def test_the_same_server_is_reachable_when_private_networks_are_allowed(
    now: datetime, server: LocalServer
) -> None:
    assert fetch(f"http://localhost:{server.port}/feed", now).body == b"<rss/>"
    assert server.connections == 1


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/"])
def test_a_redirect_to_a_private_address_is_refused(now: datetime, target: str) -> None:
    def to_metadata(h: Handler) -> None:
        h.reply(302, headers={"Location": target})

    # Only the first server's exact address is let through; everything else private is refused.
    policy = AddressPolicy(allowed=["127.0.0.1"])
    with LocalServer({"/feed": to_metadata}) as server:
        failure = fetch_failure(server.url(), now, settings=GUARDED, policy=policy)
    assert failure.error.kind == "private_address"
    assert failure.error.url == target


def test_a_redirect_to_another_loopback_server_never_reaches_it(now: datetime) -> None:
    try:
        inner = LocalServer({"/feed": feed}, host="127.0.0.2")
    except OSError:
        pytest.skip("127.0.0.2 is not bindable on this system")

    def inwards(h: Handler) -> None:
        h.reply(302, headers={"Location": inner.url()})

    policy = AddressPolicy(allowed=["127.0.0.1"])
    with inner, LocalServer({"/feed": inwards}) as outer:
        failure = fetch_failure(outer.url(), now, settings=GUARDED, policy=policy)
    assert failure.error.kind == "private_address"
    assert outer.connections == 1
    assert inner.connections == 0


def test_the_resolver_refuses_names_that_resolve_inside() -> None:
    # Host names are checked where they are resolved, so no second lookup can differ (rebinding).
    async def resolve() -> None:
        await GuardedResolver(AddressPolicy()).resolve("localhost", 80)

    with pytest.raises(AddressRefused):
        asyncio.run(resolve())


def test_the_resolver_passes_names_when_private_networks_are_allowed() -> None:
    async def resolve() -> list[str]:
        results = await GuardedResolver(AddressPolicy(allow_private=True)).resolve("localhost", 80)
        return [r["host"] for r in results]

    assert set(asyncio.run(resolve())) & {"127.0.0.1", "::1"}


@pytest.mark.parametrize(
    ("address", "permitted"),
    [
        ("93.184.216.34", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.0.1", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("169.254.169.254", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),  # multicast: is_global on Python 3.11
        ("240.0.0.1", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:93.184.216.34", True),
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
    ],
)
def test_address_policy(address: str, permitted: bool) -> None:
    assert AddressPolicy().permits(ipaddress.ip_address(address)) is permitted
    assert AddressPolicy(allow_private=True).permits(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("fe80::1%25eth0", "fe80::1"),
        ("example.org", None),
        ("localhost", None),
    ],
)
def test_literal_addresses_in_every_spelling(host: str, expected: str | None) -> None:
    address = literal_address(host)
    assert (str(address) if address is not None else None) == expected

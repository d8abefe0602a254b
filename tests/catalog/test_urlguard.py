"""The URL guard refuses every non-public target, also after redirects and DNS tricks (property-based too)."""

from __future__ import annotations

import contextlib
import ipaddress

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moodboard.catalog.urlguard import check_url, fetch_url, is_public_ip
from moodboard.core.errors import FetchError, UnsafeURLError

PUBLIC = "93.184.216.34"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100


def resolver_for(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    """A fake DNS: host -> addresses."""

    def resolve(host: str, port: int) -> list[str]:
        return table[host]

    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.jpg",
        "http://localhost/a.jpg",
        "http://[::1]/a.jpg",
        "http://10.0.0.5/a.jpg",
        "http://192.168.1.1/a.jpg",
        "http://172.16.0.1/a.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://100.100.100.200/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://2130706433/",  # 127.0.0.1 as a decimal integer
        "http://0x7f.1/",
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://224.0.0.1/",
        "http://app.localhost/",
        "file:///etc/passwd",
        "gopher://example.com/",
        "http://user:pw@example.com/a.jpg",
        "javascript:alert(1)",
    ],
)
def test_refuses_non_public_targets(url: str) -> None:
    with pytest.raises(UnsafeURLError):
        check_url(
            url, resolver=resolver_for({"example.com": [PUBLIC], "0x7f.1": ["127.0.0.1"], "2130706433": ["127.0.0.1"]})
        )


def test_dns_name_resolving_to_private_is_refused_even_if_one_record_is_public() -> None:
    resolve = resolver_for({"rebind.example": [PUBLIC, "10.1.2.3"]})
    with pytest.raises(UnsafeURLError, match="non-public"):
        check_url("https://rebind.example/x.jpg", resolver=resolve)


def test_public_host_is_allowed_and_private_allowed_by_operator() -> None:
    assert check_url("https://cdn.example/x.jpg", resolver=resolver_for({"cdn.example": [PUBLIC]})) == [PUBLIC]
    assert check_url("http://10.0.0.5/x.jpg", allow_private=True) == []


def _transport(routes: dict[str, httpx.Response]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return routes[request.headers["host"] + request.url.path]

    return httpx.MockTransport(handler)


def test_fetch_pins_the_checked_address_and_sends_the_host_header() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, headers={"content-type": "image/png"}, content=PNG)

    got = fetch_url(
        "http://cdn.example/a.png",
        max_bytes=1000,
        resolver=resolver_for({"cdn.example": [PUBLIC]}),
        transport=httpx.MockTransport(handler),
    )
    assert got.data == PNG and seen[0].url.host == PUBLIC and seen[0].headers["host"] == "cdn.example"


def test_redirect_to_private_address_is_refused() -> None:
    routes = {"cdn.example/a.png": httpx.Response(302, headers={"location": "http://127.0.0.1/secret"})}
    with pytest.raises(UnsafeURLError):
        fetch_url(
            "http://cdn.example/a.png",
            max_bytes=1000,
            resolver=resolver_for({"cdn.example": [PUBLIC]}),
            transport=_transport(routes),
        )


def test_redirect_to_a_name_that_rebinds_to_private_is_refused() -> None:
    routes = {"cdn.example/a.png": httpx.Response(301, headers={"location": "http://evil.example/x"})}
    with pytest.raises(UnsafeURLError):
        fetch_url(
            "http://cdn.example/a.png",
            max_bytes=1000,
            resolver=resolver_for({"cdn.example": [PUBLIC], "evil.example": ["192.168.0.10"]}),
            transport=_transport(routes),
        )


@pytest.mark.parametrize(
    ("response", "words"),
    [
        (httpx.Response(200, headers={"content-type": "text/html"}, content=b"<html>"), "not an image"),
        (
            httpx.Response(200, headers={"content-type": "image/png", "content-length": "5000"}, content=b"x" * 5000),
            "cap",
        ),
        (httpx.Response(200, headers={"content-type": "image/png"}, content=b"x" * 5000), "cap"),
        (httpx.Response(404), "HTTP 404"),
    ],
)
def test_fetch_checks_type_size_and_status(response: httpx.Response, words: str) -> None:
    with pytest.raises(FetchError, match=words):
        fetch_url(
            "http://cdn.example/a.png",
            max_bytes=1000,
            resolver=resolver_for({"cdn.example": [PUBLIC]}),
            transport=_transport({"cdn.example/a.png": response}),
        )


def test_too_many_redirects_and_timeouts() -> None:
    loop = {"cdn.example/a.png": httpx.Response(302, headers={"location": "/a.png"})}
    with pytest.raises(FetchError, match="redirects"):
        fetch_url("http://cdn.example/a.png", max_bytes=10, resolver=resolver_for({"cdn.example": [PUBLIC]}),
                  transport=_transport(loop))  # fmt: skip

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(FetchError, match="timed out"):
        fetch_url("http://cdn.example/a.png", max_bytes=10, resolver=resolver_for({"cdn.example": [PUBLIC]}),
                  transport=httpx.MockTransport(slow))  # fmt: skip


# ---- properties ---------------------------------------------------------------------------------
NON_PUBLIC_V4 = st.one_of(
    st.ip_addresses(v=4, network="127.0.0.0/8"),
    st.ip_addresses(v=4, network="10.0.0.0/8"),
    st.ip_addresses(v=4, network="172.16.0.0/12"),
    st.ip_addresses(v=4, network="192.168.0.0/16"),
    st.ip_addresses(v=4, network="169.254.0.0/16"),
    st.ip_addresses(v=4, network="100.64.0.0/10"),
    st.ip_addresses(v=4, network="0.0.0.0/8"),
    st.ip_addresses(v=4, network="224.0.0.0/4"),
)


@settings(max_examples=300, deadline=None)
@given(ip=NON_PUBLIC_V4, mapped=st.booleans(), port=st.integers(1, 65535))
def test_property_no_non_public_ipv4_gets_through(ip: ipaddress.IPv4Address, mapped: bool, port: int) -> None:
    host = f"[::ffff:{ip}]" if mapped else str(ip)
    with pytest.raises(UnsafeURLError):
        check_url(f"http://{host}:{port}/x.jpg")
    with pytest.raises(UnsafeURLError):  # the same address behind a DNS name
        check_url(f"https://shop.example:{port}/x.jpg", resolver=resolver_for({"shop.example": [str(ip)]}))


@settings(max_examples=300, deadline=None)
@given(ip=st.ip_addresses())
def test_property_guard_agrees_with_ipaddress_is_global(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    if is_public_ip(str(ip)):
        assert ip.is_global and not ip.is_multicast


@settings(max_examples=200, deadline=None)
@given(url=st.text(max_size=200))
def test_property_arbitrary_strings_never_crash(url: str) -> None:
    with contextlib.suppress(UnsafeURLError, FetchError, KeyError):
        check_url(url, resolver=resolver_for({}))

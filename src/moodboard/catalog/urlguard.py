"""Fetching images by URL without becoming an SSRF proxy.

Only http(s) URLs to public addresses are fetched. Every hop of a redirect chain is re-checked, the
connection is pinned to the address that was checked (so DNS rebinding cannot swap it afterwards),
responses are size-capped while streaming, time-limited, and must declare an image content type.
Operators can allow private addresses (`MOODBOARD_INGEST__ALLOW_PRIVATE_URLS=true`) for internal CDNs.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from moodboard.core.errors import FetchError, UnsafeURLError

Resolver = Callable[[str, int], list[str]]
"""Maps (host, port) to the IP addresses it resolves to."""

METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data", "metadata.azure.com"})
METADATA_IPS = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)


@dataclass(frozen=True, slots=True)
class Fetched:
    """A fetched body with its declared content type and the final URL after redirects."""

    data: bytes
    content_type: str
    url: str


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve a host with the system resolver (all A and AAAA records)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve host {host!r}: {exc.strerror}", "check the URL's host name") from exc
    return sorted({str(info[4][0]) for info in infos})


def is_public_ip(addr: str) -> bool:
    """Whether an address is globally routable and not a cloud metadata endpoint."""
    try:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        for embedded in (ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None):
            if embedded is not None and not is_public_ip(str(embedded)):
                return False
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
    if ip in METADATA_IPS:
        return False
    return bool(ip.is_global) and not ip.is_multicast and not ip.is_reserved


def check_url(url: str, *, allow_private: bool = False, resolver: Resolver = system_resolver) -> list[str]:
    """Validate a URL for fetching and return the addresses it may be fetched from.

    Raises:
        UnsafeURLError: bad scheme, credentials in the URL, or a host that is (or resolves to) a
            loopback, private, link-local, multicast, reserved or metadata address.
    """
    if len(url) > 2048:
        raise UnsafeURLError("URL is longer than 2,048 characters", "use a shorter image URL")
    try:
        parts = urlsplit(url.strip())
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeURLError(f"URL is malformed: {exc}", "use an absolute http(s) URL") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeURLError(f"URL scheme {parts.scheme or '(none)'!r} is not allowed", "use an http or https URL")
    if parts.username or parts.password:
        raise UnsafeURLError("URL carries credentials", "remove user:password@ from the URL")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeURLError("URL has no host", "use an absolute http(s) URL")
    if allow_private:
        return []
    if host in METADATA_HOSTS or host == "localhost" or host.endswith(".localhost") or host.endswith(".internal"):
        raise UnsafeURLError(f"host {host!r} is a local or metadata name", "use a public image host")
    try:
        addrs = [str(ipaddress.ip_address(host))]
    except ValueError:
        addrs = resolver(host, port)
    if not addrs:
        raise UnsafeURLError(f"host {host!r} resolves to no address", "check the URL")
    bad = [a for a in addrs if not is_public_ip(a)]
    if bad:
        raise UnsafeURLError(
            f"host {host!r} resolves to a non-public address ({bad[0]})",
            "only public hosts are fetched; set MOODBOARD_INGEST__ALLOW_PRIVATE_URLS=true for internal hosts",
        )
    return addrs


def _pinned(url: str, addr: str) -> tuple[str, str, str]:
    """Rewrite `url` to connect to `addr`; returns (url, Host header, SNI name)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    ip = ipaddress.ip_address(addr)
    literal = f"[{ip}]" if ip.version == 6 else str(ip)
    netloc = literal + (f":{parts.port}" if parts.port else "")
    host_header = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")), host_header, host


def fetch_url(
    url: str,
    *,
    max_bytes: int,
    timeout_s: float = 10.0,
    max_redirects: int = 3,
    allow_private: bool = False,
    resolver: Resolver = system_resolver,
    transport: httpx.BaseTransport | None = None,
) -> Fetched:
    """Fetch an image URL safely (see the module docstring for every guard).

    Raises:
        UnsafeURLError: the URL or a redirect target is not allowed.
        FetchError: timeout, HTTP error, too many redirects, oversized body, or non-image content type.
    """
    current = url
    with httpx.Client(transport=transport, follow_redirects=False, timeout=timeout_s) as client:
        for _hop in range(max_redirects + 1):
            addrs = check_url(current, allow_private=allow_private, resolver=resolver)
            headers = {"User-Agent": "moodboard-ingest/0.1", "Accept": "image/*"}
            extensions: dict[str, str] = {}
            target = current
            if addrs:
                target, headers["Host"], sni = _pinned(current, addrs[0])
                if current.startswith("https"):
                    extensions["sni_hostname"] = sni
            try:
                with client.stream("GET", target, headers=headers, extensions=extensions) as resp:
                    if resp.is_redirect:
                        location = resp.headers.get("location")
                        if not location:
                            raise FetchError(f"redirect from {current} has no Location", "fix the image URL")
                        current = urljoin(current, location)
                        continue
                    if resp.status_code != 200:
                        raise FetchError(f"GET {current} answered HTTP {resp.status_code}", "check the image URL")
                    ctype = resp.headers.get("content-type", "").split(";", 1)[0].strip().lower()
                    if not ctype.startswith("image/"):
                        raise FetchError(
                            f"URL {current} returned content type {ctype or '(none)'!r}, not an image",
                            "point the row at the image file itself, not a web page",
                        )
                    declared = resp.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise FetchError(
                            f"image at {current} is {int(declared):,} bytes, over the {max_bytes:,}-byte cap",
                            "use a smaller image or raise MOODBOARD_INGEST__MAX_FILE_BYTES",
                        )
                    body = bytearray()
                    for chunk in resp.iter_bytes():
                        body.extend(chunk)
                        if len(body) > max_bytes:
                            raise FetchError(
                                f"image at {current} exceeds the {max_bytes:,}-byte cap",
                                "use a smaller image or raise MOODBOARD_INGEST__MAX_FILE_BYTES",
                            )
                    return Fetched(bytes(body), ctype, current)
            except httpx.TimeoutException as exc:
                raise FetchError(f"fetching {current} timed out after {timeout_s}s", "retry or host it faster") from exc
            except httpx.HTTPError as exc:
                raise FetchError(f"fetching {current} failed: {exc}", "check the URL and the host") from exc
    raise FetchError(f"more than {max_redirects} redirects from {url}", "link the final image URL directly")

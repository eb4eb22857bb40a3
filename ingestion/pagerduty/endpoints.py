"""Where a PagerDuty connection may send its token: the policy for endpoints and proxies.

- Endpoints are `https`, except on loopback hosts (localhost, 127.0.0.0/8, ::1: the PagerDuty simulator and
  tests). `PAGERDUTY_ALLOW_HTTP=1` allows plain `http` to any host.
- Hosts whose addresses are not public (private 10/8, 172.16/12, 192.168/16, fc00::/7, site-local fec0::/10;
  link-local 169.254/16, fe80::/10, where cloud metadata services live; shared, reserved, multicast,
  unspecified) are refused unless `PAGERDUTY_ALLOW_PRIVATE_HOSTS=1` (self-hosted API gateways). Loopback is
  allowed. An IPv4 address written inside IPv6 (mapped, translated, compatible, NAT64 64:ff9b::/96, 6to4)
  is judged by the IPv4 rules; local-use NAT64 (64:ff9b:1::/48) is private.
- Proxies have their own switch, `PAGERDUTY_ALLOW_PRIVATE_PROXY=1` (corporate proxies live on private
  addresses): allowing one never allows the other.
- Numeric host forms other than dotted quads (`2130706433`, `0x7f.1`) are refused: they hide the address
  from a reader.
- The address checked is the address connected to: `addresses` resolves a name once and checks every
  address it gives, and the HTTP client connects to those and no others, for each connection it opens
  (pinned.py), so a name that rebinds between a check and a connect (DNS rebinding) gains nothing, and a name
  that does not resolve is never connected to. When a connection is saved or tested, names are resolved to
  refuse internal hosts early; one that does not resolve yet is saved (it is checked when it is used).

`check_endpoint` and `check_proxy` raise `EndpointRefused` (a ValueError) with a one-line message that never
repeats a password; `policy_from_env` reads the settings.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Optional, Union
from urllib.parse import SplitResult, urlsplit

ALLOW_HTTP_ENV = "PAGERDUTY_ALLOW_HTTP"
ALLOW_PRIVATE_ENV = "PAGERDUTY_ALLOW_PRIVATE_HOSTS"
ALLOW_PRIVATE_PROXY_ENV = "PAGERDUTY_ALLOW_PRIVATE_PROXY"

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Resolver = Callable[[str, int], Iterable[str]]

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")
_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_EMBEDDING_V4 = tuple(
    ipaddress.ip_network(prefix)
    for prefix in (
        "::ffff:0:0/96",  # IPv4-mapped
        "::ffff:0:0:0/96",  # IPv4-translated (RFC 2765)
        "64:ff9b::/96",  # NAT64, well-known prefix
        "::/96",  # IPv4-compatible (deprecated)
    )
)
"""Prefixes whose last 32 bits are an IPv4 address, which is where a connection really goes."""
_NOT_PUBLIC_V6 = tuple(
    ipaddress.ip_network(prefix)
    for prefix in (
        "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215): the IPv4 address sits where the operator chose
        "fec0::/10",  # site-local (deprecated; private in practice)
    )
)
_LOOPBACK_NAMES = ("localhost", "localhost.")


class EndpointRefused(ValueError):
    """An endpoint or proxy the policy refuses; the message is one line and names the setting that would
    allow it, if one does."""


class HostUnresolved(EndpointRefused):
    """A name that resolves to no address (now: DNS may answer later)."""


class EndpointSettingError(ValueError):
    """A PAGERDUTY_ALLOW_* setting holds something other than a yes or a no."""


@dataclass(frozen=True)
class EndpointPolicy:
    allow_http: bool = False
    allow_private: bool = False
    allow_private_proxy: bool = False

    def check_endpoint(self, url: str, *, resolve: bool = True, resolver: Optional[Resolver] = None) -> None:
        check_endpoint(
            url,
            allow_http=self.allow_http,
            allow_private=self.allow_private,
            resolve=resolve,
            resolver=resolver,
        )

    def check_proxy(self, url: str, *, resolve: bool = True, resolver: Optional[Resolver] = None) -> None:
        check_proxy(url, allow_private=self.allow_private_proxy, resolve=resolve, resolver=resolver)

    def addresses(
        self, host: str, port: int, *, proxy: bool = False, resolver: Optional[Resolver] = None
    ) -> list[IPAddress]:
        """`host` resolved once, every address allowed (by the proxy switch for a proxy): the addresses to
        connect to, and the only ones. EndpointRefused otherwise, or when the name does not resolve."""
        what, allow_private = (
            ("proxy", self.allow_private_proxy) if proxy else ("endpoint", self.allow_private)
        )
        return resolve_allowed(host, port, what, allow_private, resolver)


def _flag(environ: Mapping[str, str], name: str) -> bool:
    value = environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise EndpointSettingError(f"{name}: expected 1 or 0 (true/false), not {value!r}")


def policy_from_env(environ: Mapping[str, str] = os.environ) -> EndpointPolicy:
    """The policy the settings ask for: PAGERDUTY_ALLOW_HTTP, PAGERDUTY_ALLOW_PRIVATE_HOSTS and
    PAGERDUTY_ALLOW_PRIVATE_PROXY (1/0)."""
    return EndpointPolicy(
        allow_http=_flag(environ, ALLOW_HTTP_ENV),
        allow_private=_flag(environ, ALLOW_PRIVATE_ENV),
        allow_private_proxy=_flag(environ, ALLOW_PRIVATE_PROXY_ENV),
    )


def _embedded_v4(address: ipaddress.IPv6Address) -> Optional[ipaddress.IPv4Address]:
    """The IPv4 address an IPv6 one carries (mapped, translated, compatible, NAT64, 6to4), which is where a
    connection to it really goes."""
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in prefix for prefix in _EMBEDDING_V4):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_loopback_address(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def is_public_address(address: IPAddress) -> bool:
    """Globally routable unicast: not private, site-local, link-local, shared, reserved, multicast or
    unspecified; an IPv6 address carrying an IPv4 one is judged by it."""
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in prefix for prefix in _NOT_PUBLIC_V6):
            return False
        embedded = _embedded_v4(address)
        if embedded is not None:
            return is_public_address(embedded)
    return address.is_global and not address.is_multicast and not address.is_unspecified


def parse_ip(host: str) -> Optional[IPAddress]:
    """The address if `host` is an IP literal (IPv6 without brackets, zone ids refused), else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_loopback_host(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1 (brackets allowed), written as such: a name is not resolved here."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host in _LOOPBACK_NAMES:
        return True
    address = parse_ip(host)
    return address is not None and is_loopback_address(address)


def _system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [info[4][0] for info in infos]


def _split(url: object, what: str) -> SplitResult:
    if not isinstance(url, str) or not url.strip():
        raise EndpointRefused(f"{what}: expected a URL")
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url.strip()) or not url.isascii():
        raise EndpointRefused(
            f"{what}: a URL holds no spaces, control or non-ASCII characters (use punycode)"
        )
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0..65535
    except ValueError:
        raise EndpointRefused(f"{what}: not a valid URL (a port is 1..65535)") from None
    return parts


def _host_and_port(parts: SplitResult, what: str, default_port: int) -> tuple[str, int]:
    host = parts.hostname or ""
    if not host:
        raise EndpointRefused(f"{what}: the URL names no host")
    port = parts.port if parts.port is not None else default_port
    if not 1 <= port <= 65535:
        raise EndpointRefused(f"{what}: port {port} is not 1..65535")
    if parse_ip(host) is None:
        if "%" in host or ":" in host:
            raise EndpointRefused(f"{what}: {host!r} is not a host name or IP address")
        try:
            socket.inet_aton(host)
        except OSError:
            pass
        else:  # 2130706433, 0x7f.1, 127.1: numbers the resolver reads as an address
            raise EndpointRefused(f"{what}: write an IPv4 address as four decimal numbers, not {host!r}")
        name = host[:-1] if host.endswith(".") else host
        if len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
            raise EndpointRefused(f"{what}: {host!r} is not a valid host name")
    return host, port


def _allowed(address: Optional[IPAddress], allow_private: bool) -> bool:
    return address is not None and (
        allow_private or is_loopback_address(address) or is_public_address(address)
    )


def _switch(what: str) -> str:
    return ALLOW_PRIVATE_PROXY_ENV if what == "proxy" else ALLOW_PRIVATE_ENV


def resolve_allowed(
    host: str, port: int, what: str, allow_private: bool, resolver: Optional[Resolver] = None
) -> list[IPAddress]:
    """The addresses of `host` (an IP literal, or a name resolved once), every one allowed; EndpointRefused
    if any is not, or if the name does not resolve."""
    literal = parse_ip(host.strip("[]"))
    if literal is not None:
        if not _allowed(literal, allow_private):
            raise EndpointRefused(
                f"{what}: {host} is not a public address (private, link-local or reserved);"
                f" set {_switch(what)}=1 to allow such hosts"
            )
        return [literal]
    found = [parse_ip(str(item).split("%", 1)[0]) for item in (resolver or _system_resolver)(host, port)]
    if not found:
        raise HostUnresolved(f"{what}: host {host!r} does not resolve")
    if not all(_allowed(address, allow_private) for address in found):
        raise EndpointRefused(
            f"{what}: host {host!r} resolves to an address that is not public (private, link-local or"
            f" reserved); set {_switch(what)}=1 to allow such hosts"
        )
    return [address for address in found if address is not None]


def _check_addresses(
    host: str, port: int, what: str, allow_private: bool, resolve: bool, resolver: Optional[Resolver]
) -> None:
    """The check made when a connection is saved or tested: an IP literal always, a name when `resolve`
    (one that does not resolve yet passes: no connection is ever made to it without resolve_allowed)."""
    if parse_ip(host) is None and not resolve:
        return
    try:
        resolve_allowed(host, port, what, allow_private, resolver)
    except HostUnresolved:
        pass


def check_endpoint(
    url: str,
    *,
    allow_http: bool,
    allow_private: bool,
    resolve: bool = True,
    resolver: Optional[Resolver] = None,
    what: str = "endpoint",
) -> None:
    """Refuse (EndpointRefused) an endpoint the policy does not allow; return None if it may be called.

    `resolve=False` checks the URL alone (IP literals included), without a DNS lookup."""
    parts = _split(url, what)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise EndpointRefused(f"{what}: expected an https URL such as https://api.pagerduty.com")
    if "@" in parts.netloc:
        raise EndpointRefused(f"{what}: the URL must not carry a user name or password")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise EndpointRefused(f"{what}: the URL must not carry a query or fragment")
    host, port = _host_and_port(parts, what, 443 if scheme == "https" else 80)
    if scheme == "http" and not allow_http and not is_loopback_host(host):
        raise EndpointRefused(
            f"{what}: plain http is allowed only for loopback hosts; use https, or set {ALLOW_HTTP_ENV}=1"
        )
    _check_addresses(host, port, what, allow_private, resolve, resolver)


def check_proxy(
    url: str,
    *,
    allow_private: bool,
    resolve: bool = True,
    resolver: Optional[Resolver] = None,
    what: str = "proxy",
) -> None:
    """Refuse (EndpointRefused) a proxy URL that is malformed or whose host the policy does not allow.

    A proxy is `http://` or `https://` host and port (1..65535), with an optional user and password. Its
    messages never repeat the password."""
    parts = _split(url, what)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise EndpointRefused(f"{what}: expected http://host:port or https://host:port")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise EndpointRefused(f"{what}: a proxy URL is scheme, host and port only")
    host, port = _host_and_port(parts, what, 443 if scheme == "https" else 80)
    _check_addresses(host, port, what, allow_private, resolve, resolver)

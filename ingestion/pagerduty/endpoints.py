"""Where a PagerDuty connection may send its token: the policy for endpoints and proxies.

- Endpoints are `https`, except on loopback hosts (localhost, 127.0.0.0/8, ::1: the PagerDuty simulator and
  tests). `PAGERDUTY_ALLOW_HTTP=1` allows plain `http` to any host.
- Hosts whose addresses are not public (private 10/8, 172.16/12, 192.168/16, fc00::/7; link-local
  169.254/16, fe80::/10, where cloud metadata services live; shared, reserved, multicast, unspecified) are
  refused unless `PAGERDUTY_ALLOW_PRIVATE_HOSTS=1` (self-hosted proxies or API gateways). Loopback is allowed.
- A name is resolved and every address it resolves to must pass; a name that does not resolve is left to the
  request itself, which will fail. Numeric host forms other than dotted quads (`2130706433`, `0x7f.1`) are
  refused: they hide the address from a reader.

Pure functions: `check_endpoint` and `check_proxy` raise `EndpointRefused` (a ValueError) with a one-line
message that never repeats a password; `policy_from_env` reads the two settings.
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

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Resolver = Callable[[str, int], Iterable[str]]

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")
_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOOPBACK_NAMES = ("localhost", "localhost.")


class EndpointRefused(ValueError):
    """An endpoint or proxy the policy refuses; the message is one line and names the setting that would
    allow it, if one does."""


class EndpointSettingError(ValueError):
    """PAGERDUTY_ALLOW_HTTP or PAGERDUTY_ALLOW_PRIVATE_HOSTS holds something other than a yes or a no."""


@dataclass(frozen=True)
class EndpointPolicy:
    allow_http: bool = False
    allow_private: bool = False

    def check_endpoint(self, url: str, *, resolve: bool = True, resolver: Optional[Resolver] = None) -> None:
        check_endpoint(
            url,
            allow_http=self.allow_http,
            allow_private=self.allow_private,
            resolve=resolve,
            resolver=resolver,
        )

    def check_proxy(self, url: str, *, resolve: bool = True, resolver: Optional[Resolver] = None) -> None:
        check_proxy(url, allow_private=self.allow_private, resolve=resolve, resolver=resolver)


def _flag(environ: Mapping[str, str], name: str) -> bool:
    value = environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise EndpointSettingError(f"{name}: expected 1 or 0 (true/false), not {value!r}")


def policy_from_env(environ: Mapping[str, str] = os.environ) -> EndpointPolicy:
    """The policy the settings ask for: PAGERDUTY_ALLOW_HTTP and PAGERDUTY_ALLOW_PRIVATE_HOSTS (1/0)."""
    return EndpointPolicy(
        allow_http=_flag(environ, ALLOW_HTTP_ENV), allow_private=_flag(environ, ALLOW_PRIVATE_ENV)
    )


def _embedded_v4(address: ipaddress.IPv6Address) -> Optional[ipaddress.IPv4Address]:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), which is where it really goes."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_loopback_address(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def is_public_address(address: IPAddress) -> bool:
    """Globally routable unicast: not private, link-local, shared, reserved, multicast or unspecified."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_v4(address)
        if embedded is not None and not is_public_address(embedded):
            return False
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


def _check_addresses(
    host: str, port: int, what: str, allow_private: bool, resolve: bool, resolver: Optional[Resolver]
) -> None:
    literal = parse_ip(host)
    if literal is not None:
        if not (allow_private or is_loopback_address(literal) or is_public_address(literal)):
            raise EndpointRefused(
                f"{what}: {host} is not a public address (private, link-local or reserved);"
                f" set {ALLOW_PRIVATE_ENV}=1 to allow such hosts"
            )
        return
    if allow_private or host in _LOOPBACK_NAMES or not resolve:
        return
    for found in (resolver or _system_resolver)(host, port):
        address = parse_ip(str(found).split("%", 1)[0])
        if address is None or not (is_loopback_address(address) or is_public_address(address)):
            raise EndpointRefused(
                f"{what}: host {host!r} resolves to an address that is not public (private, link-local or"
                f" reserved); set {ALLOW_PRIVATE_ENV}=1 to allow such hosts"
            )


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

"""Connections made to the address the endpoint policy checked, and to no other.

requests (urllib3) resolves a host name when it opens a connection, separately from any check made
before: a name that answers a public address to the check and 169.254.169.254 to the connect (DNS
rebinding) would get the token. Here each new connection resolves the name once through the policy
(`EndpointPolicy.addresses`: every address allowed, else EndpointRefused), and the socket is opened to one of
those addresses. Everything else stays as urllib3 does it: the Host header, and TLS (SNI and certificate
verification) against the host name, not the address.

Through a proxy the connection goes to the proxy, whose name is resolved and checked the same way (by the
proxy switch); the endpoint's name is then resolved by the proxy.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from .endpoints import HostUnresolved, IPAddress

Addresses = Callable[[str, int], list[IPAddress]]
"""(host, port) -> the addresses a connection may be made to (raises EndpointRefused otherwise)."""


def _connect(conn: HTTPConnection, addresses: Addresses) -> socket.socket:
    """urllib3's HTTPConnection._new_conn, to the checked addresses of its host (tried in turn)."""
    try:
        allowed = addresses(conn._dns_host.rstrip("."), conn.port)  # type: ignore[attr-defined]
    except HostUnresolved as exc:  # DNS may answer later: a connection error, retried as any other
        raise NewConnectionError(conn, f"Failed to establish a new connection: {exc}") from None
    extra: dict[str, Any] = {}
    if conn.source_address:
        extra["source_address"] = conn.source_address
    if conn.socket_options:
        extra["socket_options"] = conn.socket_options
    error: OSError = OSError("no address")
    for address in allowed:
        try:
            return urllib3_connection.create_connection((str(address), conn.port), conn.timeout, **extra)
        except TimeoutError:
            raise ConnectTimeoutError(
                conn, f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})"
            ) from None
        except OSError as exc:
            error = exc
    raise NewConnectionError(conn, f"Failed to establish a new connection: {error}")


def pool_classes(addresses: Addresses) -> dict[str, type]:
    """urllib3 pool classes (by scheme) whose connections go only to `addresses(host, port)`."""

    class PinnedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _connect(self, addresses)

    class PinnedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return _connect(self, addresses)

    class PinnedHTTPPool(HTTPConnectionPool):
        ConnectionCls = PinnedHTTPConnection

    class PinnedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = PinnedHTTPSConnection

    return {"http": PinnedHTTPPool, "https": PinnedHTTPSPool}


class PinnedAdapter(HTTPAdapter):
    """A requests adapter whose connections, direct or to a proxy, are opened to checked addresses only:
    `addresses` for the endpoint, `proxy_addresses` for a proxy."""

    def __init__(self, addresses: Addresses, proxy_addresses: Addresses, **kwargs: Any) -> None:
        self._pools = pool_classes(addresses)
        self._proxy_pools = pool_classes(proxy_addresses)
        super().__init__(**kwargs)  # builds the pool manager, which needs the classes

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = self._proxy_pools
        return manager

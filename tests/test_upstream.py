"""API security, round 3, item 2: upstream errors stay upstream, and requests go where the policy looked.

- An endpoint's error text never reaches a pipeline's message (GET /pipelines/{id}, `pipelines list`): only
  our words, the status class and PagerDuty's documented error code. The full text goes to the server's log,
  without control characters and with the token masked.
- A name is resolved once per connection made, that address is checked and connected to (a stub resolver
  plays the rebinding DNS server); TLS is still verified against the name.
- IPv4 addresses written inside IPv6 are judged by the IPv4 rules; private proxies have their own switch.
"""

from __future__ import annotations

import socket
import ssl
from datetime import UTC, datetime, timedelta

import pytest
import requests

from ingestion.pagerduty import PagerDutyClient, PagerDutyError, RetryPolicy
from ingestion.pagerduty.endpoints import EndpointPolicy, EndpointRefused, check_endpoint, check_proxy

from .helpers import SEED_BLUEPRINT, serve, wait_for_pipeline
from .test_security import Listener, add, cli, stop

TOKEN = "upstream-test-token-5150"
LEAK = "internal secret: db_password=hunter2-9"


class Leaky(Listener):
    """A local service that answers every request with an error whose text holds a secret, ANSI escapes, a
    forged log line and the token it was sent."""

    def __init__(self, status: int, code: int) -> None:
        super().__init__()
        self.status, self.code = status, code

    def answer(self, path: str) -> tuple[int, dict]:
        message = f"{LEAK} \x1b[2J\x1b[31mred\x1b[0m\r\nerror: forged line; you sent {TOKEN}"
        return self.status, {"error": {"message": message, "code": self.code, "errors": [LEAK]}}


@pytest.mark.parametrize(
    ("status", "code", "shown"),
    [
        (400, 2001, "HTTP 4xx (the request was refused; PagerDuty error 2001: invalid input)"),
        (409, 31337, "HTTP 4xx (the request was refused)"),
    ],
)
def test_an_error_body_is_never_echoed_to_api_callers(database, status, code, shown) -> None:
    proc, base = serve(database)
    try:
        with Leaky(status, code) as leaky:
            assert add(base, "local", leaky.url, TOKEN).status_code == 201
            blueprint = requests.post(f"{base}/blueprints", json=SEED_BLUEPRINT, timeout=30).json()
            pipeline = requests.post(f"{base}/blueprints/{blueprint['id']}/trigger", timeout=30).json()
            done = wait_for_pipeline(base, pipeline["id"])
        listed = cli(database, "pipelines", "list")
    finally:
        log = stop(proc)
    assert done["status"] == "TASK_FAILED" and shown in done["message"], done["message"]
    for seen in (done["message"], listed.stdout + listed.stderr):
        assert "hunter2" not in seen and "db_password" not in seen and "forged" not in seen
        assert "\x1b" not in seen and (code == 2001 or str(code) not in seen)
    # the operator's own log has the whole answer: on one line, escapes gone, the token masked
    (line,) = [line for line in log.splitlines() if LEAK in line][:1]
    assert "\x1b" not in line and "forged line" in line and TOKEN not in log


def test_control_characters_never_reach_the_terminal(database) -> None:
    """Records written before (or by an exception quoting anything) are shown without control characters."""
    proc, base = serve(database)
    stop(proc)
    from .helpers import query

    query(
        database,
        "INSERT INTO _devlake_pipelines (blueprint_name, status, began_at, finished_at, message)"
        " VALUES ('x', 'TASK_FAILED', NOW(), NOW(), %s)",
        "boom \x1b]0;owned\x07\x1b[2J\rdone",
        database=database.name,
    )
    listed = cli(database, "pipelines", "list")
    shown = cli(database, "pipelines", "show", "1")
    proc, base = serve(database)
    try:
        api = requests.get(f"{base}/pipelines/1", timeout=10).json()["message"]
    finally:
        stop(proc)
    for text in (listed.stdout, shown.stdout, api):
        assert "boom" in text and "done" in text
        assert not any(ord(ch) < 0x20 and ch != "\n" for ch in text), repr(text)


# ------------------------------------------------------------------------------ resolve once, connect there
class StubDns:
    """A DNS server that rebinds: `name` resolves to each of `answers` in turn (the last one from then on).
    Installed as socket.getaddrinfo, which every resolver in the process calls; other names resolve as
    usual."""

    def __init__(self, monkeypatch, name: str, *answers: str) -> None:
        self.name, self.answers, self.calls = name, list(answers), 0
        real = socket.getaddrinfo

        def getaddrinfo(host, port, *args, **kwargs):
            if host != self.name:
                return real(host, port, *args, **kwargs)
            if not self.answers:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            address = self.answers[min(self.calls, len(self.answers) - 1)]
            self.calls += 1
            return real(address, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_name_is_resolved_once_and_that_address_connected_to(monkeypatch) -> None:
    """The rebinding name answers the address of the service the caller may reach (127.0.0.2) first, then
    0.0.0.0, which reaches this machine's internal service on 127.0.0.1. The request goes where the check
    looked, with one resolution per connection."""
    internal = Listener()
    port = internal.server.server_address[1]
    public = Listener(host="127.0.0.2", port=port)
    policy = EndpointPolicy(allow_http=True)
    with internal, public:
        dns = StubDns(monkeypatch, "rebind.test", "127.0.0.2", "0.0.0.0")
        assert _client(f"http://rebind.test:{port}", policy).get("/abilities") is not None
        assert (dns.calls, len(public.received), internal.received) == (1, 1, [])
        # a name whose one answer is refused is never connected to
        StubDns(monkeypatch, "inside.test", "0.0.0.0")
        with pytest.raises(PagerDutyError, match="resolves to an address that is not public"):
            _client(f"http://inside.test:{port}", policy).get("/abilities")
        # nor one that does not resolve
        StubDns(monkeypatch, "gone.test")
        with pytest.raises(PagerDutyError, match="name not resolved reaching gone.test"):
            _client(f"http://gone.test:{port}", policy).get("/abilities")
    assert internal.received == []


def _certificate(tmp_path, name: str) -> tuple[str, str, str]:
    """A CA, and a server certificate for `name` signed by it: (ca file, cert file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def subject(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(subject("test ca"))
        .issuer_name(subject("test ca"))
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject(name))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = [tmp_path / f"{name}-{part}.pem" for part in ("ca", "cert", "key")]
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return tuple(str(p) for p in paths)  # type: ignore[return-value]


@pytest.mark.parametrize(("certified", "ok"), [("pinned.test", True), ("other.test", False)])
def test_tls_is_verified_against_the_name_not_the_address(monkeypatch, tmp_path, certified, ok) -> None:
    ca, cert, key = _certificate(tmp_path, certified)
    with Listener() as listener:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        listener.server.socket = context.wrap_socket(listener.server.socket, server_side=True)
        port = listener.server.server_address[1]
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca)
        StubDns(monkeypatch, "pinned.test", "127.0.0.1")
        client = _client(f"https://pinned.test:{port}")
        if ok:
            assert client.get("/abilities") is not None and len(listener.received) == 1
        else:
            with pytest.raises(PagerDutyError, match="SSLError"):
                client.get("/abilities")
            assert listener.received == []


def _client(url: str, policy: EndpointPolicy = EndpointPolicy()) -> PagerDutyClient:
    return PagerDutyClient(
        url,
        TOKEN,
        "connection 'rebind' (id 1)",
        RetryPolicy(max_attempts=1, backoff_factor=0, max_delay=0, timeout=5),
        policy=policy,
    )


# ------------------------------------------------------------------------------ IPv4 inside IPv6, proxies
@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b:1::a9fe:a9fe",  # local-use NAT64
        "64:ff9b:1:a9fe:a9:fe00::",  # local-use NAT64, /48 layout
        "::ffff:a9fe:a9fe",  # IPv4-mapped
        "::ffff:0:a9fe:a9fe",  # IPv4-translated
        "::a9fe:a9fe",  # IPv4-compatible
        "::7f00:1",  # IPv4-compatible 127.0.0.1: not loopback in IPv6
        "::a00:1",  # IPv4-compatible 10.0.0.1
        "fec0::1",  # site-local
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    ],
)
def test_ipv4_inside_ipv6_is_judged_by_the_ipv4_rules(address) -> None:
    for url in (f"https://[{address}]", "https://named.example"):
        with pytest.raises(EndpointRefused, match="not (a )?public"):
            check_endpoint(url, allow_http=False, allow_private=False, resolver=lambda h, p: [address])
    with pytest.raises(EndpointRefused, match="not (a )?public"):
        check_proxy(f"http://[{address}]:3128", allow_private=False)
    # the embedded address decides: a public one passes
    check_endpoint("https://[64:ff9b::808:808]", allow_http=False, allow_private=False)


def test_private_proxies_have_their_own_switch(database) -> None:
    from ingestion.pagerduty.endpoints import policy_from_env

    proxy, endpoint = "http://10.0.0.7:3128", "https://10.20.30.40"
    only_proxies = policy_from_env({"PAGERDUTY_ALLOW_PRIVATE_PROXY": "1"})
    only_endpoints = policy_from_env({"PAGERDUTY_ALLOW_PRIVATE_HOSTS": "1"})
    only_proxies.check_proxy(proxy)
    with pytest.raises(EndpointRefused, match="PAGERDUTY_ALLOW_PRIVATE_HOSTS"):
        only_proxies.check_endpoint(endpoint)
    only_endpoints.check_endpoint(endpoint)
    with pytest.raises(EndpointRefused, match="PAGERDUTY_ALLOW_PRIVATE_PROXY"):
        only_endpoints.check_proxy(proxy)
    proc, base = serve(database, PAGERDUTY_ALLOW_PRIVATE_HOSTS="1")
    try:
        refused = add(base, "px", "https://api.pagerduty.com", proxy=proxy)
        assert refused.status_code == 400 and "PAGERDUTY_ALLOW_PRIVATE_PROXY" in refused.json()["message"]
    finally:
        stop(proc)
    proc, base = serve(database, PAGERDUTY_ALLOW_PRIVATE_PROXY="1")
    try:
        assert add(base, "px", "https://api.pagerduty.com", proxy=proxy).status_code == 201
        assert add(base, "gw", endpoint).status_code == 400
    finally:
        stop(proc)

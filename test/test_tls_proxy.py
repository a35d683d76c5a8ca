"""TLS and proxies for real: a TLS emulator with a local CA (trustme), client certificates,
and a CONNECT-capable HTTP proxy on loopback that records what it is sent."""

from __future__ import annotations

import base64
import contextlib
import http.client
import selectors
import socket
import ssl
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any, Iterator, List, Optional, Tuple
from urllib.parse import urlsplit

import pytest
import trustme

import video_api
from video_api.apis.tags.authentication_api import AuthenticationApi
from video_api.exceptions import ApiConnectionError
from video_api.model.access_token import AccessToken
from video_api.model.authenticate_payload import AuthenticatePayload
from video_api.testing import Emulator

API_KEY = "/auth/api-key"
PROXY_AUTH = "Basic dXNlcjpwYXNzd29yZA=="  # user:password


@dataclass(frozen=True)
class Pki:
    """A local CA, a server certificate for 127.0.0.1 and localhost, and a client certificate."""

    ca: trustme.CA
    server: trustme.LeafCert
    localhost_only: trustme.LeafCert
    ca_pem: str
    client_cert: str
    client_key: str


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    ca = trustme.CA()
    client = ca.issue_cert("client@example.org")
    folder = tmp_path_factory.mktemp("pki")
    ca_pem, cert, key = folder / "ca.pem", folder / "client.pem", folder / "client.key"
    ca.cert_pem.write_to_path(str(ca_pem))
    client.cert_chain_pems[0].write_to_path(str(cert))
    client.private_key_pem.write_to_path(str(key))
    return Pki(
        ca,
        ca.issue_cert("127.0.0.1", "localhost"),
        ca.issue_cert("localhost"),
        str(ca_pem),
        str(cert),
        str(key),
    )


def server_context(
    pki: Pki, *, require_client_cert: bool = False, cert: Optional[trustme.LeafCert] = None
) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    (cert or pki.server).configure_cert(context)
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        pki.ca.configure_trust(context)
    return context


@pytest.fixture
def tls_emulator(pki: Pki) -> Iterator[Emulator]:
    with Emulator(ssl_context=server_context(pki)) as emulator:
        yield emulator


def authenticate(config: video_api.Configuration) -> Any:
    """One API key exchange on a client of its own, closed afterwards."""
    with video_api.ApiClient(config) as client:
        api = AuthenticationApi(client)
        return api.p_ost_auth_api_key(body=AuthenticatePayload(api_key="demo-api-key"))


def connection_error(config: video_api.Configuration) -> ApiConnectionError:
    with pytest.raises(ApiConnectionError) as caught:
        authenticate(config)
    return caught.value


# -- TLS ---------------------------------------------------------------------------------


def test_local_ca_verifies_the_server(pki: Pki, tls_emulator: Emulator) -> None:
    """``ssl_ca_cert`` names the CA to trust: the handshake verifies and the call works."""
    assert tls_emulator.url.startswith("https://127.0.0.1:")
    config = video_api.Configuration(host=tls_emulator.url, ssl_ca_cert=pki.ca_pem, timeout=5)
    response = authenticate(config)
    assert isinstance(response.body, AccessToken)
    assert tls_emulator.count(API_KEY) == 1


def test_default_bundle_refuses_an_unknown_ca(tls_emulator: Emulator) -> None:
    """By default (certifi) a certificate from an unknown CA fails clearly, without retries,
    before any request is sent."""
    config = video_api.Configuration(host=tls_emulator.url, timeout=5)
    started = time.monotonic()
    error = connection_error(config)
    assert "certificate verify failed" in str(error).lower()
    assert "/auth/api-key" in str(error)
    assert error.retries == 0
    assert tls_emulator.count() == 0
    assert time.monotonic() - started < 3


def test_hostname_mismatch_fails_unless_asserted(pki: Pki) -> None:
    """A certificate for another name fails; ``assert_hostname`` names the one to expect."""
    context = server_context(pki, cert=pki.localhost_only)
    with Emulator(ssl_context=context) as emulator:
        config = video_api.Configuration(host=emulator.url, ssl_ca_cert=pki.ca_pem, timeout=5)
        error = connection_error(config)
        assert "127.0.0.1" in str(error)
        assert emulator.count() == 0
        config.assert_hostname = "localhost"
        assert isinstance(authenticate(config).body, AccessToken)
        assert emulator.count(API_KEY) == 1


def test_client_certificate_is_presented(pki: Pki) -> None:
    """With ``cert_file``/``key_file`` the client proves who it is to a server that requires
    it; without them that server refuses the handshake and never sees the request."""
    with Emulator(ssl_context=server_context(pki, require_client_cert=True)) as emulator:
        without = video_api.Configuration(host=emulator.url, ssl_ca_cert=pki.ca_pem, timeout=5)
        # Whether the client reads the server's alert or just the EOF after it is a race.
        connection_error(without)
        assert emulator.count() == 0
        with_cert = video_api.Configuration(
            host=emulator.url,
            ssl_ca_cert=pki.ca_pem,
            cert_file=pki.client_cert,
            key_file=pki.client_key,
            timeout=5,
        )
        assert isinstance(authenticate(with_cert).body, AccessToken)
        assert emulator.count(API_KEY) == 1


def test_verification_off_works_and_warns(tls_emulator: Emulator) -> None:
    """``verify_ssl=False`` connects to any certificate, and says so with a warning that
    points at the caller's line."""
    config = video_api.Configuration(host=tls_emulator.url, verify_ssl=False, timeout=5)
    with pytest.warns(UserWarning, match="verification is off") as record:
        client = video_api.ApiClient(config)
    assert record[0].filename == __file__
    with client, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # urllib3's own per-request InsecureRequestWarning
        api = AuthenticationApi(client)
        response = api.p_ost_auth_api_key(body=AuthenticatePayload(api_key="demo-api-key"))
    assert isinstance(response.body, AccessToken)
    assert tls_emulator.count(API_KEY) == 1


def test_verification_on_does_not_warn(pki: Pki, tls_emulator: Emulator) -> None:
    config = video_api.Configuration(host=tls_emulator.url, ssl_ca_cert=pki.ca_pem, timeout=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert isinstance(authenticate(config).body, AccessToken)


# -- proxies -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProxiedRequest:
    """A request as the proxy received it: ``CONNECT host:port`` or an absolute-URI request."""

    method: str
    target: str
    headers: http.client.HTTPMessage


class RecordingProxy:
    """A small HTTP proxy on loopback: tunnels ``CONNECT`` for https targets and forwards
    absolute-URI requests for http ones (one request per connection, ``Connection: close``
    upstream), dropping ``Proxy-*`` headers as a real proxy does. Records what it is sent."""

    HOP_BY_HOP = ("connection", "keep-alive", "proxy-authorization", "proxy-connection")

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: List[ProxiedRequest] = []
        self._lock = threading.Lock()
        self._live: set[socket.socket] = set()
        self._threads: List[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, name="test-proxy", daemon=True)

    def __enter__(self) -> RecordingProxy:
        self._accepter.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
        self._listener.close()
        self._accepter.join(5)
        with self._lock:
            live = list(self._live)
        for sock in live:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(5)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _track(self, *socks: socket.socket) -> None:
        with self._lock:
            self._live.update(socks)

    def _serve(self, client: socket.socket) -> None:
        self._track(client)
        upstream: Optional[socket.socket] = None
        try:
            reader = client.makefile("rb")
            line = reader.readline(65537).decode("latin-1").rstrip("\r\n")
            if not line:
                return
            method, target, _ = line.split(" ", 2)
            headers = http.client.parse_headers(reader)
            with self._lock:
                self.requests.append(ProxiedRequest(method, target, headers))
            if method == "CONNECT":
                host, port = target.rsplit(":", 1)
                upstream = socket.create_connection((host, int(port)), timeout=5)
                self._track(upstream)
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self._pipe(client, upstream)
            else:
                upstream, head, body = self._forwarded(method, target, headers, reader)
                self._track(upstream)
                upstream.sendall(head + body)
                self._pipe(client, upstream)
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    sock.close()

    def _forwarded(
        self, method: str, target: str, headers: http.client.HTTPMessage, reader: Any
    ) -> Tuple[socket.socket, bytes, bytes]:
        parts = urlsplit(target)
        assert parts.scheme == "http" and parts.hostname, target
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        kept = [(k, v) for k, v in headers.items() if k.lower() not in self.HOP_BY_HOP]
        lines = [f"{method} {path or '/'} HTTP/1.1", *(f"{k}: {v}" for k, v in kept)]
        lines.append("Connection: close")
        body = reader.read(int(headers.get("Content-Length") or 0))
        upstream = socket.create_connection((parts.hostname, parts.port or 80), timeout=5)
        return upstream, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), body

    @staticmethod
    def _pipe(one: socket.socket, other: socket.socket) -> None:
        """Copy bytes both ways until either side closes."""
        with selectors.DefaultSelector() as selector:
            selector.register(one, selectors.EVENT_READ, other)
            selector.register(other, selectors.EVENT_READ, one)
            while True:
                for key, _ in selector.select(timeout=10):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    with RecordingProxy() as running:
        yield running


def test_http_target_through_proxy(emulator: Emulator, proxy: RecordingProxy) -> None:
    """To an http host, the request goes to the proxy as an absolute URI, with
    ``proxy_headers``; the server gets the call but not the proxy's credentials."""
    config = video_api.Configuration(
        host=emulator.url,
        proxy=proxy.url,
        proxy_headers={"Proxy-Authorization": PROXY_AUTH},
        timeout=5,
    )
    response = authenticate(config)
    assert isinstance(response.body, AccessToken)
    assert [(r.method, r.target) for r in proxy.requests] == [("POST", emulator.url + API_KEY)]
    assert proxy.requests[0].headers["Proxy-Authorization"] == PROXY_AUTH
    assert emulator.count(API_KEY) == 1
    received = emulator.requests[0]
    assert received.json() == {"apiKey": "demo-api-key"}
    assert "Proxy-Authorization" not in received.headers


def test_https_target_tunnels_through_proxy(
    pki: Pki, tls_emulator: Emulator, proxy: RecordingProxy
) -> None:
    """To an https host, the client opens a CONNECT tunnel carrying ``proxy_headers``, then
    verifies the server end to end; the headers never enter the tunnel."""
    config = video_api.Configuration(
        host=tls_emulator.url,
        ssl_ca_cert=pki.ca_pem,
        proxy=proxy.url,
        proxy_headers={"Proxy-Authorization": PROXY_AUTH},
        timeout=5,
    )
    response = authenticate(config)
    assert isinstance(response.body, AccessToken)
    authority = urlsplit(tls_emulator.url).netloc
    assert [(r.method, r.target) for r in proxy.requests] == [("CONNECT", authority)]
    assert proxy.requests[0].headers["Proxy-Authorization"] == PROXY_AUTH
    assert tls_emulator.count(API_KEY) == 1
    received = tls_emulator.requests[0]
    assert received.json() == {"apiKey": "demo-api-key"}
    assert "Proxy-Authorization" not in received.headers


def test_https_through_proxy_still_verifies_the_server(
    tls_emulator: Emulator, proxy: RecordingProxy
) -> None:
    """A tunnel does not weaken verification: an unknown CA is still refused."""
    config = video_api.Configuration(host=tls_emulator.url, proxy=proxy.url, timeout=5)
    error = connection_error(config)
    assert "certificate verify failed" in str(error).lower()
    assert [r.method for r in proxy.requests] == ["CONNECT"]
    assert tls_emulator.count() == 0


def test_unreachable_proxy_is_a_connection_error(emulator: Emulator) -> None:
    """A proxy nobody listens on: ApiConnectionError after the quick retries, no hang."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = video_api.Configuration(host=emulator.url, proxy=f"http://127.0.0.1:{port}", timeout=2)
    started = time.monotonic()
    error = connection_error(config)
    assert error.retries == 2
    assert emulator.count() == 0
    assert time.monotonic() - started < 3


def test_each_call_through_an_http_proxy_is_forwarded(
    emulator: Emulator, proxy: RecordingProxy
) -> None:
    """Two calls on one client through the proxy are two proxied requests, two answers."""
    config = video_api.Configuration(host=emulator.url, proxy=proxy.url, timeout=5)
    with video_api.ApiClient(config) as client:
        api = AuthenticationApi(client)
        first = api.p_ost_auth_api_key(body=AuthenticatePayload(api_key="demo-api-key"))
        second = api.p_ost_auth_api_key(body=AuthenticatePayload(api_key="demo-api-key"))
    assert first.body.access_token != second.body.access_token
    assert emulator.count(API_KEY) == 2
    assert len(proxy.requests) == 2


def test_credentials_in_the_proxy_url_become_proxy_authorization(
    emulator: Emulator, proxy: RecordingProxy
) -> None:
    """``http://user:pass@proxy`` authenticates to the proxy (urllib3 alone drops them), and
    the password shows nowhere: not in the repr, not in the client's errors."""
    url = proxy.url.replace("http://", "http://user:p%40ss@")
    config = video_api.Configuration(host=emulator.url, proxy=url, timeout=5)
    authenticate(config)
    expected = "Basic " + base64.b64encode(b"user:p@ss").decode()
    assert proxy.requests[0].headers["Proxy-Authorization"] == expected
    assert "p%40ss" not in repr(config)

"""A local api.video-compatible HTTP server with request recording and fault injection.

It serves the authentication flow (``/auth/api-key``, ``/auth/refresh``) and a
bearer-protected ``/videos`` on loopback so that client code, including retry and
token-refresh logic, can be tested and benchmarked deterministically without a network.
"""

from __future__ import annotations

import contextlib
import json
import random
import secrets
import selectors
import socket
import socketserver
import ssl
import struct
import threading
from collections import deque
from dataclasses import dataclass
from http.client import HTTPMessage, responses
from http.server import BaseHTTPRequestHandler
from time import monotonic
from types import TracebackType
from typing import Any, Callable, Sequence, Tuple

DOCS = "https://docs.api.video/docs/"
JSON = "application/json"

_Headers = Tuple[Tuple[str, str], ...]
_Reply = Tuple[int, bytes, str, _Headers]  # status, body, content type, extra headers


def _problem(status: int, kind: str, title: str, name: str | None = None) -> bytes:
    """Encode an api.video problem document (RFC 7807 style, plus the offending attribute)."""
    problem: dict[str, Any] = {"type": kind, "title": title}
    if name is not None:
        problem["name"] = name
    problem["status"] = status
    return json.dumps(problem).encode()


_BAD_CREDENTIALS = _problem(
    400, DOCS + "authenticationinvalid_credentials", "The user credentials were incorrect.", ""
)
_BAD_REFRESH = _problem(
    400,
    DOCS + "authenticationinvalid_refresh_token",
    "The refresh token is invalid.",
    "refreshToken",
)
_BAD_TOKEN = _problem(401, DOCS + "authenticationinvalid_token", "The access token is invalid.")
_EXPIRED_TOKEN = _problem(401, DOCS + "authenticationinvalid_token", "The access token expired.")
_NOT_FOUND = _problem(404, DOCS + "resourcenot_found", "The resource was not found.")
_NOT_ALLOWED = _problem(405, DOCS + "methodnot_allowed", "The method is not allowed here.")
_CHALLENGE: _Headers = (("WWW-Authenticate", "Bearer"),)
_EMPTY_VIDEOS = json.dumps(
    {
        "data": [],
        "pagination": {
            "currentPage": 1,
            "pageSize": 25,
            "pagesTotal": 0,
            "itemsTotal": 0,
            "currentPageItems": 0,
            "links": [{"rel": "self", "uri": "/videos?currentPage=1&pageSize=25"}],
        },
    }
).encode()


class _Reject(Exception):
    """Raised by route handlers to answer with a problem document."""

    def __init__(self, status: int, body: bytes, headers: _Headers = ()) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers


def _string_field(body: bytes, name: str) -> str:
    """Extract a required string attribute from a JSON object body, validating like the API."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        title = "The request body must be a JSON object."
        raise _Reject(400, _problem(400, DOCS + "attributeinvalid", title, name))
    value = data.get(name)
    if value is None:
        title = "This attribute is required."
        raise _Reject(400, _problem(400, DOCS + "attributerequired", title, name))
    if not isinstance(value, str):
        title = "This attribute must be a string."
        raise _Reject(400, _problem(400, DOCS + "attributeinvalid", title, name))
    return value


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it, for assertions in tests."""

    method: str
    path: str  # including the query string
    headers: HTTPMessage
    body: bytes

    def json(self) -> Any:
        """Decode the body, which the SDK sends as JSON."""
        return json.loads(self.body)


@dataclass(frozen=True)
class Fault:
    """A misbehaviour to inject into one request; build it with the classmethods."""

    kind: str
    code: int = 200
    payload: bytes = b""
    content_type: str = JSON
    headers: _Headers = ()
    seconds: float = 0.0

    @classmethod
    def stall(cls, seconds: float) -> Fault:
        """Delay the normal answer, to exercise timeouts; ``Emulator.stop()`` cuts it short."""
        return cls("stall", seconds=seconds)

    @classmethod
    def reset_before_body(cls) -> Fault:
        """Reset the connection after the headers, before reading the body: nothing is processed,
        though the client cannot tell (it sees a reset, as after a processed request)."""
        return cls("reset_before_body")

    @classmethod
    def reset_after_body(cls) -> Fault:
        """Process the request, then reset: the state changed but the answer was lost."""
        return cls("reset_after_body")

    @classmethod
    def status(
        cls,
        code: int,
        body: bytes | str | dict[str, Any] | None = None,
        content_type: str = "application/problem+json",
        headers: dict[str, str] | None = None,
    ) -> Fault:
        """Answer ``code`` instead of handling the request (default body: a problem document)."""
        if body is None:
            title = responses.get(code, "Error")
            payload = _problem(code, "about:blank", title)
        elif isinstance(body, dict):
            payload = json.dumps(body).encode()
        else:
            payload = body.encode() if isinstance(body, str) else body
        return cls("respond", code, payload, content_type, tuple((headers or {}).items()))

    @classmethod
    def rate_limited(cls, retry_after: str | None = "1", header: str = "Retry-After") -> Fault:
        """Answer 429 with ``header: retry_after`` (no header if ``retry_after`` is None)."""
        return cls.status(429, headers=None if retry_after is None else {header: retry_after})

    @classmethod
    def body(cls, raw: bytes, status: int = 200, content_type: str = JSON) -> Fault:
        """Answer arbitrary bytes, to exercise the client's response parsing."""
        return cls("respond", status, raw, content_type)

    @classmethod
    def truncated(cls, status: int = 200) -> Fault:
        """Promise more bytes than sent (a plausible JSON prefix), then close the connection."""
        return cls("truncated", status, b'{"data": [{"videoId": "vi4blUQJFrYWbaG44NChkH27", "t')

    @classmethod
    def html(cls, status: int = 502) -> Fault:
        """Answer the kind of HTML error page a reverse proxy produces."""
        line = f"{status} {responses.get(status, 'Error')}"
        page = f"<html><head><title>{line}</title></head><body><h1>{line}</h1>nginx</body></html>"
        return cls("respond", status, page.encode(), "text/html")


_NO_FAULT = Fault("none")


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """Threaded TCP server that stops without polling and tracks connections to cut them."""

    daemon_threads = True
    block_on_close = False  # idle keep-alive connections would make server_close() hang
    allow_reuse_address = True
    timeout = 0  # handle_request() is only called once select() saw a pending connection

    def __init__(self, emulator: Emulator, address: tuple[str, int]) -> None:
        self.emulator = emulator
        self.connections: set[Any] = set()
        # Made before binding, because a failed bind calls server_close(), which closes them.
        self._wake_reader, self._wake_writer = socket.socketpair()
        super().__init__(address, _Handler)

    def serve_until_woken(self) -> None:
        """Accept until wake(); unlike serve_forever() nothing polls, so stopping is immediate."""
        with selectors.DefaultSelector() as selector:
            selector.register(self, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while all(key.fileobj is self for key, _ in selector.select()):
                self.handle_request()

    def wake(self) -> None:
        self._wake_writer.send(b"\0")

    def server_close(self) -> None:
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.emulator._lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.emulator._lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: clients vanishing mid-request are routine in fault tests."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server
    headers: HTTPMessage

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: per-request logging would pollute test output and slow benchmarks."""

    def _dispatch(self) -> None:
        emulator = self.server.emulator
        route = self.path.partition("?")[0]
        fault = emulator._next_fault(route)
        body = b""
        if fault.kind != "reset_before_body":
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
        emulator._record(self.command, self.path, self.headers, body)
        if fault.kind == "reset_before_body" or (
            fault.kind == "stall" and emulator._stopping.wait(fault.seconds)
        ):
            self._reset()
        elif fault.kind == "respond":
            self._send((fault.code, fault.payload, fault.content_type, fault.headers))
        elif fault.kind == "truncated":
            self.close_connection = True
            self._send((fault.code, fault.payload, fault.content_type, ()), len(fault.payload) + 64)
        else:
            reply = emulator._answer(self.command, route, self.headers, body)
            if fault.kind == "reset_after_body":
                self._reset()
            else:
                self._send(reply)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    def _send(self, reply: _Reply, declared_length: int | None = None) -> None:
        """Write the whole response in one call, which keeps the per-request cost low."""
        status, body, content_type, headers = reply
        length = len(body) if declared_length is None else declared_length
        lines = [
            f"{self.protocol_version} {status} {responses.get(status, 'Unknown')}",
            f"Content-Type: {content_type}",
            f"Content-Length: {length}",
        ]
        lines.extend(f"{name}: {value}" for name, value in headers)
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def _reset(self) -> None:
        """Abort the connection with a TCP RST, like a crashed server or a killed proxy."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()  # drop the makefile() reference so close() really closes the socket
        self.connection.close()


class Emulator:
    """An api.video-compatible server on loopback; use as a context manager or start()/stop()."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_keys: Sequence[str] = ("demo-api-key",),
        token_lifetime: int = 3600,
        ssl_context: ssl.SSLContext | None = None,
        problem_content_type: str = JSON,
    ) -> None:
        keys = (api_keys,) if isinstance(api_keys, str) else tuple(api_keys)
        if not keys:
            raise ValueError("api_keys must not be empty")
        self.api_key: str = keys[0]
        self._api_keys = frozenset(keys)
        self._host, self._port = host, port
        self._token_lifetime = token_lifetime
        self._ssl_context = ssl_context
        self._problem_content_type = problem_content_type
        self._routes: dict[str, tuple[str, Callable[[HTTPMessage, bytes], _Reply]]] = {
            "/auth/api-key": ("POST", self._auth_api_key),
            "/auth/refresh": ("POST", self._auth_refresh),
            "/videos": ("GET", self._list_videos),
        }
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._access: dict[str, float] = {}  # access token -> monotonic expiry
        self._refresh: set[str] = set()
        self._spent_refresh: set[str] = set()
        self._requests: list[RecordedRequest] = []
        self._queued: dict[str, deque[Fault]] = {}
        self._mix: tuple[float, Sequence[Fault], random.Random, frozenset[str] | None] | None = None
        self._faults_injected = 0
        self._refresh_token_reuses = 0
        self._tokens_issued = 0

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> Emulator:
        """Bind and serve from a daemon thread; returns self for chaining."""
        if self._server is not None:
            raise RuntimeError("emulator already started")
        server = _Server(self, (self._host, self._port))
        if self._ssl_context is not None:
            # Handshake lazily in the handler thread so a slow client cannot block accept().
            server.socket = self._ssl_context.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._port = server.socket.getsockname()[1]
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.serve_until_woken, name="video-api-emulator", daemon=True
        )
        self._server = server
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake stalled handlers and cut open connections; safe to call twice."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._server = self._thread = None
        self._stopping.set()
        server.wake()
        thread.join()
        server.server_close()
        with self._lock:
            live = list(server.connections)
        for connection in live:
            with contextlib.suppress(OSError):  # plain shutdown even for TLS: it only wakes readers
                socket.socket.shutdown(connection, socket.SHUT_RDWR)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- inspection and control ----------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (the real one once started, even if 0 was asked for)."""
        return self._port

    @property
    def url(self) -> str:
        """Base URL to hand to the client, e.g. ``http://127.0.0.1:54321``."""
        scheme = "http" if self._ssl_context is None else "https"
        return f"{scheme}://{self._host}:{self._port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def faults_injected(self) -> int:
        """How many requests got a fault (queued or from the random mix)."""
        return self._faults_injected

    @property
    def refresh_token_reuses(self) -> int:
        """How many times an already rotated refresh token was presented again."""
        return self._refresh_token_reuses

    @property
    def tokens_issued(self) -> int:
        """How many token pairs were issued (by API key or by refresh)."""
        return self._tokens_issued

    def count(self, path: str | None = None, method: str | None = None) -> int:
        """Requests received, faulted ones included; ``path`` matches with or without query."""
        return sum(
            1
            for r in self.requests
            if (path is None or path in (r.path, r.path.partition("?")[0]))
            and (method is None or r.method == method.upper())
        )

    def clear(self) -> None:
        """Forget recorded requests and reset the counters, keeping tokens and pending faults."""
        with self._lock:
            self._requests.clear()
            self._faults_injected = self._refresh_token_reuses = self._tokens_issued = 0

    def revoke(self, access_token: str | None = None) -> None:
        """Invalidate one access token, or all of them, to force the client to re-authenticate."""
        with self._lock:
            if access_token is None:
                self._access.clear()
            else:
                self._access.pop(access_token, None)

    def add_fault(self, path: str, fault: Fault, times: int = 1) -> None:
        """Queue ``fault`` for the next ``times`` requests to ``path`` (matched without query)."""
        with self._lock:
            self._queued.setdefault(path, deque()).extend([fault] * times)

    def fault_mix(
        self,
        rate: float,
        faults: Sequence[Fault],
        seed: int = 0,
        paths: Sequence[str] | None = None,
    ) -> None:
        """Fault a seeded-random ``rate`` of requests (to ``paths``, or all); 0 turns it off."""
        if rate and not faults:
            raise ValueError("fault_mix needs at least one fault")
        with self._lock:
            scope = None if paths is None else frozenset(paths)
            self._mix = (rate, tuple(faults), random.Random(seed), scope) if rate > 0 else None

    # -- request handling (called from handler threads) -----------------------------

    def _next_fault(self, route: str) -> Fault:
        with self._lock:
            queue = self._queued.get(route)
            if queue:
                fault = queue.popleft()
            elif self._mix is None:
                return _NO_FAULT
            else:
                rate, faults, rng, scope = self._mix
                if (scope is not None and route not in scope) or rng.random() >= rate:
                    return _NO_FAULT
                fault = rng.choice(faults)
            self._faults_injected += 1
            return fault

    def _record(self, method: str, path: str, headers: HTTPMessage, body: bytes) -> None:
        request = RecordedRequest(method, path, headers, body)
        with self._lock:
            self._requests.append(request)

    def _answer(self, method: str, route: str, headers: HTTPMessage, body: bytes) -> _Reply:
        try:
            entry = self._routes.get(route)
            if entry is None:
                raise _Reject(404, _NOT_FOUND)
            allowed, handler = entry
            if method != allowed:
                raise _Reject(405, _NOT_ALLOWED, (("Allow", allowed),))
            return handler(headers, body)
        except _Reject as reject:
            return reject.status, reject.body, self._problem_content_type, reject.headers

    def _issue(self) -> _Reply:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self._lock:
            self._access[access] = monotonic() + self._token_lifetime
            self._refresh.add(refresh)
            self._tokens_issued += 1
        tokens = {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": self._token_lifetime,
            "token_type": "Bearer",
        }
        return 200, json.dumps(tokens).encode(), JSON, ()

    def _auth_api_key(self, headers: HTTPMessage, body: bytes) -> _Reply:
        if _string_field(body, "apiKey") not in self._api_keys:
            raise _Reject(400, _BAD_CREDENTIALS)
        return self._issue()

    def _auth_refresh(self, headers: HTTPMessage, body: bytes) -> _Reply:
        token = _string_field(body, "refreshToken")
        with self._lock:
            if token not in self._refresh:
                if token in self._spent_refresh:
                    self._refresh_token_reuses += 1
                raise _Reject(400, _BAD_REFRESH)
            self._refresh.remove(token)
            self._spent_refresh.add(token)
        return self._issue()

    def _list_videos(self, headers: HTTPMessage, body: bytes) -> _Reply:
        scheme, _, token = (headers.get("Authorization") or "").partition(" ")
        with self._lock:
            expiry = self._access.get(token.strip()) if scheme.lower() == "bearer" else None
        if expiry is None:
            raise _Reject(401, _BAD_TOKEN, _CHALLENGE)
        if expiry <= monotonic():
            raise _Reject(401, _EXPIRED_TOKEN, _CHALLENGE)
        return 200, _EMPTY_VIDEOS, JSON, ()

"""Resilience under faults: retries and backoff, what is never replayed, and a clear,
documented exception for every bad response. Real HTTP to the emulator on loopback."""

from __future__ import annotations

import email.utils
import json
import select
import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
import urllib3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import video_api
from video_api import api_client, rest
from video_api.apis.tags.authentication_api import AuthenticationApi
from video_api.exceptions import (
    ApiConnectionError,
    ApiException,
    ApiResponseError,
    ApiTimeoutError,
    BadRequestException,
    ForbiddenException,
    NotFoundException,
    OpenApiException,
    ServiceException,
    TooManyRequestsException,
    UnauthorizedException,
)
from video_api.model.access_token import AccessToken
from video_api.model.authenticate_payload import AuthenticatePayload
from video_api.model.bad_request import BadRequest
from video_api.model.refresh_token_payload import RefreshTokenPayload
from video_api.testing import Emulator, Fault

API_KEY = "/auth/api-key"
REFRESH = "/auth/refresh"
#: Faults replace the answer, so a faulted refresh needs no real refresh token.
ANY_REFRESH_TOKEN = "rt-not-checked-when-faulted"


class Stopwatch:
    """Wall time of a ``with`` block, on the monotonic clock."""

    def __enter__(self) -> Stopwatch:
        self.started = time.monotonic()
        self.elapsed = 0.0
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.elapsed = time.monotonic() - self.started


@contextmanager
def api_for(emulator: Emulator, **settings_: Any) -> Iterator[AuthenticationApi]:
    """An API on a client of its own, for tests that need non-default settings."""
    options: dict[str, Any] = {"timeout": (2.0, 5.0), **settings_}
    with video_api.ApiClient(video_api.Configuration(host=emulator.url, **options)) as client:
        yield AuthenticationApi(client)


def call(api: AuthenticationApi, path: str, token: str = ANY_REFRESH_TOKEN, **kwargs: Any) -> Any:
    """Call the operation at ``path`` with a well-formed body."""
    if path == API_KEY:
        return api.p_ost_auth_api_key(body=AuthenticatePayload(api_key="demo-api-key"), **kwargs)
    return api.p_ost_auth_refresh(body=RefreshTokenPayload(refresh_token=token), **kwargs)


def fresh_refresh_token(api: AuthenticationApi) -> str:
    token = call(api, API_KEY).body.refresh_token
    assert isinstance(token, str)
    return token


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def raised(action: Callable[[], Any]) -> Any:
    """The exception ``action`` raises; fails the test if it returns."""
    try:
        result = action()
    except Exception as error:  # any class, so the test can say which
        return error
    pytest.fail(f"expected an exception, got {result!r}")


# -- the fault-suite bar -----------------------------------------------------------------


def test_two_503_then_success_takes_three_requests(
    emulator: Emulator, api: AuthenticationApi
) -> None:
    """503, 503, 200 succeeds with the default 2 retries, and the response says it took 2."""
    emulator.add_fault(API_KEY, Fault.status(503), times=2)
    with Stopwatch() as watch:
        response = call(api, API_KEY)
    assert isinstance(response.body, AccessToken)
    assert response.retries == 2
    assert emulator.count(API_KEY) == 3
    # Backoff with jitter: at least half of 0.2 s then half of 0.4 s, and nothing like a hang.
    assert rest.BACKOFF_BASE * 1.5 <= watch.elapsed < 5


def test_retry_after_one_second_is_waited_out(emulator: Emulator, api: AuthenticationApi) -> None:
    """429 with ``Retry-After: 1``: the retry comes no sooner than a second later, and works."""
    emulator.add_fault(API_KEY, Fault.rate_limited("1"))
    with Stopwatch() as watch:
        response = call(api, API_KEY)
    assert isinstance(response.body, AccessToken)
    assert (response.retries, emulator.count(API_KEY)) == (1, 2)
    assert 1.0 <= watch.elapsed < 4


def test_connection_refused_raises_connection_error_within_a_second() -> None:
    """Nothing listening: ApiConnectionError after the default 2 quick retries, under 1 s."""
    config = video_api.Configuration(host=f"http://127.0.0.1:{closed_port()}")
    with video_api.ApiClient(config) as client, Stopwatch() as watch:
        error = raised(lambda: call(AuthenticationApi(client), API_KEY))
    assert type(error) is ApiConnectionError
    assert error.retries == 2
    # What was tried, what happened: the class is the traceback's, not repeated in the text.
    assert str(error).startswith("POST /auth/api-key: ") and str(error).endswith(
        "(after 2 retries)"
    )
    assert "Connection refused" in str(error)
    assert watch.elapsed < 1.0


def test_one_number_bounds_the_whole_call(emulator: Emulator, api: AuthenticationApi) -> None:
    """A server that never answers, and ``timeout=0.3``: the number is the whole call's
    deadline, so no retry starts after it; ApiTimeoutError after one attempt."""
    emulator.add_fault(API_KEY, Fault.stall(30), times=3)
    with Stopwatch() as watch:
        error = raised(lambda: call(api, API_KEY, timeout=0.3))
    assert type(error) is ApiTimeoutError
    assert isinstance(error, ApiConnectionError)
    assert (error.retries, emulator.count(API_KEY)) == (0, 1)
    assert "timed out" in str(error).lower()
    assert 0.3 <= watch.elapsed < 1.0


def test_a_passed_deadline_is_raised_without_the_upload_token(emulator: Emulator) -> None:
    """A deadline already spent (by a token renewal, say) is raised before sending; the
    message names the path, but an upload token in it is a credential, so it is hidden."""
    token = emulator.create_upload_token()
    client = video_api.ApiClient(video_api.Configuration(host=emulator.url))
    with client, pytest.raises(ApiTimeoutError) as error:
        client.rest_client.request(
            "POST", f"/upload?token={token}", headers={}, deadline=time.monotonic() - 1
        )
    assert str(error.value).endswith("POST /upload?token=***: the call's deadline passed")
    assert emulator.count("/upload") == 0


@contextmanager
def dripping_server(interval: float = 0.05, drips: int = 100) -> Iterator[str]:
    """A loopback server that answers one request with 200 and a promised 10,000-byte body,
    then sends it a byte every ``interval`` seconds, ``drips`` bytes at most."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)  # the request, GET: its head only
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n")
            for _ in range(drips):
                if stop.wait(interval):
                    return
                connection.sendall(b" ")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5.0)
        listener.close()


@pytest.mark.skipif(
    not hasattr(urllib3.HTTPResponse, "read1"),
    reason="urllib3 1.26 has no read1: a read waits for a whole block, so a body dripping "
    "byte by byte outlasts the deadline (see ApiClient._read)",
)
def test_a_body_still_arriving_at_the_deadline_is_a_timeout_without_the_upload_token() -> None:
    """Every byte arrives well within the read timeout, but the body never ends: one number
    bounds the whole call, reading included. The error names the URL, with its upload token
    hidden."""
    with dripping_server() as url:
        client = video_api.ApiClient(video_api.Configuration(host=url))
        with client, Stopwatch() as watch:
            error = raised(lambda: client.call_api("/upload?token=to1SECRET", "GET", timeout=0.5))
    assert type(error) is ApiTimeoutError
    assert error.status == 200
    assert "/upload?token=***: the body was still arriving at the call's deadline" in str(error)
    assert "to1SECRET" not in str(error) and "to1SECRET" not in (error.detail or "")
    assert 0.5 <= watch.elapsed < 1.5


@pytest.mark.parametrize("stalled", [API_KEY, REFRESH], ids=["api-key", "refresh"])
def test_one_number_bounds_the_token_renewal_the_call_needs(
    emulator: Emulator, stalled: str
) -> None:
    """``timeout=0.5`` on a call whose token must be renewed first, the auth endpoint stalled,
    and ``(2, 5)`` per attempt configured: ApiTimeoutError after 0.5 s (not attempts of 5 s
    and their retries), and nothing is sent once the deadline passed (no fallback from the
    refresh to the API key, no call)."""
    expired = {"access_token": "a0", "refresh_token": "r0", "expires_at": time.time() - 1}
    emulator.add_fault(stalled, Fault.stall(30), times=3)
    config = video_api.Configuration(
        host=emulator.url,
        timeout=(2.0, 5.0),
        api_key=emulator.api_key,
        auth="bearer",
        token=expired if stalled == REFRESH else None,
    )
    with video_api.ApiClient(config) as client, Stopwatch() as watch:
        error = raised(
            lambda: client.call_api("/videos", "GET", auth_settings=["bearerAuth"], timeout=0.5)
        )
    assert type(error) is ApiTimeoutError
    assert 0.5 <= watch.elapsed < 1.0
    assert (emulator.count(stalled), emulator.count()) == (1, 1)


def test_a_pair_bounds_each_attempt(emulator: Emulator, api: AuthenticationApi) -> None:
    """``timeout=(connect, read)`` bounds each attempt: the API key exchange is retried."""
    emulator.add_fault(API_KEY, Fault.stall(30), times=3)
    with Stopwatch() as watch:
        error = raised(lambda: call(api, API_KEY, timeout=(0.3, 0.3)))
    assert type(error) is ApiTimeoutError
    assert (error.retries, emulator.count(API_KEY)) == (2, 3)
    assert 3 * 0.3 <= watch.elapsed < 4


def test_connect_read_pair_per_call_bounds_the_read(
    emulator: Emulator, api: AuthenticationApi
) -> None:
    """A per-call ``(connect, read)`` pair applies its read bound to a stalled answer."""
    emulator.add_fault(REFRESH, Fault.stall(30))
    with Stopwatch() as watch:
        error = raised(lambda: call(api, REFRESH, timeout=(2.0, 0.3)))
    assert type(error) is ApiTimeoutError
    assert emulator.count(REFRESH) == 1
    assert 0.3 <= watch.elapsed < 3


def test_problem_json_400_carries_the_parsed_problem(
    emulator: Emulator, api: AuthenticationApi
) -> None:
    """A 400 ``application/problem+json`` raises BadRequestException with the BadRequest parsed."""
    problem = {
        "type": "https://docs.api.video/docs/attributeinvalid",
        "title": "This attribute must be a string.",
        "name": "apiKey",
        "status": 400,
    }
    emulator.add_fault(API_KEY, Fault.status(400, problem))
    with Stopwatch() as watch:
        error = raised(lambda: call(api, API_KEY))
    assert type(error) is BadRequestException
    assert isinstance(error.api_response.body, BadRequest)
    assert error.api_response.body.title == "This attribute must be a string."
    assert error.api_response.body.name == "apiKey"
    assert error.api_response.body.status == 400
    assert error.problem is error.api_response.body
    assert str(error).startswith("(400) Bad Request: This attribute must be a string.")
    assert error.body == json.dumps(problem).encode()
    assert (error.retries, emulator.count(API_KEY)) == (0, 1)
    assert watch.elapsed < 2


def test_invalid_json_200_is_a_documented_error(emulator: Emulator, api: AuthenticationApi) -> None:
    """200 with invalid JSON raises ApiResponseError (a ValueError), not JSONDecodeError."""
    emulator.add_fault(API_KEY, Fault.body(b"{not json"))
    with Stopwatch() as watch:
        error = raised(lambda: call(api, API_KEY))
    assert type(error) is ApiResponseError
    assert isinstance(error, ValueError) and not isinstance(error, json.JSONDecodeError)
    assert error.status == 200 and error.body == b"{not json"
    assert str(error).startswith("(200) OK: invalid JSON")
    assert emulator.count(API_KEY) == 1
    assert watch.elapsed < 2


# -- retries: which statuses, how many, with what wait ----------------------------------


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_status_is_retried(
    emulator: Emulator, api: AuthenticationApi, status: int
) -> None:
    """Each retryable status is tried again, and the retry is counted on the response."""
    emulator.add_fault(API_KEY, Fault.status(status, headers={"Retry-After": "0"}))
    response = call(api, API_KEY)
    assert isinstance(response.body, AccessToken)
    assert (response.retries, emulator.count(API_KEY)) == (1, 2)


@pytest.mark.parametrize(
    ("status", "exception"),
    [
        (400, BadRequestException),
        (401, UnauthorizedException),
        (403, ForbiddenException),
        (404, NotFoundException),
        (501, ServiceException),
    ],
)
def test_other_error_status_is_not_retried(
    emulator: Emulator, api: AuthenticationApi, status: int, exception: type[ApiException]
) -> None:
    """An error status outside the retryable set raises its class after a single request."""
    emulator.add_fault(API_KEY, Fault.status(status, headers={"Retry-After": "0"}))
    error = raised(lambda: call(api, API_KEY))
    assert type(error) is exception
    assert (error.status, error.retries, emulator.count(API_KEY)) == (status, 0, 1)
    assert str(error).startswith(f"({status}) ")


def test_exhausted_retries_raise_with_the_count(emulator: Emulator, api: AuthenticationApi) -> None:
    """Three 503s with the default budget: ServiceException saying it retried twice."""
    emulator.add_fault(API_KEY, Fault.status(503, headers={"Retry-After": "0"}), times=3)
    error = raised(lambda: call(api, API_KEY))
    assert type(error) is ServiceException
    assert (error.status, error.retries, emulator.count(API_KEY)) == (503, 2, 3)
    assert "(after 2 retries)" in str(error)
    assert error.api_response.retries == 2


def test_exhausted_429_carries_retry_after(emulator: Emulator, api: AuthenticationApi) -> None:
    """Rate limited on every try: TooManyRequestsException with the hint and the retries."""
    emulator.add_fault(API_KEY, Fault.rate_limited("0"), times=3)
    error = raised(lambda: call(api, API_KEY))
    assert type(error) is TooManyRequestsException
    assert (error.retries, emulator.count(API_KEY)) == (2, 3)
    assert error.retry_after == 0.0


@pytest.mark.parametrize("retries", [0, 1, 4])
def test_retries_option_sets_the_budget(emulator: Emulator, retries: int) -> None:
    """``Configuration(retries=N)``: N retries, then the error, N + 1 requests in all."""
    emulator.add_fault(API_KEY, Fault.rate_limited("0"), times=retries + 1)
    with api_for(emulator, retries=retries) as api:
        error = raised(lambda: call(api, API_KEY))
        assert type(error) is TooManyRequestsException
        assert (error.retries, emulator.count(API_KEY)) == (retries, retries + 1)
        assert call(api, API_KEY).retries == 0  # the faults are used up


def test_default_retries_is_two() -> None:
    assert video_api.Configuration().retries == 2
    assert video_api.Configuration().max_retries == 2


def test_max_retries_is_an_alias_of_retries(emulator: Emulator) -> None:
    """``Configuration(max_retries=N)`` is the same setting as ``retries=N``, both ways."""
    config = video_api.Configuration(host=emulator.url, max_retries=1)
    assert config.retries == 1
    config.max_retries = 3
    assert config.retries == 3
    config.retries = 0
    assert config.max_retries == 0
    config.max_retries = 1
    emulator.add_fault(API_KEY, Fault.rate_limited("0"), times=2)
    with video_api.ApiClient(config) as client:
        error = raised(lambda: call(AuthenticationApi(client), API_KEY))
    assert type(error) is TooManyRequestsException
    assert (error.retries, emulator.count(API_KEY)) == (1, 2)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-RateLimit-Retry-After": "0.35"},
        {"retry-after-ms": "350"},
        {"Retry-After": "0.35"},
    ],
    ids=["x-ratelimit-retry-after", "retry-after-ms", "retry-after-seconds"],
)
def test_retry_hint_headers_are_honoured(
    emulator: Emulator, api: AuthenticationApi, headers: dict[str, str]
) -> None:
    """Each hint api.video or its peers send sets the wait (0.35 s, over the 0.1-0.2 s backoff)."""
    emulator.add_fault(API_KEY, Fault.status(429, headers=headers))
    with Stopwatch() as watch:
        response = call(api, API_KEY)
    assert (response.retries, emulator.count(API_KEY)) == (1, 2)
    assert 0.35 <= watch.elapsed < 3


def test_retry_after_http_date_is_honoured(emulator: Emulator, api: AuthenticationApi) -> None:
    """``Retry-After`` as an HTTP date two seconds ahead: the retry waits until then (the date
    has whole seconds, so somewhat over 1 s)."""
    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    emulator.add_fault(API_KEY, Fault.rate_limited(when))
    with Stopwatch() as watch:
        response = call(api, API_KEY)
    assert (response.retries, emulator.count(API_KEY)) == (1, 2)
    assert 0.9 <= watch.elapsed < 4


@pytest.mark.parametrize(
    ("header", "value", "expected"),
    [
        ("Retry-After", "3600", 3600.0),
        ("X-RateLimit-Retry-After", "60", 60.0),
        ("retry-after-ms", "120000", 120.0),
    ],
)
def test_hint_over_the_cap_is_raised_not_waited(
    emulator: Emulator, api: AuthenticationApi, header: str, value: str, expected: float
) -> None:
    """A wait longer than MAX_RETRY_WAIT is the caller's to decide: raised at once, with
    ``retry_after`` telling how long."""
    assert expected > rest.MAX_RETRY_WAIT
    emulator.add_fault(API_KEY, Fault.rate_limited(value, header=header))
    with Stopwatch() as watch:
        error = raised(lambda: call(api, API_KEY))
    assert type(error) is TooManyRequestsException
    assert error.retry_after == pytest.approx(expected)
    assert (error.retries, emulator.count(API_KEY)) == (0, 1)
    assert watch.elapsed < 1


def test_http_date_over_the_cap_is_raised_not_waited(
    emulator: Emulator, api: AuthenticationApi
) -> None:
    when = email.utils.formatdate(time.time() + 3600, usegmt=True)
    emulator.add_fault(API_KEY, Fault.rate_limited(when))
    with Stopwatch() as watch:
        error = raised(lambda: call(api, API_KEY))
    assert type(error) is TooManyRequestsException
    assert error.retry_after == pytest.approx(3600, abs=5)
    assert emulator.count(API_KEY) == 1
    assert watch.elapsed < 1


@pytest.mark.parametrize(
    "fault",
    [Fault.reset_before_body(), Fault.reset_after_body()],
    ids=["reset-before-body", "reset-after-body"],
)
def test_api_key_exchange_is_retried_after_a_reset(
    emulator: Emulator, api: AuthenticationApi, fault: Fault
) -> None:
    """Getting a token with the API key changes nothing that a second try would harm."""
    emulator.add_fault(API_KEY, fault)
    response = call(api, API_KEY)
    assert isinstance(response.body, AccessToken)
    assert (response.retries, emulator.count(API_KEY)) == (1, 2)


def test_connection_refused_on_refresh_is_retried() -> None:
    """A refresh that never left the client is safe to send again."""
    config = video_api.Configuration(host=f"http://127.0.0.1:{closed_port()}", retries=1)
    with video_api.ApiClient(config) as client:
        error = raised(lambda: call(AuthenticationApi(client), REFRESH))
    assert type(error) is ApiConnectionError
    assert error.retries == 1


# -- never replay what may have changed state -------------------------------------------


@pytest.mark.parametrize(
    ("fault", "exception"),
    [
        (Fault.reset_after_body(), ApiConnectionError),
        (Fault.reset_before_body(), ApiConnectionError),
        (Fault.stall(30), ApiTimeoutError),
    ],
    ids=["reset-after-body", "reset-before-body", "stall"],
)
def test_refresh_that_reached_the_server_is_not_resent(
    emulator: Emulator, api: AuthenticationApi, fault: Fault, exception: type[ApiException]
) -> None:
    """A refresh whose request reached the server may have consumed the refresh token:
    exactly one request, and the error, never a replay of a spent token. (Sent on a new
    connection: on a kept-alive one, a reset that meets the client still sending the body
    looks like a close as idle; see test_a_refresh_on_a_connection_the_server_closed_as_idle.)"""
    token = fresh_refresh_token(api)
    api.api_client.close()
    emulator.clear()
    emulator.add_fault(REFRESH, fault, times=3)
    with Stopwatch() as watch:
        error = raised(lambda: call(api, REFRESH, token, timeout=(2.0, 0.3)))
    assert type(error) is exception
    assert (error.retries, emulator.count(REFRESH)) == (0, 1)
    assert emulator.refresh_token_reuses == 0
    assert watch.elapsed < 3


def test_refresh_processed_then_reset_did_rotate_the_token(
    emulator: Emulator, api: AuthenticationApi
) -> None:
    """Why not replaying matters: the lost answer carried the only valid refresh token."""
    token = fresh_refresh_token(api)
    emulator.clear()
    emulator.add_fault(REFRESH, Fault.reset_after_body())
    assert type(raised(lambda: call(api, REFRESH, token))) is ApiConnectionError
    assert emulator.tokens_issued == 1
    assert emulator.count(REFRESH) == 1


@pytest.mark.parametrize("status", [408, 429, 503])
def test_refresh_is_retried_on_statuses_that_promise_no_processing(
    emulator: Emulator, api: AuthenticationApi, status: int
) -> None:
    """408, 429 and 503 say the request was not processed: the same refresh token still works."""
    token = fresh_refresh_token(api)
    emulator.clear()
    emulator.add_fault(REFRESH, Fault.status(status, headers={"Retry-After": "0"}))
    response = call(api, REFRESH, token)
    assert isinstance(response.body, AccessToken)
    assert response.body.refresh_token != token
    assert (response.retries, emulator.count(REFRESH)) == (1, 2)
    assert emulator.refresh_token_reuses == 0


@pytest.mark.parametrize("status", [500, 502, 504])
def test_refresh_is_not_retried_on_statuses_that_may_have_processed_it(
    emulator: Emulator, api: AuthenticationApi, status: int
) -> None:
    """500, 502 and 504 may come after the work was done: one request, ServiceException."""
    emulator.add_fault(REFRESH, Fault.status(status, headers={"Retry-After": "0"}), times=3)
    with Stopwatch() as watch:
        error = raised(lambda: call(api, REFRESH))
    assert type(error) is ServiceException
    assert (error.status, error.retries, emulator.count(REFRESH)) == (status, 0, 1)
    assert watch.elapsed < 2


class IdleClosingServer:
    """A loopback HTTP/1.1 server that keeps connections alive and answers each request with
    ``answers[path]`` (JSON), except the ``close_on``-th request on a connection, ``closes``
    times in all: it meets that one as a server whose idle timeout fires just as the request
    arrives, closing the connection cleanly (FIN) without reading it."""

    def __init__(self, answers: Dict[str, bytes], close_on: int = 2, closes: int = 1) -> None:
        self.answers, self.close_on, self.closes = answers, close_on, closes
        self.read: List[Tuple[str, Dict[str, str], bytes]] = []  # path, headers, body
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> IdleClosingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(5.0)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except socket.timeout:
                continue
            self.connections += 1
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        with connection, connection.makefile("rb") as reader:
            number = 0
            while select.select([connection], [], [], 5.0)[0]:
                number += 1
                if number == self.close_on and self.closes > 0:
                    self.closes -= 1
                    connection.shutdown(socket.SHUT_WR)
                    return
                line = reader.readline()
                if not line:
                    return
                headers: Dict[str, str] = {}
                for header in iter(reader.readline, b"\r\n"):
                    name, _, value = header.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                path = line.split()[1].decode()
                body = reader.read(int(headers.get("content-length", 0)))
                self.read.append((path, headers, body))
                answer = self.answers[path]
                head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                connection.sendall(f"{head}{len(answer)}\r\n\r\n".encode() + answer)


def test_a_refresh_on_a_connection_the_server_closed_as_idle() -> None:
    """A client restored with ``token=`` and no API key made a call, then renews its token:
    the refresh goes on the kept-alive connection just as the server closes it as idle. The
    server never read it, so it goes again, once, on a new connection, and the client does
    not lose its only refresh token."""
    token = {"access_token": "a1", "refresh_token": "r1", "expires_in": 3600}
    answers = {"/videos": b'{"data": []}', REFRESH: json.dumps(token).encode()}
    with IdleClosingServer(answers) as server:
        saved = {"access_token": "a0", "refresh_token": "r0", "expires_at": time.time() + 3600}
        config = video_api.Configuration(host=server.url, timeout=(2.0, 5.0), token=saved)
        with video_api.ApiClient(config) as client, Stopwatch() as watch:
            client.call_api("/videos", "GET", auth_settings=["bearerAuth"])
            assert client.auth is not None
            client.auth.force_refresh()
            response = client.call_api("/videos", "GET", auth_settings=["bearerAuth"])
    assert response.body == {"data": []} and response.retries == 0
    assert [(path, body) for path, _, body in server.read] == [
        ("/videos", b""),
        (REFRESH, b'{"refreshToken":"r0"}'),
        ("/videos", b""),
    ]
    assert [headers.get("authorization") for path, headers, _ in server.read] == [
        "Bearer a0",
        None,
        "Bearer a1",
    ]
    assert server.connections == 2
    assert watch.elapsed < 1


def test_a_refresh_that_a_new_connection_closed_without_answer_is_not_resent() -> None:
    """On a new connection no idle timeout can have fired: a close without an answer may
    come after the server read the request, so a refresh is not sent again."""
    with IdleClosingServer({}, close_on=1) as server:
        config = video_api.Configuration(host=server.url, timeout=(2.0, 5.0))
        with video_api.ApiClient(config) as client:
            error = raised(lambda: call(AuthenticationApi(client), REFRESH))
    assert type(error) is ApiConnectionError
    assert "Remote end closed connection without response" in str(error)
    assert (server.connections, server.read) == (1, [])


# -- every bad response is a clear, documented error ------------------------------------

SECRET = "tok-SECRET-must-not-show"
HUGE = b" " * (api_client.MAX_JSON_BYTES + 1)
TRUNCATED = Fault.truncated().payload


class Case:
    """A bad response, and the error it must raise."""

    def __init__(
        self,
        fault: Fault,
        exception: type[ApiException],
        status: int,
        says: str,
        body: Optional[bytes] = None,
    ) -> None:
        self.fault, self.exception, self.status, self.says = fault, exception, status, says
        self.body = fault.payload if body is None else body


BAD_RESPONSES = {
    "wrong-content-type": Case(
        Fault.body(b'{"access_token": "a"}', content_type="text/plain"),
        ApiResponseError,
        200,
        "text/plain",
    ),
    "empty-content-type": Case(
        Fault.body(b'{"access_token": "a"}', content_type=""), ApiResponseError, 200, "JSON"
    ),
    "invalid-json": Case(Fault.body(b"{'single': quotes}"), ApiResponseError, 200, "invalid JSON"),
    "empty-body": Case(Fault.body(b""), ApiResponseError, 200, "invalid JSON"),
    "wrong-field-type": Case(
        Fault.body(json.dumps({"access_token": SECRET, "expires_in": "soon"}).encode()),
        ApiResponseError,
        200,
        "expires_in",
    ),
    "json-array": Case(Fault.body(b"[]"), ApiResponseError, 200, "object"),
    "json-string": Case(Fault.body(b'"token"'), ApiResponseError, 200, "object"),
    "html-200": Case(Fault.html(200), ApiResponseError, 200, "text/html"),
    "huge-body": Case(Fault.body(HUGE), ApiResponseError, 200, "larger than", b""),
    "html-502": Case(Fault.html(502), ServiceException, 502, "Bad Gateway"),
    "truncated": Case(Fault.truncated(), ApiConnectionError, 200, "/auth/"),
    "400-invalid-json": Case(
        Fault.body(b"oops", status=400, content_type="application/problem+json"),
        BadRequestException,
        400,
        "Bad Request",
    ),
    "400-html": Case(Fault.html(400), BadRequestException, 400, "Bad Request"),
    "400-json-array": Case(Fault.body(b"[1]", status=400), BadRequestException, 400, "Bad Request"),
}


@pytest.mark.parametrize("path", [API_KEY, REFRESH])
@pytest.mark.parametrize("case", list(BAD_RESPONSES.values()), ids=list(BAD_RESPONSES))
def test_bad_response_raises_a_clear_documented_error(
    emulator: Emulator, api: AuthenticationApi, path: str, case: Case
) -> None:
    """The documented class, with the status and a short reason in ``str()``, the raw bytes in
    ``.body``, never a bare KeyError/AttributeError/JSONDecodeError, no secret in the message;
    and the client keeps working afterwards."""
    # The API key exchange is retried on 502; a refresh is never retried on it.
    expected = 3 if path == API_KEY and case.status == 502 else 1
    emulator.add_fault(path, case.fault, times=expected)
    with Stopwatch() as watch:
        error = raised(lambda: call(api, path))
    assert type(error) is case.exception, repr(error)
    assert not isinstance(error, (KeyError, AttributeError, json.JSONDecodeError))
    if case.exception is ApiResponseError:
        assert isinstance(error, ValueError)
    message = str(error)
    assert error.status == case.status
    assert f"({case.status})" in message
    assert case.says in message
    assert len(message) < 400
    assert SECRET not in message and SECRET not in repr(error)
    assert error.body == case.body
    if case.exception is not ApiResponseError and error.api_response is not None:
        assert error.api_response.body is None  # no problem document could be parsed
    assert emulator.count(path) == expected
    assert watch.elapsed < 3
    emulator.clear()
    assert isinstance(call(api, API_KEY).body, AccessToken)
    assert emulator.count(API_KEY) == 1


def test_skip_deserialization_returns_a_bad_body_unparsed(
    emulator: Emulator, api: AuthenticationApi
) -> None:
    """``skip_deserialization=True`` hands back what the server sent, however malformed."""
    emulator.add_fault(API_KEY, Fault.body(b"not json", content_type="text/plain"))
    response = call(api, API_KEY, skip_deserialization=True)
    assert isinstance(response, api_client.ApiResponseWithoutDeserialization)
    assert response.response.status == 200
    assert response.response.data == b"not json"


# -- property-based: any body, only documented exceptions -------------------------------


@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[Emulator]:
    """One emulator for all generated examples: starting one per example would be slow."""
    with Emulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def shared_api(shared_emulator: Emulator) -> Iterator[AuthenticationApi]:
    config = video_api.Configuration(host=shared_emulator.url, timeout=(2.0, 5.0), retries=0)
    with video_api.ApiClient(config) as client:
        yield AuthenticationApi(client)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
TOKENISH_PROBLEM = st.fixed_dictionaries(
    {}, optional={"name": JSON_VALUES, "title": JSON_VALUES, "status": JSON_VALUES}
)
TOKEN_LIKE = st.fixed_dictionaries(
    {},
    optional={
        **{
            name: JSON_VALUES
            for name in ("access_token", "refresh_token", "expires_in", "token_type", "title")
        },
        "type": JSON_VALUES,
        "status": JSON_VALUES,
        "problems": st.lists(JSON_VALUES | TOKENISH_PROBLEM, max_size=3),
    },
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/problem+json",
        "application/json; charset=utf-8",
        "text/plain",
    ]
)
PATHS = st.sampled_from([API_KEY, REFRESH])
STATUSES = st.sampled_from([200, 400])
PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def check_only_documented_exceptions(
    emulator: Emulator, api: AuthenticationApi, path: str, status: int, raw: bytes, ctype: str
) -> None:
    """Serve ``raw`` once and check the call returns an AccessToken or raises ApiException."""
    emulator.add_fault(path, Fault.body(raw, status=status, content_type=ctype))
    try:
        response = call(api, path)
    except ApiException as error:
        assert isinstance(error, OpenApiException)
        assert error.status == status and error.body == raw
        assert str(error).startswith(f"({status}) ")
        if status == 400:
            assert type(error) is BadRequestException
            assert error.problem is None or isinstance(error.problem, BadRequest)
        else:
            assert type(error) is ApiResponseError
    else:
        assert status == 200
        assert isinstance(response.body, AccessToken)


@PROPERTY_SETTINGS
@given(path=PATHS, status=STATUSES, raw=st.binary(max_size=300), ctype=CONTENT_TYPES)
def test_any_bytes_raise_only_documented_exceptions(
    shared_emulator: Emulator,
    shared_api: AuthenticationApi,
    path: str,
    status: int,
    raw: bytes,
    ctype: str,
) -> None:
    check_only_documented_exceptions(shared_emulator, shared_api, path, status, raw, ctype)


@PROPERTY_SETTINGS
@given(path=PATHS, status=STATUSES, value=JSON_VALUES | TOKEN_LIKE, ctype=CONTENT_TYPES)
def test_any_json_raises_only_documented_exceptions(
    shared_emulator: Emulator,
    shared_api: AuthenticationApi,
    path: str,
    status: int,
    value: Any,
    ctype: str,
) -> None:
    raw = json.dumps(value).encode()
    check_only_documented_exceptions(shared_emulator, shared_api, path, status, raw, ctype)


def test_an_oversized_error_body_keeps_its_status_class(
    emulator: Emulator, api: AuthenticationApi
) -> None:
    """A 503 whose body is over the cap is still a ServiceException (not read, connection
    closed), saying why its body was not read."""
    emulator.add_fault(API_KEY, Fault.body(b"x" * (9 * 1024 * 1024), status=503), times=3)
    error = raised(lambda: call(api, API_KEY, timeout=(2.0, 5.0)))
    assert type(error) is ServiceException
    assert error.status == 503
    assert "larger than 8388608" in str(error)


def test_skip_deserialization_reads_within_the_cap_too(
    emulator: Emulator, api: AuthenticationApi
) -> None:
    """The raw response a caller asks for is read under the same cap as any other."""
    emulator.add_fault(API_KEY, Fault.body(b"x" * (9 * 1024 * 1024)))
    payload = AuthenticatePayload(api_key=emulator.api_key)
    with pytest.raises(ApiResponseError, match="larger than 8388608"):
        api.p_ost_auth_api_key(body=payload, skip_deserialization=True)
    small = api.p_ost_auth_api_key(body=payload, skip_deserialization=True)
    assert json.loads(small.response.data)["token_type"] == "Bearer"

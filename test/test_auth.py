"""Auth: HTTP Basic with the API key, and the bearer token lifecycle, over real HTTP to the
emulator; ``video_api.auth`` alone where no server is needed.

Covers the scheme a call gets (``Configuration(api_key=, auth=, access_token=, token=,
on_token=)``, ``AuthenticatedApiClient``, ``call_api(auth_settings=...)``), ``BasicAuth``,
and ``TokenManager``: first use, renewal before expiry, one renewing thread, refresh-token
rotation, fallback to the API key, one replay on a 401, readable state, persistence, and
secrets kept out of logs, exceptions and reprs; and hard times: a failed renewal shared by
the threads that waited for it and backed off, a 401 that persists, lifetimes of 0 or
10**400, tokens no header can carry, refresh tokens kept when unspent, and fork. Expiry and
backoff are driven by a fake clock given to the token manager, so no test sleeps for them.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

import pytest

import video_api
from video_api.api_client import ApiResponse
from video_api.apis.tags.authentication_api import AuthenticationApi
from video_api.apis.tags.videos_api import VideosApi
from video_api.auth import MAX_LIFETIME, RENEW_BACKOFF, BasicAuth, TokenManager, TokenState
from video_api.exceptions import (
    ApiConnectionError,
    ApiException,
    ApiResponseError,
    ApiTimeoutError,
    ApiTypeError,
    ApiValueError,
    AuthenticationError,
    BadRequestException,
    TooManyRequestsException,
    UnauthorizedException,
)
from video_api.model.access_token import AccessToken
from video_api.model.authenticate_payload import AuthenticatePayload
from video_api.model.refresh_token_payload import RefreshTokenPayload
from video_api.operation import Operation
from video_api.testing import Emulator, Fault, RecordedRequest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = (2.0, 5.0)
BEARER = ["bearerAuth"]
API_KEY_SCHEME = ["apiKey"]
LIFETIME = 3600  # the emulator's default token lifetime, in seconds
MARGIN = 60  # renewal comes min(60 s, a tenth of the lifetime) before expiry
SavedToken = Dict[str, Any]


# -- helpers -------------------------------------------------------------------------------


class FakeClock:
    """The token manager's clock, moved only by the test: ``time()`` (epoch seconds) and
    ``monotonic()`` advance together. Whole and binary-exact steps keep comparisons exact."""

    def __init__(self) -> None:
        self._wall = 1_800_000_000.0
        self._mono = 1_000.0

    def time(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._wall += seconds
        self._mono += seconds


@pytest.fixture
def stack() -> Iterator[contextlib.ExitStack]:
    """Closes the emulators and clients a test opens, in reverse order."""
    with contextlib.ExitStack() as exit_stack:
        yield exit_stack


def start(stack: contextlib.ExitStack, **options: Any) -> Emulator:
    """An emulator with non-default options (a short token lifetime, other API keys)."""
    return stack.enter_context(Emulator(**options))


def open_client(
    stack: contextlib.ExitStack, emulator: Emulator, **settings: Any
) -> video_api.ApiClient:
    """An ApiClient pointed at ``emulator``, closed at the end of the test."""
    configuration = video_api.Configuration(host=emulator.url, timeout=TIMEOUT, **settings)
    return stack.enter_context(video_api.ApiClient(configuration))


def manager(client: video_api.ApiClient) -> TokenManager:
    """The client's TokenManager, which exists whenever a credential was configured."""
    assert client.auth is not None
    return client.auth


def clocked(client: video_api.ApiClient, clock: FakeClock) -> TokenManager:
    """Give ``client`` a TokenManager on ``clock``, reaching the auth endpoints through the
    client as its own does; nothing is sent until a call needs a token."""
    auth = TokenManager(
        client.configuration,
        lambda operation, body, timeout: (
            client.call_operation(operation, body, timeout=timeout).body
        ),
        clock,
    )
    client.auth = auth
    return auth


def videos(client: video_api.ApiClient) -> ApiResponse[Any]:
    """GET /videos with the bearer token, checking the answer is the emulator's list."""
    response = client.call_api("/videos", "GET", auth_settings=BEARER)
    assert response.response.status == 200
    assert response.body["data"] == []
    return response


def sent(emulator: Emulator, path: str) -> List[RecordedRequest]:
    return [r for r in emulator.requests if r.path.partition("?")[0] == path]


def bearer_of(request: RecordedRequest) -> str:
    """The access token a request carried, insisting on the ``Bearer <token>`` form."""
    header = request.headers.get("Authorization") or ""
    scheme, _, token = header.partition(" ")
    assert scheme == "Bearer" and token, f"no bearer token on {request.method} {request.path}"
    return token


def basic(api_key: str) -> str:
    """The Authorization value of HTTP Basic with ``api_key`` as user name, no password."""
    return "Basic " + base64.b64encode(f"{api_key}:".encode()).decode()


def refresh_tokens_sent(emulator: Emulator) -> List[str]:
    return [r.json()["refreshToken"] for r in sent(emulator, "/auth/refresh")]


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.002) -> bool:
    """Poll ``predicate`` until true or ``timeout``: for another thread to get somewhere,
    never for a token to age (the fake clock does that)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)
    return True


# -- which scheme a call gets ---------------------------------------------------------------


def test_api_key_is_sent_with_http_basic_by_default(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """``Configuration(api_key=KEY)``: a call authorized by ``apiKey`` (``call_api`` with
    ``auth_settings=["apiKey"]``, or an API method) carries ``Authorization: Basic
    base64("KEY:")`` and nothing else happens: no token round trip."""
    client = open_client(stack, emulator, api_key=emulator.api_key)
    assert client.configuration.auth == "basic"
    response = client.call_api("/videos", "GET", auth_settings=API_KEY_SCHEME)
    assert response.status == 200 and response.body["data"] == []
    page = VideosApi(client).list()
    assert page.data == ()
    expected = "Basic " + base64.b64encode(f"{emulator.api_key}:".encode()).decode()
    assert [(r.method, r.path) for r in emulator.requests] == [("GET", "/videos")] * 2
    assert [r.headers["Authorization"] for r in emulator.requests] == [expected] * 2
    assert emulator.tokens_issued == 0
    # The token manager is still there, for bearerAuth calls, and has not been used.
    assert manager(client).state is TokenState.INVALID


def test_refused_basic_key_raises_unauthorized_without_a_replay(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """A wrong key under Basic: the server's 401 is raised as UnauthorizedException after one
    request (the same key would be refused again), with no token exchange and no key shown."""
    wrong = "wrong-" + secrets.token_hex(16)
    client = open_client(stack, emulator, api_key=wrong)
    with pytest.raises(UnauthorizedException) as caught:
        VideosApi(client).list()
    error = caught.value
    assert error.status == 401
    assert error.headers["WWW-Authenticate"] == 'Basic realm="api.video"'
    assert [r.path for r in emulator.requests] == ["/videos"]
    assert emulator.requests[0].headers["Authorization"] == basic(wrong)
    text = f"{error} {error!r}"
    assert wrong not in text and basic(wrong).partition(" ")[2] not in text


def test_auth_bearer_exchanges_the_key_for_a_token(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """``auth="bearer"``: the same ``apiKey`` calls get ``Authorization: Bearer <token>``, the
    token from one POST /auth/api-key made on first use."""
    saved: List[SavedToken] = []
    client = open_client(
        stack, emulator, api_key=emulator.api_key, auth="bearer", on_token=saved.append
    )
    assert emulator.requests == []
    client.call_api("/videos", "GET", auth_settings=API_KEY_SCHEME)
    VideosApi(client).list()
    assert [r.path for r in emulator.requests] == ["/auth/api-key", "/videos", "/videos"]
    assert emulator.requests[0].json() == {"apiKey": emulator.api_key}
    assert "Authorization" not in emulator.requests[0].headers
    assert [bearer_of(r) for r in sent(emulator, "/videos")] == [saved[0]["access_token"]] * 2


def test_bearer_auth_setting_always_uses_the_token_lifecycle(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """Under the default Basic scheme, ``auth_settings=["bearerAuth"]`` still gets a token and
    sends it; ``["apiKey"]`` on the same client stays Basic; no auth_settings sends none."""
    client = open_client(stack, emulator, api_key=emulator.api_key)
    videos(client)
    client.call_api("/videos", "GET", auth_settings=API_KEY_SCHEME)
    with pytest.raises(UnauthorizedException):
        client.call_api("/videos", "GET")
    assert [r.path for r in emulator.requests] == ["/auth/api-key", "/videos", "/videos", "/videos"]
    first, second, third = sent(emulator, "/videos")
    assert bearer_of(first)
    assert second.headers["Authorization"] == basic(emulator.api_key)
    assert "Authorization" not in third.headers


@pytest.mark.parametrize(
    "call",
    [
        lambda client: client.call_api("/videos", "GET", auth_settings=API_KEY_SCHEME),
        lambda client: client.call_api("/videos", "GET", auth_settings=BEARER),
        lambda client: VideosApi(client).list(),
    ],
    ids=["apiKey", "bearerAuth", "api-method"],
)
def test_missing_credentials_raise_before_anything_is_sent(
    emulator: Emulator, call: Callable[[video_api.ApiClient], Any]
) -> None:
    """No credential configured: a call that needs one raises ApiValueError saying how to give
    one, and nothing reaches the server (no request, no token exchange)."""
    with video_api.ApiClient(video_api.Configuration(host=emulator.url)) as client:
        assert client.auth is None
        with pytest.raises(ApiValueError, match=r"needs credentials: give Configuration\(api_key="):
            call(client)
    assert emulator.requests == []


def test_call_without_auth_settings_needs_no_credentials(emulator: Emulator) -> None:
    """Without auth_settings, call_api sends no Authorization: the server's 401 is raised as is,
    and no auth endpoint is called behind the user's back."""
    configuration = video_api.Configuration(host=emulator.url)
    with video_api.ApiClient(configuration) as client, pytest.raises(
        UnauthorizedException
    ) as caught:
        client.call_api("/videos", "GET")
    assert caught.value.status == 401
    assert [r.path for r in emulator.requests] == ["/videos"]
    assert "Authorization" not in emulator.requests[0].headers


@pytest.mark.parametrize("settings", [{}, {"api_key": "k"}], ids=["no-credentials", "api-key"])
def test_unknown_auth_setting_raises_before_anything_is_sent(
    emulator: Emulator, stack: contextlib.ExitStack, settings: Dict[str, str]
) -> None:
    """An auth setting other than apiKey and bearerAuth is a mistake, named in the error."""
    client = open_client(stack, emulator, **settings)
    with pytest.raises(ApiValueError) as caught:
        client.call_api("/videos", "GET", auth_settings=["apiKey", "oauth2"])
    assert str(caught.value) == (
        "GET /videos: unknown auth setting 'oauth2'; use 'apiKey' or 'bearerAuth'"
    )
    assert emulator.requests == []


def test_unknown_auth_scheme_in_configuration_raises() -> None:
    """``Configuration(auth=...)`` takes 'basic' or 'bearer', when built and when changed."""
    with pytest.raises(ApiValueError) as caught:
        video_api.Configuration(api_key="k", auth="oauth")
    assert str(caught.value) == "Configuration.auth must be 'basic' or 'bearer', got 'oauth'"
    configuration = video_api.Configuration(api_key="k")
    with pytest.raises(ApiValueError, match="got 'Bearer'"):
        configuration.auth = "Bearer"
    assert configuration.auth == "basic"


# -- AuthenticatedApiClient -----------------------------------------------------------------


def test_authenticated_api_client_is_an_api_client_on_bearer_tokens(emulator: Emulator) -> None:
    """``AuthenticatedApiClient(api_key, configuration)``: an ApiClient (exported by
    ``video_api``) whose calls use bearer tokens, even the API methods, from one login; it
    leaves the configuration it was given unchanged."""
    assert video_api.AuthenticatedApiClient is video_api.api_client.AuthenticatedApiClient
    assert "AuthenticatedApiClient" in video_api.__all__
    configuration = video_api.Configuration(host=emulator.url, timeout=TIMEOUT)
    with video_api.AuthenticatedApiClient(emulator.api_key, configuration) as client:
        assert isinstance(client, video_api.ApiClient)
        # The client works on a copy: the configuration given stays as it was.
        assert (configuration.auth, configuration.api_key) == ("basic", None)
        assert (client.configuration.auth, client.configuration.api_key) == (
            "bearer",
            emulator.api_key,
        )
        assert isinstance(client.auth, TokenManager)
        videos(client)
        VideosApi(client).list()
    assert [r.path for r in emulator.requests] == ["/auth/api-key", "/videos", "/videos"]
    tokens = {bearer_of(r) for r in sent(emulator, "/videos")}
    assert len(tokens) == 1


@pytest.mark.parametrize(
    ("arguments", "host"),
    [
        ({}, "https://ws.api.video"),
        ({"production": True}, "https://ws.api.video"),
        ({"production": False}, "https://sandbox.api.video"),
        ({"environment": "sandbox"}, "https://sandbox.api.video"),
        ({"environment": "production"}, "https://ws.api.video"),
    ],
    ids=["default", "production", "production=False", "sandbox", "environment=production"],
)
def test_authenticated_api_client_environment(arguments: Dict[str, Any], host: str) -> None:
    """``production=False`` (api.video's client) or ``environment="sandbox"`` target the
    sandbox; building the client sends nothing."""
    with video_api.AuthenticatedApiClient("key-without-network", **arguments) as client:
        assert client.configuration.host == host
        assert client.rest_client.pool is not None
        assert f"{client.rest_client.pool.scheme}://{client.rest_client.pool.host}" == host
        assert client.rest_client.pool.num_connections == 0
        assert manager(client).state is TokenState.INVALID


@pytest.mark.parametrize(("production", "host"), [(True, "ws"), (False, "sandbox")])
def test_production_as_the_second_argument_as_api_videos_client_takes_it(
    production: bool, host: str
) -> None:
    with video_api.AuthenticatedApiClient("k", production) as client:
        assert client.configuration.host == f"https://{host}.api.video"


def test_production_flag_overrides_the_configuration_environment() -> None:
    """``production=False`` wins over the configuration's environment; an explicit host wins
    over both."""
    sandbox = video_api.AuthenticatedApiClient(
        "k", video_api.Configuration(environment="production"), production=False
    )
    assert sandbox.configuration.host == "https://sandbox.api.video"
    pinned = video_api.AuthenticatedApiClient(
        "k", video_api.Configuration(host="http://127.0.0.1:1"), production=False
    )
    assert pinned.configuration.host == "http://127.0.0.1:1"
    sandbox.close()
    pinned.close()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((False, "production"), "production=False and environment='production'"),
        ((True, "sandbox"), "production=True and environment='sandbox'"),
    ],
)
def test_production_flag_and_environment_that_contradict_are_refused(
    arguments: Tuple[bool, Any], message: str
) -> None:
    """``AuthenticatedApiClient(key, False, "production")`` would silently pick one."""
    with pytest.raises(ApiValueError) as info:
        video_api.AuthenticatedApiClient("k", *arguments)
    assert str(info.value) == (f"AuthenticatedApiClient: {message} contradict each other; give one")


@pytest.mark.parametrize("production", [True, False])
def test_production_given_as_the_second_argument_and_as_a_keyword_must_agree(
    production: bool,
) -> None:
    with pytest.raises(ApiValueError) as info:
        video_api.AuthenticatedApiClient("k", production, production=not production)
    assert str(info.value) == (
        f"AuthenticatedApiClient: production given twice, as {production} (the second "
        f"argument) and as {not production}"
    )
    with video_api.AuthenticatedApiClient("k", production, production=production) as client:
        assert client.configuration.environment == ("production" if production else "sandbox")


def test_an_unknown_environment_beside_production_is_named_as_unknown() -> None:
    with pytest.raises(ApiValueError) as info:
        video_api.AuthenticatedApiClient("k", production=True, environment="staging")  # type: ignore[arg-type]
    assert str(info.value) == (
        "Configuration.environment must be one of production, sandbox, got 'staging'"
    )


def test_connect_gets_a_token_before_any_call(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """``connect()`` logs in at once (one POST /auth/api-key); the calls after it use that
    token without another exchange."""
    saved: List[SavedToken] = []
    client = stack.enter_context(
        video_api.AuthenticatedApiClient(
            emulator.api_key,
            video_api.Configuration(host=emulator.url, timeout=TIMEOUT, on_token=saved.append),
        )
    )
    assert emulator.requests == []
    client.connect()
    assert [r.path for r in emulator.requests] == ["/auth/api-key"]
    assert manager(client).state is TokenState.FRESH
    VideosApi(client).list()
    videos(client)
    assert [r.path for r in emulator.requests] == ["/auth/api-key", "/videos", "/videos"]
    assert [bearer_of(r) for r in sent(emulator, "/videos")] == [saved[0]["access_token"]] * 2


def test_refresh_token_renews_the_token_at_once_with_the_refresh_token(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """``refresh_token()``, api.video's client's manual renewal: a new access token now, from
    the refresh token; the calls after it use the new one. The header given to the client
    goes with every request."""
    client = stack.enter_context(
        video_api.AuthenticatedApiClient(
            emulator.api_key,
            video_api.Configuration(host=emulator.url, timeout=TIMEOUT),
            header_name="X-Trace",
            header_value="abc",
        )
    )
    client.connect()
    first = client.auth.access_token()
    client.refresh_token()
    VideosApi(client).list()
    assert [r.path for r in emulator.requests] == ["/auth/api-key", "/auth/refresh", "/videos"]
    assert bearer_of(sent(emulator, "/videos")[0]) == client.auth.access_token() != first
    assert {r.headers["X-Trace"] for r in emulator.requests} == {"abc"}


def test_connect_with_a_refused_key_raises_authentication_error(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """A key the server refuses fails at ``connect()``, with the key kept out of the error."""
    wrong = "wrong-" + secrets.token_hex(16)
    client = stack.enter_context(
        video_api.AuthenticatedApiClient(
            wrong, video_api.Configuration(host=emulator.url, timeout=TIMEOUT)
        )
    )
    with pytest.raises(AuthenticationError) as caught:
        client.connect()
    assert caught.value.status == 400
    assert wrong not in str(caught.value)
    assert [r.path for r in emulator.requests] == ["/auth/api-key"]


@pytest.mark.parametrize(
    ("api_key", "error", "message"),
    [
        ("", ApiValueError, "api_key must be printable ASCII"),
        (None, ApiTypeError, "expects the API key as a str, got NoneType"),
    ],
    ids=repr,
)
def test_authenticated_api_client_without_a_key_is_refused(
    emulator: Emulator, api_key: Any, error: type, message: str
) -> None:
    """No API key: bad input, raised when the client is built; nothing is sent."""
    configuration = video_api.Configuration(host=emulator.url, timeout=TIMEOUT)
    with pytest.raises(error, match=message):
        video_api.AuthenticatedApiClient(api_key, configuration)
    assert emulator.requests == []


# -- BasicAuth and TokenManager on their own ------------------------------------------------


def test_basic_auth_header_and_refusal() -> None:
    """BasicAuth: the RFC 7617 value for user ``key`` and an empty password; a refusal is
    final (no retry is worth it); its repr hides the key."""
    strategy = BasicAuth("sk-0123456789")
    assert strategy.header() == "Basic " + base64.b64encode(b"sk-0123456789:").decode()
    assert strategy.refused(strategy.header()) is False
    assert "sk-0123456789" not in repr(strategy)


class FakeExchange:
    """Stands for the server: answers each auth operation with the next AccessToken."""

    def __init__(self, expires_in: Optional[int] = LIFETIME) -> None:
        self.expires_in = expires_in
        self.calls: List[tuple[str, Dict[str, Any]]] = []

    def __call__(
        self, operation: Operation[AccessToken], body: Mapping[str, Any], timeout: Any = None
    ) -> AccessToken:
        self.calls.append((operation.path, dict(body)))
        number = len(self.calls)
        fields: Dict[str, Any] = {"access_token": f"a{number}", "refresh_token": f"r{number}"}
        if self.expires_in is not None:
            fields["expires_in"] = self.expires_in
        return AccessToken(**fields)


@pytest.mark.parametrize(
    ("expires_in", "renew_after"),
    [(3600, 3540.0), (300, 270.0), (10, 9.0), (None, 3540.0)],
    ids=["one-hour", "five-minutes", "ten-seconds", "unstated"],
)
def test_token_is_renewed_a_tenth_of_its_life_before_expiry_at_most_a_minute(
    expires_in: Optional[int], renew_after: float
) -> None:
    """FRESH until ``min(60 s, lifetime / 10)`` before expiry, STALE from then, INVALID from
    expiry; a lifetime the server does not state is taken as one hour. The token is renewed
    only when asked for, on the first ask at or after the renewal point, with the refresh
    token."""
    clock, exchange = FakeClock(), FakeExchange(expires_in)
    auth = TokenManager(video_api.Configuration(api_key="key"), exchange, clock)
    lifetime = float(LIFETIME if expires_in is None else expires_in)
    assert auth.state is TokenState.INVALID and exchange.calls == []
    assert auth.header() == "Bearer a1"
    assert auth.expires_at == clock.time() + lifetime
    step = renew_after / 2
    clock.advance(step)
    assert auth.state is TokenState.FRESH
    clock.advance(renew_after - step - 0.25)
    assert auth.state is TokenState.FRESH and auth.header() == "Bearer a1"
    clock.advance(0.25)
    assert auth.state is TokenState.STALE and len(exchange.calls) == 1
    assert auth.saved()["renew_before"] == lifetime - renew_after
    assert auth.header() == "Bearer a2"
    assert exchange.calls[1] == ("/auth/refresh", {"refreshToken": "r1"})
    clock.advance(lifetime)
    assert auth.state is TokenState.INVALID
    assert auth.header() == "Bearer a3"
    assert [path for path, _ in exchange.calls] == ["/auth/api-key"] + ["/auth/refresh"] * 2


def test_refused_says_whether_a_renewed_token_is_worth_a_replay() -> None:
    """After a 401 the refused token is dropped; a replay is worth it with an API key or a
    refresh token to renew with, not with a static token alone."""
    clock = FakeClock()
    with_key = TokenManager(video_api.Configuration(api_key="key"), FakeExchange(), clock)
    header = with_key.header()
    assert with_key.refused(header) is True
    assert with_key.state is TokenState.INVALID
    assert with_key.header() == "Bearer a2"

    static = TokenManager(video_api.Configuration(access_token="static"), FakeExchange(), clock)
    assert static.header() == "Bearer static"
    assert static.refused("Bearer static") is False
    assert static.state is TokenState.INVALID

    saved = {"access_token": "a", "refresh_token": "r", "expires_at": clock.time() + 600}
    restored = TokenManager(video_api.Configuration(token=saved), FakeExchange(), clock)
    assert restored.refused("Bearer a") is True
    assert restored.header() == "Bearer a1"


def test_a_refusal_of_a_replaced_token_keeps_the_new_one() -> None:
    """A 401 to a token that another thread has already replaced drops nothing."""
    auth = TokenManager(video_api.Configuration(api_key="key"), FakeExchange(), FakeClock())
    old = auth.header()
    auth.force_refresh()
    assert auth.refused(old) is True
    assert auth.state is TokenState.FRESH and auth.header() == "Bearer a2"


class GatedClock(FakeClock):
    """A FakeClock that holds one thread in its first ``monotonic()`` call until released, so
    that thread has read the token, and not yet the time, while another thread renews."""

    def __init__(self) -> None:
        super().__init__()
        self.gated: Optional[threading.Thread] = None
        self.entered = threading.Event()
        self.release = threading.Event()

    def monotonic(self) -> float:
        if threading.current_thread() is self.gated and not self.release.is_set():
            self.entered.set()
            assert self.release.wait(5.0)
        return super().monotonic()


@pytest.mark.parametrize("past", [LIFETIME - MARGIN, LIFETIME], ids=["stale", "expired"])
def test_a_thread_that_read_the_old_token_uses_the_renewed_one(past: float) -> None:
    """Thread B reads the token, then thread A renews it; when B goes on it finds the token
    replaced and uses the new one: one renewal in all, whether the token was STALE or expired."""
    clock, exchange = GatedClock(), FakeExchange()
    auth = TokenManager(video_api.Configuration(api_key="key"), exchange, clock)
    assert auth.header() == "Bearer a1"
    clock.advance(past)
    got: List[str] = []
    late = threading.Thread(target=lambda: got.append(auth.header()))
    clock.gated = late
    late.start()
    try:
        assert clock.entered.wait(5.0)
        assert auth.header() == "Bearer a2"  # thread A renews
    finally:
        clock.release.set()
        late.join(5.0)
    assert got == ["Bearer a2"]
    assert [path for path, _ in exchange.calls] == ["/auth/api-key", "/auth/refresh"]


def test_static_access_token_is_sent_as_bearer(
    emulator: Emulator, api: AuthenticationApi, stack: contextlib.ExitStack
) -> None:
    """``Configuration(access_token=...)`` sends that token as is and never calls the auth
    endpoints; with nothing to renew it with, a 401 is raised without a replay."""
    token = api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key)).body
    emulator.clear()
    client = open_client(stack, emulator, access_token=token.access_token)
    assert manager(client).state is TokenState.FRESH
    videos(client)
    VideosApi(client).list()  # no API key: apiKey operations take the token too
    assert [bearer_of(r) for r in emulator.requests] == [token.access_token] * 2
    emulator.revoke()
    with pytest.raises(UnauthorizedException):
        videos(client)
    assert [r.path for r in emulator.requests] == ["/videos"] * 3


def test_first_use_authenticates_with_api_key_and_sends_bearer(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """Nothing is sent when the client is built; the first bearerAuth call POSTs the key to
    /auth/api-key once, and every bearerAuth call carries ``Authorization: Bearer <token>``."""
    saved: List[SavedToken] = []
    client = open_client(stack, emulator, api_key=emulator.api_key, on_token=saved.append)
    assert emulator.requests == []
    assert manager(client).state is TokenState.INVALID
    for _ in range(3):
        videos(client)
    [login] = sent(emulator, "/auth/api-key")
    assert login.method == "POST" and login.json() == {"apiKey": emulator.api_key}
    assert login.headers.get("Authorization") is None
    assert [bearer_of(r) for r in sent(emulator, "/videos")] == [saved[0]["access_token"]] * 3
    assert emulator.count("/auth/refresh") == 0


# -- state, expiry, force_refresh (on a fake clock) -----------------------------------------


def test_state_goes_invalid_fresh_stale_and_renews_once_per_point(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """INVALID before first use; FRESH up to ``renew_at`` (60 s before the hour is up); STALE
    from ``renew_at``, when the next call makes exactly one /auth/refresh, with the current
    refresh token, before its own request; INVALID at expiry, when the next call again makes
    exactly one refresh first; force_refresh() sends exactly one more. Nothing is sent while
    the state changes, only when a call needs the token. ``expires_at`` is epoch seconds."""
    clock = FakeClock()
    saved: List[SavedToken] = []
    client = open_client(stack, emulator, api_key=emulator.api_key, on_token=saved.append)
    auth = clocked(client, clock)
    assert auth.state is TokenState.INVALID and not auth.is_fresh and auth.expires_at is None

    videos(client)
    assert auth.state is TokenState.FRESH and auth.is_fresh
    assert auth.expires_at == clock.time() + LIFETIME == saved[0]["expires_at"]

    clock.advance(LIFETIME - MARGIN - 0.5)  # half a second before renew_at
    assert auth.state is TokenState.FRESH
    videos(client)
    assert emulator.count("/auth/refresh") == 0

    clock.advance(0.5)  # renew_at
    assert auth.state is TokenState.STALE and not auth.is_fresh
    assert emulator.count() == 3  # nothing happens until the next call
    emulator.clear()
    videos(client)
    assert [r.path for r in emulator.requests] == ["/auth/refresh", "/videos"]
    assert refresh_tokens_sent(emulator) == [saved[0]["refresh_token"]]
    assert bearer_of(emulator.requests[-1]) == saved[1]["access_token"]
    assert auth.state is TokenState.FRESH
    assert auth.expires_at == clock.time() + LIFETIME

    clock.advance(LIFETIME)  # expired: INVALID
    assert auth.state is TokenState.INVALID
    emulator.clear()
    videos(client)
    videos(client)
    assert [r.path for r in emulator.requests] == ["/auth/refresh", "/videos", "/videos"]
    assert refresh_tokens_sent(emulator) == [saved[1]["refresh_token"]]
    assert bearer_of(emulator.requests[-1]) == saved[2]["access_token"]

    emulator.clear()
    auth.force_refresh()
    assert [r.path for r in emulator.requests] == ["/auth/refresh"]
    assert refresh_tokens_sent(emulator) == [saved[2]["refresh_token"]]
    videos(client)
    assert bearer_of(emulator.requests[-1]) == saved[3]["access_token"]
    assert len(saved) == 4


def test_one_second_lifetime_does_not_hot_loop(stack: contextlib.ExitStack) -> None:
    """A 1 s token is renewed 0.1 s before expiry, not on every call: 48 calls spread over 3 s
    (on the fake clock, one per 1/16 s) make exactly 3 refreshes, at 0.9375, 1.875 and 2.8125 s."""
    emulator = start(stack, token_lifetime=1)
    saved: List[SavedToken] = []
    client = open_client(stack, emulator, api_key=emulator.api_key, on_token=saved.append)
    clock = FakeClock()
    clocked(client, clock)
    refreshed_at: List[int] = []
    for step in range(48):
        before = emulator.count("/auth/refresh")
        videos(client)
        if emulator.count("/auth/refresh") != before:
            refreshed_at.append(step)
        clock.advance(1 / 16)
    assert saved[0]["renew_before"] == 0.1
    assert refreshed_at == [15, 30, 45]
    assert emulator.count("/auth/api-key") == 1
    assert emulator.count("/auth/refresh") == 3
    assert emulator.count("/videos") == 48  # no call was refused and replayed
    assert emulator.refresh_token_reuses == 0


def test_threads_keep_a_stale_token_while_one_refreshes_and_wait_once_it_expired(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """While one thread's refresh is in flight, another thread with a still-valid (STALE) token
    uses it without waiting; a thread whose token has expired waits for that refresh and uses
    its result, and no second refresh is sent."""
    clock = FakeClock()
    saved: List[SavedToken] = []
    client = open_client(stack, emulator, api_key=emulator.api_key, on_token=saved.append)
    auth = clocked(client, clock)
    videos(client)
    clock.advance(LIFETIME - MARGIN / 2)
    assert auth.state is TokenState.STALE
    emulator.add_fault("/auth/refresh", Fault.stall(0.5))

    outcome: Dict[str, Any] = {}

    def renewing_caller() -> None:
        try:
            outcome["response"] = videos(client)
        except Exception as error:  # reported by the assertion below
            outcome["error"] = error

    renewer = threading.Thread(target=renewing_caller)
    renewer.start()
    try:
        assert wait_for(lambda: emulator.count("/auth/refresh") == 1, timeout=2.0)
        videos(client)  # STALE and the refresh is busy: keep the old token, do not wait
        assert renewer.is_alive() and len(saved) == 1, "the call waited for the refresh"
        assert bearer_of(sent(emulator, "/videos")[-1]) == saved[0]["access_token"]

        clock.advance(MARGIN / 2)
        assert auth.state is TokenState.INVALID
        assert len(saved) == 1, "the refresh finished before the token expired"
        videos(client)  # INVALID: wait for the refresh in flight and use its token
        assert len(saved) == 2
    finally:
        renewer.join(5.0)
    assert not renewer.is_alive()
    assert "error" not in outcome, outcome.get("error")
    assert bearer_of(sent(emulator, "/videos")[-1]) == saved[1]["access_token"]
    assert refresh_tokens_sent(emulator) == [saved[0]["refresh_token"]]
    assert emulator.count("/auth/api-key") == 1


def test_sixteen_threads_share_one_client_over_several_lifetimes(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """16 threads call GET /videos through one client while the fake clock crosses six
    renewal points, alternately into STALE and past expiry: no call fails, one
    /auth/api-key, exactly one refresh per renewal point, and no refresh token twice."""
    threads, phases, max_calls = 16, 6, 5_000
    clock = FakeClock()
    saved: List[SavedToken] = []
    client = open_client(stack, emulator, api_key=emulator.api_key, on_token=saved.append)
    clocked(client, clock)
    videos(client)
    barrier = threading.Barrier(threads + 1)
    stop = threading.Event()
    calls = [0] * threads
    failures: List[str] = []

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=10.0)
        except threading.BrokenBarrierError as error:
            failures.append(repr(error))
            return
        while not stop.is_set() and calls[index] < max_calls:
            try:
                videos(client)
            except Exception as error:
                failures.append(f"{type(error).__name__}: {error}")
            calls[index] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    try:
        barrier.wait(timeout=10.0)
        for phase in range(phases):
            before = list(calls)
            # Into STALE (renewed by one thread while the others go on), or past expiry
            # (INVALID: everyone waits for one renewal).
            clock.advance(LIFETIME - MARGIN / 2 if phase % 2 == 0 else LIFETIME)

            def progressed(renewals: int = phase + 2, before: List[int] = before) -> bool:
                """The renewal is stored and every thread made 3 calls since the advance."""
                return len(saved) == renewals and all(
                    now >= then + 3 for now, then in zip(calls, before)
                )

            assert wait_for(progressed, timeout=20.0), (phase, len(saved), calls, failures[:3])
            assert emulator.count("/auth/refresh") == phase + 1, phase
    finally:
        stop.set()
        for thread in pool:
            thread.join(30.0)
    assert not any(thread.is_alive() for thread in pool)
    assert failures == [], failures[:5]
    assert emulator.count("/auth/api-key") == 1
    assert emulator.count("/auth/refresh") == phases
    assert emulator.tokens_issued == phases + 1
    assert emulator.refresh_token_reuses == 0
    assert len(saved) == phases + 1
    assert len({token["refresh_token"] for token in saved}) == phases + 1


def test_the_client_starts_no_thread() -> None:
    """Renewal happens on demand in the calling thread: using the client, through a renewal
    point and a force_refresh(), adds no thread to the process (the emulator runs in a
    subprocess, so any new thread here would be the client's)."""
    key = "key-" + secrets.token_hex(8)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "video_api.testing", "--api-key", key],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip().partition("=")[2]
        assert url.startswith("http://127.0.0.1:"), url
        before = set(threading.enumerate())
        callers: List[threading.Thread] = []
        configuration = video_api.Configuration(
            host=url, timeout=TIMEOUT, on_token=lambda _: callers.append(threading.current_thread())
        )
        clock = FakeClock()
        with video_api.AuthenticatedApiClient(key, configuration) as client:
            auth = clocked(client, clock)
            videos(client)
            clock.advance(LIFETIME - MARGIN)
            assert auth.state is TokenState.STALE
            videos(client)  # renews the stale token
            auth.force_refresh()
            videos(client)
            assert set(threading.enumerate()) - before == set()
        assert callers == [threading.current_thread()] * 3
    finally:
        process.terminate()
        process.wait(10.0)


# -- refusals, fallbacks, 401s -----------------------------------------------------------


def _refuse_with_400(emulator: Emulator, stack: contextlib.ExitStack, saved: SavedToken) -> None:
    emulator.add_fault("/auth/refresh", Fault.status(400))


def _reset_after_processing(
    emulator: Emulator, stack: contextlib.ExitStack, saved: SavedToken
) -> None:
    emulator.add_fault("/auth/refresh", Fault.reset_after_body())


def _rotated_by_another_client(
    emulator: Emulator, stack: contextlib.ExitStack, saved: SavedToken
) -> None:
    """Another process restored the same saved token and refreshed it first."""
    other = open_client(stack, emulator, token=dict(saved))
    manager(other).force_refresh()


@pytest.mark.parametrize(
    "break_refresh",
    [_refuse_with_400, _reset_after_processing, _rotated_by_another_client],
    ids=["400", "reset-after-body", "rotated-elsewhere"],
)
def test_failed_refresh_falls_back_to_api_key(
    emulator: Emulator,
    stack: contextlib.ExitStack,
    break_refresh: Callable[[Emulator, contextlib.ExitStack, SavedToken], None],
) -> None:
    """When the refresh is refused (400, a token rotated elsewhere) or its answer is lost, the
    client authenticates again with the API key and the caller's call succeeds; the refresh
    token it held is not sent again."""
    saved: List[SavedToken] = []
    client = open_client(stack, emulator, api_key=emulator.api_key, on_token=saved.append)
    videos(client)
    break_refresh(emulator, stack, saved[0])
    emulator.clear()
    emulator.revoke()  # the next call gets a 401 and must renew

    videos(client)
    assert [r.path for r in emulator.requests] == [
        "/videos",
        "/auth/refresh",
        "/auth/api-key",
        "/videos",
    ]
    assert refresh_tokens_sent(emulator) == [saved[0]["refresh_token"]]
    assert bearer_of(emulator.requests[-1]) == saved[-1]["access_token"]
    assert manager(client).state is TokenState.FRESH
    videos(client)
    manager(client).force_refresh()  # the new refresh token works
    assert refresh_tokens_sent(emulator)[-1] == saved[-2]["refresh_token"]
    assert len(set(refresh_tokens_sent(emulator))) == 2


def test_refused_api_key_raises_authentication_error_then_backs_off(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """A wrong API key raises AuthenticationError (a BadRequestException) saying the key was
    refused, with the server's problem. For RENEW_BACKOFF seconds (on the manager's clock)
    the calls that need a token raise the same error at once, without a request; then the key
    is tried again. force_refresh() always tries."""
    wrong = "wrong-" + secrets.token_hex(16)
    client = stack.enter_context(
        video_api.AuthenticatedApiClient(
            wrong, video_api.Configuration(host=emulator.url, timeout=TIMEOUT)
        )
    )
    clock = FakeClock()
    auth = clocked(client, clock)
    messages = []
    for requests, wait in ((1, 0.0), (1, RENEW_BACKOFF), (2, 0.0)):
        with pytest.raises(AuthenticationError) as caught:
            client.call_api("/videos", "GET", auth_settings=BEARER)
        error = caught.value
        assert isinstance(error, BadRequestException) and isinstance(error, ApiException)
        assert error.status == 400
        assert "API key was refused" in str(error)
        assert error.problem is not None
        assert error.problem.title == "The user credentials were incorrect."
        assert wrong not in str(error) and wrong not in repr(error)
        assert emulator.count("/auth/api-key") == requests
        messages.append(str(error))
        clock.advance(wait)
    assert len(set(messages)) == 1
    assert emulator.count("/videos") == 0
    assert auth.state is TokenState.INVALID
    with pytest.raises(AuthenticationError):
        auth.force_refresh()
    assert emulator.count("/auth/api-key") == 3


def test_401_renews_the_token_and_replays_once(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """A 401 from a protected call (token revoked) drops the token, gets a new one with the
    refresh token and replays the call once with it; the caller sees success."""
    saved: List[SavedToken] = []
    client = open_client(stack, emulator, api_key=emulator.api_key, on_token=saved.append)
    videos(client)
    emulator.revoke()
    emulator.clear()
    videos(client)
    assert [r.path for r in emulator.requests] == ["/videos", "/auth/refresh", "/videos"]
    first, _, replay = emulator.requests
    assert bearer_of(first) == saved[0]["access_token"]
    assert emulator.requests[1].json() == {"refreshToken": saved[0]["refresh_token"]}
    assert bearer_of(replay) == saved[1]["access_token"]


def test_persistent_401_is_raised_after_exactly_one_replay(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """If the server keeps answering 401, the call is replayed once with a new token and the
    second 401 is raised as UnauthorizedException: two requests, no loop."""
    saved: List[SavedToken] = []
    client = open_client(stack, emulator, api_key=emulator.api_key, on_token=saved.append)
    videos(client)
    emulator.clear()
    emulator.add_fault("/videos", Fault.status(401), times=3)
    with pytest.raises(UnauthorizedException) as caught:
        videos(client)
    assert caught.value.status == 401
    assert [r.path for r in emulator.requests] == ["/videos", "/auth/refresh", "/videos"]
    assert [bearer_of(r) for r in sent(emulator, "/videos")] == [
        saved[0]["access_token"],
        saved[1]["access_token"],
    ]


# -- hard times: failures that persist, odd tokens ------------------------------------


def test_a_401_that_persists_costs_one_renewal_not_one_per_call(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """A server that refuses every bearer token: the first call renews once and replays once;
    a renewed token refused again fails its call without another renewal, so 20 calls make
    1 refresh and 21 requests (not 20 and 40). After RENEW_BACKOFF a 401 renews once more."""
    clock = FakeClock()
    client = open_client(stack, emulator, api_key=emulator.api_key)
    clocked(client, clock)
    videos(client)
    emulator.clear()
    emulator.add_fault("/videos", Fault.status(401), times=100)
    for _ in range(20):
        with pytest.raises(UnauthorizedException):
            videos(client)
    assert (emulator.count("/auth/refresh"), emulator.count("/videos")) == (1, 21)
    assert emulator.count("/auth/api-key") == 0
    clock.advance(RENEW_BACKOFF)
    with pytest.raises(UnauthorizedException):
        videos(client)
    assert (emulator.count("/auth/refresh"), emulator.count("/videos")) == (2, 23)


def _call_in_threads(
    client: video_api.ApiClient, threads: int = 16
) -> List[tuple[float, Optional[BaseException], float]]:
    """GET /videos with the bearer token from ``threads`` threads at once: (seconds, error,
    when it ended on the monotonic clock)."""
    barrier = threading.Barrier(threads)
    results: List[tuple[float, Optional[BaseException], float]] = []

    def call() -> None:
        barrier.wait(timeout=10.0)
        started = time.monotonic()
        try:
            client.call_api("/videos", "GET", auth_settings=BEARER)
            error: Optional[BaseException] = None
        except Exception as raised:  # checked by the caller
            error = raised
        ended = time.monotonic()
        results.append((ended - started, error, ended))

    pool = [threading.Thread(target=call) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(10.0)
    assert not any(thread.is_alive() for thread in pool)
    return results


def test_a_failed_renewal_fails_every_waiting_thread_at_once_then_backs_off(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """16 threads need a token; one asks, and the API key exchange times out after 0.5 s
    (read bound of the pair): all 16 fail then, together, with the same error, after one
    request. For RENEW_BACKOFF a call fails at once with it; after, the key is tried again."""
    emulator.add_fault("/auth/api-key", Fault.stall(30))
    client = stack.enter_context(
        video_api.AuthenticatedApiClient(
            emulator.api_key,
            video_api.Configuration(host=emulator.url, timeout=(2.0, 0.5), retries=0),
        )
    )
    clock = FakeClock()
    clocked(client, clock)
    results = _call_in_threads(client)
    took = sorted(seconds for seconds, _, _ in results)
    ended = sorted(at for _, _, at in results)
    errors = [error for _, error, _ in results]
    assert all(type(error) is ApiTimeoutError for error in errors), errors
    assert len({str(error) for error in errors}) == 1
    assert len({id(error) for error in errors}) == 16  # each its own instance and traceback
    # Together: all end within a second of each other (one after another, each making its
    # own 0.5 s attempt, they would spread over 7.5 s); the longest wait is the exchange's.
    assert took[-1] >= 0.5 and ended[-1] - ended[0] < 1.0 and took[-1] < 1.5, took
    assert emulator.count("/auth/api-key") == 1

    started = time.monotonic()
    with pytest.raises(ApiTimeoutError) as caught:
        videos(client)
    assert time.monotonic() - started < 0.1
    assert str(caught.value) == str(errors[0])
    assert emulator.count("/auth/api-key") == 1
    clock.advance(RENEW_BACKOFF)
    videos(client)
    assert emulator.count("/auth/api-key") == 2


def test_sixteen_threads_with_the_auth_server_down_fail_within_their_deadline(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """The issue's case: both auth endpoints stalled, ``timeout=0.5`` (the whole call),
    ``retries=1``, 16 threads. Each fails with ApiTimeoutError within about its 0.5 s, and
    the auth server sees one request (it was 10.8 s median, 17.7 s max, 30 requests)."""
    for path in ("/auth/api-key", "/auth/refresh"):
        emulator.add_fault(path, Fault.stall(30), times=100)
    client = stack.enter_context(
        video_api.AuthenticatedApiClient(
            emulator.api_key,
            video_api.Configuration(host=emulator.url, timeout=0.5, retries=1),
        )
    )
    clocked(client, FakeClock())
    results = _call_in_threads(client)
    took = sorted(seconds for seconds, _, _ in results)
    assert all(type(error) is ApiTimeoutError for _, error, _ in results), results
    assert took[len(took) // 2] < 1.0 and took[-1] < 1.2, took
    assert emulator.count("/auth/api-key") + emulator.count("/auth/refresh") == 1


def _token_answer(access_token: str, expires_in: Any = LIFETIME) -> Fault:
    body = {"access_token": access_token, "refresh_token": "r-" + access_token}
    return Fault.body(json.dumps(dict(body, expires_in=expires_in)).encode())


@pytest.mark.parametrize("expires_in", [0, -5], ids=["zero", "negative"])
def test_a_token_that_expires_at_once_is_valid_for_its_call_only(
    emulator: Emulator, stack: contextlib.ExitStack, expires_in: int
) -> None:
    """``expires_in`` 0 or below: each call gets one new token and sends it, once; no call
    renews twice, none reuses a token known to be expired, and none loops."""
    emulator.add_fault("/auth/api-key", _token_answer("t1", expires_in))
    emulator.add_fault("/auth/refresh", _token_answer("t2", expires_in))
    emulator.add_fault("/auth/refresh", _token_answer("t3", expires_in))
    emulator.add_fault("/videos", Fault.body(b'{"data": []}'), times=3)
    client = open_client(stack, emulator, api_key=emulator.api_key)
    auth = clocked(client, FakeClock())
    for _ in range(3):
        videos(client)
    assert [r.path for r in emulator.requests] == ["/auth/api-key", "/videos"] + [
        "/auth/refresh",
        "/videos",
    ] * 2
    assert [bearer_of(r) for r in sent(emulator, "/videos")] == ["t1", "t2", "t3"]
    assert refresh_tokens_sent(emulator) == ["r-t1", "r-t2"]
    assert auth.state is TokenState.INVALID


def test_an_absurd_lifetime_is_capped(emulator: Emulator, stack: contextlib.ExitStack) -> None:
    """``expires_in = 10**400`` (no float holds it) is read as MAX_LIFETIME, not an
    OverflowError: renewed as a token of that lifetime would be."""
    emulator.add_fault("/auth/api-key", _token_answer("t1", 10**400))
    emulator.add_fault("/auth/refresh", _token_answer("t2"))
    emulator.add_fault("/videos", Fault.body(b'{"data": []}'), times=3)
    client = open_client(stack, emulator, api_key=emulator.api_key)
    clock = FakeClock()
    auth = clocked(client, clock)
    videos(client)
    assert auth.expires_at == clock.time() + MAX_LIFETIME
    clock.advance(MAX_LIFETIME - MARGIN - 1)
    videos(client)
    assert auth.state is TokenState.FRESH
    clock.advance(1)
    videos(client)
    assert [bearer_of(r) for r in sent(emulator, "/videos")] == ["t1", "t1", "t2"]


@pytest.mark.parametrize(
    "issued",
    ["t\u00f6k\u20acn-SECRET", "tok\ud800SECRET", "tok\nSECRET", "tok SECRET"],
    ids=["non-ascii", "lone-surrogate", "inner-newline", "space"],
)
def test_a_token_that_cannot_go_in_a_header_is_a_documented_error(
    emulator: Emulator, stack: contextlib.ExitStack, issued: str
) -> None:
    """An access token the server issues that no header can carry raises ApiResponseError
    naming the problem, not UnicodeEncodeError or ValueError with the token in it."""
    emulator.add_fault("/auth/api-key", _token_answer(issued))
    client = open_client(stack, emulator, api_key=emulator.api_key)
    with pytest.raises(ApiResponseError, match="not printable ASCII") as caught:
        videos(client)
    assert "SECRET" not in _explain(caught.value)
    assert emulator.count("/videos") == 0


def test_a_token_issued_with_a_line_break_is_used_without_it(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    emulator.add_fault("/auth/api-key", _token_answer(" tok-1\r\n"))
    emulator.add_fault("/videos", Fault.body(b'{"data": []}'))
    videos(open_client(stack, emulator, api_key=emulator.api_key))
    assert bearer_of(sent(emulator, "/videos")[0]) == "tok-1"


def test_a_client_that_can_no_longer_renew_says_to_give_an_api_key(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """Restored with ``token=`` and no API key, its refresh refused: AuthenticationError says
    what would let it renew. Once the refresh token is spent, so does every later call."""
    saved = {"access_token": "a0", "refresh_token": "r0", "expires_at": time.time() - 1}
    client = open_client(stack, emulator, token=saved)
    emulator.add_fault("/auth/refresh", Fault.status(400))
    clock = FakeClock()
    clocked(client, clock)
    with pytest.raises(AuthenticationError, match=r"refresh token was refused") as refused:
        videos(client)
    clock.advance(RENEW_BACKOFF)
    with pytest.raises(AuthenticationError, match=r"no longer valid") as later:
        videos(client)
    for error in (refused.value, later.value):
        assert "give Configuration(api_key=...)" in str(error)
    assert refresh_tokens_sent(emulator) == ["r0"]


@pytest.mark.parametrize("failure", ["connection-refused", "429"])
def test_a_refresh_that_was_not_processed_keeps_its_refresh_token(
    stack: contextlib.ExitStack, failure: str
) -> None:
    """A token-only client whose refresh never reached the server (connection refused) or
    was answered with a status that promises nothing was done (429): the refresh token is
    not spent, so it is kept, and used on the next try."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    emulator = None if failure == "connection-refused" else start(stack, port=port)
    if emulator is not None:
        emulator.add_fault("/auth/refresh", Fault.rate_limited("30"))
    saved = {"access_token": "a0", "refresh_token": "r0", "expires_at": time.time() - 1}
    configuration = video_api.Configuration(
        host=f"http://127.0.0.1:{port}", timeout=TIMEOUT, retries=0, token=saved
    )
    client = stack.enter_context(video_api.ApiClient(configuration))
    clock = FakeClock()
    auth = clocked(client, clock)
    with pytest.raises(ApiConnectionError if emulator is None else TooManyRequestsException):
        videos(client)
    assert auth.saved()["refresh_token"] == "r0"
    emulator = emulator or start(stack, port=port)
    emulator.add_fault("/auth/refresh", _token_answer("a1"))
    emulator.add_fault("/videos", Fault.body(b'{"data": []}'))
    clock.advance(RENEW_BACKOFF)
    videos(client)
    assert refresh_tokens_sent(emulator)[-1] == "r0"
    assert bearer_of(sent(emulator, "/videos")[0]) == "a1"


# -- processes -----------------------------------------------------------------------------


def in_child(action: Callable[[], str], timeout: float = 10.0) -> str:
    """Run ``action`` in a forked child and return what it returned (or the error it raised,
    as text); a child still running after ``timeout`` is killed and the test fails."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            os.write(writer, action().encode())
        except BaseException as error:
            os.write(writer, f"{type(error).__name__}: {error}".encode())
            code = 1
        finally:
            os._exit(code)
    os.close(writer)
    deadline = time.monotonic() + timeout
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            os.close(reader)
            pytest.fail(f"the forked child hung for {timeout} s")
        time.sleep(0.01)
    with os.fdopen(reader, "rb") as output:
        return output.read().decode()


def _listed_and_pooled(client: video_api.ApiClient) -> str:
    assert client.rest_client.pool is not None
    before = client.rest_client.pool.num_connections
    created = client.call_api("/videos", "POST", body={"title": "child"}, auth_settings=BEARER)
    after = client.rest_client.pool.num_connections
    refresh_token = manager(client).saved()["refresh_token"]
    return f"{before} {after} {created.body['title']} {refresh_token}"


needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")


@needs_fork
def test_a_forked_child_has_its_own_connections_and_no_refresh_token(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """A parent that made a call forks: the child starts with no connection (not the parent's
    kept-alive one, whose responses it would otherwise read), gets its own answer, and keeps
    the access token but not the refresh token, which only the parent may spend."""
    saved: List[SavedToken] = []
    client = open_client(
        stack, emulator, api_key=emulator.api_key, auth="bearer", on_token=saved.append
    )
    videos(client)
    assert client.rest_client.pool is not None and client.rest_client.pool.num_connections == 1
    assert in_child(lambda: _listed_and_pooled(client)) == "0 1 child None"
    created = client.call_api("/videos", "POST", body={"title": "parent"}, auth_settings=BEARER)
    assert created.body["title"] == "parent"
    assert client.rest_client.pool.num_connections == 1  # the parent's connection still serves
    assert manager(client).saved()["refresh_token"] == saved[0]["refresh_token"]
    assert [bearer_of(r) for r in sent(emulator, "/videos")] == [saved[0]["access_token"]] * 3
    assert emulator.count("/auth/api-key") == 1 and len(saved) == 1


@needs_fork
def test_a_child_forked_while_a_thread_renews_the_token_does_not_hang(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """A thread is renewing the token (the API key exchange stalls) when the process forks:
    in the child that thread does not exist, and the child gets a token of its own."""
    emulator.add_fault("/auth/api-key", Fault.stall(30))
    client = stack.enter_context(
        video_api.AuthenticatedApiClient(
            emulator.api_key,
            video_api.Configuration(host=emulator.url, timeout=(2.0, 1.0), retries=0),
        )
    )
    renewing = threading.Thread(target=lambda: raised_by(lambda: videos(client)))
    renewing.start()
    try:
        assert wait_for(lambda: emulator.count("/auth/api-key") == 1, timeout=2.0)
        assert in_child(lambda: str(videos(client).status), timeout=5.0) == "200"
    finally:
        renewing.join(5.0)
    assert emulator.count("/auth/api-key") == 2


def raised_by(action: Callable[[], Any]) -> Optional[BaseException]:
    try:
        action()
    except Exception as error:
        return error
    return None


# -- persistence ----------------------------------------------------------------------------


def test_on_token_gives_a_json_ready_dict_that_a_second_client_reuses(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """on_token gets {access_token, refresh_token, expires_at, renew_before} on every new
    token; a client built with ``Configuration(token=saved, api_key=...)`` uses it without
    /auth/api-key."""
    saved: List[SavedToken] = []
    first = open_client(stack, emulator, api_key=emulator.api_key, on_token=saved.append)
    videos(first)
    manager(first).force_refresh()
    assert len(saved) == 2
    for token in saved:
        assert set(token) == {"access_token", "refresh_token", "expires_at", "renew_before"}
        assert token["renew_before"] == 60  # min(60 s, 10 % of the 3600 s lifetime)
        assert json.loads(json.dumps(token)) == token
        assert time.time() + 3000 < token["expires_at"] <= time.time() + 3600
    assert saved[0]["refresh_token"] != saved[1]["refresh_token"]
    assert manager(first).expires_at == saved[1]["expires_at"]

    emulator.clear()
    restored = json.loads(json.dumps(saved[1]))
    second = open_client(stack, emulator, api_key=emulator.api_key, token=restored)
    assert manager(second).state is TokenState.FRESH
    assert manager(second).expires_at == saved[1]["expires_at"]
    videos(second)
    assert [r.path for r in emulator.requests] == ["/videos"]
    assert bearer_of(emulator.requests[0]) == saved[1]["access_token"]


@pytest.mark.parametrize("with_api_key", [True, False], ids=["api-key", "token-only"])
def test_expired_saved_token_is_refreshed_with_its_refresh_token(
    emulator: Emulator, stack: contextlib.ExitStack, with_api_key: bool
) -> None:
    """A saved token whose expires_at has passed is renewed with its refresh token on first
    use (no /auth/api-key, no failed call), and the new token is what gets sent."""
    saved: List[SavedToken] = []
    videos(open_client(stack, emulator, api_key=emulator.api_key, on_token=saved.append))
    emulator.clear()
    expired = dict(saved[0], expires_at=time.time() - 60)
    extra = {"api_key": emulator.api_key} if with_api_key else {}
    client = open_client(stack, emulator, token=expired, on_token=saved.append, **extra)
    assert manager(client).state is TokenState.INVALID
    videos(client)
    assert [r.path for r in emulator.requests] == ["/auth/refresh", "/videos"]
    assert refresh_tokens_sent(emulator) == [saved[0]["refresh_token"]]
    assert bearer_of(emulator.requests[1]) == saved[1]["access_token"] != saved[0]["access_token"]


def test_restored_token_close_to_expiry_is_renewed_before_use(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """A saved token with 30 s left, inside its 60 s renewal margin, is STALE when restored:
    the first call refreshes it with its refresh token, then sends the new one."""
    clock = FakeClock()
    saved: List[SavedToken] = []
    videos(open_client(stack, emulator, api_key=emulator.api_key, on_token=saved.append))
    emulator.clear()
    almost_expired = dict(saved[0], expires_at=clock.time() + MARGIN / 2)
    client = open_client(
        stack, emulator, api_key=emulator.api_key, token=almost_expired, on_token=saved.append
    )
    auth = clocked(client, clock)
    assert auth.state is TokenState.STALE
    assert auth.expires_at == almost_expired["expires_at"]
    videos(client)
    assert [r.path for r in emulator.requests] == ["/auth/refresh", "/videos"]
    assert refresh_tokens_sent(emulator) == [saved[0]["refresh_token"]]
    assert bearer_of(emulator.requests[1]) == saved[1]["access_token"]


# -- secrets ---------------------------------------------------------------------------------


class _FormattingHandler(logging.Handler):
    """Keeps every record as a handler on the root logger would print it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(
            logging.Formatter("%(asctime)s %(name)s %(levelname)s %(pathname)s: %(message)s")
        )
        self.lines: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _explain(error: BaseException) -> str:
    return "".join([str(error), repr(error), *traceback.format_exception(type(error), error, None)])


def test_secrets_stay_out_of_logs_exceptions_and_reprs(
    stack: contextlib.ExitStack, caplog: pytest.LogCaptureFixture
) -> None:
    """With every logger at DEBUG, the whole lifecycle (login, refresh, 401 replay, refused and
    lost refreshes, retries, persistent 401, refused key, HTTP Basic accepted and refused,
    static and saved tokens, the API methods) logs no API key (plain or base64 in a Basic
    header), access token or refresh token; nor do the exceptions raised or the reprs of
    clients, configurations and token managers."""
    caplog.set_level(logging.DEBUG)
    for name in ("video_api", "urllib3"):
        caplog.set_level(logging.DEBUG, logger=name)
    handler = _FormattingHandler()
    logging.getLogger().addHandler(handler)
    stack.callback(logging.getLogger().removeHandler, handler)

    key, wrong = "key-" + secrets.token_hex(16), "wrong-" + secrets.token_hex(16)
    emulator = start(stack, api_keys=(key,))
    saved: List[SavedToken] = []
    errors: List[BaseException] = []
    client = stack.enter_context(
        video_api.AuthenticatedApiClient(
            key, video_api.Configuration(host=emulator.url, timeout=TIMEOUT, on_token=saved.append)
        )
    )
    auth = manager(client)
    videos(client)  # login
    auth.force_refresh()  # refresh
    emulator.revoke()
    videos(client)  # 401, refresh, replay
    emulator.add_fault("/auth/refresh", Fault.status(400))
    auth.force_refresh()  # refused refresh, back to the API key
    emulator.add_fault("/auth/refresh", Fault.reset_after_body())
    auth.force_refresh()  # lost refresh, back to the API key
    emulator.add_fault("/videos", Fault.status(503))
    videos(client)  # a retry
    emulator.add_fault("/videos", Fault.status(401), times=2)
    with pytest.raises(UnauthorizedException) as unauthorized:
        videos(client)
    errors.append(unauthorized.value)

    refused = stack.enter_context(
        video_api.AuthenticatedApiClient(
            wrong, video_api.Configuration(host=emulator.url, timeout=TIMEOUT)
        )
    )
    with pytest.raises(AuthenticationError) as refused_key:
        videos(refused)
    errors.append(refused_key.value)

    basic_client = open_client(stack, emulator, api_key=key)
    basic_client.call_api("/videos", "GET", auth_settings=API_KEY_SCHEME)  # HTTP Basic
    wrong_basic = open_client(stack, emulator, api_key=wrong)
    with pytest.raises(UnauthorizedException) as basic_refused:
        wrong_basic.call_api("/videos", "GET", auth_settings=API_KEY_SCHEME)
    errors.append(basic_refused.value)

    static = open_client(stack, emulator, access_token=saved[-1]["access_token"])
    videos(static)
    emulator.revoke()
    with pytest.raises(UnauthorizedException) as static_refused:
        videos(static)
    errors.append(static_refused.value)

    restored = open_client(
        stack, emulator, api_key=key, token=dict(saved[-1], expires_at=0), on_token=saved.append
    )
    videos(restored)  # expired saved token, refreshed

    api = AuthenticationApi(client)
    issued = api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=key)).body
    renewed = api.p_ost_auth_refresh(body=RefreshTokenPayload(refresh_token=issued.refresh_token))
    with pytest.raises(BadRequestException) as bad_refresh:
        api.p_ost_auth_refresh(body=RefreshTokenPayload(refresh_token=issued.refresh_token))
    errors.append(bad_refresh.value)

    found: Dict[str, str] = {
        key: "API key",
        wrong: "wrong API key",
        basic(key).partition(" ")[2]: "API key as Basic credentials",
        basic(wrong).partition(" ")[2]: "wrong API key as Basic credentials",
    }
    for token in [*saved, issued, renewed.body]:
        found[token["access_token"]] = "access token"
        found[token["refresh_token"]] = "refresh token"
    schemes = set()
    for request in emulator.requests:
        scheme, _, credentials = (request.headers.get("Authorization") or "").partition(" ")
        if scheme == "Bearer":
            found[credentials] = "access token"
        elif scheme == "Basic":
            assert credentials in found, "Basic credentials of an unexpected key"
        schemes.add(scheme)
        if request.body:
            for name, value in request.json().items():
                found[value] = name
    assert schemes == {"", "Basic", "Bearer"}
    assert len([kind for kind in found.values() if kind == "access token"]) >= 8
    assert len(found) >= 22

    texts: Dict[str, str] = {}
    for index, line in enumerate(handler.lines):
        texts[f"root handler line {index}"] = line
    for index, record in enumerate(caplog.records):
        texts[f"caplog record {index}"] = f"{record.getMessage()} {vars(record)!r}"
    for index, error in enumerate(errors):
        texts[f"exception {index} ({type(error).__name__})"] = _explain(error)
    for index, each in enumerate([client, refused, basic_client, wrong_basic, static, restored]):
        texts[f"client {index}"] = f"{each!r} {each.configuration!r} {manager(each)!r}"
    texts["API facade"] = f"{api!r} {issued!r} {renewed.body!r}"

    assert any("/auth/refresh" in line for line in handler.lines), "nothing was logged"
    assert any("/videos" in line and "retry" in line for line in handler.lines)
    leaks = [
        f"{kind} in {where}"
        for where, text in texts.items()
        for secret, kind in found.items()
        if secret in text
    ]
    assert leaks == []

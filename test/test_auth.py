"""The token lifecycle for ``bearerAuth`` calls, tested over real HTTP against the emulator.

Covers ``Configuration(api_key=/access_token=/token=/on_token=)``, ``AuthenticatedApiClient``,
``ApiClient.call_api`` with ``auth_settings=["bearerAuth"]`` and ``video_api.auth.TokenManager``:
first use, renewal before expiry, one renewing thread, refresh-token rotation, fallback to the
API key, one replay on a 401, readable state, persistence, and secrets kept out of logs,
exceptions and reprs. Token lifetimes are a few seconds, so every run is bounded in time.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import secrets
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest

import video_api
from video_api.api_client import ApiResponse
from video_api.apis.tags.authentication_api import AuthenticationApi
from video_api.auth import TokenManager, TokenState
from video_api.exceptions import (
    ApiException,
    AuthenticationError,
    BadRequestException,
    UnauthorizedException,
)
from video_api.model.authenticate_payload import AuthenticatePayload
from video_api.model.refresh_token_payload import RefreshTokenPayload
from video_api.testing import Emulator, Fault, RecordedRequest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = (2.0, 5.0)
BEARER = ["bearerAuth"]
SavedToken = Dict[str, Any]


# -- helpers -------------------------------------------------------------------------------


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


def refresh_tokens_sent(emulator: Emulator) -> List[str]:
    return [r.json()["refreshToken"] for r in sent(emulator, "/auth/refresh")]


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.005) -> bool:
    """Poll ``predicate`` until true or ``timeout``; used where only time passing will do."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)
    return True


# -- construction and the bearer header ---------------------------------------------------


def test_configuration_without_credentials_has_no_token_manager(emulator: Emulator) -> None:
    """No credential, no lifecycle: a bearerAuth call goes out without Authorization and the
    401 surfaces as UnauthorizedException; no auth endpoint is called behind the user's back."""
    with video_api.ApiClient(video_api.Configuration(host=emulator.url)) as client:
        assert client.auth is None
        with pytest.raises(UnauthorizedException) as caught:
            client.call_api("/videos", "GET", auth_settings=BEARER)
    assert caught.value.status == 401
    assert [r.path for r in emulator.requests] == ["/videos"]
    assert emulator.requests[0].headers.get("Authorization") is None


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
    # Without auth_settings the token is not sent.
    with pytest.raises(UnauthorizedException):
        client.call_api("/videos", "GET")
    assert emulator.requests[-1].headers.get("Authorization") is None


def test_authenticated_api_client_is_an_api_client(emulator: Emulator) -> None:
    """``AuthenticatedApiClient(api_key, configuration, environment)`` is the short form of
    ``ApiClient(Configuration(api_key=...))``: an ApiClient that authenticates on first use."""
    configuration = video_api.Configuration(host=emulator.url, timeout=TIMEOUT)
    with video_api.AuthenticatedApiClient(emulator.api_key, configuration) as client:
        assert isinstance(client, video_api.ApiClient)
        assert client.configuration is configuration
        videos(client)
    assert [r.path for r in emulator.requests] == ["/auth/api-key", "/videos"]
    assert bearer_of(emulator.requests[1])
    production = video_api.AuthenticatedApiClient("key-without-network")
    sandbox = video_api.AuthenticatedApiClient("key-without-network", environment="sandbox")
    assert production.configuration.host == "https://ws.api.video"
    assert sandbox.configuration.host == "https://sandbox.api.video"
    assert isinstance(production.auth, TokenManager)


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
    videos(client)
    assert [bearer_of(r) for r in emulator.requests] == [token.access_token] * 2
    emulator.revoke()
    with pytest.raises(UnauthorizedException):
        videos(client)
    assert [r.path for r in emulator.requests] == ["/videos"] * 3


# -- state, expiry, force_refresh ---------------------------------------------------------


def test_state_goes_invalid_fresh_stale_and_force_refresh_renews_once(
    stack: contextlib.ExitStack,
) -> None:
    """INVALID before first use, FRESH after, STALE shortly before expiry (at 90 % of a 2 s
    lifetime); a call then refreshes with the current refresh token; force_refresh() sends
    exactly one /auth/refresh. ``expires_at`` is epoch seconds."""
    emulator = start(stack, token_lifetime=2)
    saved: List[SavedToken] = []
    client = open_client(stack, emulator, api_key=emulator.api_key, on_token=saved.append)
    auth = manager(client)
    assert auth.state is TokenState.INVALID and not auth.is_fresh and auth.expires_at is None

    videos(client)
    obtained = time.monotonic()
    assert auth.state is TokenState.FRESH and auth.is_fresh
    assert auth.expires_at is not None
    assert time.time() + 1.0 < auth.expires_at <= time.time() + 2.0
    assert wait_for(lambda: auth.state is not TokenState.FRESH, timeout=3.0)
    assert auth.state is TokenState.STALE, "the token went from FRESH straight to INVALID"
    assert not auth.is_fresh
    assert 1.5 <= time.monotonic() - obtained < 2.0
    assert emulator.count("/auth/refresh") == 0  # nothing happens until the next call

    videos(client)  # the stale token is renewed on demand
    assert refresh_tokens_sent(emulator) == [saved[0]["refresh_token"]]
    assert bearer_of(sent(emulator, "/videos")[-1]) == saved[1]["access_token"]
    assert auth.state is TokenState.FRESH

    before = auth.expires_at
    auth.force_refresh()
    assert refresh_tokens_sent(emulator) == [saved[0]["refresh_token"], saved[1]["refresh_token"]]
    assert emulator.count("/auth/api-key") == 1
    assert auth.state is TokenState.FRESH and auth.expires_at >= before
    videos(client)
    assert bearer_of(sent(emulator, "/videos")[-1]) == saved[2]["access_token"]


def test_one_second_lifetime_does_not_hot_loop(stack: contextlib.ExitStack) -> None:
    """With a 1 s token, about 3 s of back-to-back calls need a handful of refreshes, not one
    per call: the renewal margin shrinks with the lifetime."""
    emulator = start(stack, token_lifetime=1)
    client = open_client(stack, emulator, api_key=emulator.api_key)
    calls, deadline = 0, time.monotonic() + 3.0
    while time.monotonic() < deadline and calls < 20_000:
        videos(client)
        calls += 1
    assert calls > 20
    assert emulator.count("/auth/api-key") == 1
    assert 2 <= emulator.count("/auth/refresh") <= 5
    assert emulator.refresh_token_reuses == 0


def test_threads_keep_a_stale_token_while_one_refreshes_and_wait_once_it_expired(
    stack: contextlib.ExitStack,
) -> None:
    """While one thread's refresh is in flight, another thread with a still-valid (STALE) token
    uses it without waiting; a thread whose token has expired waits for that refresh and uses
    its result, and no second refresh is sent."""
    emulator = start(stack, token_lifetime=2)
    saved: List[SavedToken] = []
    client = open_client(stack, emulator, api_key=emulator.api_key, on_token=saved.append)
    auth = manager(client)
    videos(client)
    assert wait_for(lambda: auth.state is not TokenState.FRESH, timeout=3.0)
    assert auth.state is TokenState.STALE
    emulator.add_fault("/auth/refresh", Fault.stall(0.8))

    outcome: Dict[str, Any] = {}

    def renewing_caller() -> None:
        try:
            outcome["response"] = videos(client)
        except Exception as error:  # reported by the assertion below
            outcome["error"] = error

    renewer = threading.Thread(target=renewing_caller)
    renewer.start()
    try:
        assert wait_for(lambda: emulator.count("/auth/refresh") == 1, timeout=1.0)
        videos(client)  # STALE and the refresh is busy: keep the old token, do not wait
        assert renewer.is_alive() and len(saved) == 1, "the call waited for the refresh"
        assert bearer_of(sent(emulator, "/videos")[-1]) == saved[0]["access_token"]

        assert wait_for(lambda: auth.state is TokenState.INVALID, timeout=1.0)
        assert len(saved) == 1, "the refresh finished before the token expired"
        videos(client)  # INVALID: wait for the refresh in flight and use its token
    finally:
        renewer.join(5.0)
    assert not renewer.is_alive()
    assert "error" not in outcome, outcome.get("error")
    assert len(saved) == 2
    assert bearer_of(sent(emulator, "/videos")[-1]) == saved[1]["access_token"]
    assert refresh_tokens_sent(emulator) == [saved[0]["refresh_token"]]
    assert emulator.count("/auth/api-key") == 1


def test_sixteen_threads_share_one_client_over_several_lifetimes(
    stack: contextlib.ExitStack,
) -> None:
    """16 threads calling GET /videos through one client for ~5 s of 2 s tokens: no call fails,
    one /auth/api-key, at most one refresh per lifetime (+1), and no refresh token twice."""
    lifetime, duration, threads, max_calls = 2, 5.0, 16, 5_000
    emulator = start(stack, token_lifetime=lifetime)
    client = open_client(stack, emulator, api_key=emulator.api_key)
    barrier = threading.Barrier(threads)
    calls = [0] * threads
    failures: List[str] = []
    deadline: List[float] = []

    def worker(index: int) -> None:
        try:
            if barrier.wait(timeout=10.0) == 0:
                deadline.append(time.monotonic() + duration)
            barrier.wait(timeout=10.0)
            while calls[index] < max_calls and time.monotonic() < deadline[0]:
                try:
                    videos(client)
                except Exception as error:
                    failures.append(f"{type(error).__name__}: {error}")
                calls[index] += 1
        except threading.BrokenBarrierError as error:
            failures.append(repr(error))

    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(duration + 30.0)
    elapsed = time.monotonic() - started
    assert not any(thread.is_alive() for thread in pool)

    refreshes = refresh_tokens_sent(emulator)
    lifetimes = elapsed / lifetime
    stats = {
        "calls": sum(calls),
        "failures": len(failures),
        "api_key_requests": emulator.count("/auth/api-key"),
        "refresh_requests": len(refreshes),
        "videos_requests": emulator.count("/videos"),
        "lifetimes": round(lifetimes, 2),
        "elapsed_s": round(elapsed, 2),
    }
    print(f"16-thread token lifecycle: {stats}")
    assert failures == [], failures[:5]
    assert min(calls) > 0
    assert stats["api_key_requests"] == 1
    assert math.floor(lifetimes) <= len(refreshes) <= math.ceil(lifetimes) + 1
    assert emulator.refresh_token_reuses == 0
    assert len(set(refreshes)) == len(refreshes)


def test_the_client_starts_no_thread(tmp_path: Path) -> None:
    """Renewal happens on demand in the calling thread: using the client, through an expiry
    and a force_refresh(), adds no thread to the process (the emulator runs in a subprocess,
    so any new thread here would be the client's)."""
    key = "key-" + secrets.token_hex(8)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "video_api.testing", "--token-lifetime", "1", "--api-key", key],
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
        with video_api.AuthenticatedApiClient(key, configuration) as client:
            auth = manager(client)
            videos(client)
            assert wait_for(lambda: auth.state is not TokenState.FRESH, timeout=2.0)
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


def test_refused_api_key_raises_authentication_error_once_per_call(
    emulator: Emulator, stack: contextlib.ExitStack
) -> None:
    """A wrong API key raises AuthenticationError (a BadRequestException) saying the key was
    refused, with the server's problem; each call sends exactly one /auth/api-key request."""
    wrong = "wrong-" + secrets.token_hex(16)
    client = stack.enter_context(
        video_api.AuthenticatedApiClient(
            wrong, video_api.Configuration(host=emulator.url, timeout=TIMEOUT)
        )
    )
    for call in (1, 2):
        with pytest.raises(AuthenticationError) as caught:
            client.call_api("/videos", "GET", auth_settings=BEARER)
        error = caught.value
        assert isinstance(error, BadRequestException) and isinstance(error, ApiException)
        assert error.status == 400
        assert "API key was refused" in str(error)
        assert error.problem is not None
        assert error.problem.title == "The user credentials were incorrect."
        assert wrong not in str(error) and wrong not in repr(error)
        assert emulator.count("/auth/api-key") == call
    assert emulator.count("/videos") == 0
    assert manager(client).state is TokenState.INVALID
    with pytest.raises(AuthenticationError):
        manager(client).force_refresh()
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
    lost refreshes, retries, persistent 401, refused key, static and saved tokens, the API
    methods) logs no API key, access token or refresh token; nor do the exceptions raised or
    the reprs of clients, configurations and token managers."""
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

    found: Dict[str, str] = {key: "API key", wrong: "wrong API key"}
    for token in [*saved, issued, renewed.body]:
        found[token["access_token"]] = "access token"
        found[token["refresh_token"]] = "refresh token"
    for request in emulator.requests:
        if request.headers.get("Authorization"):
            found[bearer_of(request)] = "access token"
        if request.body:
            for name, value in request.json().items():
                found[value] = name
    assert len([kind for kind in found.values() if kind == "access token"]) >= 8
    assert len(found) >= 20

    texts: Dict[str, str] = {}
    for index, line in enumerate(handler.lines):
        texts[f"root handler line {index}"] = line
    for index, record in enumerate(caplog.records):
        texts[f"caplog record {index}"] = f"{record.getMessage()} {vars(record)!r}"
    for index, error in enumerate(errors):
        texts[f"exception {index} ({type(error).__name__})"] = _explain(error)
    for index, each in enumerate([client, refused, static, restored]):
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

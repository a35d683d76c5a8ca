"""A bounded soak: many threads, many calls, a tenth of them faulted. Every call ends in a
success or a documented exception, no thread hangs, no socket leaks, no refresh token is
ever replayed, and the client still works afterwards."""

from __future__ import annotations

import collections
import os
import threading
import time
from typing import Counter, Dict, List, Optional, Set

import pytest

import video_api
from video_api.apis.tags.authentication_api import AuthenticationApi
from video_api.exceptions import ApiException, BadRequestException
from video_api.model.access_token import AccessToken
from video_api.model.authenticate_payload import AuthenticatePayload
from video_api.model.refresh_token_payload import RefreshTokenPayload
from video_api.testing import Emulator, Fault

THREADS = 8
CALLS_PER_THREAD = 500
FAULTS = [
    Fault.status(503),
    Fault.rate_limited("0"),
    Fault.body(b"not json"),
    Fault.html(),
    Fault.truncated(),
    Fault.reset_before_body(),
    Fault.status(500),
]


def socket_inodes() -> Set[str]:
    """The inodes of this process's open sockets, from /proc/self/fd."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed between listdir and readlink
            continue
        if target.startswith("socket:["):
            found.add(target[len("socket:[") : -1])
    return found


def client_side_sockets(port: int) -> int:
    """This process's TCP sockets connected *to* ``port`` (the client's, not the server's)."""
    ours = socket_inodes()
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            with open(table) as rows:
                next(rows)
                for row in rows:
                    fields = row.split()
                    remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                    if remote_port == port and fields[9] in ours:
                        count += 1
        except FileNotFoundError:
            continue
    return count


def settle(baseline: int, deadline: float) -> int:
    """This process's socket count once the emulator's handler threads have seen their
    clients go (they close asynchronously), waiting at most until ``deadline``."""
    count = len(socket_inodes())
    while count > baseline and time.monotonic() < deadline:
        time.sleep(0.05)
        count = len(socket_inodes())
    return count


@pytest.mark.slow  # seconds long: the quick run leaves it out
def test_soak_under_fault_mix() -> None:
    """8 threads x 500 calls, both operations, 10 % faults: all outcomes documented."""
    with Emulator() as emulator:
        baseline = len(socket_inodes())  # the emulator's own, before any client connects
        emulator.fault_mix(0.10, FAULTS, seed=1)
        config = video_api.Configuration(host=emulator.url, timeout=(2.0, 5.0))
        client = video_api.ApiClient(config)
        api = AuthenticationApi(client)
        successes = [0] * THREADS
        errors: List[Counter[str]] = [collections.Counter() for _ in range(THREADS)]
        undocumented: List[BaseException] = []
        bad_requests: List[BadRequestException] = []

        def work(index: int) -> None:
            """Refresh while holding a refresh token; get a new pair with the API key when not."""
            refresh_token: Optional[str] = None
            for _ in range(CALLS_PER_THREAD):
                try:
                    if refresh_token is None:
                        body = AuthenticatePayload(api_key=emulator.api_key)
                        response = api.p_ost_auth_api_key(body=body)
                    else:
                        body = RefreshTokenPayload(refresh_token=refresh_token)
                        # A failed refresh may have spent the token: never send it again.
                        refresh_token = None
                        response = api.p_ost_auth_refresh(body=body)
                except ApiException as error:
                    errors[index][type(error).__name__] += 1
                    if isinstance(error, BadRequestException):
                        bad_requests.append(error)
                except BaseException as error:  # recorded, then reported by the assertions
                    undocumented.append(error)
                else:
                    if not isinstance(response.body, AccessToken):
                        undocumented.append(TypeError(f"success without a token: {response!r}"))
                    refresh_token = response.body.refresh_token
                    successes[index] += 1

        started = time.monotonic()
        threads = [
            threading.Thread(target=work, args=(i,), name=f"soak-{i}", daemon=True)
            for i in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(0.0, started + 120 - time.monotonic()))
        wall = time.monotonic() - started
        hung = [thread.name for thread in threads if thread.is_alive()]

        by_class: Dict[str, int] = sum(errors, collections.Counter())
        calls = THREADS * CALLS_PER_THREAD
        print(
            f"\nsoak: {calls} calls, {emulator.count()} requests, "
            f"{emulator.faults_injected} faults injected, {sum(successes)} successes, "
            f"exceptions {dict(sorted(by_class.items()))}, wall {wall:.1f} s"
        )
        assert not hung, f"threads still running after 120 s: {hung}"
        assert undocumented == []
        assert sum(successes) + sum(by_class.values()) == calls
        # Faults are injected at about the configured rate, and most calls survive them.
        assert 0.05 * emulator.count() < emulator.faults_injected < 0.15 * emulator.count()
        assert sum(successes) > 0.8 * calls
        # No fault in the mix spends a refresh token, so a refused refresh would mean a replay.
        assert emulator.refresh_token_reuses == 0
        assert bad_requests == []

        # Still usable: a clean call succeeds on the same client.
        emulator.fault_mix(0, [])
        emulator.clear()
        clean = api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
        assert isinstance(clean.body, AccessToken)
        assert clean.retries == 0 and emulator.count() == 1

        # No leak: pooled connections are bounded by the pool, and close() releases them all.
        assert 0 < client_side_sockets(emulator.port) <= config.connection_pool_maxsize
        client.close()
        assert client_side_sockets(emulator.port) == 0
        # The emulator's ends close as its handler threads notice; give them a bounded moment.
        assert settle(baseline + 2, time.monotonic() + 5) <= baseline + 2

"""Tests of the api.video emulator itself, spoken to with the stdlib HTTP client only."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from video_api.testing import Emulator, Fault

pytest_plugins = ["video_api.testing.pytest_plugin"]

DOCS = "https://docs.api.video/docs/"
ROOT = Path(__file__).resolve().parent.parent


def call(
    emulator: Emulator,
    method: str,
    path: str,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request on a fresh connection: status, headers, body."""
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=5)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def post(emulator: Emulator, path: str, payload: Any) -> tuple[int, Any]:
    status, _, body = call(emulator, "POST", path, json.dumps(payload))
    return status, json.loads(body)


def login(emulator: Emulator) -> dict[str, Any]:
    status, tokens = post(emulator, "/auth/api-key", {"apiKey": emulator.api_key})
    assert status == 200
    return tokens  # type: ignore[no-any-return]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def videos(emulator: Emulator, token: str) -> int:
    return call(emulator, "GET", "/videos", headers=bearer(token))[0]


def test_api_key_issues_bearer_tokens(video_api_emulator: Emulator) -> None:
    status, headers, body = call(
        video_api_emulator, "POST", "/auth/api-key", '{"apiKey": "demo-api-key"}'
    )
    tokens = json.loads(body)
    assert (status, headers["Content-Type"]) == (200, "application/json")
    assert headers["Content-Length"] == str(len(body))
    assert tokens["expires_in"] == 3600 and tokens["token_type"] == "Bearer"
    assert tokens["access_token"] != tokens["refresh_token"]
    assert video_api_emulator.tokens_issued == 1


def test_unknown_api_key_is_rejected(video_api_emulator: Emulator) -> None:
    assert post(video_api_emulator, "/auth/api-key", {"apiKey": "nope"}) == (
        400,
        {
            "type": DOCS + "authenticationinvalid_credentials",
            "title": "The user credentials were incorrect.",
            "name": "",
            "status": 400,
        },
    )


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("{}", "attributerequired"),
        ('{"apiKey": 5}', "attributeinvalid"),
        ("[]", "attributeinvalid"),
        ("{", "attributeinvalid"),
    ],
)
def test_api_key_body_is_validated(video_api_emulator: Emulator, body: str, kind: str) -> None:
    status, _, raw = call(video_api_emulator, "POST", "/auth/api-key", body)
    problem = json.loads(raw)
    assert (status, problem["type"], problem["name"], problem["status"]) == (
        400,
        DOCS + kind,
        "apiKey",
        400,
    )
    assert video_api_emulator.tokens_issued == 0


def test_refresh_rotates_tokens_and_counts_reuse(video_api_emulator: Emulator) -> None:
    first = login(video_api_emulator)
    status, second = post(
        video_api_emulator, "/auth/refresh", {"refreshToken": first["refresh_token"]}
    )
    assert status == 200
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert videos(video_api_emulator, first["access_token"]) == 200  # not revoked by the refresh
    assert videos(video_api_emulator, second["access_token"]) == 200

    assert post(video_api_emulator, "/auth/refresh", {"refreshToken": first["refresh_token"]}) == (
        400,
        {
            "type": DOCS + "authenticationinvalid_refresh_token",
            "title": "The refresh token is invalid.",
            "name": "refreshToken",
            "status": 400,
        },
    )
    assert video_api_emulator.refresh_token_reuses == 1
    assert post(video_api_emulator, "/auth/refresh", {"refreshToken": "never-issued"})[0] == 400
    assert video_api_emulator.refresh_token_reuses == 1  # unknown is not a reuse


def test_videos_answers_an_empty_page(video_api_emulator: Emulator) -> None:
    token = login(video_api_emulator)["access_token"]
    status, headers, body = call(video_api_emulator, "GET", "/videos", headers=bearer(token))
    assert (status, headers["Content-Type"]) == (200, "application/json")
    assert json.loads(body) == {
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


@pytest.mark.parametrize("authorization", [None, "Bearer", "Token abc", "Bearer unknown"])
def test_videos_rejects_bad_authorization(
    video_api_emulator: Emulator, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    status, response_headers, body = call(video_api_emulator, "GET", "/videos", headers=headers)
    assert (status, response_headers["WWW-Authenticate"]) == (401, "Bearer")
    assert json.loads(body)["type"] == DOCS + "authenticationinvalid_token"


def test_access_tokens_expire() -> None:
    with Emulator(token_lifetime=1) as emulator:
        tokens = login(emulator)
        assert tokens["expires_in"] == 1
        assert videos(emulator, tokens["access_token"]) == 200
        time.sleep(1.05)
        status, _, body = call(emulator, "GET", "/videos", headers=bearer(tokens["access_token"]))
        assert (status, json.loads(body)["title"]) == (401, "The access token expired.")


def test_revoke_one_or_all(video_api_emulator: Emulator) -> None:
    a, b, c = (login(video_api_emulator)["access_token"] for _ in range(3))
    video_api_emulator.revoke(a)
    assert [videos(video_api_emulator, t) for t in (a, b, c)] == [401, 200, 200]
    video_api_emulator.revoke()
    assert [videos(video_api_emulator, t) for t in (b, c)] == [401, 401]


def test_unknown_path_wrong_method_and_problem_content_type() -> None:
    with Emulator(problem_content_type="application/problem+json") as emulator:
        answers = [
            call(emulator, "GET", "/nope"),
            call(emulator, "GET", "/auth/api-key"),
            call(emulator, "POST", "/auth/api-key", '{"apiKey": "x"}'),
            call(emulator, "POST", "/auth/api-key", '{"apiKey": "demo-api-key"}'),
        ]
    assert [(status, headers["Content-Type"]) for status, headers, _ in answers] == [
        (404, "application/problem+json"),
        (405, "application/problem+json"),
        (400, "application/problem+json"),
        (200, "application/json"),
    ]
    assert json.loads(answers[0][2])["status"] == 404 and answers[1][1]["Allow"] == "POST"


def test_connections_are_kept_alive(video_api_emulator: Emulator) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", video_api_emulator.port, timeout=5)
    sockets = []
    for _ in range(3):
        connection.request("GET", "/videos")
        response = connection.getresponse()
        response.read()
        assert response.status == 401 and response.getheader("Connection") is None
        sockets.append(connection.sock)
    connection.close()
    assert sockets[0] is sockets[1] is sockets[2] is not None


def test_requests_are_recorded_and_counted(video_api_emulator: Emulator) -> None:
    body = b'{"apiKey":  "demo-api-key"}'
    call(video_api_emulator, "POST", "/auth/api-key?x=1", body, {"X-Trace": "t1"})
    call(video_api_emulator, "GET", "/videos")
    first = video_api_emulator.requests[0]
    assert (first.method, first.path, first.body) == ("POST", "/auth/api-key?x=1", body)
    assert first.headers.get("x-trace") == "t1" and first.json() == {"apiKey": "demo-api-key"}
    assert video_api_emulator.count() == 2
    assert (
        video_api_emulator.count("/auth/api-key")
        == video_api_emulator.count("/auth/api-key?x=1")
        == 1
    )
    assert (
        video_api_emulator.count(method="get") == 1
        and video_api_emulator.count("/videos", "POST") == 0
    )
    video_api_emulator.clear()
    assert (video_api_emulator.requests, video_api_emulator.tokens_issued) == ([], 0)


def test_queued_faults_apply_in_order_then_stop(video_api_emulator: Emulator) -> None:
    token = login(video_api_emulator)["access_token"]
    video_api_emulator.add_fault("/videos", Fault.status(503), times=2)
    video_api_emulator.add_fault("/videos", Fault.html())
    answers = [
        call(video_api_emulator, "GET", "/videos?x=1", headers=bearer(token)) for _ in range(4)
    ]
    assert [status for status, _, _ in answers] == [503, 503, 502, 200]
    assert answers[0][1]["Content-Type"] == "application/problem+json"
    assert json.loads(answers[0][2]) == {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
    }
    assert (
        answers[2][1]["Content-Type"] == "text/html"
        and b"<h1>502 Bad Gateway</h1>" in answers[2][2]
    )
    assert video_api_emulator.faults_injected == 3 and video_api_emulator.count("/videos") == 4


def test_status_and_body_faults_answer_as_told(video_api_emulator: Emulator) -> None:
    video_api_emulator.add_fault(
        "/auth/api-key", Fault.status(400, {"title": "x"}, "application/json", {"X-Id": "7"})
    )
    video_api_emulator.add_fault(
        "/auth/api-key", Fault.body(b'{"access_token": 1', content_type="text/plain")
    )
    status, headers, body = call(
        video_api_emulator, "POST", "/auth/api-key", '{"apiKey": "demo-api-key"}'
    )
    assert (status, headers["X-Id"], headers["Content-Type"], body) == (
        400,
        "7",
        "application/json",
        b'{"title": "x"}',
    )
    status, headers, body = call(
        video_api_emulator, "POST", "/auth/api-key", '{"apiKey": "demo-api-key"}'
    )
    assert (status, headers["Content-Type"], body) == (200, "text/plain", b'{"access_token": 1')
    assert video_api_emulator.tokens_issued == 0  # faulted requests are not processed


@pytest.mark.parametrize(
    ("header", "value"),
    [("Retry-After", "1"), ("X-RateLimit-Retry-After", "2"), ("retry-after-ms", "1500")],
)
def test_rate_limited_sends_the_retry_header(
    video_api_emulator: Emulator, header: str, value: str
) -> None:
    video_api_emulator.add_fault("/videos", Fault.rate_limited(value, header))
    video_api_emulator.add_fault("/videos", Fault.rate_limited(None))
    status, headers, body = call(video_api_emulator, "GET", "/videos")
    assert (status, headers[header], json.loads(body)["status"]) == (429, value, 429)
    status, headers, _ = call(video_api_emulator, "GET", "/videos")
    assert status == 429 and headers["Retry-After"] is None


def test_truncated_body_is_detected_by_the_client(video_api_emulator: Emulator) -> None:
    video_api_emulator.add_fault("/videos", Fault.truncated())
    connection = http.client.HTTPConnection("127.0.0.1", video_api_emulator.port, timeout=5)
    connection.request("GET", "/videos")
    response = connection.getresponse()
    assert response.status == 200
    with pytest.raises(http.client.IncompleteRead) as excinfo:
        response.read()
    assert excinfo.value.partial.startswith(b'{"data": [')
    connection.close()


def test_reset_before_body_sends_rst_and_processes_nothing(video_api_emulator: Emulator) -> None:
    video_api_emulator.add_fault("/auth/api-key", Fault.reset_before_body())
    with pytest.raises(ConnectionResetError) as excinfo:
        call(video_api_emulator, "POST", "/auth/api-key", '{"apiKey": "demo-api-key"}')
    assert not isinstance(excinfo.value, http.client.RemoteDisconnected)  # a RST, not a clean close
    assert video_api_emulator.requests[0].body == b"" and video_api_emulator.tokens_issued == 0


def test_reset_after_body_consumes_the_refresh_token(video_api_emulator: Emulator) -> None:
    refresh = login(video_api_emulator)["refresh_token"]
    video_api_emulator.add_fault("/auth/refresh", Fault.reset_after_body())
    with pytest.raises(ConnectionResetError):
        post(video_api_emulator, "/auth/refresh", {"refreshToken": refresh})
    assert video_api_emulator.requests[-1].json() == {"refreshToken": refresh}
    assert post(video_api_emulator, "/auth/refresh", {"refreshToken": refresh})[0] == 400
    assert video_api_emulator.refresh_token_reuses == 1


def test_stall_delays_the_answer(video_api_emulator: Emulator) -> None:
    video_api_emulator.add_fault("/videos", Fault.stall(0.3))
    started = time.monotonic()
    assert call(video_api_emulator, "GET", "/videos")[0] == 401
    assert time.monotonic() - started >= 0.3


def test_stop_interrupts_stalls_and_idle_connections() -> None:
    emulator = Emulator().start()
    idle = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=5)
    idle.request("GET", "/videos")
    idle.getresponse().read()
    emulator.add_fault("/videos", Fault.stall(30))
    errors: list[BaseException] = []

    def stalled_call() -> None:
        try:
            call(emulator, "GET", "/videos")
        except OSError as exc:
            errors.append(exc)

    client = threading.Thread(target=stalled_call)
    client.start()
    deadline = time.monotonic() + 5
    while emulator.count() < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    emulator.stop()
    client.join(5)
    assert time.monotonic() - started < 1 and len(errors) == 1
    emulator.stop()  # idempotent
    idle.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SO_REUSEADDR lets Windows share ports")
def test_start_on_a_busy_port_raises_oserror(video_api_emulator: Emulator) -> None:
    with pytest.raises(OSError):
        Emulator(port=video_api_emulator.port).start()


def statuses_under_mix(seed: int) -> list[int]:
    with Emulator() as emulator:
        emulator.fault_mix(
            0.5, [Fault.status(500), Fault.status(503)], seed=seed, paths=["/videos"]
        )
        token = login(emulator)["access_token"]
        result = [videos(emulator, token) for _ in range(20)]
        emulator.fault_mix(0, [])
        assert videos(emulator, token) == 200
        assert emulator.faults_injected == sum(status != 200 for status in result)
        return result


def test_fault_mix_is_seeded_and_scoped() -> None:
    first = statuses_under_mix(seed=7)
    assert first == statuses_under_mix(seed=7)  # deterministic; and the login was never faulted
    assert {500, 503, 200} == set(first)


def test_serves_https_with_an_ssl_context(tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a test certificate")
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    cert = tmp_path / "cert.pem"
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, tmp_path / "key.pem")
    with Emulator(ssl_context=server_context) as emulator:
        assert emulator.url == f"https://127.0.0.1:{emulator.port}"
        client_context = ssl.create_default_context(cafile=str(cert))
        connection = http.client.HTTPSConnection(
            "127.0.0.1", emulator.port, timeout=5, context=client_context
        )
        connection.request("POST", "/auth/api-key", '{"apiKey": "demo-api-key"}')
        assert connection.getresponse().status == 200
        connection.close()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_command_line_serves_until_sigterm() -> None:
    command = [
        sys.executable,
        "-m",
        "video_api.testing",
        "--api-key",
        "k1",
        "--token-lifetime",
        "5",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        url = proc.stdout.readline().strip().partition("=")[2]
        assert proc.stdout.readline().strip() == "VIDEO_API_KEY=k1"
        address = urllib.parse.urlsplit(url)
        assert address.scheme == "http" and address.port is not None
        connection = http.client.HTTPConnection("127.0.0.1", address.port, timeout=5)
        connection.request("POST", "/auth/api-key", '{"apiKey": "k1"}')
        assert json.loads(connection.getresponse().read())["expires_in"] == 5
        connection.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(5) == 0
        assert proc.stderr.read() == ""

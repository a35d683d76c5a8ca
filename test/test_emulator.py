"""Tests of the api.video emulator itself, spoken to with the stdlib HTTP client only."""

from __future__ import annotations

import base64
import hashlib
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import pytest
import yaml

from video_api.testing import Emulator, Fault
from video_api.testing.emulator import (
    JSON_BODY_LIMIT,
    MAX_COUNTED_PATHS,
    MAX_RECORDED,
    MAX_RECORDED_PATHS,
    MAX_RECORDED_TOTAL,
    RECORDED_BODY_LIMIT,
)

pytest_plugins = ["video_api.testing.pytest_plugin"]

REFERENCE = "https://docs.api.video/reference/"  # the problem types of openapi.yaml
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
            "type": REFERENCE + "authentication-invalid-user-credentials",
            "title": "The user credentials were incorrect.",
            "name": "",
            "status": 400,
        },
    )


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("{}", "attribute-required"),
        ('{"apiKey": 5}', "invalid-attribute"),
        ("[]", "invalid-attribute"),
        ("{", "invalid-attribute"),
    ],
)
def test_api_key_body_is_validated(video_api_emulator: Emulator, body: str, kind: str) -> None:
    status, _, raw = call(video_api_emulator, "POST", "/auth/api-key", body)
    problem = json.loads(raw)
    assert (status, problem["type"], problem["name"], problem["status"]) == (
        400,
        REFERENCE + kind,
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
            "type": REFERENCE + "authentication-invalid-user-credentials",
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
    page = f"{video_api_emulator.url}/videos?currentPage=1&pageSize=25"
    assert json.loads(body) == {
        "data": [],
        "pagination": {
            "currentPage": 1,
            "pageSize": 25,
            "pagesTotal": 0,
            "itemsTotal": 0,
            "currentPageItems": 0,
            "links": [
                {"rel": "self", "uri": page},
                {"rel": "first", "uri": page},
                {"rel": "last", "uri": page},
            ],
        },
    }


@pytest.mark.parametrize("authorization", [None, "Bearer", "Token abc", "Bearer unknown"])
def test_videos_rejects_bad_authorization(
    video_api_emulator: Emulator, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    status, response_headers, body = call(video_api_emulator, "GET", "/videos", headers=headers)
    assert (status, response_headers["WWW-Authenticate"]) == (401, "Bearer")
    assert json.loads(body)["type"] == REFERENCE + "authentication-invalid-access-token"


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


# -- every operation of openapi.yaml ---------------------------------------------------------


class SpecLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe (in C when available, for speed); timestamps stay the strings JSON has."""


SpecLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)
SPEC: dict[str, Any] = yaml.load(
    (ROOT / "openapi.yaml").read_text(encoding="utf-8"), Loader=SpecLoader
)
OPERATIONS = [
    (method.upper(), path)
    for path, item in SPEC["paths"].items()
    for method in item
    if method in ("get", "put", "post", "patch", "delete")
]
BASIC = {"Authorization": "Basic " + base64.b64encode(b"demo-api-key:").decode()}
BOUNDARY = "emulator-test-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
VIDEO_ID = re.compile(r"vi[0-9A-Za-z]{22}")
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
FORMATS = jsonschema.FormatChecker(formats=())
FORMATS.checks("uri")(lambda v: not isinstance(v, str) or bool(urllib.parse.urlsplit(v).scheme))
FORMATS.checks("date-time")(lambda v: not isinstance(v, str) or bool(RFC3339.fullmatch(v)))


def resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def json_schema(node: Any, depth: int = 0) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: references inlined, ``nullable`` as a null type."""
    node = resolve(node)
    if not isinstance(node, dict) or depth > 30:
        return node
    schema: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            schema[key] = {name: json_schema(sub, depth + 1) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            schema[key] = json_schema(value, depth + 1)
        elif key in ("allOf", "anyOf", "oneOf"):
            schema[key] = [json_schema(sub, depth + 1) for sub in value]
        elif key not in ("example", "nullable"):
            schema[key] = value
    if node.get("nullable") and "type" in schema:
        schema["type"] = [schema["type"], "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    return schema


def multipart(size: int = 16) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + b"\0" * size
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def parameter_value(parameter: dict[str, Any]) -> str:
    schema = resolve(parameter.get("schema", {}))
    if schema.get("enum"):
        return str(schema["enum"][0])
    return str(parameter.get("example", "id0123456789"))


def example(schema: Any) -> Any:
    """The schema's example, else a value of its type."""
    schema = resolve(schema)
    if "example" in schema:
        return schema["example"]
    if schema.get("enum"):
        return schema["enum"][0]
    samples = {"integer": 1, "number": 1.5, "boolean": True, "array": [], "object": {}}
    return samples.get(schema.get("type", "string"), "00:00:01.000")


def create_video(emulator: Emulator, **attributes: Any) -> dict[str, Any]:
    payload = {"title": "A video", **attributes}
    status, _, body = call(emulator, "POST", "/videos", json.dumps(payload), BASIC)
    assert status == 201
    return json.loads(body)  # type: ignore[no-any-return]


def multipart_of(content: bytes) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f.vtt"\r\n'
            f"Content-Type: text/vtt\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


VTT = b"WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nHello\n"


def created(emulator: Emulator, method: str, path: str, payload: Any = None) -> dict[str, Any]:
    """Make a resource through the API (with Basic auth) and return its JSON."""
    if payload is None:
        body, headers = multipart_of(VTT), {**BASIC, "Content-Type": MULTIPART}
    else:
        body, headers = json.dumps(payload).encode(), {**BASIC, "Content-Type": JSON_TYPE}
    status, _, raw = call(emulator, method, path, body, headers)
    assert status < 300, raw
    return json.loads(raw) if raw else {}  # type: ignore[no-any-return]


JSON_TYPE = "application/json"


def resource_ids(emulator: Emulator, template: str) -> dict[str, str]:
    """Ids of resources that exist, for each path parameter of ``template``."""
    ids: dict[str, str] = {}
    if "{videoId}" in template:
        ids["videoId"] = create_video(emulator)["videoId"]
        if template.startswith("/discarded/"):
            call(emulator, "DELETE", f"/videos/{ids['videoId']}", headers=BASIC)
        for kind in ("captions", "chapters"):
            if f"/{kind}/{{language}}" in template:
                created(emulator, "POST", f"/videos/{ids['videoId']}/{kind}/en")
    if "{liveStreamId}" in template:
        stream = created(emulator, "POST", "/live-streams", {"name": "Live"})
        ids["liveStreamId"] = stream["liveStreamId"]
    if "{playerId}" in template:
        ids["playerId"] = created(emulator, "POST", "/players", {"name": "Theme"})["playerId"]
    if "{webhookId}" in template:
        hook = {"url": "http://127.0.0.1:9/hook", "events": ["video.encoding.quality.completed"]}
        ids["webhookId"] = created(emulator, "POST", "/webhooks", hook)["webhookId"]
    if "{uploadToken}" in template:
        ids["uploadToken"] = created(emulator, "POST", "/upload-tokens", {"ttl": 60})["token"]
    if "{summaryId}" in template:
        video_id = create_video(emulator)["videoId"]
        summary = created(emulator, "POST", "/summaries", {"videoId": video_id})
        ids["summaryId"] = summary["summaryId"]
    if "{watermarkId}" in template:
        ids["watermarkId"] = created(emulator, "POST", "/watermarks")["watermarkId"]
    return ids


def operation_request(
    emulator: Emulator, method: str, template: str
) -> tuple[str, bytes | None, dict[str, str]]:
    """A valid request for the operation: path (its resources exist), required query, body."""
    operation = SPEC["paths"][template][method.lower()]
    parameters = [resolve(p) for p in operation.get("parameters", [])]
    path = template
    ids = resource_ids(emulator, template) if method != "POST" or "{videoId}" in template else {}
    if method == "POST" and template != "/videos/{videoId}/source":
        ids.update(resource_ids(emulator, template.rsplit("/", 1)[0]))
    if template == "/upload":
        ids["token"] = emulator.create_upload_token()
    for parameter in parameters:
        if parameter["in"] == "path":
            value = ids.get(parameter["name"]) or parameter_value(parameter)
            path = path.replace("{" + parameter["name"] + "}", urllib.parse.quote(value))
    required = [
        (p["name"], ids.get(p["name"]) or parameter_value(p))
        for p in parameters
        if p.get("required")
    ]
    query = [(name, value) for name, value in required if "{" + name + "}" not in template]
    if query:
        path += "?" + urllib.parse.urlencode(query)
    headers = dict(BASIC)
    content = resolve(operation.get("requestBody", {})).get("content", {})
    body = None
    if "application/json" in content:
        schema = resolve(content["application/json"]["schema"])
        properties = schema.get("properties", {})
        fields = {name: example(properties[name]) for name in schema.get("required", [])}
        if template == "/auth/api-key":
            fields = {"apiKey": emulator.api_key}
        elif template == "/auth/refresh":
            fields = {"refreshToken": login(emulator)["refresh_token"]}
        elif template == "/summaries":
            fields = {"videoId": create_video(emulator)["videoId"]}
        elif template == "/webhooks":
            fields = {"url": "http://127.0.0.1:9/", "events": ["video.caption.generated"]}
        body, headers["Content-Type"] = json.dumps(fields).encode(), "application/json"
    elif "multipart/form-data" in content:
        tracks = "/captions/" in template or "/chapters/" in template
        body, headers["Content-Type"] = (multipart_of(VTT) if tracks else multipart()), MULTIPART
    return path, body, headers


@pytest.fixture
def strict_emulator() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.mark.parametrize(("method", "template"), OPERATIONS, ids=[" ".join(o) for o in OPERATIONS])
def test_every_operation_answers_its_success_as_the_spec_declares(
    strict_emulator: Emulator, method: str, template: str
) -> None:
    """On resources that exist (a strict emulator has no others), answers fit the schemas."""
    responses = SPEC["paths"][template][method.lower()]["responses"]
    declared = min(int(code) for code in responses if code.startswith("2"))
    path, body, headers = operation_request(strict_emulator, method, template)
    status, _, raw = call(strict_emulator, method, path, body, headers)
    assert status == declared, raw[:300]
    content = resolve(responses[str(declared)]).get("content", {}).get("application/json")
    if content is None:
        assert raw == b""
    else:
        validator = jsonschema.Draft4Validator(
            json_schema(content["schema"]), format_checker=FORMATS
        )
        validator.validate(json.loads(raw))


def test_the_spec_has_59_operations() -> None:
    assert len(OPERATIONS) == 59


def test_spec_data_is_generated_from_openapi_yaml() -> None:
    """spec_data.json is what tools/emulator_data.py makes of openapi.yaml today."""
    result = subprocess.run(
        [sys.executable, "tools/emulator_data.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


# -- routing, methods and credentials --------------------------------------------------------


def problem_of(raw: bytes) -> tuple[str, str]:
    problem = json.loads(raw)
    return problem["type"], problem["title"]


def test_unknown_path_is_a_json_404(video_api_emulator: Emulator) -> None:
    status, headers, raw = call(video_api_emulator, "GET", "/videos/vi1/unknown", headers=BASIC)
    assert (status, headers["Content-Type"], problem_of(raw)) == (
        404,
        "application/json",
        (REFERENCE + "unrecognized-request-url", "Unrecognized request URL."),
    )


@pytest.mark.parametrize("method", ["PUT", "TRACE", "FOO"])
def test_undeclared_method_is_a_json_405_with_allow(
    video_api_emulator: Emulator, method: str
) -> None:
    status, headers, raw = call(video_api_emulator, method, "/videos/vi1", headers=BASIC)
    assert (status, headers["Allow"], json.loads(raw)["type"]) == (
        405,
        "DELETE, GET, PATCH",
        REFERENCE + "method-not-allowed",
    )


def test_head_is_a_405_without_body(video_api_emulator: Emulator) -> None:
    status, headers, raw = call(video_api_emulator, "HEAD", "/videos", headers=BASIC)
    assert (status, headers["Allow"], headers["Content-Type"], raw) == (
        405,
        "GET, POST",
        "application/json",
        b"",
    )


def test_query_string_does_not_change_the_route(video_api_emulator: Emulator) -> None:
    assert call(video_api_emulator, "GET", "/players?currentPage=1", headers=BASIC)[0] == 200


@pytest.mark.parametrize(
    ("authorization", "kind"),
    [
        (None, "authentication-invalid-access-token"),
        ("Basic " + base64.b64encode(b"wrong-key:").decode(), "authentication-invalid-api-key"),
        (
            "Basic " + base64.b64encode(b"demo-api-key:pw").decode(),
            "authentication-invalid-api-key",
        ),
        ("Basic !!!", "authentication-invalid-api-key"),
        ("Bearer bogus", "authentication-invalid-access-token"),
    ],
    ids=["none", "wrong key", "password", "not base64", "bogus bearer"],
)
def test_protected_operation_refuses_bad_credentials(
    video_api_emulator: Emulator, authorization: str | None, kind: str
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    status, _, raw = call(video_api_emulator, "GET", "/players", headers=headers)
    assert (status, json.loads(raw)["type"]) == (401, REFERENCE + kind)


def test_basic_refusal_challenges_for_basic(video_api_emulator: Emulator) -> None:
    wrong = {"Authorization": "Basic " + base64.b64encode(b"wrong-key:").decode()}
    headers = call(video_api_emulator, "GET", "/players", headers=wrong)[1]
    assert headers["WWW-Authenticate"] == 'Basic realm="api.video"'


def test_bearer_from_login_opens_any_operation(video_api_emulator: Emulator) -> None:
    token = login(video_api_emulator)["access_token"]
    assert call(video_api_emulator, "GET", "/webhooks", headers=bearer(token))[0] == 200


def test_basic_scheme_name_is_case_insensitive(video_api_emulator: Emulator) -> None:
    lower = {"Authorization": BASIC["Authorization"].replace("Basic", "basic")}
    assert call(video_api_emulator, "GET", "/webhooks", headers=lower)[0] == 200


def test_upload_with_a_token_needs_no_credentials(video_api_emulator: Emulator) -> None:
    token = video_api_emulator.create_upload_token()
    status, _, _ = call(
        video_api_emulator,
        "POST",
        f"/upload?token={token}",
        multipart(),
        {"Content-Type": MULTIPART},
    )
    assert status == 201


def test_the_example_account_holds_the_specs_example_ids() -> None:
    """``Emulator(examples=True)``: the objects the reference's examples name exist."""
    with Emulator(examples=True) as emulator:
        for path in (
            "/videos/vi4k0jvEUuaTdRAEjQ4Jfrgz",
            "/videos/vi4k0jvEUuaTdRAEjQ4Prklg/captions/en",
            "/videos/vi4k0jvEUuaTdRAEjQ4Jfrgz/chapters/en",
            "/live-streams/li400mYKSgQ6xs7taUeSaEKr",
            "/players/pl45d5vFFGrfdsdsd156dGhh",
            "/upload-tokens/to1tcmSFHeYY5KzyhOqVKMKb",
            "/summaries/summary_1CGHWuXjhxmeH4WiZ51234/source",
            # The ids of the example answers of GETs whose path parameter has no example.
            "/webhooks/webhook_XXXXXXXXXXXXXXX",
            "/discarded/videos/vi4blUQJFrYWbaG44NChkH27",
        ):
            assert call(emulator, "GET", path, headers=BASIC)[0] == 200, path
        # The discarded video is only discarded, and the webhook (not on loopback) is the only one.
        assert call(emulator, "GET", "/videos/vi4blUQJFrYWbaG44NChkH27", headers=BASIC)[0] == 404
        hooks = json.loads(call(emulator, "GET", "/webhooks", headers=BASIC)[2])["data"]
        assert [(h["webhookId"], h["url"]) for h in hooks] == [
            ("webhook_XXXXXXXXXXXXXXX", "http://clientnotificationserver.com/notif?myquery=query")
        ]
        watermarks = json.loads(call(emulator, "GET", "/watermarks", headers=BASIC)[2])["data"]
        assert [w["watermarkId"] for w in watermarks] == ["watermark_1BWr2L5MTQwxGkuxKjzh6i"]
        upload = "/upload?token=to1tcmSFHeYY5KzyhOqVKMKb"
        assert call(emulator, "POST", upload, multipart(), {"Content-Type": MULTIPART})[0] == 201
    with Emulator() as empty:
        assert call(empty, "GET", "/videos/vi4k0jvEUuaTdRAEjQ4Jfrgz", headers=BASIC)[0] == 404
        assert call(empty, "GET", "/webhooks/webhook_XXXXXXXXXXXXXXX", headers=BASIC)[0] == 404


def test_upload_without_its_token_is_refused(video_api_emulator: Emulator) -> None:
    status, _, raw = call(
        video_api_emulator, "POST", "/upload", multipart(), {"Content-Type": MULTIPART}
    )
    assert (status, json.loads(raw)["name"]) == (400, "token")


def test_api_answers_carry_rate_limit_headers(video_api_emulator: Emulator) -> None:
    headers = call(video_api_emulator, "GET", "/players", headers=BASIC)[1]
    assert [headers[f"X-RateLimit-{name}"] for name in ("Limit", "Remaining", "Retry-After")] == [
        "1000",
        "1000",
        "60",
    ]


def test_auth_answers_carry_no_rate_limit_headers(video_api_emulator: Emulator) -> None:
    headers = call(video_api_emulator, "POST", "/auth/api-key", '{"apiKey": "demo-api-key"}')[1]
    assert headers["X-RateLimit-Limit"] is None


# -- answers: ids echoed, links on this server ----------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/players/plMadeUp0123456789",
        "/live-streams/liMadeUp0123456789",
        "/webhooks/webhookMadeUp0123456789",
        "/upload-tokens/toMadeUp0123456789",
        "/videos/viMadeUp0123456789/captions/en",
    ],
)
def test_a_made_up_id_is_the_specs_404(video_api_emulator: Emulator, path: str) -> None:
    """The emulator holds only what was created on it: any other id is not found."""
    status, _, raw = call(video_api_emulator, "GET", path, headers=BASIC)
    assert (status, json.loads(raw)["status"]) == (404, 404)
    assert json.loads(raw)["type"].endswith("/resource-not-found")


def test_created_resources_answer_with_their_own_id(video_api_emulator: Emulator) -> None:
    created = call(video_api_emulator, "POST", "/players", '{"name": "Dark"}', headers=BASIC)
    player = json.loads(created[2])
    raw = call(video_api_emulator, "GET", f"/players/{player['playerId']}", headers=BASIC)[2]
    assert json.loads(raw) == player


def test_pagination_links_point_to_the_emulator(video_api_emulator: Emulator) -> None:
    raw = call(video_api_emulator, "GET", "/players", headers=BASIC)[2]
    uris = [link["uri"] for link in json.loads(raw)["pagination"]["links"]]
    assert uris and all(uri.startswith(video_api_emulator.url + "/players?") for uri in uris)


def test_delete_answers_204_without_body_or_content_type(video_api_emulator: Emulator) -> None:
    created = call(video_api_emulator, "POST", "/players", "{}", headers=BASIC)
    player_id = json.loads(created[2])["playerId"]
    path = f"/players/{player_id}"
    status, headers, raw = call(video_api_emulator, "DELETE", path, headers=BASIC)
    assert (status, headers["Content-Type"], headers["Content-Length"], raw) == (
        204,
        None,
        None,
        b"",
    )
    assert call(video_api_emulator, "DELETE", path, headers=BASIC)[0] == 404


# -- the video store -------------------------------------------------------------------------


def test_created_video_is_what_get_answers(video_api_emulator: Emulator) -> None:
    video = create_video(video_api_emulator, tags=["a"], metadata=[{"key": "k", "value": "v"}])
    raw = call(video_api_emulator, "GET", f"/videos/{video['videoId']}", headers=BASIC)[2]
    assert json.loads(raw) == video


def test_created_video_takes_the_body_attributes(video_api_emulator: Emulator) -> None:
    attributes = {
        "title": "T",
        "description": "D",
        "tags": ["x", "y"],
        "metadata": [{"key": "Author", "value": "Me"}],
        "public": False,
        "panoramic": True,
        "mp4Support": False,
        "playerId": "pl1",
        "language": "fr",
    }
    video = create_video(video_api_emulator, **attributes)
    assert {name: video[name] for name in attributes} == attributes


def test_created_videos_get_fresh_ids(video_api_emulator: Emulator) -> None:
    first, second = create_video(video_api_emulator), create_video(video_api_emulator)
    assert first["videoId"] != second["videoId"]
    assert VIDEO_ID.fullmatch(first["videoId"]) and VIDEO_ID.fullmatch(second["videoId"])


def test_created_video_dates_are_iso_8601_in_utc(video_api_emulator: Emulator) -> None:
    video = create_video(video_api_emulator)
    dates = [video[name] for name in ("createdAt", "updatedAt", "publishedAt")]
    assert all(RFC3339.fullmatch(date) and date.endswith("+00:00") for date in dates)


def test_created_video_assets_are_on_the_emulator(video_api_emulator: Emulator) -> None:
    video = create_video(video_api_emulator)
    player = f"{video_api_emulator.url}/vod/{video['videoId']}"
    assert video["assets"] == {
        "iframe": f'<iframe src="{player}" width="100%" height="100%" frameborder="0" '
        'scrolling="no" allowfullscreen=""></iframe>',
        "player": player,
        "hls": f"{player}/hls/manifest.m3u8",
        "thumbnail": f"{player}/thumbnail.jpg",
        "mp4": f"{player}/mp4/source.mp4",
    }


def test_patch_changes_the_video_and_null_removes_the_player(
    video_api_emulator: Emulator,
) -> None:
    video = create_video(video_api_emulator, playerId="pl1")
    path = f"/videos/{video['videoId']}"
    call(video_api_emulator, "PATCH", path, '{"title": "New", "playerId": null}', BASIC)
    changed = json.loads(call(video_api_emulator, "GET", path, headers=BASIC)[2])
    assert (changed["title"], "playerId" in changed) == ("New", False)


def test_deleted_video_is_not_found(video_api_emulator: Emulator) -> None:
    path = f"/videos/{create_video(video_api_emulator)['videoId']}"
    assert call(video_api_emulator, "DELETE", path, headers=BASIC)[0] == 204
    status, _, raw = call(video_api_emulator, "GET", path, headers=BASIC)
    assert (status, json.loads(raw)) == (
        404,
        {
            "type": REFERENCE + "resource-not-found",
            "title": "The requested resource was not found.",
            "name": "videoId",
            "status": 404,
        },
    )


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_unknown_video_is_not_found(video_api_emulator: Emulator, method: str) -> None:
    body = "{}" if method == "PATCH" else None
    status, _, raw = call(video_api_emulator, method, "/videos/viNope", body, BASIC)
    assert (status, json.loads(raw)["type"]) == (404, REFERENCE + "resource-not-found")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("{}", ("attribute-required", "title")),
        ('{"title": 1}', ("invalid-attribute", "title")),
        ('{"title": "t", "tags": "a"}', ("invalid-attribute", "tags")),
        ('{"title": "t", "metadata": [{"key": 1}]}', ("invalid-attribute", "metadata")),
        ('{"title": "t", "public": "yes"}', ("invalid-attribute", "public")),
        ("[]", ("invalid-attribute", "title")),
    ],
)
def test_video_creation_body_is_validated(
    video_api_emulator: Emulator, body: str, problem: tuple[str, str]
) -> None:
    status, _, raw = call(video_api_emulator, "POST", "/videos", body, BASIC)
    answer = json.loads(raw)
    assert (status, answer["type"], answer["name"]) == (400, REFERENCE + problem[0], problem[1])


def titles(emulator: Emulator, query: str) -> list[str]:
    status, _, raw = call(emulator, "GET", "/videos?" + query, headers=BASIC)
    assert status == 200, raw
    return [video["title"] for video in json.loads(raw)["data"]]


@pytest.fixture
def library(video_api_emulator: Emulator) -> Emulator:
    """Three videos, created in this order."""
    create_video(video_api_emulator, title="Maths basics", tags=["maths", "intro"])
    create_video(
        video_api_emulator,
        title="Advanced maths",
        tags=["maths"],
        metadata=[{"key": "Author", "value": "John Doe"}],
    )
    create_video(video_api_emulator, title="Cooking", description="Pasta", tags=["intro"])
    return video_api_emulator


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Maths basics", "Advanced maths", "Cooking"]),
        ("title=maths", ["Advanced maths"]),
        ("description=Pas", ["Cooking"]),
        ("tags[]=maths", ["Maths basics", "Advanced maths"]),
        ("tags[]=maths&tags[]=intro", ["Maths basics"]),
        ("metadata[Author]=John%20Doe", ["Advanced maths"]),
        ("metadata[Author]=Jane", []),
        ("liveStreamId=li1", []),
        ("sortBy=title", ["Advanced maths", "Cooking", "Maths basics"]),
        ("sortBy=title&sortOrder=desc", ["Maths basics", "Cooking", "Advanced maths"]),
        ("sortOrder=desc", ["Cooking", "Advanced maths", "Maths basics"]),
        ("pageSize=2&currentPage=2", ["Cooking"]),
        ("pageSize=2&currentPage=3", []),
    ],
)
def test_video_list_filters_sorts_and_pages(
    library: Emulator, query: str, expected: list[str]
) -> None:
    assert titles(library, query) == expected


def test_video_list_pagination_and_absolute_links(library: Emulator) -> None:
    raw = call(library, "GET", "/videos?tags[]=maths&pageSize=1&currentPage=2", headers=BASIC)[2]
    pagination = json.loads(raw)["pagination"]
    base = f"{library.url}/videos?tags%5B%5D=maths&"
    assert pagination == {
        "currentPage": 2,
        "pageSize": 1,
        "pagesTotal": 2,
        "itemsTotal": 2,
        "currentPageItems": 1,
        "links": [
            {"rel": "self", "uri": base + "currentPage=2&pageSize=1"},
            {"rel": "first", "uri": base + "currentPage=1&pageSize=1"},
            {"rel": "previous", "uri": base + "currentPage=1&pageSize=1"},
            {"rel": "last", "uri": base + "currentPage=2&pageSize=1"},
        ],
    }


@pytest.mark.parametrize(
    ("query", "name", "title"),
    [
        ("pageSize=0", "pageSize", "This parameter is out of the allowed range of values."),
        ("pageSize=101", "pageSize", "This parameter is out of the allowed range of values."),
        ("currentPage=0", "currentPage", "This parameter is out of the allowed range of values."),
        ("currentPage=x", "currentPage", "A query parameter is invalid."),
        ("sortBy=size", "sortBy", "A query parameter is invalid."),
        ("sortOrder=up", "sortOrder", "A query parameter is invalid."),
    ],
)
def test_video_list_query_is_validated(
    video_api_emulator: Emulator, query: str, name: str, title: str
) -> None:
    status, _, raw = call(video_api_emulator, "GET", "/videos?" + query, headers=BASIC)
    problem = json.loads(raw)
    assert (status, problem["type"], problem["name"], problem["title"]) == (
        400,
        REFERENCE + "request-invalid-query-parameter",
        name,
        title,
    )


# -- request bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["[]", '"text"', "{", ""])
def test_json_operation_refuses_a_body_that_is_not_an_object(
    video_api_emulator: Emulator, body: str
) -> None:
    status, _, raw = call(video_api_emulator, "POST", "/players", body, BASIC)
    assert (status, problem_of(raw)) == (
        400,
        (REFERENCE + "invalid-attribute", "The request body must be a JSON object."),
    )


def test_upload_refuses_a_body_that_is_not_multipart(video_api_emulator: Emulator) -> None:
    headers = {**BASIC, "Content-Type": "application/json"}
    status, _, raw = call(video_api_emulator, "POST", "/watermarks", "{}", headers)
    assert (status, json.loads(raw)["type"]) == (400, REFERENCE + "uploaded-file-no-file")


def raw_exchange(emulator: Emulator, request: bytes) -> bytes:
    """Send bytes as they are, then read until the server closes (or 5 s pass)."""
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def test_chunked_body_is_read_and_the_connection_stays_usable(
    video_api_emulator: Emulator,
) -> None:
    body = json.dumps({"title": "Chunked"}).encode()
    chunked = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(part), part) for part in (body[:5], body[5:]))
    created = b"POST /videos HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    created += b"Authorization: " + BASIC["Authorization"].encode() + b"\r\n\r\n"
    created += chunked + b"0\r\nTrailer: t\r\n\r\n"
    listed = b"GET /videos HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    listed += b"Authorization: " + BASIC["Authorization"].encode() + b"\r\n\r\n"
    answer = raw_exchange(video_api_emulator, created + listed)
    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", answer) == [b"201", b"200"]
    assert video_api_emulator.requests[0].json() == {"title": "Chunked"}


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: abc",
        b"Content-Length: -1",
        b"Content-Length: 1, 2",
        b"Transfer-Encoding: gzip",
        b"Transfer-Encoding: chunked\r\n\r\nzz",
    ],
    ids=["not a number", "negative", "two lengths", "not chunked", "bad chunk size"],
)
def test_undelimitable_body_is_a_400_and_a_close(
    video_api_emulator: Emulator, framing: bytes
) -> None:
    request = b"POST /players HTTP/1.1\r\nHost: x\r\n" + framing + b"\r\n\r\n"
    answer = raw_exchange(video_api_emulator, request)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert (head.split(b"\r\n")[0], b"Connection: close" in head, json.loads(body)["status"]) == (
        b"HTTP/1.1 400 Bad Request",
        True,
        400,
    )


def test_huge_body_is_refused_before_it_is_read(video_api_emulator: Emulator) -> None:
    request = b"POST /watermarks HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n"
    assert raw_exchange(video_api_emulator, request).startswith(b"HTTP/1.1 413 ")


def test_oversized_json_body_is_a_413(video_api_emulator: Emulator) -> None:
    body = b'{"name": "' + b"x" * JSON_BODY_LIMIT + b'"}'
    status, _, raw = call(video_api_emulator, "POST", "/players", body, BASIC)
    assert (status, json.loads(raw)["status"]) == (413, 413)


def test_malformed_request_line_is_a_json_problem(video_api_emulator: Emulator) -> None:
    answer = raw_exchange(video_api_emulator, b"GARBAGE\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert (head.split(b"\r\n")[0], json.loads(body)["status"]) == (
        b"HTTP/1.1 400 Bad Request",
        400,
    )


def send_all(emulator: Emulator, paths: list[str]) -> None:
    """GET each path in turn on one kept-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=5)
    for path in paths:
        connection.request("GET", path)
        connection.getresponse().read()
    connection.close()


def test_history_keeps_the_newest_requests_of_a_path_and_counts_all(
    video_api_emulator: Emulator,
) -> None:
    send_all(video_api_emulator, [f"/nope?n={number}" for number in range(MAX_RECORDED + 5)])
    recorded = video_api_emulator.requests
    assert (len(recorded), recorded[0].path, video_api_emulator.count("/nope")) == (
        MAX_RECORDED,
        "/nope?n=5",
        MAX_RECORDED + 5,
    )


def test_history_keeps_a_rare_path_through_a_flood_of_another(
    video_api_emulator: Emulator,
) -> None:
    login(video_api_emulator)
    send_all(video_api_emulator, ["/nope"] * (MAX_RECORDED + 5))
    assert video_api_emulator.requests[0].path == "/auth/api-key"


def test_history_forgets_the_least_recently_requested_path(video_api_emulator: Emulator) -> None:
    send_all(video_api_emulator, [f"/nope/{number}" for number in range(MAX_RECORDED_PATHS + 1)])
    assert [r.path for r in video_api_emulator.requests[:1]] == ["/nope/1"]


def test_history_is_bounded_in_all_and_a_rare_path_stays(video_api_emulator: Emulator) -> None:
    login(video_api_emulator)
    paths = [f"/nope/{number % 3}" for number in range(MAX_RECORDED_TOTAL + 100)]
    send_all(video_api_emulator, paths)
    recorded = video_api_emulator.requests
    assert len(recorded) == MAX_RECORDED_TOTAL
    assert recorded[0].path == "/auth/api-key"
    assert video_api_emulator.count() == MAX_RECORDED_TOTAL + 101


def test_counts_by_path_are_bounded_and_the_total_stays_exact(
    video_api_emulator: Emulator,
) -> None:
    send_all(video_api_emulator, [f"/nope/{number}" for number in range(MAX_COUNTED_PATHS + 5)])
    assert video_api_emulator.count() == MAX_COUNTED_PATHS + 5
    assert video_api_emulator.count(method="GET") == MAX_COUNTED_PATHS + 5
    assert video_api_emulator.count("/nope/0") == 0  # forgotten, the least recent
    assert video_api_emulator.count(f"/nope/{MAX_COUNTED_PATHS + 4}") == 1
    assert len(video_api_emulator._counts) == MAX_COUNTED_PATHS


def test_recorded_bodies_are_trimmed(video_api_emulator: Emulator) -> None:
    body = multipart(RECORDED_BODY_LIMIT)
    headers = {**BASIC, "Content-Type": MULTIPART}
    assert call(video_api_emulator, "POST", "/watermarks", body, headers)[0] == 200
    assert video_api_emulator.requests[0].body == body[:RECORDED_BODY_LIMIT]


# -- video uploads: parts numbered, checked, assembled -----------------------------------------

PART = 5 * 1024 * 1024  # the smallest part but the last (MIN_PART)


def form(content: bytes, video_id: str | None = None, files: int = 1) -> bytes:
    """A multipart body: an optional videoId field, then ``files`` file fields."""
    body = b""
    if video_id is not None:
        body += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="videoId"\r\n\r\n{video_id}\r\n'
        ).encode()
    for _ in range(files):
        body += (
            (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="v.mp4"\r\n'
                f"Content-Type: video/mp4\r\n\r\n"
            ).encode()
            + content
            + b"\r\n"
        )
    return body + f"--{BOUNDARY}--\r\n".encode()


def send_part(
    emulator: Emulator,
    path: str,
    content: bytes,
    content_range: str | None,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> tuple[int, Any]:
    sent = {**BASIC, "Content-Type": MULTIPART, **(headers or {})}
    if content_range is not None:
        sent["Content-Range"] = content_range
    status, _, raw = call(emulator, "POST", path, form(content, **fields), sent)
    return status, json.loads(raw)


def source_of(emulator: Emulator) -> tuple[str, str]:
    video_id = create_video(emulator)["videoId"]
    return video_id, f"/videos/{video_id}/source"


def test_upload_parts_arrive_in_any_order_and_the_last_completes(
    video_api_emulator: Emulator,
) -> None:
    video_id, path = source_of(video_api_emulator)
    parts = [os.urandom(PART), os.urandom(PART), os.urandom(PART), b"end"]
    assert send_part(video_api_emulator, path, parts[2], "part 3/4")[0] == 201
    assert send_part(video_api_emulator, path, parts[0], "part 1/4")[0] == 201
    status, problem = send_part(video_api_emulator, path, parts[3], "part 4/4")
    assert (status, problem["name"]) == (400, "Content-Range")
    assert "parts [2] are missing" in problem["title"]
    assert send_part(video_api_emulator, path, parts[1], "part 2/4")[0] == 201
    status, video = send_part(video_api_emulator, path, parts[3], "part 4/4")
    assert (status, video["videoId"]) == (201, video_id)
    whole = b"".join(parts)
    assert video_api_emulator.uploaded_sha256(video_id) == hashlib.sha256(whole).hexdigest()
    assert video_api_emulator.uploaded_size(video_id) == len(whole)
    assert b"".join(video_api_emulator.uploaded_source(video_id)) == whole


def test_a_part_sent_again_replaces_the_first(video_api_emulator: Emulator) -> None:
    video_id, path = source_of(video_api_emulator)
    first, again = b"a" * PART, b"b" * PART
    send_part(video_api_emulator, path, first, "part 1/2")
    send_part(video_api_emulator, path, again, "part 1/2")
    send_part(video_api_emulator, path, b"tail", "part 2/2")
    expected = hashlib.sha256(again + b"tail").hexdigest()
    assert video_api_emulator.uploaded_sha256(video_id) == expected


def test_progressive_parts_end_with_the_one_that_names_the_total(
    video_api_emulator: Emulator,
) -> None:
    video_id, path = source_of(video_api_emulator)
    send_part(video_api_emulator, path, b"1" * PART, "part 1/*")
    status = json.loads(
        call(video_api_emulator, "GET", f"/videos/{video_id}/status", None, BASIC)[2]
    )
    assert status["ingest"] == {
        "status": "uploading",
        "filesize": None,
        "receivedBytes": [],
        "receivedParts": {"parts": [1], "total": None},
    }
    send_part(video_api_emulator, path, b"2" * PART, "part 2/*")
    assert send_part(video_api_emulator, path, b"3", "part 3/3")[0] == 201
    status = json.loads(
        call(video_api_emulator, "GET", f"/videos/{video_id}/status", None, BASIC)[2]
    )
    assert status["ingest"]["status"] == "uploaded"
    assert status["ingest"]["filesize"] == 2 * PART + 1
    assert status["ingest"]["receivedBytes"][-1] == {
        "from": 2 * PART,
        "to": 2 * PART,
        "total": 2 * PART + 1,
    }
    assert status["encoding"]["playable"] is True


def test_byte_ranges_are_taken_too(video_api_emulator: Emulator) -> None:
    video_id, path = source_of(video_api_emulator)
    total = 2 * PART + 10
    head, middle, tail = b"h" * PART, b"m" * PART, b"t" * 10
    status, problem = send_part(
        video_api_emulator, path, tail, f"bytes {2 * PART}-{total - 1}/{total}"
    )
    assert (status, problem["name"]) == (400, "Content-Range")
    send_part(video_api_emulator, path, middle, f"bytes {PART}-{2 * PART - 1}/{total}")
    send_part(video_api_emulator, path, head, f"bytes 0-{PART - 1}/{total}")
    assert (
        send_part(video_api_emulator, path, tail, f"bytes {2 * PART}-{total - 1}/{total}")[0] == 201
    )
    expected = hashlib.sha256(head + middle + tail).hexdigest()
    assert video_api_emulator.uploaded_sha256(video_id) == expected


@pytest.mark.parametrize(
    ("first", "second", "content", "name", "title"),
    [
        (None, "part 1/2", b"small", "file", "at least 5242880 bytes"),
        ("part 1/3", "part 2/4", b"x" * PART, "Content-Range", "total changed from 3 to 4"),
        ("part 1/2", f"bytes {PART}-{PART}/{PART + 1}", b"x", "Content-Range", "in part ranges"),
        (None, "part 3/2", b"x", "Content-Range", "out of 1 to 2"),
        (None, "part 0/2", b"x", "Content-Range", "out of 1 to 2"),
        (None, "bytes 0-9/100", b"x", "Content-Range", "not the file's 1 bytes"),
        (None, "chunk 1 of 2", b"x", "Content-Range", "must be 'part N/TOTAL'"),
        (None, None, b"", "file", "is empty"),
    ],
    ids=["small part", "total", "mixed", "beyond", "zero", "range size", "syntax", "empty"],
)
def test_upload_parts_that_do_not_fit_are_refused(
    video_api_emulator: Emulator,
    first: str | None,
    second: str | None,
    content: bytes,
    name: str,
    title: str,
) -> None:
    video_id, path = source_of(video_api_emulator)
    if first is not None:
        assert send_part(video_api_emulator, path, b"x" * PART, first)[0] == 201
    status, problem = send_part(video_api_emulator, path, content, second)
    assert (status, problem["name"]) == (400, name)
    assert title in problem["title"]
    assert video_api_emulator.uploaded_parts(video_id) == ([1] if first else [])


def test_a_second_upload_to_a_video_is_refused(video_api_emulator: Emulator) -> None:
    video_id, path = source_of(video_api_emulator)
    assert send_part(video_api_emulator, path, b"once", None)[0] == 201
    status, problem = send_part(video_api_emulator, path, b"twice", "part 1/1")
    assert (status, problem["type"]) == (400, REFERENCE + "video-source-already-uploaded")
    assert video_api_emulator.uploaded_sha256(video_id) == hashlib.sha256(b"once").hexdigest()


def test_an_upload_to_an_unknown_video_is_a_404(video_api_emulator: Emulator) -> None:
    status, problem = send_part(video_api_emulator, "/videos/vi404/source", b"x", None)
    assert (status, problem["type"]) == (404, REFERENCE + "resource-not-found")


def test_an_upload_with_two_files_is_refused(video_api_emulator: Emulator) -> None:
    _, path = source_of(video_api_emulator)
    status, problem = send_part(video_api_emulator, path, b"x", None, files=2)
    assert (status, problem["type"]) == (400, REFERENCE + "uploaded-file-multiple-files")


def test_a_token_upload_makes_a_video_and_its_other_parts_name_it(
    video_api_emulator: Emulator,
) -> None:
    token = video_api_emulator.create_upload_token(ttl=60)
    path = f"/upload?token={token}"
    status, problem = send_part(video_api_emulator, path, b"2" * PART, "part 2/2", {})
    assert (status, problem["name"]) == (400, "videoId")
    status, video = send_part(video_api_emulator, path, b"1" * PART, "part 1/2", {})
    assert status == 201
    status, _ = send_part(video_api_emulator, path, b"2", "part 2/2", {}, video_id=video["videoId"])
    assert status == 201
    expected = hashlib.sha256(b"1" * PART + b"2").hexdigest()
    assert video_api_emulator.uploaded_sha256(video["videoId"]) == expected


@pytest.mark.parametrize("token", ["unknown", "expired"])
def test_a_token_upload_with_a_bad_token_is_refused(
    video_api_emulator: Emulator, token: str
) -> None:
    if token == "expired":
        token = video_api_emulator.create_upload_token()
        video_api_emulator.expire_upload_token(token)
    status, problem = send_part(video_api_emulator, f"/upload?token={token}", b"x", None, {})
    assert (status, problem["name"]) == (400, "token")
    assert video_api_emulator.count("/videos") == 0


@pytest.mark.parametrize(
    "fault",
    [Fault.reset_mid_body(), Fault.reset_mid_body(after=1000), Fault.status(503)],
    ids=["reset half way", "reset after 1000 bytes", "503"],
)
def test_a_fault_on_the_nth_part_hits_that_part_only(
    video_api_emulator: Emulator, fault: Fault
) -> None:
    video_id, path = source_of(video_api_emulator)
    video_api_emulator.add_fault(path, fault, part=2)
    assert send_part(video_api_emulator, path, b"1" * PART, "part 1/3")[0] == 201
    try:
        status = send_part(video_api_emulator, path, b"2" * PART, "part 2/3")[0]
    except (ConnectionError, http.client.HTTPException):
        status = 0  # reset
    assert status == (503 if fault.kind == "respond" else 0)
    assert video_api_emulator.uploaded_parts(video_id) == [1]
    assert send_part(video_api_emulator, path, b"2" * PART, "part 2/3")[0] == 201
    assert send_part(video_api_emulator, path, b"3", "part 3/3")[0] == 201
    assert video_api_emulator.faults_injected == 1


def test_uploaded_sources_live_in_temporary_files_gone_at_stop() -> None:
    with Emulator() as emulator:
        video_id, path = source_of(emulator)
        send_part(emulator, path, b"x" * PART, "part 1/2")
        send_part(emulator, path, b"y", "part 2/2")
        (directory,) = {os.path.dirname(p) for p in emulator._uploads[video_id].files()}
        assert sorted(os.path.getsize(p) for p in emulator._uploads[video_id].files()) == [1, PART]
    assert not os.path.exists(directory)
    assert emulator.uploaded_sha256(video_id) == hashlib.sha256(b"x" * PART + b"y").hexdigest()


def test_deleting_a_video_deletes_its_source(video_api_emulator: Emulator) -> None:
    video_id, path = source_of(video_api_emulator)
    send_part(video_api_emulator, path, b"source", None)
    files = video_api_emulator._uploads[video_id].files()
    assert call(video_api_emulator, "DELETE", f"/videos/{video_id}", None, BASIC)[0] == 204
    assert not any(os.path.exists(p) for p in files)
    assert video_api_emulator.uploaded_sha256(video_id) is None


def test_encoding_can_be_held_and_finished(video_api_emulator: Emulator) -> None:
    video_api_emulator.encode_immediately = False
    video_id, path = source_of(video_api_emulator)
    send_part(video_api_emulator, path, b"source", None)
    status_path = f"/videos/{video_id}/status"
    encoding = json.loads(call(video_api_emulator, "GET", status_path, None, BASIC)[2])["encoding"]
    assert encoding["playable"] is False
    assert {q["status"] for q in encoding["qualities"]} == {"encoding"}
    video_api_emulator.finish_encoding(video_id)
    encoding = json.loads(call(video_api_emulator, "GET", status_path, None, BASIC)[2])["encoding"]
    assert encoding["playable"] is True
    assert {q["status"] for q in encoding["qualities"]} == {"encoded"}


def test_an_idle_connection_is_closed_after_the_idle_timeout() -> None:
    with Emulator(idle_timeout=0.3) as emulator:
        with socket.create_connection(("127.0.0.1", emulator.port), timeout=5) as sock:
            started = time.monotonic()
            assert sock.recv(1024) == b""  # closed by the emulator, nothing sent
            assert 0.25 <= time.monotonic() - started < 3
        # A keep-alive connection idle after an answer is closed the same way.
        with socket.create_connection(("127.0.0.1", emulator.port), timeout=5) as sock:
            sock.sendall(b"GET /videos HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = b""
            while b"\r\n\r\n" not in reply:
                reply += sock.recv(65536)
            assert reply.startswith(b"HTTP/1.1 401")
            while sock.recv(65536):  # the rest of the answer, then the close
                pass
        assert call(emulator, "GET", "/videos")[0] == 401  # the server itself is fine


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_request_that_dribbles_in_is_dropped(part: str) -> None:
    """A byte every 0.1 s never lets the socket go quiet for 0.3 s, yet the request is cut."""
    request = b"POST /auth/api-key HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    body = json.dumps({"apiKey": "demo-api-key"}).encode() + b" " * 100
    head = request + f"Content-Length: {len(body)}\r\n\r\n".encode()
    with Emulator(idle_timeout=0.3) as emulator:
        with socket.create_connection(("127.0.0.1", emulator.port), timeout=5) as sock:
            started = time.monotonic()
            dribble = head + body if part == "headers" else body
            if part == "body":
                sock.sendall(head)
            closed = False
            for byte in dribble:
                try:
                    sock.sendall(bytes([byte]))
                except OSError:
                    closed = True
                    break
                time.sleep(0.1)
                if time.monotonic() - started > 3:
                    break
            if not closed:
                sock.settimeout(2)
                try:
                    received = sock.recv(1024)
                except OSError:
                    received = b""
                assert received == b"" or b" 200 " not in received.split(b"\r\n")[0]
            assert time.monotonic() - started < 3
        assert call(emulator, "GET", "/videos")[0] == 401


def test_tokens_are_pruned_so_memory_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import video_api.testing.emulator as module

    monkeypatch.setattr(module, "MAX_TOKENS", 5)
    with Emulator(token_lifetime=1) as emulator:
        first = post(emulator, "/auth/api-key", {"apiKey": emulator.api_key})[1]
        refresh = first["refresh_token"]
        for _ in range(3):  # a chain of refreshes spends each refresh token
            status, tokens = post(emulator, "/auth/refresh", {"refreshToken": refresh})
            assert status == 200
            refresh = tokens["refresh_token"]
        for _ in range(12):
            post(emulator, "/auth/api-key", {"apiKey": emulator.api_key})
        assert len(emulator._access) <= 5
        assert len(emulator._refresh) <= 5 and len(emulator._spent_refresh) <= 5
        # The newest token still works; the first one was forgotten (or expired): a 401.
        newest = next(reversed(emulator._access))
        assert (
            call(emulator, "GET", "/videos", headers={"Authorization": f"Bearer {newest}"})[0]
            == 200
        )
        status = call(
            emulator, "GET", "/videos", headers={"Authorization": f"Bearer {first['access_token']}"}
        )[0]
        assert status == 401


# -- state across restarts: data=, and start() after stop() -----------------------------------


def status_of(emulator: Emulator, video_id: str) -> Any:
    status, _, raw = call(emulator, "GET", f"/videos/{video_id}/status", None, BASIC)
    assert status == 200, raw
    return json.loads(raw)


def test_data_keeps_an_uploaded_video_uploaded_and_playable(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with Emulator(data=path) as first:
        played, played_path = source_of(first)
        send_part(first, played_path, b"x" * PART, "part 1/2")
        send_part(first, played_path, b"y", "part 2/2")
        first.encode_immediately = False
        held, held_path = source_of(first)
        send_part(first, held_path, b"held", None)
        partial, partial_path = source_of(first)
        send_part(first, partial_path, b"p" * PART, "part 1/2")
        before = {video_id: status_of(first, video_id) for video_id in (played, held)}
    digest = hashlib.sha256(b"x" * PART + b"y").hexdigest()
    with Emulator(data=path) as second:
        assert {video_id: status_of(second, video_id) for video_id in (played, held)} == before
        assert before[played]["encoding"]["playable"] is True
        assert before[held]["encoding"]["playable"] is False
        assert (second.uploaded_size(played), second.uploaded_sha256(played)) == (PART + 1, digest)
        assert second.uploaded_parts(played) == [1, 2]
        status, problem = send_part(second, played_path, b"again", None)
        assert (status, problem["type"]) == (400, REFERENCE + "video-source-already-uploaded")
        with pytest.raises(KeyError, match="its bytes are gone"):
            next(second.uploaded_source(played))
        # An upload in progress was in temporary files: it starts over.
        assert second.uploaded_parts(partial) == []
        assert "ingest" not in status_of(second, partial)
        second.finish_encoding(held)
    with Emulator(data=path) as third:
        assert status_of(third, held)["encoding"]["playable"] is True
        assert call(third, "DELETE", f"/videos/{played}", None, BASIC)[0] == 204
    with Emulator(data=path) as fourth:
        assert fourth.uploaded_size(played) is None and fourth.uploaded_size(held) == 4


def test_start_after_stop_keeps_writing_to_the_data_file(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    emulator = Emulator(data=path)
    with emulator:
        create_video(emulator, title="first")
    with emulator:  # the same object, started again
        create_video(emulator, title="second")
        assert titles(emulator, "sortBy=title") == ["first", "second"]
    with Emulator(data=path) as restarted:
        assert titles(restarted, "sortBy=title") == ["first", "second"]


class HookReceiver(http.server.ThreadingHTTPServer):
    """A loopback webhook endpoint that answers 204 and keeps the bodies it gets."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        super().__init__(("127.0.0.1", 0), HookHandler)


class HookHandler(http.server.BaseHTTPRequestHandler):
    server: HookReceiver

    def do_POST(self) -> None:
        self.server.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def test_start_after_stop_delivers_webhooks_again() -> None:
    event = "live-stream.broadcast.started"
    receiver = HookReceiver()
    serving = threading.Thread(target=receiver.serve_forever, args=(0.05,), daemon=True)
    serving.start()
    emulator = Emulator()
    try:
        with emulator:
            url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
            created(emulator, "POST", "/webhooks", {"url": url, "events": [event]})
            live_id = created(emulator, "POST", "/live-streams", {"name": "Live"})["liveStreamId"]
            emulator.start_broadcast(live_id)
            assert len(emulator.wait_for_deliveries(1, timeout=5)) == 1
        with emulator:
            emulator.start_broadcast(live_id)
            delivered = emulator.wait_for_deliveries(2, timeout=5)
        assert [d.status for d in delivered] == [204, 204]
        assert [body["type"] for body in receiver.bodies] == [event, event]
    finally:
        receiver.shutdown()
        receiver.server_close()
        serving.join(5)


def test_data_moves_the_urls_it_made_to_the_new_port(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with Emulator(data=path) as first:
        video_id = create_video(first)["videoId"]
        created(first, "POST", f"/videos/{video_id}/captions/en")
        gone_id = create_video(first)["videoId"]
        call(first, "DELETE", f"/videos/{gone_id}", None, BASIC)
        live_id = created(first, "POST", "/live-streams", {"name": "Live"})["liveStreamId"]
        player_id = created(first, "POST", "/players", {"name": "Theme"})["playerId"]
        link = "http://127.0.0.1:1/home"  # the client's own link: never moved
        logo = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="link"\r\n\r\n{link}\r\n'
        ).encode() + multipart()
        status, _, _ = call(
            first, "POST", f"/players/{player_id}/logo", logo, {**BASIC, "Content-Type": MULTIPART}
        )
        assert status == 201
        # Started while the first still runs, so that its port differs for sure.
        with Emulator(data=path) as second:
            assert second.port != first.port
            base = second.url

            def get(path: str) -> Any:
                status, _, raw = call(second, "GET", path, None, BASIC)
                assert status == 200, raw
                return json.loads(raw)

            vod = f"{base}/vod/{video_id}"
            assert get(f"/videos/{video_id}")["assets"] == {
                "iframe": f'<iframe src="{vod}" width="100%" height="100%" frameborder="0" '
                'scrolling="no" allowfullscreen=""></iframe>',
                "player": vod,
                "hls": f"{vod}/hls/manifest.m3u8",
                "thumbnail": f"{vod}/thumbnail.jpg",
                "mp4": f"{vod}/mp4/source.mp4",
            }
            assert (
                get(f"/discarded/videos/{gone_id}")["assets"]["player"] == f"{base}/vod/{gone_id}"
            )
            assert get(f"/videos/{video_id}/captions/en")["src"] == f"{vod}/captions/en.vtt"
            live = f"{base}/live/{live_id}"
            assert get(f"/live-streams/{live_id}")["assets"] == {
                "iframe": f'<iframe src="{live}" width="100%" height="100%" frameborder="0" '
                'scrolling="no" allowfullscreen=""></iframe>',
                "player": live,
                "hls": f"{live}.m3u8",
                "thumbnail": f"{live}/thumbnail.jpg",
            }
            assert get(f"/players/{player_id}")["assets"] == {
                "logo": f"{base}/players/{player_id}/logo.png",
                "link": link,
            }


# -- sub-resources of a video that does not exist ---------------------------------------------

NOT_FOUND_VIDEO = {
    "type": REFERENCE + "resource-not-found",
    "title": "The requested resource was not found.",
    "name": "videoId",
    "status": 404,
}


VIDEO_OPERATIONS = [o for o in OPERATIONS if o[1].startswith("/videos/{videoId}")]


@pytest.mark.parametrize(
    ("method", "template"), VIDEO_OPERATIONS, ids=[" ".join(o) for o in VIDEO_OPERATIONS]
)
def test_every_operation_on_a_deleted_video_is_the_specs_404(
    strict_emulator: Emulator, method: str, template: str
) -> None:
    """A valid request, on a video (with its caption and chapters) deleted just before."""
    path, body, headers = operation_request(strict_emulator, method, template)
    video_id = path.split("/")[2]
    assert call(strict_emulator, "DELETE", f"/videos/{video_id}", None, BASIC)[0] == 204
    status, _, raw = call(strict_emulator, method, path, body, headers)
    assert (status, json.loads(raw)) == (404, NOT_FOUND_VIDEO)


def test_captions_and_chapters_of_a_deleted_video_are_not_found(
    video_api_emulator: Emulator,
) -> None:
    video_id = create_video(video_api_emulator)["videoId"]
    caption = created(video_api_emulator, "POST", f"/videos/{video_id}/captions/en")
    created(video_api_emulator, "POST", f"/videos/{video_id}/chapters/en")
    assert call(video_api_emulator, "DELETE", f"/videos/{video_id}", None, BASIC)[0] == 204
    for method, path, body in [
        ("GET", "captions/en", None),
        ("PATCH", "captions/en", '{"default": true}'),
        ("DELETE", "captions/en", None),
        ("GET", "captions", None),
        ("GET", "chapters/en", None),
        ("DELETE", "chapters/en", None),
        ("GET", "chapters", None),
    ]:
        status, _, raw = call(video_api_emulator, method, f"/videos/{video_id}/{path}", body, BASIC)
        assert (method, path, status, json.loads(raw)) == (method, path, 404, NOT_FOUND_VIDEO)
    # They were kept, untouched, for a restore from the discarded list.
    restore = call(
        video_api_emulator, "PATCH", f"/discarded/videos/{video_id}", '{"discarded": false}', BASIC
    )
    assert restore[0] == 200
    status, _, raw = call(video_api_emulator, "GET", f"/videos/{video_id}/captions/en", None, BASIC)
    assert (status, json.loads(raw)) == (200, caption)
    status, _, _ = call(video_api_emulator, "GET", f"/videos/{video_id}/chapters/en", None, BASIC)
    assert status == 200


# -- upload tokens: the active ones, made by the API or by the helper --------------------------


def upload_tokens(emulator: Emulator) -> list[str]:
    status, _, raw = call(emulator, "GET", "/upload-tokens", None, BASIC)
    assert status == 200, raw
    return [record["token"] for record in json.loads(raw)["data"]]


def test_upload_tokens_listed_and_found_are_the_active_ones(video_api_emulator: Emulator) -> None:
    emulator = video_api_emulator
    lasting = created(emulator, "POST", "/upload-tokens", {"ttl": 0})
    timed = created(emulator, "POST", "/upload-tokens", {"ttl": 60})
    forever = emulator.create_upload_token()
    hour = emulator.create_upload_token(ttl=3600)
    elapsed = emulator.create_upload_token(ttl=0)  # valid for 0 s: its ttl has elapsed
    assert upload_tokens(emulator) == [lasting["token"], timed["token"], forever, hour]
    status, _, raw = call(emulator, "GET", f"/upload-tokens/{hour}", None, BASIC)
    record = json.loads(raw)
    assert (status, record["token"], record["ttl"], sorted(record)) == (
        200,
        hour,
        3600,
        ["createdAt", "expiresAt", "token", "ttl"],
    )
    emulator.expire_upload_token(timed["token"])
    emulator.expire_upload_token(hour)
    assert upload_tokens(emulator) == [lasting["token"], forever]
    not_found = {
        "type": REFERENCE + "resource-not-found",
        "title": "The requested resource was not found.",
        "name": "uploadToken",
        "status": 404,
    }
    for token in (timed["token"], hour, elapsed, "toNeverIssued"):
        for method in ("GET", "DELETE"):
            status, _, raw = call(emulator, method, f"/upload-tokens/{token}", None, BASIC)
            assert (token, method, status, json.loads(raw)) == (token, method, 404, not_found)
    status, _, raw = call(emulator, "GET", f"/upload-tokens/{forever}", None, BASIC)
    assert (status, json.loads(raw)["ttl"], "expiresAt" in json.loads(raw)) == (200, 0, False)
    assert call(emulator, "DELETE", f"/upload-tokens/{forever}", None, BASIC)[0] == 204
    status, problem = send_part(emulator, f"/upload?token={forever}", b"x", None, {})
    assert (status, problem["name"]) == (400, "token")
    assert upload_tokens(emulator) == [lasting["token"]]


# -- fault arguments --------------------------------------------------------------------------


@pytest.mark.parametrize("code", [204, 304])
def test_a_status_fault_without_a_body_keeps_the_connection_in_step(
    video_api_emulator: Emulator, code: int
) -> None:
    video_api_emulator.add_fault("/videos", Fault.status(code))
    video_api_emulator.add_fault("/videos", Fault.body(b"dropped", status=code))
    connection = http.client.HTTPConnection("127.0.0.1", video_api_emulator.port, timeout=5)
    answers = []
    for _ in range(3):
        connection.request("GET", "/videos", headers=BASIC)
        response = connection.getresponse()
        answers.append(
            (
                response.status,
                response.getheader("Content-Type"),
                response.getheader("Content-Length"),
                response.read(),
            )
        )
    connection.close()
    assert answers[:2] == [(code, None, None, b"")] * 2
    assert answers[2][:2] == (200, "application/json")
    assert json.loads(answers[2][3])["data"] == []


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (100, "100 is an interim status"),
        (101, "101 is an interim status"),
        (199, "199 is an interim status"),
        (42, "a status is a three-digit code, not 42"),
        (1000, "a status is a three-digit code, not 1000"),
    ],
)
def test_a_status_fault_that_cannot_be_an_answer_is_refused(code: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Fault.status(code)
    with pytest.raises(ValueError, match=message):
        Fault.body(b"", status=code)
    with pytest.raises(ValueError, match=message):
        Fault.truncated(code)
    with pytest.raises(ValueError, match=message):
        Fault.html(code)


@pytest.mark.parametrize(
    ("path", "times", "part", "message"),
    [
        ("/videos?currentPage=2", 1, None, "no query string"),
        ("/videos", 0, None, "times must be >= 1"),
        ("/videos", -1, None, "times must be >= 1"),
        ("videos", 1, None, "starts with '/'"),
        ("http://127.0.0.1:1/videos", 1, None, "starts with '/'"),
        ("/videos/vi1/source", 1, 0, "part must be >= 1"),
    ],
)
def test_a_fault_that_could_never_fire_is_refused(
    video_api_emulator: Emulator, path: str, times: int, part: int | None, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        video_api_emulator.add_fault(path, Fault.status(503), times, part=part)
    with pytest.raises(ValueError, match="no query string"):
        video_api_emulator.fault_mix(1.0, [Fault.status(503)], paths=["/videos?currentPage=2"])
    assert call(video_api_emulator, "GET", "/videos?currentPage=2", None, BASIC)[0] == 200
    assert video_api_emulator.faults_injected == 0

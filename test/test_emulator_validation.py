"""The emulator checked by a real OpenAPI validator (openapi-core) against openapi.yaml.

Every operation is called once with a valid request (the one our SDK builds, on resources
made first), and the emulator's answer must conform to the spec's schema for its status and
content type. Then, with a fixed seed and a bounded number of cases, requests that the spec
makes invalid must get the documented 400 with a problem document.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import functools
import http.client
import json
import random
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from conftest import openapi
from test_apis import OPERATIONS, PATH_VALUES, api_classes, call_arguments, existing

import video_api
from video_api.operation import Operation
from video_api.testing import Emulator, Fault

openapi_core = pytest.importorskip("openapi_core")
from openapi_core.testing import MockRequest, MockResponse  # noqa: E402

SERVER = "https://ws.api.video"  # the spec's first server: requests are matched under it
SEED = 11
INVALID_CASES = 80  # of the 135 that the spec gives (all of them pass too)
JSON = {"Content-Type": "application/json"}


@functools.lru_cache(maxsize=None)
def validator() -> Any:
    """The spec as openapi-core reads it, with two readings made explicit. Its one PCRE-style
    pattern, ``(?<name>...)``, is not a Python regex: it becomes ``(?P<name>...)`` (same
    meaning). And a ``nullable`` enum gets ``null`` among its values: OpenAPI 3.0.3 says that
    ``nullable`` does not extend an ``enum``, but the spec means null (a video's
    ``languageOrigin`` before any language is set), and openapi-core applies the letter."""
    spec = copy.deepcopy(openapi())

    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            if node.get("nullable") and None not in node.get("enum", [None]):
                node = {**node, "enum": [*node["enum"], None]}
            return {key: fix(value) for key, value in node.items()}
        if isinstance(node, list):
            return [fix(value) for value in node]
        if isinstance(node, str) and "(?<" in node:
            return node.replace("(?<", "(?P<")
        return node

    return openapi_core.OpenAPI.from_dict(json.loads(json.dumps(fix(spec), default=str)))


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def send(
    emulator: Emulator, method: str, path: str, headers: Dict[str, str], body: bytes
) -> Tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    try:
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        connection.close()


def check(method: str, path: str, status: int, content_type: str, body: bytes) -> None:
    """The answer conforms to the spec's response for its status and content type."""
    request = MockRequest(SERVER, method, path.partition("?")[0])
    response = MockResponse(body, status_code=status, content_type=content_type.split(";")[0])
    validator().validate_response(request, response)


def authorization(emulator: Emulator) -> Dict[str, str]:
    key = base64.b64encode(f"{emulator.api_key}:".encode()).decode()
    return {"Authorization": f"Basic {key}"}


@pytest.mark.parametrize(
    ("class_name", "method", "operation"),
    OPERATIONS,
    ids=[f"{c}.{m}" for c, m, _ in OPERATIONS],
)
def test_every_operation_answers_as_the_spec_says(
    upload: Path, class_name: str, method: str, operation: Operation[Any]
) -> None:
    """Our SDK builds the request (answered by a stand-in fault, so nothing changes), then
    the same bytes go to the emulator for real, and the validator judges its answer."""
    with Emulator() as emulator:
        ids = existing(emulator, operation)
        args, kwargs = call_arguments("ours", class_name, method, operation, upload, ids)
        values = {**PATH_VALUES, **ids}
        route = operation.path
        for param in operation.params:
            if param.where == "path":
                route = route.replace(f"{{{param.wire}}}", values[param.name])
        configuration = video_api.Configuration(
            host=emulator.url, api_key=emulator.api_key, retries=0
        )
        with video_api.ApiClient(configuration) as client:
            api = api_classes()[class_name](client)
            emulator.add_fault(route, Fault.body(b"{}"))
            emulator.clear()
            with contextlib.suppress(Exception):  # the stand-in need not parse
                getattr(api, method)(*args, **kwargs)
        for arg in args:
            if hasattr(arg, "close"):
                arg.close()
        sent = [r for r in emulator.requests if r.path.partition("?")[0] == route][-1]
        headers = {
            name: value
            for name, value in sent.headers.items()
            if name.lower() not in ("host", "content-length", "connection", "authorization")
        }
        headers.update(authorization(emulator))
        payload = sent.body
        if route.startswith("/auth/"):  # the SDK's sample credentials are no account's
            key = {"apiKey": emulator.api_key}
            tokens = json.loads(send(emulator, "POST", "/auth/api-key", JSON, dumps(key))[2])
            payload = dumps(
                {"refreshToken": tokens["refresh_token"]} if "refresh" in route else key
            )
        status, content_type, body = send(emulator, sent.method, sent.path, headers, payload)
        assert status < 300, (sent.method, sent.path, status, body[:300])
        check(sent.method, sent.path, status, content_type, body)


# -- requests that the spec makes invalid -------------------------------------------------------
BY_ROUTE = {(op.method, op.path): op for _, _, op in OPERATIONS}
WRONG_TYPE = {"string": 12345, "integer": "twelve", "number": "twelve", "boolean": "yes"}


def resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = openapi()
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def invalid_requests() -> List[Tuple[str, str, str, Dict[str, Any] | None, Any]]:
    """(method, path, query, body when JSON, case id): every invalid request of the four kinds
    that the spec's declarations give, before the seeded draw."""
    cases: List[Tuple[str, str, str, Dict[str, Any] | None, Any]] = []
    for path, item in openapi()["paths"].items():
        for method, node in item.items():
            if method not in ("get", "post", "patch", "put", "delete"):
                continue
            for param in map(resolve, node.get("parameters", [])):
                schema = resolve(param.get("schema", {}))
                name = param["name"]
                if param["in"] != "query":
                    continue
                if schema.get("enum") and schema.get("type") == "string":
                    cases.append((method, path, f"{name}=AAA", None, f"{name}-enum"))
                if name == "pageSize":
                    for size in (0, 101, 1000):
                        cases.append((method, path, f"pageSize={size}", None, f"pageSize-{size}"))
            content = node.get("requestBody", {}).get("content", {}).get("application/json")
            if content is None:
                continue
            schema = resolve(content["schema"])
            required = schema.get("required", [])
            valid = {
                key: sample(resolve(value))
                for key, value in schema.get("properties", {}).items()
                if key in required
            }
            if required:
                cases.append((method, path, "", {}, "missing-required"))
            for key, value in schema.get("properties", {}).items():
                kind = resolve(value).get("type")
                if kind in WRONG_TYPE and not resolve(value).get("nullable"):
                    cases.append(
                        (method, path, "", {**valid, key: WRONG_TYPE[kind]}, f"{key}-type")
                    )
    return cases


def sample(schema: Any) -> Any:
    if schema.get("enum"):
        return schema["enum"][0]
    if schema.get("format") == "uri":
        return "http://127.0.0.1:9/hook"
    return {"string": "text", "integer": 1, "number": 1.5, "boolean": True, "array": []}.get(
        schema.get("type"), {}
    )


def drawn() -> List[Any]:
    cases = invalid_requests()
    chosen = random.Random(SEED).sample(cases, min(INVALID_CASES, len(cases)))
    return [
        pytest.param(method, path, query, body, id=f"{method.upper()} {path} {case}")
        for method, path, query, body, case in chosen
    ]


@pytest.mark.parametrize(("method", "path", "query", "body"), drawn())
def test_an_invalid_request_gets_the_documented_400(
    method: str, path: str, query: str, body: Dict[str, Any] | None
) -> None:
    operation = BY_ROUTE[(method.upper(), path)]
    with Emulator() as emulator:
        values = {**PATH_VALUES, **existing(emulator, operation)}
        route = path
        for param in operation.params:
            if param.where == "path":
                route = route.replace(f"{{{param.wire}}}", values[param.name])
        headers = authorization(emulator)
        payload = b""
        if body is not None:
            if body.get("videoId") == "text" and "video_id" in values:  # a valid sample
                body = {**body, "videoId": values["video_id"]}
            headers.update(JSON)
            payload = dumps(body)
        target = route + ("?" + query if query else "")
        status, content_type, answer = send(emulator, method.upper(), target, headers, payload)
    assert status == 400, (method, target, body, status, answer[:300])
    problem = json.loads(answer)
    assert problem["status"] == 400 and problem["type"].startswith("https://docs.api.video/")
    assert problem["title"]
    if "400" in openapi()["paths"][path][method]["responses"]:
        check(method, target, status, content_type, answer)

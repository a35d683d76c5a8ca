"""The generated API classes (video_api/apis/tags/*) over real HTTP to the emulator.

Every operation in openapi.yaml is called here with a method of its tag's class. The request
it sends (method, path, query, body) is compared with what api.video's own client (the
``api.video`` package, a test-only dependency) sends for the same call, and its documented
success response parses into the declared model.
"""

from __future__ import annotations

import base64
import contextlib
import email.parser
import email.policy
import enum
import gc
import http.client
import http.server
import importlib
import inspect
import json
import re
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qsl, urlsplit

import pytest
from conftest import VTT, openapi

import video_api
from video_api.apis.tags import TAGS
from video_api.exceptions import exception_class_for
from video_api.operation import Operation
from video_api.schemas import Model
from video_api.testing import Emulator, Fault, RecordedRequest

ROOT = Path(__file__).resolve().parent.parent


def api_classes() -> Dict[str, type]:
    return {
        name: getattr(importlib.import_module(f"video_api.apis.tags.{module}"), name)
        for name, module in TAGS.items()
    }


def operations() -> List[Tuple[str, str, Operation[Any]]]:
    """(class name, method name, declaration) for every generated method."""
    found = []
    for class_name, cls in api_classes().items():
        for name, function in inspect.getmembers(cls, inspect.isfunction):
            # The class's module, or the mixin's that defines the method, imports its
            # declaration as _<method>.
            modules = (sys.modules[cls.__module__], sys.modules[function.__module__])
            declared = next((m for m in modules if hasattr(m, f"_{name}")), None)
            declared = getattr(declared, f"_{name}", None)
            if declared is not None:
                found.append((class_name, name, declared.operation))
    return found


OPERATIONS = operations()
VENDOR_OPERATIONS = [case for case in OPERATIONS if case[0] != "AuthenticationApi"]


def test_every_spec_operation_has_a_method() -> None:
    spec = openapi()
    in_spec = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert len(in_spec) == 59
    assert {(op.method, op.path) for _, _, op in OPERATIONS} == in_spec


# -- arguments: the same call for both clients ------------------------------------------------
def sample(spec: Any) -> Any:
    """A valid value for a model field, built from its declaration."""
    kind = spec.resolve()
    if spec.enum:
        value: Any = spec.enum[0]
    elif isinstance(kind, type) and issubclass(kind, Model):
        value = {f.wire: sample(f) for f in kind._fields if f.required}
    else:
        value = {str: "text", int: 1, float: 1.5, bool: True, object: {}}.get(kind)
    if spec.wire == "timecode":  # the one field with a pattern, which api.video's client checks
        value = "00:00:01.00"
        if kind is datetime:
            value = "2024-02-05T00:00:00+01:00"
    return [value] if spec.many else value


def body_fields(model: type) -> Dict[str, Any]:
    """Wire values for every required field and a few optional scalars."""
    fields = {}
    for spec in model._fields:  # type: ignore[attr-defined]
        if spec.required or spec.resolve() in (str, bool) or spec.enum:
            fields[spec.wire] = sample(spec)
    return fields


QUERIES: Dict[Tuple[str, str], Dict[str, Any]] = {
    ("VideosApi", "list"): {
        "title": "My Video.mp4",
        "tags": ["captions", "dialogue"],
        "metadata": {"Author": "John Doe", "Format": "Tutorial"},
        "description": "New Zealand",
        "live_stream_id": "li400mYKSgQ6xs7taUeSaEKr",
        "sort_by": "publishedAt",
        "sort_order": "asc",
        "current_page": 2,
        "page_size": 30,
    },
    ("AnalyticsApi", "get_metrics_breakdown"): {
        "_from": datetime(2024, 2, 5, tzinfo=timezone.utc),
        "sort_by": "metricValue",
        "sort_order": "desc",
        "view_duration": "5s",
        "current_page": 1,
        "page_size": 10,
    },
    ("WebhooksApi", "list"): {"events": "video.encoding.quality.completed"},
    ("SummariesApi", "list"): {"video_id": "vi4blUQJFrYWbaG44NChkH27", "origin": "auto"},
    ("TagsApi", "list"): {"value": "maths", "sort_by": "value", "sort_order": "asc"},
    ("LiveStreamsApi", "list"): {"stream_key": "30087931-229e-42cf-b5f9-e91bcc1f7332"},
    # A text field beside the file: the parts go in the same order.
    ("PlayerThemesApi", "upload_logo"): {"link": "https://example.com/"},
}


PATH_VALUES = {"language": "en", "metric": "play", "aggregation": "count", "breakdown": "media-id"}


def call_arguments(
    library: str,
    class_name: str,
    method: str,
    operation: Operation[Any],
    upload: Path,
    path_values: Optional[Dict[str, str]] = None,
) -> Tuple[List[Any], Dict[str, Any]]:
    """Positional and keyword arguments for ``method``, with models from ``library``; the
    ids in ``path_values`` (from ``existing``) also stand for the body's and the token."""
    args: List[Any] = []
    values = {**PATH_VALUES, **(path_values or {})}
    for param in operation.params:
        if param.where == "path":
            args.append(values.get(param.name, f"{param.name}-1"))
        elif param.where == "json":
            model = operation.model("body")
            assert model is not None
            fields = body_fields(model)
            if "videoId" in fields and "video_id" in values:  # POST /summaries
                fields["videoId"] = values["video_id"]
            args.append(as_model(library, model.__name__, fields))
        elif param.where == "file":
            tracks = "/captions/" in operation.path or "/chapters/" in operation.path
            args.append((upload.with_suffix(".vtt") if tracks else upload).open("rb"))
        elif param.name == "token":
            args.append(values.get("token", "to-none"))
    return args, dict(QUERIES.get((class_name, method), {}))


def raw_call(emulator: Emulator, method: str, path: str, payload: Any = None) -> Any:
    """One call with the standard library (JSON, or a one-file multipart body for bytes)."""
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    key = base64.b64encode(f"{emulator.api_key}:".encode()).decode()
    headers = {"Authorization": f"Basic {key}"}
    body = None
    if isinstance(payload, bytes):
        boundary = "test-apis-boundary"
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n'
            ).encode()
            + payload
            + f"\r\n--{boundary}--\r\n".encode()
        )
    elif payload is not None:
        headers["Content-Type"], body = "application/json", json.dumps(payload).encode()
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        assert response.status < 300, (method, path, response.status, data[:300])
        return json.loads(data) if data else None
    finally:
        connection.close()


def existing(emulator: Emulator, operation: Operation[Any]) -> Dict[str, str]:
    """Create what ``operation`` works on (the emulator holds nothing else): the ids, by the
    Python name of the parameter that takes them."""
    path, ids = operation.path, {}
    if "{videoId}" in path or path == "/summaries":
        video_id = raw_call(emulator, "POST", "/videos", {"title": "for the test"})["videoId"]
        ids["video_id"] = video_id
        if "{language}" in path and operation.method != "POST":
            kind = "captions" if "/captions/" in path else "chapters"
            raw_call(emulator, "POST", f"/videos/{video_id}/{kind}/en", VTT)
        if path.startswith("/discarded/"):
            raw_call(emulator, "DELETE", f"/videos/{video_id}")
    if "{liveStreamId}" in path:
        stream = raw_call(emulator, "POST", "/live-streams", {"name": "for the test"})
        ids["live_stream_id"] = stream["liveStreamId"]
    if "{playerId}" in path:
        ids["player_id"] = raw_call(emulator, "POST", "/players", {})["playerId"]
    if "{watermarkId}" in path:
        ids["watermark_id"] = raw_call(emulator, "POST", "/watermarks", b"image")["watermarkId"]
    if "{uploadToken}" in path or path == "/upload":
        token = raw_call(emulator, "POST", "/upload-tokens", {})["token"]
        ids["upload_token" if "{" in path else "token"] = token
    if "{summaryId}" in path:
        video = raw_call(emulator, "POST", "/videos", {"title": "summed up"})
        summary = raw_call(emulator, "POST", "/summaries", {"videoId": video["videoId"]})
        ids["summary_id"] = summary["summaryId"]
    if "{webhookId}" in path:
        hook = {"url": "http://127.0.0.1:9/hook", "events": ["video.caption.generated"]}
        ids["webhook_id"] = raw_call(emulator, "POST", "/webhooks", hook)["webhookId"]
    return ids


def as_model(library: str, name: str, wire: Dict[str, Any]) -> Any:
    ours = getattr(importlib.import_module("video_api.models"), name)
    if library == "ours":
        return ours(wire)
    module = importlib.import_module(f"apivideo.model.{ours.__module__.rsplit('.', 1)[1]}")
    python = {ours._lookup[key].name: value for key, value in wire.items()}
    return getattr(module, name)(**python)


# -- comparing requests ------------------------------------------------------------------------
def comparable(request: RecordedRequest) -> Tuple[str, str, List[Tuple[str, str]], Any]:
    """What both clients must agree on: method, path, query (in order), and the body."""
    url = urlsplit(request.path)
    query = parse_qsl(url.query, keep_blank_values=True)
    content_type = request.headers.get("Content-Type", "")
    body: Any = request.body or None  # api.video's client sends a JSON type with no body too
    if body is None:
        pass
    elif content_type.startswith("application/json"):
        body = json.loads(request.body)
    elif content_type.startswith("multipart/form-data"):
        body = form_parts(content_type, request.body)
    return request.method, url.path, query, body


def form_parts(content_type: str, body: bytes) -> List[Tuple[Optional[str], Optional[str], bytes]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    return [
        (
            part.get_param("name", header="content-disposition"),
            part.get_filename(),
            part.get_payload(decode=True),
        )
        for part in message.iter_parts()
    ]


def api_requests(emulator: Emulator) -> List[RecordedRequest]:
    return [r for r in emulator.requests if not r.path.startswith("/auth/")]


@pytest.fixture(scope="module")
def vendor() -> Any:
    return pytest.importorskip("apivideo")


def vendor_request(
    vendor: Any,
    emulator: Emulator,
    class_name: str,
    method: str,
    args: List[Any],
    kwargs: Dict[str, Any],
) -> RecordedRequest:
    client = vendor.AuthenticatedApiClient(emulator.api_key)
    client.configuration.host = emulator.url
    try:
        client.connect()
        module = importlib.import_module(f"apivideo.api.{TAGS[class_name]}")
        api = getattr(module, class_name)(client)
        emulator.clear()
        # Only the request matters here, not how api.video's client takes the answer.
        with contextlib.suppress(Exception):
            getattr(api, method)(*args, **kwargs)
    finally:
        client.close()
    (sent,) = api_requests(emulator)
    return sent


@pytest.mark.parametrize(
    ("class_name", "method", "operation"),
    VENDOR_OPERATIONS,
    ids=[f"{c}.{m}" for c, m, _ in VENDOR_OPERATIONS],
)
def test_request_matches_the_vendor_client(
    vendor: Any,
    emulator: Emulator,
    upload: Path,
    class_name: str,
    method: str,
    operation: Operation[Any],
) -> None:
    """Both clients call on the same resources, made first (ours goes first: api.video's
    client may then find one deleted, or a summary already made, and that is fine)."""
    configuration = video_api.Configuration(host=emulator.url, api_key=emulator.api_key)
    with video_api.ApiClient(configuration) as client:
        ids = existing(emulator, operation)
        emulator.clear()
        args, kwargs = call_arguments("ours", class_name, method, operation, upload, ids)
        result = getattr(api_classes()[class_name](client), method)(*args, **kwargs)
    (sent,) = api_requests(emulator)
    # api.video's client goes second: only its request matters, not whether it succeeds.
    args, kwargs = call_arguments("vendor", class_name, method, operation, upload, ids)
    assert comparable(sent) == comparable(
        vendor_request(vendor, emulator, class_name, method, args, kwargs)
    )
    success = operation.model(min(s for s in operation.responses if s < 300))
    if success is None:
        assert result is None
    else:
        assert type(result) is success


def test_booleans_in_the_query_are_lower_case_as_the_spec_says(emulator: Emulator) -> None:
    """api.video's client sends Python's ``True``; a form-style boolean is ``true``."""
    from video_api.apis.tags.analytics_api import AnalyticsApi

    configuration = video_api.Configuration(host=emulator.url, api_key=emulator.api_key)
    with video_api.ApiClient(configuration) as client:
        AnalyticsApi(client).get_aggregated_metrics(
            "play",
            "count",
            unique=True,
            filter_by={"mediaId": ["vi1", "vi2"], "mediaType": "video"},
        )
    (sent,) = api_requests(emulator)
    assert urlsplit(sent.path).path == "/data/metrics/play/count"
    assert parse_qsl(urlsplit(sent.path).query) == [
        ("unique", "true"),
        ("filterBy[mediaId][]", "vi1"),
        ("filterBy[mediaId][]", "vi2"),
        ("filterBy[mediaType]", "video"),
    ]


def test_a_null_player_id_removes_the_videos_player(emulator: Emulator) -> None:
    """The spec lets an update send ``"playerId": null`` (``x-optional-nullable``): the video
    then has no player. A field left out is not sent, and changes nothing."""
    from video_api.apis.tags.player_themes_api import PlayerThemesApi
    from video_api.apis.tags.videos_api import VideosApi
    from video_api.model.player_theme_creation_payload import PlayerThemeCreationPayload
    from video_api.model.video_creation_payload import VideoCreationPayload
    from video_api.model.video_update_payload import VideoUpdatePayload

    configuration = video_api.Configuration(host=emulator.url, api_key=emulator.api_key)
    with video_api.ApiClient(configuration) as client:
        player = PlayerThemesApi(client).create(PlayerThemeCreationPayload(name="p"))
        videos = VideosApi(client)
        video = videos.create(VideoCreationPayload(title="t", player_id=player.player_id))
        kept = videos.update(video.video_id, VideoUpdatePayload(title="u"))
        removed = videos.update(video.video_id, VideoUpdatePayload(player_id=None))
    assert kept.player_id == player.player_id
    assert removed.player_id is None
    assert json.loads(emulator.requests[-1].body) == {"playerId": None}


@pytest.mark.parametrize("video_id", ["../../auth/api-key", "a/b", "..", "?x=1", "#frag", "é"])
def test_path_parameters_cannot_leave_their_segment(emulator: Emulator, video_id: str) -> None:
    from video_api.apis.tags.videos_api import VideosApi

    configuration = video_api.Configuration(host=emulator.url, api_key=emulator.api_key)
    with video_api.ApiClient(configuration) as client, pytest.raises(video_api.NotFoundException):
        VideosApi(client).get(video_id)
    (sent,) = api_requests(emulator)
    path = sent.path
    assert (
        path.startswith("/videos/") and path.count("/") == 2 and "?" not in path and "#" not in path
    )


# -- every documented response ------------------------------------------------------------------
def documented_responses() -> List[Any]:
    """(class, method, operation, status, example body) for every example in the spec."""
    spec = openapi()
    cases = []
    for class_name, method, operation in OPERATIONS:
        node = spec["paths"][operation.path][operation.method.lower()]
        for status, response in node["responses"].items():
            media = response.get("content", {}).get("application/json", {})
            examples = [e["value"] for e in media.get("examples", {}).values() if "value" in e]
            examples += [media["example"]] if "example" in media else []
            for index, example in enumerate(examples):
                case_id = f"{class_name}.{method}-{status}-{index}"
                cases.append(
                    pytest.param(class_name, method, operation, int(status), example, id=case_id)
                )
    return cases


@pytest.mark.parametrize(
    ("class_name", "method", "operation", "status", "example"), documented_responses()
)
def test_documented_response_parses_or_raises_its_class(
    emulator: Emulator,
    upload: Path,
    class_name: str,
    method: str,
    operation: Operation[Any],
    status: int,
    example: Any,
) -> None:
    route = operation.path
    for param in operation.params:
        if param.where == "path":
            value = PATH_VALUES.get(param.name, f"{param.name}-1")
            route = route.replace(f"{{{param.wire}}}", value)
    raw = json.dumps(example, default=lambda value: value.isoformat())  # YAML reads dates
    emulator.add_fault(route, Fault.body(raw.encode(), status=status))
    args, kwargs = call_arguments("ours", class_name, method, operation, upload)
    configuration = video_api.Configuration(host=emulator.url, api_key=emulator.api_key, retries=0)
    with video_api.ApiClient(configuration) as client:
        call = getattr(api_classes()[class_name](client), method)
        if class_name == "AuthenticationApi":
            args, kwargs = (
                [],
                {"body": {"apiKey": "k"} if "api_key" in method else {"refreshToken": "r"}},
            )
        if status < 300:
            result = call(*args, **kwargs)
            body = result.body if class_name == "AuthenticationApi" else result
            assert type(body) is operation.model(status)
            assert body.to_dict() == json.loads(json.dumps(body.to_dict()))
        else:
            with pytest.raises(exception_class_for(status)) as raised:
                call(*args, **kwargs)
            assert type(raised.value.problem) is operation.model(status)
            assert raised.value.status == status


# -- the runtime behaviour every generated method shares ----------------------------------------
class PagesHandler(http.server.BaseHTTPRequestHandler):
    """GET /videos?currentPage=N: page N of TOTAL videos, made on the fly (nothing stored)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each response waits for a delayed ACK
    TOTAL, SIZE = 10_000, 100

    def do_GET(self) -> None:
        query = dict(parse_qsl(urlsplit(self.path).query))
        page = int(query.get("currentPage", "1"))
        first = (page - 1) * self.SIZE
        videos = [
            {
                "videoId": f"vi{n}",
                "title": f"video {n}",
                "tags": ["a", "b"],
                "createdAt": "2024-01-01T00:00:00Z",
            }
            for n in range(first, min(first + self.SIZE, self.TOTAL))
        ]
        pages = self.TOTAL // self.SIZE
        body = json.dumps(
            {
                "data": videos,
                "pagination": {
                    "currentPage": page,
                    "pageSize": self.SIZE,
                    "pagesTotal": pages,
                    "itemsTotal": self.TOTAL,
                    "links": [],
                },
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_paginate_reads_every_item_one_page_at_a_time_in_flat_memory() -> None:
    from video_api.apis.tags.videos_api import VideosApi

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PagesHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    configuration = video_api.Configuration(
        host=f"http://127.0.0.1:{server.server_port}", api_key="k"
    )
    try:
        with video_api.ApiClient(configuration) as client:
            items = video_api.paginate(VideosApi(client).list, tags=["a"], page_size=100)
            first = next(items)  # the first page is fetched, nothing more
            count, blocks, ids = 1, [], [first.video_id]
            for video in items:
                count += 1
                ids[-1:] = [video.video_id]
                if count % 1000 == 0:
                    gc.collect()
                    blocks.append(sys.getallocatedblocks())
    finally:
        server.shutdown()
        server.server_close()
    assert first.video_id == "vi0" and ids == ["vi9999"]
    assert count == 10_000
    # Memory held while iterating is one page's worth, not the items already seen
    # (10,000 videos kept would be over 100,000 blocks).
    assert max(blocks) - min(blocks) < 5_000, blocks


def test_paginate_refuses_a_method_without_pages(emulator: Emulator) -> None:
    from video_api.apis.tags.videos_api import VideosApi

    configuration = video_api.Configuration(host=emulator.url, api_key=emulator.api_key)
    with video_api.ApiClient(configuration) as client:
        video = VideosApi(client).create({"title": "t"})
        with pytest.raises(video_api.ApiTypeError, match="get_status does not return pages"):
            next(video_api.paginate(VideosApi(client).get_status, video.video_id))  # type: ignore[arg-type]
        page = VideosApi(client).list()
        with pytest.raises(video_api.ApiTypeError) as caught:  # the page, not the method
            next(video_api.paginate(page))  # type: ignore[arg-type]
        assert str(caught.value) == (
            "paginate expects a list method such as videos_api.list, got VideosListResponse"
        )


def test_a_thumbnail_from_a_gzip_file_object_is_sent_decompressed(
    emulator: Emulator, tmp_path: Path
) -> None:
    """Any binary file object is a file: a GzipFile (whose ``mode`` is an int) included."""
    import gzip

    from video_api.apis.tags.videos_api import VideosApi
    from video_api.model.video_creation_payload import VideoCreationPayload

    jpeg = b"\xff\xd8\xff" + bytes(range(256))
    path = tmp_path / "thumb.jpg.gz"
    path.write_bytes(gzip.compress(jpeg))
    configuration = video_api.Configuration(host=emulator.url, api_key=emulator.api_key)
    with video_api.ApiClient(configuration) as client, gzip.open(path, "rb") as thumbnail:
        videos = VideosApi(client)
        video = videos.create(VideoCreationPayload(title="t"))
        videos.upload_thumbnail(video.video_id, thumbnail)
    sent = emulator.requests[-1]
    parts = form_parts(sent.headers["Content-Type"], sent.body)
    assert [(name, data) for name, _, data in parts] == [("file", jpeg)]


def test_upload_with_an_upload_token_sends_no_credentials(emulator: Emulator, upload: Path) -> None:
    from video_api.apis.tags.videos_api import VideosApi

    token = raw_call(emulator, "POST", "/upload-tokens", {"ttl": 60})["token"]
    emulator.clear()
    with video_api.ApiClient(video_api.Configuration(host=emulator.url)) as client:
        video = VideosApi(client).upload_with_upload_token(token, str(upload))
    (sent,) = api_requests(emulator)
    assert sent.path == f"/upload?token={token}"
    assert emulator.uploaded_size(video.video_id) == upload.stat().st_size
    assert "Authorization" not in sent.headers


def test_a_call_needing_credentials_without_any_sends_nothing(emulator: Emulator) -> None:
    from video_api.apis.tags.videos_api import VideosApi

    configuration = video_api.Configuration(host=emulator.url)
    expected = r"list needs credentials: give Configuration\(api_key=...\)"
    with video_api.ApiClient(configuration) as client, pytest.raises(
        video_api.ApiValueError, match=expected
    ):
        VideosApi(client).list()
    assert emulator.requests == []


def test_per_call_timeout_headers_and_http_info(emulator: Emulator) -> None:
    from video_api.apis.tags.videos_api import VideosApi

    emulator.add_fault("/videos", Fault.stall(2))
    configuration = video_api.Configuration(host=emulator.url, api_key=emulator.api_key, retries=0)
    with video_api.ApiClient(configuration) as client:
        videos_api = VideosApi(client)
        with pytest.raises(video_api.ApiTimeoutError):
            videos_api.list(_request_timeout=0.2)
        response = video_api.with_http_info(videos_api.list, _headers={"X-Trace": "t-1"})
    assert response.status == 200
    assert type(response.body).__name__ == "VideosListResponse"
    assert emulator.requests[-1].headers["X-Trace"] == "t-1"
    body, status, headers = response
    assert (body, status, headers) == (response.body, 200, response.headers)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (
            {"tags": {"a"}},
            video_api.ApiTypeError,
            "^list: tags expects text, a number, a boolean or a timezone-aware datetime "
            r"\(or a list of them\), got set$",
        ),
        ({"tags": ["a", None]}, video_api.ApiTypeError, "list: tags expects .*, got NoneType$"),
        ({"metadata": {"k": None}}, video_api.ApiTypeError, r"list: metadata\['k'\] .*NoneType$"),
        ({"metadata": {"k": {"x": "v"}}}, video_api.ApiTypeError, "got dict$"),
        ({"_headers": [("X-Trace", "1")]}, video_api.ApiTypeError, "got list$"),
        ({"_headers": {"X-Trace": 0.5}}, video_api.ApiTypeError, "got str and float$"),
        (
            {"_headers": {"X-Trace": "a\r\nX-Evil: 1"}},
            video_api.ApiValueError,
            "^list: _headers: header 'X-Trace' has a character HTTP does not allow$",
        ),
        (  # http.client encodes values as Latin-1: it would raise UnicodeEncodeError
            {"_headers": {"X-Trace": "名前"}},
            video_api.ApiValueError,
            "^list: _headers: header 'X-Trace' has a character HTTP does not allow$",
        ),
    ],
    ids=[
        "set",
        "none-item",
        "none-value",
        "nested-map",
        "header-pairs",
        "header-float",
        "crlf",
        "not-latin-1",
    ],
)
def test_a_query_value_or_header_that_cannot_be_sent_is_refused_before_sending(
    emulator: Emulator, kwargs: Dict[str, Any], error: type, message: str
) -> None:
    """Not sent as a Python repr (``tags[]={'a'}``), and not left to fail deep in http.client:
    the error names the method and the argument, and never shows a header's value."""
    from video_api.apis.tags.videos_api import VideosApi

    configuration = video_api.Configuration(host=emulator.url, api_key=emulator.api_key)
    with video_api.ApiClient(configuration) as client, pytest.raises(error) as info:
        VideosApi(client).list(**kwargs)
    assert re.search(message, str(info.value)), str(info.value)
    assert "X-Evil" not in str(info.value)
    assert emulator.requests == []


def test_an_enum_member_in_the_query_is_sent_by_its_value(emulator: Emulator) -> None:
    from video_api.apis.tags.videos_api import VideosApi

    class Sort(str, enum.Enum):
        CREATED = "createdAt"

    configuration = video_api.Configuration(host=emulator.url, api_key=emulator.api_key)
    with video_api.ApiClient(configuration) as client:
        response = VideosApi(client).list(sort_by=Sort.CREATED, _return_http_data_only=False)
    assert parse_qsl(urlsplit(emulator.requests[-1].path).query) == [("sortBy", "createdAt")]
    assert response[1] == 200 and response[0] is response.body  # indexed as api.video's tuple
    assert len(response) == 3


def test_a_misspelled_keyword_is_refused_before_sending(emulator: Emulator) -> None:
    from video_api.apis.tags.videos_api import VideosApi

    configuration = video_api.Configuration(host=emulator.url, api_key=emulator.api_key)
    with video_api.ApiClient(configuration) as client, pytest.raises(
        video_api.ApiTypeError, match="list\\(\\) got an unexpected keyword argument 'tag'"
    ):
        VideosApi(client).list(tag=["a"])  # type: ignore[call-arg]
    assert emulator.requests == []


def test_429_carries_the_rate_limit_headers(emulator: Emulator) -> None:
    from video_api.apis.tags.videos_api import VideosApi

    headers = {
        "X-RateLimit-Limit": "60",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Retry-After": "30",
    }
    emulator.add_fault("/videos", Fault.status(429, headers=headers))
    configuration = video_api.Configuration(host=emulator.url, api_key=emulator.api_key)
    with video_api.ApiClient(configuration) as client, pytest.raises(
        video_api.TooManyRequestsException
    ) as raised:
        VideosApi(client).list()
    error = raised.value
    assert (error.rate_limit_limit, error.rate_limit_remaining, error.retry_after) == (60, 0, 30.0)
    assert error.retries == 0  # a 30 s wait is more than the client waits by itself


def test_the_vendors_raw_response_option_is_refused_clearly(emulator: Emulator) -> None:
    from video_api.apis.tags.videos_api import VideosApi

    configuration = video_api.Configuration(host=emulator.url, api_key=emulator.api_key)
    with video_api.ApiClient(configuration) as client, pytest.raises(
        video_api.ApiValueError, match="_preload_content=False is not supported"
    ):
        VideosApi(client).list(_preload_content=False)  # type: ignore[call-arg]
    assert emulator.requests == []

"""The runtime (``video_api.api_client``), its configuration and its exceptions, end to end
over real HTTP to the emulator on loopback.

They pin what a user of the AuthenticationApi page relies on: the objects returned,
the bytes put on the wire, the exception raised for each failure, timeouts, logging,
configuration, and the connection pool's lifecycle. Credentials are tested in test_auth.
"""

from __future__ import annotations

import json
import logging
import math
import pprint
import re
import socket
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import urllib3

import video_api
from video_api import api_client as api_client_module
from video_api import exceptions, schemas
from video_api.apis.tags import authentication_api
from video_api.apis.tags.upload_tokens_api import UploadTokensApi
from video_api.apis.tags.videos_api import VideosApi
from video_api.configuration import Configuration, Timeout
from video_api.exceptions import (
    ApiConnectionError,
    ApiException,
    ApiMissingFieldError,
    ApiResponseError,
    ApiTimeoutError,
    ApiTypeError,
    ApiValueError,
    AuthenticationError,
    BadRequestException,
    ConflictException,
    ForbiddenException,
    NotFoundException,
    ServiceException,
    TooManyRequestsException,
    UnauthorizedException,
)
from video_api.model.access_token import AccessToken
from video_api.model.authenticate_payload import AuthenticatePayload
from video_api.model.bad_request import BadRequest
from video_api.model.refresh_token_payload import RefreshTokenPayload
from video_api.model.token_creation_payload import TokenCreationPayload
from video_api.model.video_creation_payload import VideoCreationPayload
from video_api.paths.auth_api_key import post as auth_api_key_post
from video_api.paths.auth_refresh import post as auth_refresh_post
from video_api.schemas import unset
from video_api.testing import Emulator, Fault

REFERENCE = "https://docs.api.video/reference/"  # where the spec's problem types live
BAD_CREDENTIALS = REFERENCE + "authentication-invalid-user-credentials"
BAD_KEY = "wrong-key-c0ffee-7f3a9b"
VERSION = video_api.__version__
PROBLEM_JSON = "application/problem+json"


def make_client(
    emulator: Emulator, *, retries: int = 2, timeout: Timeout = (2.0, 5.0)
) -> video_api.ApiClient:
    """A client on the emulator with its own retry budget and default timeout."""
    configuration = video_api.Configuration(host=emulator.url, retries=retries, timeout=timeout)
    return video_api.ApiClient(configuration)


@pytest.fixture
def no_retry(emulator: Emulator) -> Iterator[authentication_api.AuthenticationApi]:
    """An AuthenticationApi whose client never retries, so one fault means one request."""
    with make_client(emulator, retries=0) as client:
        yield authentication_api.AuthenticationApi(client)


def timeout_refused(timeout: Any) -> str:
    """The message that refuses an unusable timeout, naming the value given."""
    return f"timeout must be positive seconds, or (connect, read) of them, got {timeout!r}"


def login(api: authentication_api.AuthenticationApi, emulator: Emulator) -> AccessToken:
    """Authenticate with the emulator's key; the token body."""
    return api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key)).body


def established_to(port: int) -> set[int]:
    """Local ports of this machine's ESTABLISHED TCP connections to 127.0.0.1:``port``.

    Read from the kernel's socket table, so it shows what really is open, whoever holds it.
    """
    table = Path("/proc/net/tcp")
    if not sys.platform.startswith("linux") or not table.exists():
        pytest.skip("needs Linux's /proc/net/tcp to observe open sockets")
    remote = f"0100007F:{port:04X}"
    ports = set()
    for line in table.read_text().splitlines()[1:]:
        fields = line.split()
        if fields[2] == remote and fields[3] == "01":  # 01 = ESTABLISHED
            ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


# -- the documented example flow ---------------------------------------------------------


def test_documented_example_returns_api_response_for_200(
    configuration: video_api.Configuration, emulator: Emulator
) -> None:
    """The page's example: ApiResponseFor200 with an AccessToken body, the urllib3
    response and its headers."""
    with video_api.ApiClient(configuration) as api_client:
        api_instance = authentication_api.AuthenticationApi(api_client)
        api_response = api_instance.p_ost_auth_api_key(
            body=AuthenticatePayload(api_key=emulator.api_key)
        )
    assert type(api_response) is auth_api_key_post.ApiResponseFor200
    assert isinstance(api_response.response, urllib3.HTTPResponse)
    assert api_response.response.status == 200
    assert api_response.headers["Content-Type"] == "application/json"
    assert api_response.headers["content-type"] == "application/json"  # any case
    assert api_response.retries == 0
    body = api_response.body
    assert isinstance(body, AccessToken)
    assert isinstance(body.expires_in, int) and body.expires_in == 3600
    assert body["expires_in"] == 3600
    assert body["access_token"] == body.access_token and body.access_token
    assert body["refresh_token"] == body.refresh_token and body.refresh_token
    assert body.token_type == "Bearer"


def test_pprint_of_the_whole_response_is_one_readable_line_without_tokens(
    api: authentication_api.AuthenticationApi, emulator: Emulator
) -> None:
    """The reference example does ``pprint(api_response)``: it names the response class, the
    status, the body with its tokens shortened, the headers and the retries."""
    api_response = api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    text = pprint.pformat(api_response, width=1_000)
    token = api_response.body
    assert text.startswith("ApiResponseFor200(response=<HTTPResponse 200 OK>, body=AccessToken(")
    assert "expires_in=3600" in text
    assert "headers={'Content-Type': 'application/json', 'Content-Length': " in text
    assert text.endswith(", retries=0)")
    assert token.access_token not in text and token.refresh_token not in text


def test_access_token_returned_is_accepted_by_the_server(
    client: video_api.ApiClient, api: authentication_api.AuthenticationApi, emulator: Emulator
) -> None:
    """The access token in the body is the one the server issued: it opens /videos."""
    token = login(api, emulator)
    result = client.call_api(
        "/videos", "GET", headers={"Authorization": f"Bearer {token.access_token}"}
    )
    assert result.response.status == 200
    assert result.body["data"] == []


def test_refresh_returns_new_tokens(
    api: authentication_api.AuthenticationApi, emulator: Emulator
) -> None:
    """p_ost_auth_refresh with the returned refresh token gives a fresh, rotated pair."""
    first = login(api, emulator)
    refreshed = api.p_ost_auth_refresh(body=RefreshTokenPayload(refresh_token=first.refresh_token))
    assert type(refreshed) is auth_refresh_post.ApiResponseFor200
    assert refreshed.response.status == 200
    assert refreshed.headers["Content-Type"] == "application/json"
    assert isinstance(refreshed.body, AccessToken)
    assert isinstance(refreshed.body.expires_in, int)
    assert refreshed.body.refresh_token != first.refresh_token
    assert refreshed.body.access_token != first.access_token
    assert emulator.tokens_issued == 2
    sent = emulator.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/auth/refresh")
    assert sent.body == f'{{"refreshToken":"{first.refresh_token}"}}'.encode()


# -- the bytes sent --------------------------------------------------------------------------


def test_request_line_body_and_headers(
    api: authentication_api.AuthenticationApi, emulator: Emulator
) -> None:
    """One POST with compact JSON in wire names and the documented headers."""
    api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    (sent,) = emulator.requests
    assert sent.method == "POST"
    assert sent.path == "/auth/api-key"
    assert sent.body == f'{{"apiKey":"{emulator.api_key}"}}'.encode()
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Content-Length"] == str(len(sent.body))
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["User-Agent"] == f"video-api-python/{VERSION}"
    assert sent.headers["AV-Origin-Client"] == f"python:{VERSION}"
    assert "Authorization" not in sent.headers


@pytest.mark.parametrize("wire", [True, False], ids=["wire-name", "python-name"])
def test_dict_body_is_validated_and_sent_like_the_model(
    api: authentication_api.AuthenticationApi, emulator: Emulator, wire: bool
) -> None:
    """A mapping body, keyed by wire or Python name, becomes the same bytes as the model, for
    both operations."""
    body = {"apiKey": emulator.api_key} if wire else {"api_key": emulator.api_key}
    result = api.p_ost_auth_api_key(body=body)
    assert isinstance(result.body, AccessToken)
    assert emulator.requests[0].body == f'{{"apiKey":"{emulator.api_key}"}}'.encode()
    refresh_token = result.body.refresh_token
    mapping = {"refreshToken" if wire else "refresh_token": refresh_token}
    assert isinstance(api.p_ost_auth_refresh(body=mapping).body, AccessToken)
    assert emulator.requests[1].body == f'{{"refreshToken":"{refresh_token}"}}'.encode()


@pytest.mark.parametrize("how", ["omitted", "unset"])
def test_body_left_unset_sends_none_and_the_server_refuses(
    api: authentication_api.AuthenticationApi, emulator: Emulator, how: str
) -> None:
    """``body`` defaults to ``unset`` (the reference page): the POST goes out empty, without a
    Content-Type, and the server's 400 is raised."""
    options: Dict[str, Any] = {} if how == "omitted" else {"body": schemas.unset}
    with pytest.raises(BadRequestException) as caught:
        api.p_ost_auth_api_key(**options)
    assert caught.value.status == 400
    (sent,) = emulator.requests
    assert (sent.method, sent.path, sent.body) == ("POST", "/auth/api-key", b"")
    assert "Content-Type" not in sent.headers


@pytest.mark.parametrize("body", ["api_key_example", ["apiKey"], 42, None], ids=repr)
def test_body_neither_model_nor_mapping_raises_before_sending(
    api: authentication_api.AuthenticationApi, emulator: Emulator, body: Any
) -> None:
    """A body that is not the model or a mapping of its fields is an ApiTypeError naming the
    operation, the model and the type given; nothing is sent."""
    with pytest.raises(ApiTypeError) as caught:
        api.p_ost_auth_api_key(body=body)
    assert str(caught.value) == (
        "p_ost_auth_api_key: body must be AuthenticatePayload (or a mapping of its fields), "
        f"got {type(body).__name__}"
    )
    assert emulator.requests == []


def test_invalid_dict_body_raises_before_sending(
    api: authentication_api.AuthenticationApi, emulator: Emulator
) -> None:
    """A mapping with a wrongly typed field is refused locally, naming the field."""
    with pytest.raises(ApiTypeError) as caught:
        api.p_ost_auth_api_key(body={"apiKey": 12345})
    message = str(caught.value)
    assert "AuthenticatePayload" in message and "apiKey" in message
    assert "str" in message and "int" in message
    assert emulator.requests == []


def test_misspelt_dict_body_key_raises_before_sending(
    api: authentication_api.AuthenticationApi, emulator: Emulator
) -> None:
    """A mapping with a misspelt field name is refused locally with a suggestion."""
    with pytest.raises(ApiTypeError) as caught:
        api.p_ost_auth_api_key(body={"apikey": emulator.api_key})
    assert str(caught.value).startswith(
        "AuthenticatePayload got an unexpected keyword 'apikey'; did you mean 'api_key'?"
    )
    assert emulator.api_key not in str(caught.value)
    assert emulator.requests == []


def test_wrong_model_as_body_raises_api_type_error(
    api: authentication_api.AuthenticationApi, emulator: Emulator
) -> None:
    """Passing the refresh payload to the api-key operation names the operation and the model."""
    with pytest.raises(ApiTypeError) as caught:
        api.p_ost_auth_api_key(body=RefreshTokenPayload(refresh_token="r-token"))  # type: ignore[arg-type]
    message = str(caught.value)
    assert "p_ost_auth_api_key" in message
    assert "AuthenticatePayload" in message
    assert "RefreshTokenPayload" in message
    assert isinstance(caught.value, TypeError)
    assert emulator.requests == []


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_unsupported_content_type_raises_api_value_error(
    api: authentication_api.AuthenticationApi, emulator: Emulator, content_type: str
) -> None:
    """A content_type that is not JSON cannot be served: ApiValueError, nothing sent."""
    with pytest.raises(ApiValueError) as caught:
        api.p_ost_auth_api_key(
            body=AuthenticatePayload(api_key=emulator.api_key), content_type=content_type
        )
    assert str(caught.value) == (
        f"p_ost_auth_api_key: content_type {content_type!r} is not supported; "
        "this operation sends application/json"
    )
    assert emulator.requests == []


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/vnd.api+json"]
)
def test_json_content_type_with_parameters_is_sent_as_given(
    api: authentication_api.AuthenticationApi, emulator: Emulator, content_type: str
) -> None:
    """A JSON content_type, with parameters or a ``+json`` suffix, is accepted and put on the
    wire with the JSON body."""
    result = api.p_ost_auth_api_key(
        body=AuthenticatePayload(api_key=emulator.api_key), content_type=content_type
    )
    assert isinstance(result.body, AccessToken)
    assert emulator.requests[0].headers["Content-Type"] == content_type
    assert emulator.requests[0].json() == {"apiKey": emulator.api_key}


@pytest.mark.parametrize(
    "accept",
    [("application/json", "application/problem+json"), ["application/json", "*/*"]],
    ids=["tuple", "list"],
)
def test_accept_content_types_is_sent_as_accept(
    api: authentication_api.AuthenticationApi, emulator: Emulator, accept: Any
) -> None:
    """accept_content_types, a tuple or a list, becomes the Accept header, in order."""
    api.p_ost_auth_api_key(
        body=AuthenticatePayload(api_key=emulator.api_key), accept_content_types=accept
    )
    assert emulator.requests[0].headers["Accept"] == ", ".join(accept)


# -- error statuses --------------------------------------------------------------------------


def test_wrong_api_key_raises_bad_request_with_problem(
    api: authentication_api.AuthenticationApi, emulator: Emulator
) -> None:
    """A refused API key: BadRequestException itself (not the token lifecycle's
    AuthenticationError) carrying status, reason, headers, raw bytes, the retries and the
    parsed ApiResponseFor400, whose body is also ``problem``."""
    with pytest.raises(BadRequestException) as caught:
        api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=BAD_KEY))
    error = caught.value
    assert type(error) is BadRequestException
    assert error.retries == 0
    assert isinstance(error, ApiException)
    assert isinstance(error, video_api.ApiException)
    assert error.status == 400
    assert error.reason == "Bad Request"
    assert error.headers["Content-Type"] == "application/json"
    assert isinstance(error.body, bytes)
    raw = json.loads(error.body)
    assert raw["title"] == "The user credentials were incorrect."
    assert type(error.api_response) is auth_api_key_post.ApiResponseFor400
    problem = error.api_response.body
    assert isinstance(problem, BadRequest)
    assert problem.title == "The user credentials were incorrect."
    assert problem.type == BAD_CREDENTIALS
    assert problem.status == 400
    assert error.problem is problem


def test_bad_request_message_says_status_title_type_and_hides_key(
    api: authentication_api.AuthenticationApi,
) -> None:
    """str(e) tells what went wrong, in the README's form, and never repeats the API key that
    was sent; the reference example's ``"... %s" % e`` prints it."""
    with pytest.raises(video_api.ApiException) as caught:
        api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=BAD_KEY))
    message = str(caught.value)
    assert message == (
        f"(400) Bad Request: The user credentials were incorrect. [type: {BAD_CREDENTIALS}]"
    )
    template = "Exception when calling AuthenticationApi->p_ost_auth_api_key: %s\n"
    assert template % caught.value == (
        f"Exception when calling AuthenticationApi->p_ost_auth_api_key: {message}\n"
    )
    assert BAD_KEY not in message
    assert BAD_KEY not in repr(caught.value)


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (
            {"page_size": True},
            "A query parameter is invalid. (pageSize: This value must be of type integer.)",
        ),
        (
            {"current_page": 0},
            "This parameter is out of the allowed range of values. (currentPage: min 1)",
        ),
    ],
)
def test_a_problem_message_names_the_parameter_and_what_is_wrong(
    emulator: Emulator, arguments: Dict[str, Any], said: str
) -> None:
    """The problem's name, detail and range, which say what to fix, are in str(e)."""
    configuration = video_api.Configuration(host=emulator.url, api_key=emulator.api_key)
    with video_api.ApiClient(configuration) as client, pytest.raises(BadRequestException) as caught:
        VideosApi(client).list(**arguments)
    assert str(caught.value) == (
        f"(400) Bad Request: {said} "
        "[type: https://docs.api.video/reference/request-invalid-query-parameter]"
    )


def test_reused_refresh_token_raises_bad_request(
    api: authentication_api.AuthenticationApi, emulator: Emulator
) -> None:
    """A refresh token works once; presenting it again is a 400 with the problem parsed."""
    old = login(api, emulator).refresh_token
    api.p_ost_auth_refresh(body=RefreshTokenPayload(refresh_token=old))
    with pytest.raises(BadRequestException) as caught:
        api.p_ost_auth_refresh(body=RefreshTokenPayload(refresh_token=old))
    error = caught.value
    assert error.status == 400
    assert type(error.api_response) is auth_refresh_post.ApiResponseFor400
    assert error.api_response.body.title == "The refresh token is invalid."
    assert error.api_response.body.name == "refreshToken"
    assert "The refresh token is invalid." in str(error)
    assert old not in str(error)
    assert emulator.refresh_token_reuses == 1
    assert emulator.count("/auth/refresh") == 2  # the refused refresh was not replayed


def test_unknown_path_raises_not_found(client: video_api.ApiClient, emulator: Emulator) -> None:
    """call_api on a path the server does not have: NotFoundException with the problem (the
    spec's UnrecognizedRequestUrl)."""
    with pytest.raises(NotFoundException) as caught:
        client.call_api("/no/such/thing", "GET")
    assert caught.value.status == 404
    assert caught.value.problem.title == "Unrecognized request URL."
    assert caught.value.problem.type == REFERENCE + "unrecognized-request-url"
    assert "404" in str(caught.value)
    assert emulator.requests[0].path == "/no/such/thing"


def test_missing_bearer_raises_unauthorized(
    client: video_api.ApiClient, emulator: Emulator
) -> None:
    """GET /videos without a token: UnauthorizedException with the server's challenge."""
    with pytest.raises(UnauthorizedException) as caught:
        client.call_api("/videos", "GET")
    error = caught.value
    assert error.status == 401
    assert error.headers["WWW-Authenticate"] == "Bearer"
    assert error.problem.title == "The access token is invalid."
    assert "Authorization" not in emulator.requests[0].headers


@pytest.mark.parametrize(
    ("code", "exception"),
    [
        (403, ForbiddenException),
        (404, NotFoundException),
        (409, ConflictException),
        (429, TooManyRequestsException),
        (500, ServiceException),
        (503, ServiceException),
    ],
)
def test_exception_class_per_status_family(
    no_retry: authentication_api.AuthenticationApi,
    emulator: Emulator,
    code: int,
    exception: type[ApiException],
) -> None:
    """Each status family has its ApiException subclass, with the problem body kept."""
    emulator.add_fault("/auth/api-key", Fault.status(code))
    with pytest.raises(exception) as caught:
        no_retry.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    error = caught.value
    assert type(error) is exception
    assert error.status == code
    assert type(error.api_response) is api_client_module.ApiResponse
    assert isinstance(error.problem, BadRequest)
    assert error.problem.status == code
    assert f"({code})" in str(error)
    assert emulator.count("/auth/api-key") == 1  # retries=0: exactly one request


def test_status_without_a_class_of_its_own_is_a_plain_api_exception(
    client: video_api.ApiClient, emulator: Emulator
) -> None:
    """A 405 has no dedicated class: ApiException itself, with the server's problem."""
    with pytest.raises(ApiException) as caught:
        client.call_api("/auth/api-key", "GET")
    assert type(caught.value) is ApiException
    assert caught.value.status == 405
    assert caught.value.problem.title == "The method is not allowed here."
    assert emulator.count("/auth/api-key") == 1


def test_exception_tree_is_the_documented_one() -> None:
    """Every exception the package defines is an OpenApiException; input errors are also the
    builtin they stand for; each status family is an ApiException; the common ones are the
    same classes from ``video_api``."""
    assert issubclass(ApiTypeError, TypeError)
    assert issubclass(ApiValueError, ValueError)
    assert issubclass(ApiMissingFieldError, ApiTypeError)
    assert issubclass(ApiMissingFieldError, ApiValueError)
    assert issubclass(ApiResponseError, ApiException) and issubclass(ApiResponseError, ValueError)
    assert issubclass(AuthenticationError, BadRequestException)
    assert issubclass(ApiTimeoutError, ApiConnectionError)
    for cls in (
        BadRequestException,
        UnauthorizedException,
        ForbiddenException,
        NotFoundException,
        ConflictException,
        TooManyRequestsException,
        ServiceException,
        ApiConnectionError,
    ):
        assert issubclass(cls, ApiException), cls
    defined = [
        obj
        for obj in vars(exceptions).values()
        if isinstance(obj, type) and issubclass(obj, BaseException)
    ]
    assert ApiException in defined and ConflictException in defined
    for cls in defined:
        assert issubclass(cls, video_api.OpenApiException), cls
    for name in (
        "OpenApiException",
        "ApiException",
        "ApiTypeError",
        "ApiValueError",
        "ApiAttributeError",
        "ApiKeyError",
        "ApiConnectionError",
        "ApiTimeoutError",
        "ConflictException",
    ):
        assert getattr(video_api, name) is getattr(exceptions, name), name


def test_rate_limit_exposes_retry_after(
    no_retry: authentication_api.AuthenticationApi, emulator: Emulator
) -> None:
    """A 429 with Retry-After tells the caller how long the server asked to wait."""
    emulator.add_fault("/auth/api-key", Fault.rate_limited("7"))
    with pytest.raises(TooManyRequestsException) as caught:
        no_retry.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    assert caught.value.retry_after == 7.0
    assert caught.value.headers["Retry-After"] == "7"


# -- JSON content types ----------------------------------------------------------------------


def test_json_with_charset_is_parsed(
    api: authentication_api.AuthenticationApi, emulator: Emulator
) -> None:
    """A 200 labelled 'application/json; charset=utf-8' is parsed into the AccessToken."""
    tokens = {"access_token": "a" * 40, "refresh_token": "r" * 40, "expires_in": 60}
    emulator.add_fault(
        "/auth/api-key",
        Fault.body(json.dumps(tokens).encode(), content_type="application/json; charset=utf-8"),
    )
    result = api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    assert isinstance(result.body, AccessToken)
    assert result.body.access_token == "a" * 40
    assert result.body.expires_in == 60
    assert result.body.token_type == "bearer"  # the declared default when the server omits it


def test_problem_json_from_server_is_parsed() -> None:
    """A server that labels problems 'application/problem+json' still yields a BadRequest."""
    with Emulator(problem_content_type=PROBLEM_JSON) as emulator, make_client(emulator) as client:
        api = authentication_api.AuthenticationApi(client)
        with pytest.raises(BadRequestException) as caught:
            api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=BAD_KEY))
    error = caught.value
    assert error.headers["Content-Type"] == "application/problem+json"
    assert isinstance(error.api_response.body, BadRequest)
    assert error.api_response.body.title == "The user credentials were incorrect."


def test_problem_json_fault_body_is_parsed(
    api: authentication_api.AuthenticationApi, emulator: Emulator
) -> None:
    """An injected 400 'application/problem+json' with sub-problems is parsed field by field."""
    problem = {
        "type": REFERENCE + "invalid-attribute",
        "title": "An attribute is invalid.",
        "status": 400,
        "problems": [{"name": "apiKey", "title": "Too short."}],
    }
    emulator.add_fault(
        "/auth/api-key", Fault.body(json.dumps(problem).encode(), 400, "application/problem+json")
    )
    with pytest.raises(BadRequestException) as caught:
        api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    body = caught.value.api_response.body
    assert body.title == "An attribute is invalid."
    assert body.problems[0].name == "apiKey"
    assert "apiKey: Too short." in str(caught.value)


# -- skip_deserialization and stream ---------------------------------------------------------


def test_skip_deserialization_returns_raw_response(
    api: authentication_api.AuthenticationApi, emulator: Emulator
) -> None:
    """skip_deserialization=True: ApiResponseWithoutDeserialization, body and headers unset,
    the JSON readable from the raw response."""
    result = api.p_ost_auth_api_key(
        body=AuthenticatePayload(api_key=emulator.api_key), skip_deserialization=True
    )
    assert type(result) is api_client_module.ApiResponseWithoutDeserialization
    assert result.body is unset
    assert result.headers is unset
    assert isinstance(result.response, urllib3.HTTPResponse)
    assert result.response.status == 200
    data = json.loads(result.response.data)
    assert data["expires_in"] == 3600
    assert set(data) == {"access_token", "refresh_token", "token_type", "expires_in"}


def test_skip_deserialization_does_not_raise_on_error_status(
    api: authentication_api.AuthenticationApi,
) -> None:
    """Without deserialization an error status is handed back raw, for the caller to judge."""
    result = api.p_ost_auth_api_key(
        body=AuthenticatePayload(api_key=BAD_KEY), skip_deserialization=True
    )
    assert result.response.status == 400
    assert json.loads(result.response.data)["status"] == 400


def test_stream_with_skip_deserialization_reads_incrementally(
    api: authentication_api.AuthenticationApi, emulator: Emulator
) -> None:
    """stream=True and skip_deserialization=True leave the body unread, to read in chunks."""
    result = api.p_ost_auth_api_key(
        body=AuthenticatePayload(api_key=emulator.api_key),
        stream=True,
        skip_deserialization=True,
    )
    chunks = list(result.response.stream(8))
    assert len(chunks) > 3
    assert all(0 < len(chunk) <= 8 for chunk in chunks)
    assert json.loads(b"".join(chunks))["expires_in"] == 3600
    result.response.release_conn()
    assert isinstance(login(api, emulator), AccessToken)  # the connection went back to the pool
    assert api.api_client.rest_client.pool.num_connections == 1


def test_stream_without_skip_still_parses_body(
    api: authentication_api.AuthenticationApi, emulator: Emulator
) -> None:
    """stream=True alone still returns the parsed AccessToken."""
    result = api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key), stream=True)
    assert type(result) is auth_api_key_post.ApiResponseFor200
    assert isinstance(result.body, AccessToken)
    assert result.body.expires_in == 3600


# -- timeouts and connection failures --------------------------------------------------------


@pytest.mark.parametrize("timeout", [0.5, (2.0, 0.5)], ids=["number", "connect-read"])
def test_per_call_timeout_raises_api_timeout_error(
    no_retry: authentication_api.AuthenticationApi,
    emulator: Emulator,
    timeout: float | tuple[float, float],
) -> None:
    """A stalled server trips the per-call timeout: ApiTimeoutError, never a hang."""
    emulator.add_fault("/auth/api-key", Fault.stall(3))
    started = time.monotonic()
    with pytest.raises(ApiTimeoutError) as caught:
        no_retry.p_ost_auth_api_key(
            body=AuthenticatePayload(api_key=emulator.api_key), timeout=timeout
        )
    assert time.monotonic() - started < 2.5
    assert isinstance(caught.value, ApiConnectionError)
    assert isinstance(caught.value, ApiException)
    assert not isinstance(caught.value, urllib3.exceptions.HTTPError)
    assert "/auth/api-key" in str(caught.value)
    assert emulator.count("/auth/api-key") == 1


@pytest.mark.parametrize("timeout", [5, 5.0, (2, 5), (2.0, 5.0), (3.05, 10)], ids=repr)
def test_usable_per_call_timeouts_are_accepted(
    api: authentication_api.AuthenticationApi, emulator: Emulator, timeout: Any
) -> None:
    """``timeout`` as an int, a float or a ``(connect, read)`` pair of them."""
    result = api.p_ost_auth_api_key(
        body=AuthenticatePayload(api_key=emulator.api_key), timeout=timeout
    )
    assert result.body.expires_in == 3600


UNUSABLE_TIMEOUTS = [
    "5",
    (1, 2, 3),
    [1],
    -1,
    0,
    (0, 5),
    (5, -1),
    True,
    math.nan,
    math.inf,
    (5, math.inf),
]


@pytest.mark.parametrize("timeout", UNUSABLE_TIMEOUTS, ids=repr)
def test_unusable_per_call_timeout_raises_before_sending(
    api: authentication_api.AuthenticationApi, emulator: Emulator, timeout: Any
) -> None:
    """A timeout the client cannot use, infinity included (a call never waits forever),
    raises ApiValueError naming the value, and nothing is sent."""
    with pytest.raises(ApiValueError) as caught:
        api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key), timeout=timeout)
    assert str(caught.value) == timeout_refused(timeout)
    assert emulator.requests == []


@pytest.mark.parametrize("timeout", [math.inf, "5", (5, math.inf), (1, 2, 3)], ids=repr)
@pytest.mark.parametrize("way", ["api-method", "call_api"])
def test_unusable_timeout_is_refused_before_the_token_exchange(
    emulator: Emulator, way: str, timeout: Any
) -> None:
    """Bad input is raised before anything is sent (README, Errors): with bearer tokens, that
    includes the POST /auth/api-key that would get the token; a number or a pair alike."""
    configuration = video_api.Configuration(
        host=emulator.url, api_key=emulator.api_key, auth="bearer"
    )
    with video_api.ApiClient(configuration) as client, pytest.raises(ApiValueError) as caught:
        if way == "api-method":
            VideosApi(client).list(_request_timeout=timeout)
        else:
            client.call_api("/videos", "GET", auth_settings=["bearerAuth"], timeout=timeout)
    assert str(caught.value) == timeout_refused(timeout)
    assert emulator.requests == []


def test_configuration_timeout_applies_by_default(emulator: Emulator) -> None:
    """Without a per-call timeout, the configuration's bounds the wait."""
    emulator.add_fault("/auth/api-key", Fault.stall(3))
    started = time.monotonic()
    with make_client(emulator, timeout=0.5, retries=0) as client:
        api = authentication_api.AuthenticationApi(client)
        with pytest.raises(ApiTimeoutError):
            api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    assert time.monotonic() - started < 2.5


def test_connection_refused_raises_api_connection_error() -> None:
    """Nothing listening: ApiConnectionError (not a timeout, not a urllib3 exception)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    configuration = video_api.Configuration(host=f"http://127.0.0.1:{port}", retries=0)
    with video_api.ApiClient(configuration) as client:
        api = authentication_api.AuthenticationApi(client)
        with pytest.raises(ApiConnectionError) as caught:
            api.p_ost_auth_api_key(body=AuthenticatePayload(api_key="k"))
    assert not isinstance(caught.value, ApiTimeoutError)
    assert not isinstance(caught.value, urllib3.exceptions.HTTPError)
    assert isinstance(caught.value, ApiException)
    assert caught.value.status is None
    assert "/auth/api-key" in str(caught.value)


# -- configuration ---------------------------------------------------------------------------


def test_configuration_defaults() -> None:
    """The documented defaults: production host, (5, 60) s timeouts, 2 retries, 16 pooled
    connections, certificates verified, HTTP Basic for an API key, no credentials, no debug."""
    configuration = video_api.Configuration()
    assert configuration.host == "https://ws.api.video"
    assert configuration.environment == "production"
    assert configuration.timeout == (5.0, 60.0)
    assert configuration.retries == configuration.max_retries == 2
    assert configuration.connection_pool_maxsize == 16
    assert configuration.verify_ssl is True
    assert configuration.auth == "basic"
    assert configuration.api_key is None and configuration.access_token is None
    assert configuration.token is None and configuration.on_token is None
    assert configuration.debug is False


@pytest.mark.parametrize(
    ("timeout", "connect", "read"), [(7, 7, 7), (2.5, 2.5, 2.5), ((5, 30), 5, 30)], ids=repr
)
def test_configuration_timeout_bounds_connect_and_read(
    timeout: Any, connect: float, read: float
) -> None:
    """One number sets both the connect and the read timeout; a pair sets each."""
    configuration = video_api.Configuration(timeout=timeout)
    assert configuration.timeout == timeout
    with video_api.ApiClient(configuration) as client:
        bound = client.rest_client.timeout
        assert (bound.connect_timeout, bound.read_timeout) == (connect, read)


@pytest.mark.parametrize("timeout", UNUSABLE_TIMEOUTS, ids=repr)
def test_configuration_refuses_an_unusable_timeout(timeout: Any) -> None:
    """``Configuration(timeout=...)`` refuses what a call would, infinity included, when built
    and when changed."""
    with pytest.raises(ApiValueError) as caught:
        video_api.Configuration(timeout=timeout)
    assert str(caught.value) == timeout_refused(timeout)
    configuration = video_api.Configuration()
    with pytest.raises(ApiValueError):
        configuration.timeout = timeout
    assert configuration.timeout == (5.0, 60.0)


@pytest.mark.parametrize("host", ["ftp://ws.api.video", "ws.api.video", "http://", ""])
def test_host_that_is_not_an_http_url_is_refused(host: str) -> None:
    """``host=`` must be an http(s) URL with a host name."""
    with pytest.raises(ApiValueError) as caught:
        video_api.Configuration(host=host)
    assert str(caught.value) == f"Configuration.host must be an http(s) URL, got {host!r}"


def test_verify_ssl_off_warns_once_at_the_caller() -> None:
    """Turning certificate checks off warns, when the client is built: one UserWarning, with
    the documented text, pointing at the line that built the client."""
    configuration = video_api.Configuration(host="https://127.0.0.1:1", verify_ssl=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = video_api.ApiClient(configuration)
    client.close()
    assert [(w.category, str(w.message)) for w in caught] == [
        (
            UserWarning,
            "TLS certificate verification is off (verify_ssl=False): anyone on the network "
            "path can read and change this client's traffic",
        )
    ]
    assert caught[0].filename == __file__


def test_the_vendors_way_to_the_emulator_works_with_only_the_imports_changed() -> None:
    """api.video's client reads its configuration at each call, and the README tells its
    users ``client.configuration.host = emulator.url`` then ``connect()``: the same code here
    goes to that host, with the key given there, and never to the host it was built with."""
    with Emulator() as first, Emulator() as second:
        client = video_api.AuthenticatedApiClient(first.api_key, Configuration(host=first.url))
        client.configuration.host = second.url
        client.configuration.api_key = second.api_key
        client.connect()
        VideosApi(client).list()
        client.configuration.timeout = (2.0, 5.0)  # not about credentials: the token is kept
        VideosApi(client).list()
        client.close()
        assert first.requests == []
        assert [r.path for r in second.requests] == ["/auth/api-key", "/videos", "/videos"]


def test_settings_changed_on_a_client_in_use_apply_from_its_next_call(emulator: Emulator) -> None:
    configuration = Configuration(host=emulator.url, api_key="wrong-key-0123456789")
    with video_api.ApiClient(configuration) as client:
        videos = VideosApi(client)
        with pytest.raises(UnauthorizedException):
            videos.list()
        configuration.api_key = emulator.api_key
        videos.list()
        configuration.retries = 0
        emulator.add_fault("/videos", Fault.status(503))
        with pytest.raises(ServiceException):
            videos.list()
    assert emulator.count("/videos") == 3


def test_the_vendors_name_for_a_refused_key_catches_it(emulator: Emulator) -> None:
    """api.video's client raises ``ApiAuthException`` when it cannot authenticate; code that
    catches it by that name catches this package's ``AuthenticationError``."""
    client = video_api.AuthenticatedApiClient("wrong-key-0123456789", Configuration(emulator.url))
    with client, pytest.raises(exceptions.ApiAuthException, match="the API key was refused"):
        client.connect()


def test_a_saved_token_goes_neither_to_another_host_nor_with_another_key() -> None:
    """A token restored with ``token=`` belongs to the host and key it was saved with: after
    either changes, the client authenticates anew and never sends the saved tokens."""
    saved: List[Dict[str, Any]] = []
    with Emulator() as first, Emulator() as second:
        bearer = {"api_key": first.api_key, "auth": "bearer"}
        with video_api.ApiClient(Configuration(first.url, on_token=saved.append, **bearer)) as c:
            VideosApi(c).list()
        (token,) = saved
        configuration = Configuration(first.url, token=token, **bearer)
        with video_api.ApiClient(configuration) as client:
            VideosApi(client).list()  # with the restored token
            configuration.host = second.url
            VideosApi(client).list()
            configuration.api_key = "another-key-0123456789"
            with pytest.raises(AuthenticationError):
                VideosApi(client).list()
    secrets = (token["access_token"], token["refresh_token"])
    sent = [f"{r.path} {r.headers.get('Authorization')} {r.body!r}" for r in second.requests]
    assert not any(secret in line for line in sent for secret in secrets), sent
    assert [r.path for r in second.requests] == ["/auth/api-key", "/videos", "/auth/api-key"]
    assert json.loads(second.requests[-1].body) == {"apiKey": "another-key-0123456789"}


def test_threads_calling_while_the_host_changes_send_each_token_to_its_own_host() -> None:
    """Each call reads the transport and the token manager of one configuration: a token
    never reaches a host that did not issue it, so no call meets a 401. Bounded: 4 threads
    of 30 calls, the host switched between them."""
    with Emulator() as first, Emulator() as second:
        configuration = Configuration(first.url, api_key=first.api_key, auth="bearer")
        errors: List[BaseException] = []
        with video_api.ApiClient(configuration) as client:

            def calls() -> None:
                try:
                    for _ in range(30):
                        VideosApi(client).list(page_size=1)
                except BaseException as error:
                    errors.append(error)

            threads = [threading.Thread(target=calls) for _ in range(4)]
            for thread in threads:
                thread.start()
            for index in range(100_000):  # until they are done: each call may meet a switch
                if not any(thread.is_alive() for thread in threads):
                    break
                configuration.host = (second if index % 2 == 0 else first).url
            for thread in threads:
                thread.join(timeout=30)
        assert errors == []
        assert first.count("/videos") + second.count("/videos") == 120


def test_sandbox_environment_host() -> None:
    """environment='sandbox' selects https://sandbox.api.video."""
    configuration = video_api.Configuration(environment="sandbox")
    assert configuration.host == "https://sandbox.api.video"
    with video_api.ApiClient(configuration) as client:
        assert client.configuration.host == "https://sandbox.api.video"


def test_explicit_host_wins_over_environment(emulator: Emulator) -> None:
    """An explicit host is used even when an environment is named: the call reaches it."""
    configuration = video_api.Configuration(host=emulator.url, environment="sandbox")
    assert configuration.host == emulator.url
    with video_api.ApiClient(configuration) as client:
        authentication_api.AuthenticationApi(client).p_ost_auth_api_key(
            body=AuthenticatePayload(api_key=emulator.api_key)
        )
    assert emulator.count("/auth/api-key") == 1


def test_unknown_environment_raises_api_value_error() -> None:
    """A misspelt environment is an error naming the valid ones, not a silent default."""
    with pytest.raises(ApiValueError, match="sandbox") as caught:
        video_api.Configuration(environment="sandbx")
    assert isinstance(caught.value, ValueError)
    assert "sandbx" in str(caught.value)


@pytest.mark.parametrize("retries", [-1, "3", 1.5, True])
def test_unusable_retries_raise_api_value_error(retries: object) -> None:
    """A retry budget must be a whole number >= 0; anything else is refused when set."""
    with pytest.raises(video_api.ApiValueError, match="retries must be a whole number"):
        video_api.Configuration(retries=retries)  # type: ignore[arg-type]
    configuration = video_api.Configuration(max_retries=4)
    assert configuration.retries == configuration.max_retries == 4


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"proxy": "nonsense"}, "Configuration.proxy must be an http(s) URL"),
        ({"proxy": "ftp://proxy.example"}, "Configuration.proxy must be an http(s) URL"),
        ({"ssl_ca_cert": "/no/such/ca.pem"}, "Configuration.ssl_ca_cert: no file at"),
        ({"cert_file": "/no/such/cert.pem"}, "Configuration.cert_file: no file at"),
        ({"connection_pool_maxsize": 0}, "Configuration.connection_pool_maxsize must be >= 1"),
        ({"connection_pool_maxsize": "8"}, "Configuration.connection_pool_maxsize must be >= 1"),
    ],
)
def test_unusable_transport_settings_are_named_when_the_client_is_built(
    settings: Dict[str, Any], message: str
) -> None:
    """A setting urllib3 would reject late or obscurely is refused by name, before any I/O."""
    with pytest.raises(ApiValueError, match=re.escape(message)):
        video_api.ApiClient(video_api.Configuration(**settings))


def test_configuration_repr_hides_credentials() -> None:
    """repr(Configuration) says a key is set without showing it."""
    secret = "sk-live-0123456789abcdef"
    configuration = video_api.Configuration(api_key=secret, access_token=secret + "-t")
    shown = repr(configuration)
    assert secret not in shown
    assert "api_key=" in shown
    assert "https://ws.api.video" in shown


def test_host_with_trailing_slash_works(emulator: Emulator) -> None:
    """A host ending in '/' does not double the slash in the request path."""
    with video_api.ApiClient(video_api.Configuration(host=emulator.url + "/")) as client:
        result = authentication_api.AuthenticationApi(client).p_ost_auth_api_key(
            body=AuthenticatePayload(api_key=emulator.api_key)
        )
    assert result.response.status == 200
    assert emulator.requests[0].path == "/auth/api-key"


def test_host_base_path_prefixes_every_request(emulator: Emulator) -> None:
    """A host with a path (a gateway prefix) is prepended to the operation's path."""
    configuration = video_api.Configuration(host=emulator.url + "/gateway/", retries=0)
    with video_api.ApiClient(configuration) as client:
        api = authentication_api.AuthenticationApi(client)
        with pytest.raises(NotFoundException):  # the emulator serves no /gateway prefix
            api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    assert emulator.requests[0].path == "/gateway/auth/api-key"


# -- construction without a network ---------------------------------------------------------


def test_default_client_and_api_construct_without_network() -> None:
    """ApiClient() and AuthenticationApi() need no argument and open no connection."""
    with video_api.ApiClient() as client:
        assert client.configuration.host == "https://ws.api.video"
        assert client.rest_client.pool.num_connections == 0
    api = authentication_api.AuthenticationApi()
    try:
        assert isinstance(api.api_client, video_api.ApiClient)
        assert api.api_client.configuration.host == "https://ws.api.video"
        assert api.api_client.rest_client.pool.num_connections == 0
    finally:
        api.api_client.close()


def test_client_repr_names_host_only(emulator: Emulator) -> None:
    """repr(ApiClient) shows where it talks to and never the API key it holds."""
    secret = "sk-repr-9876543210"
    configuration = video_api.Configuration(host=emulator.url, api_key=secret)
    with video_api.ApiClient(configuration) as client:
        assert emulator.url in repr(client)
        assert secret not in repr(client)
        assert secret not in repr(authentication_api.AuthenticationApi(client))


def test_client_is_its_own_context_and_close_is_idempotent(emulator: Emulator) -> None:
    """``with ApiClient(...) as c`` gives the client itself; closing twice is harmless."""
    client = make_client(emulator)
    with client as entered:
        assert entered is client
        login(authentication_api.AuthenticationApi(entered), emulator)
    client.close()
    client.close()
    assert emulator.count("/auth/api-key") == 1


def test_default_headers_go_on_every_request(emulator: Emulator) -> None:
    """``ApiClient(configuration, header_name, header_value)`` and ``set_default_header`` add
    headers to every request, API methods included; ``default_headers`` is read-only."""
    configuration = video_api.Configuration(host=emulator.url, api_key=emulator.api_key)
    with video_api.ApiClient(configuration, "X-Trace", "abc") as client:
        login(authentication_api.AuthenticationApi(client), emulator)
        client.set_default_header("X-Other", "def")
        client.set_default_header("X-Count", 3)  # type: ignore[arg-type]  # as http.client takes it
        client.user_agent = "my-app/1.0"
        VideosApi(client).list()
        with pytest.raises(TypeError):
            client.default_headers["X-Other"] = "changed"  # type: ignore[index]
        assert client.default_headers["X-Other"] == "def"
    first, second = emulator.requests
    assert first.headers["X-Trace"] == "abc" and "X-Other" not in first.headers
    assert first.headers["User-Agent"] == f"video-api-python/{VERSION}"
    assert (second.headers["X-Trace"], second.headers["X-Other"]) == ("abc", "def")
    assert second.headers["X-Count"] == "3"
    assert second.headers["User-Agent"] == "my-app/1.0"


def test_application_and_sdk_names_go_as_origin_headers(emulator: Emulator) -> None:
    """``set_application_name`` and ``set_sdk_name``, as api.video's client has them; neither
    name nor version given changes nothing."""
    configuration = video_api.Configuration(host=emulator.url, api_key=emulator.api_key)
    with video_api.ApiClient(configuration) as client:
        client.set_application_name("my-app", "1.2.3")
        client.set_sdk_name("my_sdk", "4")
        client.set_sdk_name("", "")
        VideosApi(client).list()
    (request,) = emulator.requests
    assert (request.headers["AV-Origin-App"], request.headers["AV-Origin-Sdk"]) == (
        "my-app:1.2.3",
        "my_sdk:4",
    )


@pytest.mark.parametrize(
    ("name", "version", "message"),
    [
        (
            "my app",
            "1.0",
            "application name must be 1 to 50 of A-Z, a-z, 0-9, '-' and '_', got 'my app'",
        ),
        (
            "a" * 51,
            "1.0",
            f"application name must be 1 to 50 of A-Z, a-z, 0-9, '-' and '_', got {'a' * 51!r}",
        ),
        ("app", "1.0.0.0", "application version must be like 1, 1.2 or 1.2.3, got '1.0.0.0'"),
        ("app", "١.٢", "application version must be like 1, 1.2 or 1.2.3, got '١.٢'"),
        ("app", "", "application version must be like 1, 1.2 or 1.2.3, got ''"),
        ("", "1.0", "application name must be 1 to 50 of A-Z, a-z, 0-9, '-' and '_', got ''"),
    ],
)
def test_an_application_name_api_video_would_refuse_is_refused(
    name: str, version: str, message: str
) -> None:
    with video_api.ApiClient() as client, pytest.raises(video_api.ApiValueError) as raised:
        client.set_application_name(name, version)
    assert str(raised.value) == message
    assert "AV-Origin-App" not in client.default_headers


def test_a_default_header_that_would_break_the_request_is_refused() -> None:
    with video_api.ApiClient() as client, pytest.raises(video_api.ApiValueError) as raised:
        client.set_default_header("X-Trace", "a\r\nInjected: yes")
    assert (
        str(raised.value)
        == "set_default_header: header 'X-Trace' has a character HTTP does not allow"
    )
    with pytest.raises(
        video_api.ApiTypeError,
        match="header names are str and values str or int, got str and float",
    ):
        video_api.ApiClient(header_name="X-Ratio", header_value=0.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("as_model", [False, True], ids=["dict", "model"])
def test_call_api_sends_a_body_as_json_and_returns_the_decoded_answer(
    client: video_api.ApiClient, emulator: Emulator, as_model: bool
) -> None:
    """``call_api(path, method, body=...)``: a dict or a model goes out as JSON in wire names;
    the answer's ``body`` is the decoded JSON, not a model."""
    body: Any = {"apiKey": emulator.api_key}
    if as_model:
        body = AuthenticatePayload(api_key=emulator.api_key)
    response = client.call_api("/auth/api-key", "POST", body=body)
    assert response.status == 200
    assert isinstance(response.body, dict) and response.body["token_type"] == "Bearer"
    (sent,) = emulator.requests
    assert sent.json() == {"apiKey": emulator.api_key}
    assert sent.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "options, error, message",
    [
        (
            {"accept_content_types": ("a\r\nX-Evil: 1",)},
            ApiValueError,
            "p_ost_auth_api_key: header 'Accept' has a character HTTP does not allow",
        ),
        (
            {"accept_content_types": None},
            ApiTypeError,
            "p_ost_auth_api_key: accept_content_types expects a list or tuple of media types, "
            "got NoneType",
        ),
        (
            {"accept_content_types": "application/json"},
            ApiTypeError,
            "p_ost_auth_api_key: accept_content_types expects a list or tuple of media types, "
            "got str",
        ),
        (
            {"accept_content_types": (1,)},
            ApiTypeError,
            "p_ost_auth_api_key: a media type is a str, got int",
        ),
        (
            {"content_type": None},
            ApiTypeError,
            "p_ost_auth_api_key: a media type is a str, got NoneType",
        ),
    ],
    ids=["crlf", "none", "one-str", "int", "content-type-none"],
)
def test_auth_method_options_that_cannot_be_sent_are_refused(
    api: authentication_api.AuthenticationApi,
    emulator: Emulator,
    options: Dict[str, Any],
    error: type,
    message: str,
) -> None:
    with pytest.raises(error) as info:
        api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key), **options)
    assert str(info.value) == message
    assert emulator.requests == []


@pytest.mark.parametrize(
    "method, body, error, message",
    [
        (
            "GE T",
            None,
            ApiValueError,
            "call_api: method must be an HTTP method such as 'GET', got 'GE T'",
        ),
        (
            None,
            None,
            ApiValueError,
            "call_api: method must be an HTTP method such as 'GET', got None",
        ),
        (
            "POST",
            {"tags": {"a"}},
            ApiTypeError,
            "call_api: body cannot be sent as JSON: set is not JSON serializable",
        ),
        (
            "POST",
            {"title": "bad \ud800"},
            ApiValueError,
            "call_api: body holds text UTF-8 cannot carry: '\\ud800'",
        ),
        (
            "POST",
            VideoCreationPayload(title="bad \ud800"),
            ApiValueError,
            "call_api: body holds text UTF-8 cannot carry: '\\ud800'",
        ),
    ],
    ids=["space", "none", "set", "surrogate", "surrogate-in-model"],
)
def test_call_api_refuses_what_http_or_json_cannot_carry(
    client: video_api.ApiClient,
    emulator: Emulator,
    method: Any,
    body: Any,
    error: type,
    message: str,
) -> None:
    """A clear error before anything is sent, not one from deep in http.client, json or the
    UTF-8 codec."""
    with pytest.raises(error) as info:
        client.call_api("/videos", method, body=body)
    assert str(info.value) == message
    assert emulator.requests == []


def test_a_model_with_text_utf8_cannot_carry_is_refused_by_the_api_method(
    client: video_api.ApiClient, emulator: Emulator
) -> None:
    with pytest.raises(ApiValueError) as info:
        VideosApi(client).create(VideoCreationPayload(title="bad \ud800"))
    assert (
        str(info.value) == "create: video_creation_payload holds text UTF-8 cannot carry: '\\ud800'"
    )
    assert emulator.requests == []


def test_call_api_host_sends_one_call_elsewhere(emulator: Emulator) -> None:
    """``call_api(..., host=URL)`` sends that call to another base URL, and only that one."""
    with Emulator() as other, make_client(emulator) as client:
        client.call_api("/auth/api-key", "POST", body={"apiKey": other.api_key}, host=other.url)
        assert other.count("/auth/api-key") == 1
        assert emulator.count() == 0
        login(authentication_api.AuthenticationApi(client), emulator)
        assert (other.count(), emulator.count()) == (1, 1)


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The ``video_api`` logger's records, at DEBUG."""
    with caplog.at_level(logging.DEBUG, logger="video_api"):
        yield caplog


def test_debug_log_has_one_line_per_request_and_one_per_retry(
    debug_log: pytest.LogCaptureFixture, emulator: Emulator
) -> None:
    """On the ``video_api`` logger, at DEBUG: a line for each retry with its cause, and one
    for each request with its method, URL, status and time; no secret in any."""
    emulator.add_fault("/auth/api-key", Fault.status(503, headers={"Retry-After": "0"}))
    with make_client(emulator) as client:
        token = login(authentication_api.AuthenticationApi(client), emulator)
    lines = [r.getMessage() for r in debug_log.records if r.name == "video_api"]
    assert len(lines) == 2, lines
    assert lines[0] == "POST /auth/api-key: 503 Service Unavailable; retry 1 in 0.00 s"
    assert lines[1].startswith(f"POST {emulator.url}/auth/api-key"), lines[1]
    assert " -> 200 OK" in lines[1] and re.search(r" in \d+\.\d ms", lines[1]), lines[1]
    assert all(r.levelno == logging.DEBUG for r in debug_log.records if r.name == "video_api")
    for secret in (emulator.api_key, token.access_token, token.refresh_token):
        assert not any(secret in line for line in lines)


def test_an_upload_token_in_a_path_is_hidden_in_logs_and_errors(
    debug_log: pytest.LogCaptureFixture, emulator: Emulator
) -> None:
    """GET and DELETE /upload-tokens/{uploadToken} carry a secret in their path: the debug
    lines, and the error of a call that fails, show *** in its place."""
    configuration = video_api.Configuration(host=emulator.url, api_key=emulator.api_key)
    with video_api.ApiClient(configuration) as client:
        tokens = UploadTokensApi(client)
        token = tokens.create_token(TokenCreationPayload(ttl=3600)).token
        tokens.get_token(token)
        tokens.delete_token(token)
    lines = [r.getMessage() for r in debug_log.records if r.name == "video_api"]
    assert [line.split(" in ")[0] for line in lines[1:]] == [
        f"GET {emulator.url}/upload-tokens/*** -> 200 OK",
        f"DELETE {emulator.url}/upload-tokens/*** -> 204 No Content",
    ]
    assert not any(token in line for line in lines)
    closed = video_api.Configuration(host="http://127.0.0.1:1", api_key="k" * 20, retries=0)
    with video_api.ApiClient(closed) as client, pytest.raises(ApiConnectionError) as info:
        UploadTokensApi(client).get_token("to1SECRETtoken")
    assert "GET /upload-tokens/***: " in str(info.value)
    assert "SECRET" not in str(info.value)


def test_debug_setting_logs_to_stderr_and_touches_no_other_logger(
    emulator: Emulator, capfd: pytest.CaptureFixture[str]
) -> None:
    """``Configuration(debug=True)``: the ``video_api`` logger at DEBUG with a stderr handler;
    the root and urllib3 loggers are left as they were."""
    package = logging.getLogger("video_api")
    saved = (list(package.handlers), package.level)
    others = {
        name: (logging.getLogger(name).level, list(logging.getLogger(name).handlers))
        for name in ("", "urllib3", "urllib3.connectionpool")
    }
    try:
        configuration = video_api.Configuration(host=emulator.url, debug=True)
        assert package.level == logging.DEBUG
        with video_api.ApiClient(configuration) as client:
            login(authentication_api.AuthenticationApi(client), emulator)
        err = capfd.readouterr().err
        assert f"POST {emulator.url}/auth/api-key" in err and " -> 200 OK" in err
        assert emulator.api_key not in err
        for name, state in others.items():
            logger = logging.getLogger(name)
            assert (logger.level, list(logger.handlers)) == state, name
    finally:
        package.handlers[:] = saved[0]
        package.setLevel(saved[1])


# -- connections: keep-alive and close -------------------------------------------------------


def test_calls_on_one_client_reuse_one_connection(
    client: video_api.ApiClient, api: authentication_api.AuthenticationApi, emulator: Emulator
) -> None:
    """Keep-alive: five calls, successes and errors, travel over a single TCP connection."""
    for _ in range(3):
        login(api, emulator)
    with pytest.raises(BadRequestException):
        api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=BAD_KEY))
    login(api, emulator)
    assert emulator.count() == 5
    assert client.rest_client.pool.num_connections == 1
    assert len(established_to(emulator.port)) == 1


def test_leaving_with_block_closes_connections(emulator: Emulator) -> None:
    """After the with block the client holds no open socket to the server."""
    with make_client(emulator) as client:
        login(authentication_api.AuthenticationApi(client), emulator)
        assert len(established_to(emulator.port)) == 1
    assert established_to(emulator.port) == set()


def test_client_keeps_working_after_close(emulator: Emulator) -> None:
    """close() releases the connection; the next call opens a new one and succeeds."""
    with make_client(emulator, retries=0) as client:
        api = authentication_api.AuthenticationApi(client)
        login(api, emulator)
        (before,) = established_to(emulator.port)
        client.close()
        assert established_to(emulator.port) == set()
        token = login(api, emulator)
        assert isinstance(token, AccessToken)
        (after,) = established_to(emulator.port)
        assert after != before
    assert emulator.count("/auth/api-key") == 2

"""Acceptance suite written from the documented pages, as a user would read them.

Sources, and nothing else: docs/apis/tags/AuthenticationApi.md (and the generated reference it
refines), docs/models/*.md, README.md, ``help()``/``dir()``. ``video-api`` in the reference is
``video_api``. Every test talks real HTTP to the emulator on 127.0.0.1. Where a page is
ambiguous, the test asserts what a reasonable user would expect and says so in its docstring.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from pprint import pprint
from typing import Any, Dict, Iterator, List, Optional

import pytest
import urllib3

import video_api
from video_api import api_client as api_client_module
from video_api import schemas
from video_api.apis.tags import authentication_api
from video_api.exceptions import (
    ApiAttributeError,
    ApiMissingFieldError,
    ApiResponseError,
    AuthenticationError,
    BadRequestException,
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
from video_api.testing import Emulator, Fault

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "acceptance-secret-api-key-0123456789"


def _config(emulator: Emulator, **kwargs: Any) -> video_api.Configuration:
    kwargs.setdefault("timeout", (2.0, 5.0))
    return video_api.Configuration(host=emulator.url, **kwargs)


@contextlib.contextmanager
def _api(emulator: Emulator, **kwargs: Any) -> Iterator[authentication_api.AuthenticationApi]:
    with video_api.ApiClient(_config(emulator, **kwargs)) as client:
        yield authentication_api.AuthenticationApi(client)


def _authenticate(api: authentication_api.AuthenticationApi, emulator: Emulator) -> AccessToken:
    return api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key)).body


@pytest.fixture
def secret_emulator() -> Iterator[Emulator]:
    """An emulator whose API key is long enough to spot if it leaks anywhere."""
    with Emulator(api_keys=(SECRET_KEY,)) as emulator:
        yield emulator


# ---------------------------------------------------------------------------------------------
# The documented examples, followed literally
# ---------------------------------------------------------------------------------------------


def test_reference_example_imports_all_resolve() -> None:
    """Every import of both examples works (``video_api`` for ``video-api``); ``models`` too."""
    from video_api import models
    from video_api.apis.tags import authentication_api as tags_module
    from video_api.model.access_token import AccessToken as A
    from video_api.model.authenticate_payload import AuthenticatePayload as P
    from video_api.model.bad_request import BadRequest as B
    from video_api.model.refresh_token_payload import RefreshTokenPayload as R

    assert tags_module.AuthenticationApi.__name__ == "AuthenticationApi"
    assert (models.AccessToken, models.AuthenticatePayload) == (A, P)
    assert (models.BadRequest, models.RefreshTokenPayload) == (B, R)
    assert {A.__name__, P.__name__, B.__name__, R.__name__} == {
        "AccessToken",
        "AuthenticatePayload",
        "BadRequest",
        "RefreshTokenPayload",
    }


def test_api_key_example_verbatim_pprint_of_whole_response(emulator: Emulator) -> None:
    """The generated reference does ``pprint(api_response)``: it prints, and leaks no token."""
    configuration = video_api.Configuration(host=emulator.url)
    out = io.StringIO()
    with video_api.ApiClient(configuration) as api_client:
        api_instance = authentication_api.AuthenticationApi(api_client)
        body = AuthenticatePayload(api_key=emulator.api_key)
        api_response = api_instance.p_ost_auth_api_key(body=body)
        pprint(api_response, stream=out)
    text = out.getvalue()
    assert "ApiResponseFor200" in text
    assert "AccessToken(" in text
    assert api_response.body.access_token not in text
    assert api_response.body.refresh_token not in text


def test_api_key_example_of_the_page(emulator: Emulator) -> None:
    """The page's example: ``pprint(api_response.body)``, ``.access_token``, ``.expires_in``."""
    configuration = video_api.Configuration(host=emulator.url)
    out = io.StringIO()
    with video_api.ApiClient(configuration) as api_client:
        api_instance = authentication_api.AuthenticationApi(api_client)
        body = AuthenticatePayload(api_key=emulator.api_key)
        api_response = api_instance.p_ost_auth_api_key(body=body)
        pprint(api_response.body, stream=out)
        access_token = api_response.body.access_token
        print("expires in", api_response.body.expires_in, "seconds", file=out)
    assert isinstance(access_token, str) and len(access_token) > 20
    assert access_token not in out.getvalue()
    assert "expires in 3600 seconds" in out.getvalue()


def test_refresh_example_of_the_page(emulator: Emulator) -> None:
    """The refresh example: ``paths.auth_refresh.post.ApiResponseFor200``, both tokens new."""
    from video_api.paths.auth_refresh.post import ApiResponseFor200

    with video_api.ApiClient(video_api.Configuration(host=emulator.url)) as api_client:
        api_instance = authentication_api.AuthenticationApi(api_client)
        first = _authenticate(api_instance, emulator)
        body = RefreshTokenPayload(refresh_token=first.refresh_token)
        api_response = api_instance.p_ost_auth_refresh(body=body)
        next_refresh_token = api_response.body.refresh_token
    assert isinstance(api_response, ApiResponseFor200)
    assert isinstance(api_response.body, AccessToken)
    assert next_refresh_token != first.refresh_token
    assert api_response.body.access_token != first.access_token


def test_readme_quickstart(emulator: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    """README Quickstart: attribute and key access, then a refresh; nothing secret printed."""
    configuration = video_api.Configuration(host=emulator.url)
    with video_api.ApiClient(configuration) as api_client:
        api_instance = authentication_api.AuthenticationApi(api_client)
        api_response = api_instance.p_ost_auth_api_key(
            body=AuthenticatePayload(api_key=emulator.api_key),
        )
        pprint(api_response.body)
        token = api_response.body
        print(token.expires_in, token["token_type"])
        refreshed = api_instance.p_ost_auth_refresh(
            body=RefreshTokenPayload(refresh_token=token.refresh_token),
        )
        print("new access token, valid for", refreshed.body.expires_in, "s")
    out = capsys.readouterr().out
    assert "3600 Bearer" in out
    assert "new access token, valid for 3600 s" in out
    assert token.access_token not in out and token.refresh_token not in out


def test_reference_except_clause_catches_a_400(emulator: Emulator) -> None:
    """``except video_api.ApiException as e`` of the example catches a refused key."""
    template = "Exception when calling AuthenticationApi->p_ost_auth_api_key: %s\n"
    with _api(emulator) as api_instance:
        try:
            api_instance.p_ost_auth_api_key(body=AuthenticatePayload(api_key="api_key_example"))
        except video_api.ApiException as e:
            message = template % e  # the reference example formats with %
        else:  # pragma: no cover - the assertion below reports it
            message = ""
    assert message.startswith("Exception when calling AuthenticationApi->p_ost_auth_api_key: (400)")
    assert "The user credentials were incorrect." in message


# ---------------------------------------------------------------------------------------------
# Parameters table: body
# ---------------------------------------------------------------------------------------------


def test_body_model_is_sent_as_wire_json(emulator: Emulator, api: Any) -> None:
    """The payload goes out as ``{"apiKey": ...}``, the wire name, and nothing else."""
    api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    sent = emulator.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/auth/api-key")
    assert sent.json() == {"apiKey": emulator.api_key}


@pytest.mark.parametrize("key", ["apiKey", "api_key"])
def test_body_mapping_with_wire_or_python_name(emulator: Emulator, api: Any, key: str) -> None:
    """A plain dict works with either name and is sent with the wire name."""
    response = api.p_ost_auth_api_key(body={key: emulator.api_key})
    assert isinstance(response.body, AccessToken)
    assert emulator.requests[-1].json() == {"apiKey": emulator.api_key}


@pytest.mark.parametrize("key", ["refreshToken", "refresh_token"])
def test_refresh_body_mapping_with_either_name(emulator: Emulator, api: Any, key: str) -> None:
    """The refresh body accepts ``{"refreshToken": ...}`` and ``{"refresh_token": ...}``."""
    token = _authenticate(api, emulator)
    response = api.p_ost_auth_refresh(body={key: token.refresh_token})
    assert isinstance(response.body, AccessToken)
    assert emulator.requests[-1].json() == {"refreshToken": token.refresh_token}


@pytest.mark.parametrize("how", ["omitted", "schemas.unset"])
def test_body_unset_sends_no_body_and_raises_400(emulator: Emulator, api: Any, how: str) -> None:
    """Default ``unset`` (or ``schemas.unset`` given): nothing sent, the 400 is raised."""
    kwargs: Dict[str, Any] = {} if how == "omitted" else {"body": schemas.unset}
    with pytest.raises(BadRequestException) as info:
        api.p_ost_auth_api_key(**kwargs)
    assert info.value.status == 400
    assert emulator.count("/auth/api-key") == 1
    assert emulator.requests[-1].body == b""


@pytest.mark.parametrize("body", ["api_key_example", ["apiKey"], 42])
def test_body_of_other_type_raises_before_sending(emulator: Emulator, api: Any, body: Any) -> None:
    """A body that is neither the model nor a mapping raises ApiTypeError; nothing is sent."""
    with pytest.raises(video_api.ApiTypeError):
        api.p_ost_auth_api_key(body=body)
    assert emulator.count() == 0


def test_body_mapping_is_validated_like_the_model(emulator: Emulator, api: Any) -> None:
    """A mapping with a misspelt field or a non-str value is refused before sending."""
    with pytest.raises(video_api.ApiTypeError, match="api_key"):
        api.p_ost_auth_api_key(body={"apikey": emulator.api_key})
    with pytest.raises(video_api.ApiTypeError):
        api.p_ost_auth_api_key(body={"apiKey": 12345})
    assert emulator.count() == 0


def test_body_of_the_other_operation_is_refused(emulator: Emulator, api: Any) -> None:
    """A RefreshTokenPayload is not an AuthenticatePayload: refused before sending.

    Ambiguous in the docs (the model is also a mapping); a user expects a type error rather
    than a server round trip with the wrong field.
    """
    with pytest.raises(video_api.ApiTypeError):
        api.p_ost_auth_api_key(body=RefreshTokenPayload(refresh_token="x" * 20))
    assert emulator.count() == 0


# ---------------------------------------------------------------------------------------------
# Parameters table: content_type, accept_content_types
# ---------------------------------------------------------------------------------------------


def test_default_content_type_and_accept(emulator: Emulator, api: Any) -> None:
    """Defaults: ``Content-Type: application/json`` and ``Accept: application/json``."""
    api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    headers = emulator.requests[-1].headers
    assert headers["Content-Type"] == "application/json"
    assert headers["Accept"] == "application/json"


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/vnd.api+json"]
)
def test_json_content_types_are_accepted_and_sent(
    emulator: Emulator, api: Any, content_type: str
) -> None:
    """Parameters and ``+json`` types are accepted and sent as the ``Content-Type``."""
    response = api.p_ost_auth_api_key(
        body=AuthenticatePayload(api_key=emulator.api_key), content_type=content_type
    )
    assert isinstance(response.body, AccessToken)
    assert emulator.requests[-1].headers["Content-Type"] == content_type
    assert emulator.requests[-1].json() == {"apiKey": emulator.api_key}


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_non_json_content_type_raises_before_sending(
    emulator: Emulator, api: Any, content_type: str
) -> None:
    """Any non-JSON content type raises ApiValueError; nothing is sent."""
    with pytest.raises(video_api.ApiValueError):
        api.p_ost_auth_api_key(
            body=AuthenticatePayload(api_key=emulator.api_key), content_type=content_type
        )
    assert emulator.count() == 0


@pytest.mark.parametrize(
    "accept", [("application/json", "application/problem+json"), ["application/json", "*/*"]]
)
def test_accept_content_types_joined(emulator: Emulator, api: Any, accept: Any) -> None:
    """``accept_content_types`` (tuple or list) is sent as ``Accept`` joined with ``", "``."""
    api.p_ost_auth_api_key(
        body=AuthenticatePayload(api_key=emulator.api_key), accept_content_types=accept
    )
    assert emulator.requests[-1].headers["Accept"] == ", ".join(accept)


# ---------------------------------------------------------------------------------------------
# Parameters table: stream, skip_deserialization
# ---------------------------------------------------------------------------------------------


def test_skip_deserialization_returns_raw_response(emulator: Emulator, api: Any) -> None:
    """``skip_deserialization=True``: ApiResponseWithoutDeserialization, body/headers unset."""
    response = api.p_ost_auth_api_key(
        body=AuthenticatePayload(api_key=emulator.api_key), skip_deserialization=True
    )
    assert isinstance(response, api_client_module.ApiResponseWithoutDeserialization)
    assert response.body is schemas.unset
    assert response.headers is schemas.unset
    assert isinstance(response.body, schemas.Unset)
    assert isinstance(response.response, urllib3.HTTPResponse)
    assert response.response.status == 200
    assert sorted(json.loads(response.response.data)) == [
        "access_token",
        "expires_in",
        "refresh_token",
        "token_type",
    ]


def test_skip_deserialization_returns_error_statuses(emulator: Emulator, api: Any) -> None:
    """With ``skip_deserialization=True`` a 400 is returned, and a bad 200 is not validated."""
    response = api.p_ost_auth_refresh(
        body=RefreshTokenPayload(refresh_token="never-issued"), skip_deserialization=True
    )
    assert isinstance(response, api_client_module.ApiResponseWithoutDeserialization)
    assert response.response.status == 400
    assert json.loads(response.response.data)["name"] == "refreshToken"
    emulator.add_fault("/auth/api-key", Fault.body(b"not json at all"))
    raw = api.p_ost_auth_api_key(
        body=AuthenticatePayload(api_key=emulator.api_key), skip_deserialization=True
    )
    assert raw.response.data == b"not json at all"  # nothing parsed, so nothing refused


def test_skip_deserialization_example_with_tight_timeout(emulator: Emulator) -> None:
    """The page's raw-response example with ``timeout=(3.05, 10)``."""
    with video_api.ApiClient(video_api.Configuration(host=emulator.url)) as api_client:
        api_instance = authentication_api.AuthenticationApi(api_client)
        api_response = api_instance.p_ost_auth_api_key(
            body=AuthenticatePayload(api_key=emulator.api_key),
            skip_deserialization=True,
            timeout=(3.05, 10),
        )
        status = api_response.response.status
        fields = sorted(json.loads(api_response.response.data))
    assert (status, fields) == (
        200,
        ["access_token", "expires_in", "refresh_token", "token_type"],
    )


def test_stream_with_skip_deserialization_reads_chunks(emulator: Emulator, api: Any) -> None:
    """``stream=True`` leaves the body unread: read it by ``response.stream()``, then release."""
    response = api.p_ost_auth_api_key(
        body=AuthenticatePayload(api_key=emulator.api_key),
        stream=True,
        skip_deserialization=True,
    )
    raw = b"".join(response.response.stream(16))
    response.response.release_conn()
    assert json.loads(raw)["expires_in"] == 3600
    again = api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    assert isinstance(again.body, AccessToken)  # the connection went back to the pool fine


def test_stream_without_skip_deserialization_still_parses(emulator: Emulator, api: Any) -> None:
    """Without ``skip_deserialization`` the whole body is read and parsed either way."""
    response = api.p_ost_auth_api_key(
        body=AuthenticatePayload(api_key=emulator.api_key), stream=True
    )
    assert isinstance(response.body, AccessToken)
    assert response.body.expires_in == 3600


# ---------------------------------------------------------------------------------------------
# Parameters table: timeout
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [5, 5.0, (2, 5), (2.0, 5.0)])
def test_valid_timeouts_are_accepted(emulator: Emulator, api: Any, timeout: Any) -> None:
    """``timeout`` as an int, a float or a ``(connect, read)`` pair is accepted."""
    response = api.p_ost_auth_api_key(
        body=AuthenticatePayload(api_key=emulator.api_key), timeout=timeout
    )
    assert response.body.expires_in == 3600


@pytest.mark.parametrize("timeout", ["5", (1, 2, 3), [1], -1, 0, (0, 5), float("nan")])
def test_invalid_timeouts_raise_before_sending(emulator: Emulator, api: Any, timeout: Any) -> None:
    """A timeout the client cannot use raises ApiValueError (an OpenApiException); none sent.

    The table lists non-numbers and non-pairs; a zero, negative or NaN number is just as
    unusable, and "every exception the package raises derives from OpenApiException".
    """
    with pytest.raises(video_api.ApiValueError):
        api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key), timeout=timeout)
    assert emulator.count() == 0


@pytest.mark.parametrize("timeout", [1, (2.0, 0.5)])
def test_read_timeout_raises_api_timeout_error(emulator: Emulator, timeout: Any) -> None:
    """A stalled server: int and ``(connect, read)`` timeouts raise ApiTimeoutError in time."""
    emulator.add_fault("/auth/api-key", Fault.stall(4.0))
    with _api(emulator, retries=0) as api:
        started = time.monotonic()
        with pytest.raises(video_api.ApiTimeoutError) as info:
            api.p_ost_auth_api_key(
                body=AuthenticatePayload(api_key=emulator.api_key), timeout=timeout
            )
    assert time.monotonic() - started < 3.5
    assert isinstance(info.value, video_api.ApiConnectionError)
    assert info.value.status is None


def test_infinite_timeout_works_or_is_refused_cleanly(emulator: Emulator, api: Any) -> None:
    """``timeout=float("inf")`` either means no bound or raises ApiValueError, nothing else."""
    try:
        response = api.p_ost_auth_api_key(
            body=AuthenticatePayload(api_key=emulator.api_key), timeout=float("inf")
        )
    except video_api.ApiValueError:
        assert emulator.count() == 0
    else:
        assert response.body.expires_in == 3600


@pytest.mark.parametrize("timeout", [-1, 0, (5, 0)])
def test_configuration_refuses_unusable_timeout(timeout: Any) -> None:
    """A non-positive ``Configuration(timeout=...)`` raises ApiValueError, at the latest when
    the client is built (input errors are raised before anything is sent)."""
    with pytest.raises(video_api.ApiValueError):
        video_api.ApiClient(video_api.Configuration(host="http://127.0.0.1:1", timeout=timeout))


def test_configuration_timeout_used_when_call_gives_none(emulator: Emulator) -> None:
    """``timeout=None`` (default) falls back to ``Configuration(timeout=...)``."""
    emulator.add_fault("/auth/api-key", Fault.stall(4.0))
    with _api(emulator, retries=0, timeout=0.5) as api:
        started = time.monotonic()
        with pytest.raises(video_api.ApiTimeoutError):
            api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    assert time.monotonic() - started < 3.5


def test_refresh_read_timeout_is_not_retried(emulator: Emulator, api: Any) -> None:
    """A read timeout on /auth/refresh is not replayed: the token may already be spent."""
    token = _authenticate(api, emulator)
    emulator.add_fault("/auth/refresh", Fault.stall(4.0))
    with _api(emulator, retries=2) as retrying, pytest.raises(video_api.ApiTimeoutError):
        retrying.p_ost_auth_refresh(
            body=RefreshTokenPayload(refresh_token=token.refresh_token), timeout=0.5
        )
    assert emulator.count("/auth/refresh") == 1


# ---------------------------------------------------------------------------------------------
# Return Types table
# ---------------------------------------------------------------------------------------------


def test_api_response_for_200_fields(emulator: Emulator, api: Any) -> None:
    """ApiResponseFor200 (in ``video_api.paths.auth_api_key.post``): response/body/headers."""
    from video_api.paths.auth_api_key.post import ApiResponseFor200

    response = api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    assert isinstance(response, ApiResponseFor200)
    assert isinstance(response, api_client_module.ApiResponse)
    assert isinstance(response.response, urllib3.HTTPResponse)
    assert response.response.status == 200
    assert json.loads(response.response.data)["access_token"] == response.body.access_token
    assert isinstance(response.body, AccessToken)
    assert response.headers["content-type"] == "application/json"  # case-insensitive
    assert response.retries == 0


def test_schema_aliases_are_the_models() -> None:
    """``SchemaForRequestBodyApplicationJson`` etc. are the documented model classes."""
    from video_api.paths.auth_api_key import post as key_post
    from video_api.paths.auth_refresh import post as refresh_post

    assert key_post.SchemaForRequestBodyApplicationJson is AuthenticatePayload
    assert refresh_post.SchemaForRequestBodyApplicationJson is RefreshTokenPayload
    for module in (key_post, refresh_post):
        assert module.SchemaFor200ResponseBodyApplicationJson is AccessToken
        assert module.SchemaFor400ResponseBodyApplicationJson is BadRequest


def test_api_response_for_400_on_the_exception(emulator: Emulator, api: Any) -> None:
    """A 400 is raised; its ``api_response`` is ApiResponseFor400 with a BadRequest body."""
    from video_api.paths.auth_refresh.post import ApiResponseFor400

    with pytest.raises(BadRequestException) as info:
        api.p_ost_auth_refresh(body=RefreshTokenPayload(refresh_token="never-issued-token"))
    response = info.value.api_response
    assert isinstance(response, ApiResponseFor400)
    assert isinstance(response.response, urllib3.HTTPResponse)
    assert response.response.status == 400
    assert isinstance(response.body, BadRequest)
    assert response.body.name == "refreshToken"
    assert response.headers["Content-Type"] == "application/json"
    assert response.retries == 0


@pytest.mark.parametrize("code, cls", [(403, ForbiddenException), (404, NotFoundException)])
def test_other_error_status_is_raised_with_api_response(
    emulator: Emulator, api: Any, code: int, cls: type
) -> None:
    """Other error statuses raise their class with an ``api_client.ApiResponse``."""
    emulator.add_fault("/auth/api-key", Fault.status(code))
    with pytest.raises(cls) as info:
        api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    assert info.value.status == code
    assert isinstance(info.value.api_response, api_client_module.ApiResponse)
    assert info.value.api_response.response.status == code
    assert isinstance(info.value.problem, BadRequest)


def test_retries_counted_on_success(emulator: Emulator, api: Any) -> None:
    """One 503 then success: the call returns with ``retries == 1``."""
    emulator.add_fault("/auth/api-key", Fault.status(503))
    response = api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    assert response.retries == 1
    assert emulator.count("/auth/api-key") == 2


@pytest.mark.parametrize(
    "raw", [b"not json", b"[1, 2]", b'{"access_token": 5}', b'{"expires_in": "soon"}']
)
def test_invalid_success_body_raises_api_response_error(
    emulator: Emulator, api: Any, raw: bytes
) -> None:
    """A 200 that is not JSON or not a valid AccessToken raises ApiResponseError (a ValueError)."""
    emulator.add_fault("/auth/api-key", Fault.body(raw))
    with pytest.raises(ApiResponseError) as info:
        api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, video_api.OpenApiException)


def test_whole_float_expires_in_is_read_as_int(emulator: Emulator, api: Any) -> None:
    """``3600.0`` from the server reads as the int 3600."""
    emulator.add_fault(
        "/auth/api-key", Fault.body(b'{"access_token": "abcdefgh", "expires_in": 3600.0}')
    )
    token = api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key)).body
    assert token.expires_in == 3600 and type(token.expires_in) is int


def test_server_extra_and_missing_fields(emulator: Emulator, api: Any) -> None:
    """Extra fields are kept; omitted ones read None; ``token_type`` defaults to ``"bearer"``."""
    emulator.add_fault(
        "/auth/api-key", Fault.body(b'{"access_token": "abcdefgh", "scope": "videos"}')
    )
    token = api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key)).body
    assert token.scope == token["scope"] == "videos"
    assert token.expires_in is None and "expires_in" not in token
    assert token.refresh_token is None
    assert token.token_type == "bearer"


def test_400_without_json_problem(emulator: Emulator, api: Any) -> None:
    """A 400 whose body is not JSON: still BadRequestException, ``body``/``problem`` None."""
    emulator.add_fault("/auth/api-key", Fault.status(400, b"oops", content_type="text/plain"))
    with pytest.raises(BadRequestException) as info:
        api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    assert info.value.problem is None
    assert info.value.api_response.body is None
    assert info.value.body == b"oops"


def test_problem_json_content_type_is_parsed() -> None:
    """``application/problem+json`` problems are parsed like ``application/json``."""
    emulator = Emulator(problem_content_type="application/problem+json")
    with emulator, _api(emulator) as api, pytest.raises(BadRequestException) as info:
        api.p_ost_auth_api_key(body=AuthenticatePayload(api_key="wrong-key"))
    assert isinstance(info.value.problem, BadRequest)
    assert info.value.problem.title == "The user credentials were incorrect."


# ---------------------------------------------------------------------------------------------
# Exceptions
# ---------------------------------------------------------------------------------------------


def test_bad_request_exception_fields(emulator: Emulator, api: Any) -> None:
    """Documented fields, and README's ``(400) Bad Request: <title> [type: ...]`` message."""
    with pytest.raises(video_api.ApiException) as info:
        api.p_ost_auth_api_key(body=AuthenticatePayload(api_key="not-my-key"))
    e = info.value
    assert type(e) is BadRequestException
    assert isinstance(e, video_api.OpenApiException)
    assert e.status == 400
    assert e.reason == "Bad Request"
    assert e.headers["Content-Type"] == "application/json"
    assert isinstance(e.body, bytes) and json.loads(e.body)["status"] == 400
    assert type(e.api_response).__name__ == "ApiResponseFor400"
    assert e.api_response.body.title == "The user credentials were incorrect."
    assert e.problem is e.api_response.body
    assert e.retries == 0
    assert str(e).startswith("(400) Bad Request: The user credentials were incorrect. [type: ")
    assert e.problem.type in str(e)


def test_exception_message_lists_sub_problems(emulator: Emulator, api: Any) -> None:
    """BadRequest.md: ``str(e)`` includes each sub-problem's ``name`` and ``title``."""
    problem = {
        "type": "https://docs.api.video/reference/invalid",
        "title": "The request is invalid.",
        "status": 400,
        "problems": [{"name": "apiKey", "title": "This attribute is required."}],
    }
    emulator.add_fault("/auth/api-key", Fault.status(400, problem))
    with pytest.raises(BadRequestException) as info:
        api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    message = str(info.value)
    assert "The request is invalid." in message
    assert "apiKey" in message and "This attribute is required." in message
    sub = info.value.problem.problems[0]
    assert isinstance(sub, BadRequest) and sub.name == "apiKey"


def test_service_exception_after_retries(emulator: Emulator) -> None:
    """5xx every time: ServiceException after ``retries`` retries; ``str(e)`` counts them."""
    emulator.add_fault("/auth/api-key", Fault.status(502), times=5)
    with _api(emulator, retries=2) as api, pytest.raises(ServiceException) as info:
        api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    assert info.value.status == 502
    assert info.value.retries == 2
    assert emulator.count("/auth/api-key") == 3
    assert "2 retries" in str(info.value)


@pytest.mark.parametrize("setting, attempts", [({"retries": 0}, 1), ({"max_retries": 1}, 2)])
def test_retry_settings_bound_attempts(
    emulator: Emulator, setting: Dict[str, int], attempts: int
) -> None:
    """``retries=0`` means one attempt; ``max_retries`` is the same setting as ``retries``."""
    emulator.add_fault("/auth/api-key", Fault.status(503), times=5)
    configuration = _config(emulator, **setting)
    assert configuration.retries == attempts - 1
    with video_api.ApiClient(configuration) as client, pytest.raises(ServiceException):
        authentication_api.AuthenticationApi(client).p_ost_auth_api_key(
            body=AuthenticatePayload(api_key=emulator.api_key)
        )
    assert emulator.count("/auth/api-key") == attempts


@pytest.mark.parametrize("header", ["Retry-After", "X-RateLimit-Retry-After"])
def test_429_with_short_retry_after_is_retried(emulator: Emulator, api: Any, header: str) -> None:
    """A 429 asking to wait 0 s is retried and the call succeeds."""
    emulator.add_fault("/auth/api-key", Fault.rate_limited("0", header=header))
    response = api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    assert response.retries == 1


def test_429_with_long_retry_after_raises_at_once(emulator: Emulator, api: Any) -> None:
    """A wait over 20 s is not slept: TooManyRequestsException with ``retry_after``."""
    emulator.add_fault("/auth/api-key", Fault.rate_limited("120"), times=3)
    started = time.monotonic()
    with pytest.raises(TooManyRequestsException) as info:
        api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    assert time.monotonic() - started < 3.0
    assert info.value.status == 429
    assert info.value.retry_after == 120


def test_other_status_is_plain_api_exception(emulator: Emulator, client: Any) -> None:
    """A 405 has no dedicated class: ``ApiException`` itself."""
    with pytest.raises(video_api.ApiException) as info:
        client.call_api("/auth/api-key", "GET")
    assert type(info.value) is video_api.ApiException
    assert info.value.status == 405


def test_html_error_page_is_a_service_exception(emulator: Emulator) -> None:
    """A proxy's HTML 502 page: ServiceException with no parsed problem."""
    emulator.add_fault("/auth/api-key", Fault.html(502))
    with _api(emulator, retries=0) as api, pytest.raises(ServiceException) as info:
        api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    assert info.value.problem is None
    assert b"<html>" in info.value.body


def test_connection_refused_is_api_connection_error() -> None:
    """No server: ApiConnectionError, ``status`` None, ``detail`` says what failed."""
    with Emulator() as emulator:
        url, key = emulator.url, emulator.api_key
    with video_api.ApiClient(video_api.Configuration(host=url, retries=0)) as client:
        api = authentication_api.AuthenticationApi(client)
        with pytest.raises(video_api.ApiConnectionError) as info:
            api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=key))
    assert not isinstance(info.value, video_api.ApiTimeoutError)
    assert isinstance(info.value, video_api.ApiException)
    assert info.value.status is None
    assert info.value.detail


def test_reset_after_headers_retried_only_when_replay_safe(emulator: Emulator, api: Any) -> None:
    """A reset after the request went out: /auth/api-key is retried, /auth/refresh is not.

    The client cannot tell whether the server read the request, and the refresh section says
    the call is never replayed once it may have reached the server.
    """
    emulator.add_fault("/auth/api-key", Fault.reset_before_body())
    response = api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    assert response.retries == 1
    emulator.add_fault("/auth/refresh", Fault.reset_before_body())
    with pytest.raises(video_api.ApiConnectionError) as info:
        api.p_ost_auth_refresh(body=RefreshTokenPayload(refresh_token=response.body.refresh_token))
    assert info.value.status is None
    assert emulator.count("/auth/refresh") == 1


def test_refresh_is_never_replayed_after_reaching_server(emulator: Emulator, api: Any) -> None:
    """Reset after the server used the token: raised, sent once, the token not spent twice."""
    token = _authenticate(api, emulator)
    emulator.add_fault("/auth/refresh", Fault.reset_after_body())
    with pytest.raises(video_api.ApiConnectionError):
        api.p_ost_auth_refresh(body=RefreshTokenPayload(refresh_token=token.refresh_token))
    assert emulator.count("/auth/refresh") == 1
    assert emulator.refresh_token_reuses == 0


def test_refresh_retried_on_503_not_on_500(emulator: Emulator, api: Any) -> None:
    """The refresh section: retried on 408/429/503 only; a 500 is raised without replay."""
    token = _authenticate(api, emulator)
    emulator.add_fault("/auth/refresh", Fault.status(503))
    response = api.p_ost_auth_refresh(body=RefreshTokenPayload(refresh_token=token.refresh_token))
    assert response.retries == 1
    emulator.clear()
    emulator.add_fault("/auth/refresh", Fault.status(500))
    with pytest.raises(ServiceException):
        api.p_ost_auth_refresh(body=RefreshTokenPayload(refresh_token=response.body.refresh_token))
    assert emulator.count("/auth/refresh") == 1


def test_spent_refresh_token_is_refused(emulator: Emulator, api: Any) -> None:
    """Refresh tokens rotate: reusing one is a 400 naming ``refreshToken``."""
    token = _authenticate(api, emulator)
    api.p_ost_auth_refresh(body=RefreshTokenPayload(refresh_token=token.refresh_token))
    with pytest.raises(BadRequestException) as info:
        api.p_ost_auth_refresh(body=RefreshTokenPayload(refresh_token=token.refresh_token))
    assert info.value.problem.name == "refreshToken"
    assert emulator.refresh_token_reuses == 1


def test_exception_hierarchy_as_documented() -> None:
    """The error classes table: who is also a what."""
    ex = video_api.exceptions
    assert issubclass(ex.ApiTypeError, TypeError)
    assert issubclass(ex.ApiValueError, ValueError)
    assert issubclass(ApiMissingFieldError, ex.ApiTypeError)
    assert issubclass(ApiMissingFieldError, ex.ApiValueError)
    assert issubclass(ApiResponseError, ValueError)
    assert issubclass(AuthenticationError, BadRequestException)
    assert issubclass(ex.ApiTimeoutError, ex.ApiConnectionError)
    for cls in (
        BadRequestException,
        UnauthorizedException,
        ForbiddenException,
        NotFoundException,
        TooManyRequestsException,
        ServiceException,
        ex.ApiConnectionError,
    ):
        assert issubclass(cls, video_api.ApiException), cls
    for name in dir(ex):
        obj = getattr(ex, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert issubclass(obj, video_api.OpenApiException), name


def test_authenticated_client_is_discoverable_with_dir() -> None:
    """``dir(video_api)`` lists the README's ``AuthenticatedApiClient`` (REPL discovery)."""
    assert hasattr(video_api, "AuthenticatedApiClient")
    assert "AuthenticatedApiClient" in dir(video_api)


def test_common_exceptions_importable_from_top_level() -> None:
    """The common exceptions are the same classes from ``video_api`` and its ``exceptions``."""
    for name in (
        "OpenApiException",
        "ApiException",
        "ApiTypeError",
        "ApiValueError",
        "ApiAttributeError",
        "ApiKeyError",
        "ApiConnectionError",
        "ApiTimeoutError",
    ):
        assert getattr(video_api, name) is getattr(video_api.exceptions, name)


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


def test_authenticate_payload_doc_example() -> None:
    """AuthenticatePayload.md's example, assert by assert."""
    payload = AuthenticatePayload(api_key="YOUR_API_KEY")
    assert "YOUR_API_KEY" not in str(payload) and "YOUR_API_KEY" not in repr(payload)
    assert str(payload).startswith("AuthenticatePayload(api_key=")
    assert payload == AuthenticatePayload(apiKey="YOUR_API_KEY")
    assert payload["apiKey"] == payload.api_key == payload["api_key"] == "YOUR_API_KEY"
    assert list(payload.to_dict()) == ["apiKey"]
    assert json.loads(payload.to_json()) == {"apiKey": "YOUR_API_KEY"}
    with pytest.raises(TypeError, match="did you mean 'api_key'"):
        AuthenticatePayload(apikey="YOUR_API_KEY")


def test_authenticate_payload_validation() -> None:
    """Missing, wrong type and unknown name, each with its documented class."""
    with pytest.raises(ApiMissingFieldError) as missing:
        AuthenticatePayload()
    assert isinstance(missing.value, TypeError) and isinstance(missing.value, ValueError)
    with pytest.raises(video_api.ApiTypeError):
        AuthenticatePayload(api_key=123)
    with pytest.raises(video_api.ApiTypeError, match="did you mean 'api_key'"):
        AuthenticatePayload(api_ky="...")


def test_payload_is_immutable_mapping_not_hashable() -> None:
    """Setting an attribute raises ApiAttributeError; a Mapping; equal to a dict; no hash."""
    from collections.abc import Mapping

    payload = AuthenticatePayload(api_key="YOUR_API_KEY")
    with pytest.raises(ApiAttributeError):
        payload.api_key = "other"  # type: ignore[misc]
    assert isinstance(payload, Mapping)
    assert payload == {"apiKey": "YOUR_API_KEY"}
    assert dict(payload) == {"apiKey": "YOUR_API_KEY"}
    with pytest.raises(TypeError):
        hash(payload)


def test_refresh_token_payload_doc_example() -> None:
    """RefreshTokenPayload.md: shortened repr, wire dict, missing field message."""
    payload = RefreshTokenPayload(refresh_token="YOUR_REFRESH_TOKEN")
    assert "YOUR_REFRESH_TOKEN" not in str(payload)
    assert str(payload).startswith("RefreshTokenPayload(refresh_token=")
    assert payload.to_dict() == {"refreshToken": "YOUR_REFRESH_TOKEN"}
    assert payload == {"refreshToken": "YOUR_REFRESH_TOKEN"}
    assert payload == RefreshTokenPayload(refreshToken="YOUR_REFRESH_TOKEN")
    with pytest.raises(ValueError) as info:
        RefreshTokenPayload()
    assert str(info.value).startswith(
        "RefreshTokenPayload.refresh_token ('refreshToken') is required: expected str"
    )
    with pytest.raises(video_api.ApiTypeError, match="did you mean 'refresh_token'"):
        RefreshTokenPayload(refresh_tokn="x")


def test_access_token_doc_example_repr_is_exact() -> None:
    """AccessToken.md's example, including the exact ``pprint`` line it shows."""
    token = AccessToken(
        access_token="eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl",
        expires_in=3600,
        refresh_token="def50200a28d88fb9aaa921be78eeb5604b071101a334899a7d5",
    )
    out = io.StringIO()
    pprint(token, stream=out)
    assert out.getvalue().strip() == (
        "AccessToken(access_token='eyJ0…(53 chars)', expires_in=3600, "
        "refresh_token='def5…(52 chars)', token_type='bearer')"
    )
    assert token.expires_in == token["expires_in"] == 3600
    assert token.token_type == "bearer"
    headers = {"Authorization": "Bearer " + token.access_token}
    assert headers["Authorization"].endswith("c2lnbmF0dXJl")


def test_access_token_to_dict_has_full_tokens() -> None:
    """``to_dict()``/``to_json()`` carry the tokens in full; equal to a dict; no hash."""
    token = AccessToken(access_token="a" * 40, refresh_token="r" * 40, expires_in=60)
    assert token.to_dict()["access_token"] == "a" * 40
    assert json.loads(token.to_json())["refresh_token"] == "r" * 40
    assert AccessToken(**token.to_dict()) == token
    assert token == token.to_dict()
    with pytest.raises(TypeError):
        hash(token)
    with pytest.raises(ApiAttributeError):
        token.expires_in = 1  # type: ignore[misc]
    with pytest.raises(video_api.ApiTypeError):  # unknown names only pass from the server
        AccessToken(access_token="abc", scope="videos")


def test_bad_request_doc_example() -> None:
    """BadRequest.md's example: sub-problems become a tuple of BadRequest."""
    problem = BadRequest(
        title="The request is invalid.",
        status=400,
        problems=[{"name": "apiKey", "title": "This attribute is required."}],
    )
    assert isinstance(problem.problems, tuple)
    assert [f"{sub.name}: {sub.title}" for sub in problem.problems] == [
        "apiKey: This attribute is required."
    ]
    assert all(isinstance(sub, BadRequest) for sub in problem.problems)
    assert problem.type is None
    assert problem.to_dict()["problems"][0]["name"] == "apiKey"
    assert BadRequest().title is None  # every field optional


# ---------------------------------------------------------------------------------------------
# Generated-client module layout: tags, paths, tag_to_api, path_to_api
# ---------------------------------------------------------------------------------------------


def test_tag_to_api_maps_the_tag() -> None:
    """``video_api.apis.tag_to_api`` maps TagValues.AUTHENTICATION to AuthenticationApi."""
    from video_api.apis.tag_to_api import TagValues, tag_to_api

    assert tag_to_api[TagValues.AUTHENTICATION] is authentication_api.AuthenticationApi
    assert TagValues.AUTHENTICATION == "Authentication"


def test_path_to_api_classes_post(emulator: Emulator, client: Any) -> None:
    """``path_to_api[PathValues.X](api_client).post(...)`` works like the tag method."""
    from video_api.apis.path_to_api import path_to_api
    from video_api.paths import PathValues

    assert PathValues.AUTH_APIKEY == "/auth/api-key"
    assert PathValues.AUTH_REFRESH == "/auth/refresh"
    key_api = path_to_api[PathValues.AUTH_APIKEY](client)
    token = key_api.post(body=AuthenticatePayload(api_key=emulator.api_key)).body
    refresh_api = path_to_api[PathValues.AUTH_REFRESH](client)
    refreshed = refresh_api.post(body=RefreshTokenPayload(refresh_token=token.refresh_token))
    assert isinstance(refreshed.body, AccessToken)
    assert [r.path for r in emulator.requests] == ["/auth/api-key", "/auth/refresh"]
    from video_api.apis.paths.auth_api_key import AuthApiKey

    raw = AuthApiKey(client).post(body={"apiKey": emulator.api_key}, skip_deserialization=True)
    assert isinstance(raw, api_client_module.ApiResponseWithoutDeserialization)


# ---------------------------------------------------------------------------------------------
# ApiClient, Configuration
# ---------------------------------------------------------------------------------------------


def test_client_context_manager_returns_itself_and_close_is_idempotent(emulator: Emulator) -> None:
    """``with ApiClient(...) as c`` gives the client; ``close()`` after the block is harmless."""
    client = video_api.ApiClient(_config(emulator))
    with client as entered:
        assert entered is client
        authentication_api.AuthenticationApi(entered).p_ost_auth_api_key(
            body={"apiKey": emulator.api_key}
        )
    client.close()
    client.close()


def test_configuration_defaults() -> None:
    """Documented defaults: host, environment, timeout, retries, pool size, debug."""
    configuration = video_api.Configuration()
    assert configuration.host == "https://ws.api.video"
    assert configuration.environment == "production"
    assert tuple(configuration.timeout) == (5.0, 60.0)
    assert configuration.retries == 2
    assert configuration.connection_pool_maxsize == 16
    assert configuration.debug is False
    assert configuration.verify_ssl is True
    assert configuration.api_key is None and configuration.access_token is None


def test_configuration_readme_example() -> None:
    """README Configuration example: sandbox host, settings kept."""
    configuration = video_api.Configuration(
        environment="sandbox",
        timeout=(5, 30),
        retries=3,
        connection_pool_maxsize=16,
    )
    assert configuration.host == "https://sandbox.api.video"
    assert tuple(configuration.timeout) == (5, 30)
    assert configuration.retries == 3


def test_configuration_host_wins_and_is_validated() -> None:
    """``host=`` wins over ``environment``; a host that is not http(s) raises ApiValueError."""
    configuration = video_api.Configuration(host="http://127.0.0.1:1", environment="sandbox")
    assert configuration.host == "http://127.0.0.1:1"
    with pytest.raises(video_api.ApiValueError):
        video_api.Configuration(host="ftp://ws.api.video")


def test_configuration_single_timeout_sets_both() -> None:
    """README: one number sets both the connect and the read timeout.

    The README does not say how it is stored; a user may see the number or a pair.
    """
    configuration = video_api.Configuration(timeout=7)
    assert configuration.timeout in (7, (7, 7), (7.0, 7.0))


def test_reprs_never_show_secrets(emulator: Emulator) -> None:
    """Configuration and client reprs show secrets as their first characters only."""
    configuration = video_api.Configuration(
        host=emulator.url, api_key=SECRET_KEY, access_token="T" * 40
    )
    with video_api.ApiClient(configuration) as client:
        texts = [repr(configuration), str(configuration), repr(client)]
    with video_api.AuthenticatedApiClient(SECRET_KEY, _config(emulator)) as auth_client:
        texts += [repr(auth_client), repr(auth_client.auth)]
    for text in texts:
        assert SECRET_KEY not in text
        assert "T" * 40 not in text


def test_default_headers_are_sent(emulator: Emulator) -> None:
    """``ApiClient(header_name=, header_value=)`` and ``set_default_header`` go on the wire."""
    with video_api.ApiClient(_config(emulator), "X-Trace", "abc") as client:
        client.set_default_header("X-Other", "def")
        authentication_api.AuthenticationApi(client).p_ost_auth_api_key(
            body={"apiKey": emulator.api_key}
        )
        user_agent = client.user_agent
    headers = emulator.requests[-1].headers
    assert headers["X-Trace"] == "abc"
    assert headers["X-Other"] == "def"
    assert headers["User-Agent"] == user_agent


def test_verify_ssl_off_warns() -> None:
    """README: turning certificate checks off warns."""
    with pytest.warns(Warning):
        configuration = video_api.Configuration(host="https://127.0.0.1:1", verify_ssl=False)
        video_api.ApiClient(configuration).close()


# ---------------------------------------------------------------------------------------------
# AuthenticatedApiClient and call_api
# ---------------------------------------------------------------------------------------------


def test_readme_authenticated_client_example(emulator: Emulator) -> None:
    """README example: ``call_api("/videos", ...)`` with the token handled for you."""
    with video_api.AuthenticatedApiClient(
        emulator.api_key, video_api.Configuration(host=emulator.url)
    ) as client:
        videos = client.call_api("/videos", "GET", auth_settings=["bearerAuth"])
        assert videos.body["pagination"]["itemsTotal"] == 0
        assert isinstance(client.auth.state.value, str)
        assert client.auth.expires_at > time.time()
    assert emulator.count("/auth/api-key") == 1
    assert emulator.requests[-1].headers["Authorization"].startswith("Bearer ")


def test_authenticated_client_is_apiclient_with_api_key(emulator: Emulator) -> None:
    """``ApiClient(Configuration(api_key=...))`` works like AuthenticatedApiClient, whose
    ``environment=`` selects the host."""
    with video_api.ApiClient(_config(emulator, api_key=emulator.api_key)) as client:
        videos = client.call_api("/videos", "GET", auth_settings=["bearerAuth"])
    assert videos.body["data"] == []
    with video_api.AuthenticatedApiClient("k", environment="sandbox") as sandbox:
        assert isinstance(sandbox, video_api.ApiClient)
        assert "https://sandbox.api.video" in repr(sandbox)  # no request made


def test_authenticated_client_renews_on_401_and_replays_once(emulator: Emulator) -> None:
    """After the server revokes the token, the next call renews it and replays once."""
    with video_api.AuthenticatedApiClient(emulator.api_key, _config(emulator)) as client:
        client.call_api("/videos", "GET", auth_settings=["bearerAuth"])
        emulator.revoke()
        response = client.call_api("/videos", "GET", auth_settings=["bearerAuth"])
    assert response.response.status == 200
    assert emulator.count("/videos") == 3
    assert emulator.tokens_issued == 2


def test_authenticated_client_refreshes_before_expiry() -> None:
    """Shortly before expiry the token is renewed with /auth/refresh, not a new API-key login.

    A 1 s lifetime keeps the wait short; the wait ends just before ``client.auth.expires_at``.
    """
    with Emulator(token_lifetime=1) as short:
        with video_api.AuthenticatedApiClient(short.api_key, _config(short)) as client:
            client.call_api("/videos", "GET", auth_settings=["bearerAuth"])
            time.sleep(max(0.0, client.auth.expires_at - time.time() - 0.05))
            response = client.call_api("/videos", "GET", auth_settings=["bearerAuth"])
        assert response.response.status == 200
        assert short.count("/auth/api-key") == 1
        assert short.count("/auth/refresh") == 1
        assert short.count("/videos") == 2  # renewed before the call, not after a 401


def test_restored_token_is_refreshed_shortly_before_expiry(emulator: Emulator) -> None:
    """A token handed back with ``token=`` and 2 s left is renewed before use, like any other.

    README: the client "refreshes the token shortly before it expires"; nothing exempts a
    restored token.
    """
    saved: List[Dict[str, Any]] = []
    first = _config(emulator, api_key=emulator.api_key, on_token=saved.append)
    with video_api.ApiClient(first) as client:
        client.call_api("/videos", "GET", auth_settings=["bearerAuth"])
    assert saved and "access_token" in saved[-1]
    almost_expired = dict(saved[-1], expires_at=time.time() + 2)
    emulator.clear()
    second = _config(emulator, api_key=emulator.api_key, token=almost_expired)
    with video_api.ApiClient(second) as client:
        client.call_api("/videos", "GET", auth_settings=["bearerAuth"])
    assert [r.path for r in emulator.requests] == ["/auth/refresh", "/videos"]


def test_authenticated_client_wrong_key_raises_authentication_error(emulator: Emulator) -> None:
    """A refused API key: AuthenticationError, a BadRequestException, without the key in it."""
    client = video_api.AuthenticatedApiClient(SECRET_KEY, _config(emulator))
    with client, pytest.raises(AuthenticationError) as info:
        client.call_api("/videos", "GET", auth_settings=["bearerAuth"])
    assert isinstance(info.value, BadRequestException)
    assert info.value.status == 400
    assert SECRET_KEY not in str(info.value) and SECRET_KEY not in repr(info.value)
    assert emulator.count("/videos") == 0


def test_call_api_without_auth_is_unauthorized(emulator: Emulator, client: Any) -> None:
    """``/videos`` without ``auth_settings``: UnauthorizedException; unknown path: NotFound."""
    with pytest.raises(UnauthorizedException) as info:
        client.call_api("/videos", "GET")
    assert info.value.status == 401
    assert info.value.problem.title == "The access token is invalid."
    assert info.value.headers["WWW-Authenticate"] == "Bearer"
    with pytest.raises(NotFoundException):
        client.call_api("/no-such-thing", "GET")


@pytest.mark.parametrize("as_model", [False, True])
def test_call_api_posts_body_as_json(emulator: Emulator, client: Any, as_model: bool) -> None:
    """``call_api`` sends a dict or a model as JSON and returns the decoded JSON body."""
    body: Any = {"apiKey": emulator.api_key}
    if as_model:
        body = AuthenticatePayload(**body)
    response = client.call_api("/auth/api-key", "POST", body=body)
    assert response.body["token_type"] == "Bearer"
    assert emulator.requests[-1].json() == {"apiKey": emulator.api_key}
    assert emulator.requests[-1].headers["Content-Type"].startswith("application/json")


def test_call_api_host_override(emulator: Emulator) -> None:
    """``call_api(host=...)`` sends that one call to another base URL."""
    with Emulator() as other:
        with video_api.ApiClient(_config(emulator)) as client:
            client.call_api("/auth/api-key", "POST", body={"apiKey": other.api_key}, host=other.url)
        assert other.count("/auth/api-key") == 1
    assert emulator.count() == 0


def test_static_access_token(emulator: Emulator, client: Any) -> None:
    """``Configuration(access_token=...)`` sends that token as the bearer credential."""
    token = client.call_api("/auth/api-key", "POST", body={"apiKey": emulator.api_key}).body
    with video_api.ApiClient(_config(emulator, access_token=token["access_token"])) as static:
        static.call_api("/videos", "GET", auth_settings=["bearerAuth"])
    assert emulator.requests[-1].headers["Authorization"] == "Bearer " + token["access_token"]
    assert emulator.count("/auth/api-key") == 1


def test_token_persistence_readme_example(emulator: Emulator, tmp_path: Path) -> None:
    """README: ``on_token`` gets a JSON-ready dict; ``token=`` reuses it in the next process."""
    path = tmp_path / "video-api-token.json"

    def save(token: Any) -> None:
        with open(path, "w") as f:
            json.dump(token, f)

    for _ in range(2):
        saved = json.loads(path.read_text()) if path.exists() else None
        configuration = video_api.Configuration(
            host=emulator.url, api_key=emulator.api_key, token=saved, on_token=save
        )
        with video_api.ApiClient(configuration) as client:
            client.call_api("/videos", "GET", auth_settings=["bearerAuth"])
    assert emulator.count("/auth/api-key") == 1  # the second run used the saved token
    assert emulator.count("/videos") == 2
    assert "access_token" in json.loads(path.read_text())


def test_one_client_shared_between_threads(emulator: Emulator) -> None:
    """Threads sharing one AuthenticatedApiClient all succeed with a single login."""
    errors: List[BaseException] = []
    statuses: List[int] = []
    lock = threading.Lock()
    with video_api.AuthenticatedApiClient(emulator.api_key, _config(emulator)) as client:

        def work() -> None:
            try:
                for _ in range(5):
                    r = client.call_api("/videos", "GET", auth_settings=["bearerAuth"])
                    with lock:
                        statuses.append(r.response.status)
            except BaseException as e:  # reported below
                with lock:
                    errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
    assert errors == []
    assert statuses == [200] * 30
    assert emulator.count("/auth/api-key") == 1


# ---------------------------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------------------------


def test_debug_log_line_per_request_without_secrets(
    secret_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """One DEBUG line per request on ``video_api``: method, URL, status; the key shortened."""
    with caplog.at_level(logging.DEBUG, logger="video_api"), _api(secret_emulator) as api:
        token = api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=SECRET_KEY)).body
    records = [r for r in caplog.records if r.name.startswith("video_api")]
    text = "\n".join(r.getMessage() for r in records)
    assert any(
        "POST" in r.getMessage() and secret_emulator.url + "/auth/api-key" in r.getMessage()
        for r in records
    )
    assert "200" in text
    assert SECRET_KEY not in text
    assert token.access_token not in text and token.refresh_token not in text
    assert all(r.levelno == logging.DEBUG for r in records)


def test_retries_are_logged(emulator: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    """Each retry is logged on the ``video_api`` logger."""
    emulator.add_fault("/auth/api-key", Fault.status(503))
    with caplog.at_level(logging.DEBUG, logger="video_api"), _api(emulator) as api:
        api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("video_api"))
    assert "503" in text
    assert "retr" in text.lower()


def test_debug_true_logs_to_stderr_and_touches_no_other_logger(
    emulator: Emulator, capfd: pytest.CaptureFixture[str]
) -> None:
    """``Configuration(debug=True)``: a stderr handler on ``video_api`` only."""
    package_logger = logging.getLogger("video_api")
    saved_handlers, saved_level = list(package_logger.handlers), package_logger.level
    others = {
        name: (logging.getLogger(name).level, list(logging.getLogger(name).handlers))
        for name in ("", "urllib3", "urllib3.connectionpool")
    }
    try:
        with _api(emulator, debug=True) as api:
            api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=emulator.api_key))
        err = capfd.readouterr().err
        assert "/auth/api-key" in err
        assert emulator.api_key not in err
        for name, state in others.items():
            logger = logging.getLogger(name)
            assert (logger.level, list(logger.handlers)) == state, name
    finally:
        package_logger.handlers[:] = saved_handlers
        package_logger.setLevel(saved_level)


# ---------------------------------------------------------------------------------------------
# The emulator, as README documents it for users' own tests
# ---------------------------------------------------------------------------------------------


def test_readme_emulator_example() -> None:
    """README emulator example: one 503 then normal; ``retries`` and ``count`` agree."""
    with Emulator(token_lifetime=60) as emulator:
        emulator.add_fault("/videos", Fault.status(503))
        configuration = video_api.Configuration(host=emulator.url, api_key=emulator.api_key)
        with video_api.ApiClient(configuration) as client:
            response = client.call_api("/videos", "GET", auth_settings=["bearerAuth"])
        assert response.retries == 1
        assert emulator.count("/videos") == 2


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _cli(
    *args: str, stdin: Optional[str] = None, env: Optional[Dict[str, str]] = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "VIDEO_API_KEY"}
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "video_api", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(ROOT),
        env=full_env,
    )


def test_cli_token_prints_an_access_token(secret_emulator: Emulator) -> None:
    """``token --api-key KEY --host URL`` prints a token that the API accepts."""
    done = _cli("token", "--host", secret_emulator.url, "--api-key", SECRET_KEY)
    assert done.returncode == 0, done.stderr
    access_token = done.stdout.strip()
    assert SECRET_KEY not in done.stdout + done.stderr
    with video_api.ApiClient(_config(secret_emulator, access_token=access_token)) as client:
        client.call_api("/videos", "GET", auth_settings=["bearerAuth"])


def test_cli_token_key_from_env_and_stdin_json(secret_emulator: Emulator) -> None:
    """The key from ``VIDEO_API_KEY`` or from stdin (``--api-key -``); ``--json`` output."""
    from_env = _cli("token", "--host", secret_emulator.url, env={"VIDEO_API_KEY": SECRET_KEY})
    assert from_env.returncode == 0, from_env.stderr
    from_stdin = _cli("token", "--host", secret_emulator.url, "--api-key", "-", "--json",
                      stdin=SECRET_KEY + "\n")  # fmt: skip
    assert from_stdin.returncode == 0, from_stdin.stderr
    token = json.loads(from_stdin.stdout)
    assert set(token) >= {"access_token", "refresh_token", "expires_in"}
    assert secret_emulator.count("/auth/api-key") == 2


def test_cli_refresh(emulator: Emulator) -> None:
    """``refresh --refresh-token TOKEN`` prints the next access token."""
    with _api(emulator) as api:
        token = _authenticate(api, emulator)
    done = _cli("refresh", "--host", emulator.url, "--refresh-token", token.refresh_token)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() and done.stdout.strip() != token.access_token
    assert emulator.count("/auth/refresh") == 1


def test_cli_expected_error_is_one_line_exit_1(emulator: Emulator) -> None:
    """A refused key: one line on stderr, exit 1, no traceback, no key."""
    done = _cli("token", "--host", emulator.url, "--api-key", SECRET_KEY)
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
    assert SECRET_KEY not in done.stderr + done.stdout


def test_cli_usage_error_exits_2() -> None:
    """A usage error exits 2."""
    assert _cli("no-such-command").returncode == 2
    assert _cli("token", "--bogus-flag").returncode == 2


def test_cli_demo_runs_offline() -> None:
    """``demo`` runs the offline token flow and exits 0."""
    done = _cli("demo", env={"VIDEO_API_KEY": ""})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cli_serve_until_ctrl_c() -> None:
    """``serve --port N`` runs an emulator a client can use, and stops cleanly on Ctrl-C."""
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "video_api", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(ROOT),
        env=env,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "emulator never listened"
                time.sleep(0.05)
        configuration = video_api.Configuration(host=f"http://127.0.0.1:{port}", timeout=5)
        with video_api.ApiClient(configuration) as client:
            response = authentication_api.AuthenticationApi(client).p_ost_auth_api_key(
                body={"apiKey": "demo-api-key"}
            )
        assert response.body.expires_in == 3600
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode in (0, 130, -signal.SIGINT)
    assert "Traceback" not in err

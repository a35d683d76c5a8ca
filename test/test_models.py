"""The model layer's promises: construction, validation, immutability, access, JSON, repr.

Models are generated from openapi.yaml (tools/generate.py) on one hand-written base,
``video_api.schemas.Model``. They are plain data, so these tests need no server: they build
models the ways users and the runtime do (keywords, mappings, ``_from_wire`` on decoded JSON)
and assert on the values, the exception classes and their messages.
"""

from __future__ import annotations

import copy
import enum
import importlib
import inspect
import json
import pickle
import pkgutil
import pprint
import pydoc
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Type

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import video_api
import video_api.model
from video_api import models, schemas
from video_api.exceptions import (
    ApiAttributeError,
    ApiKeyError,
    ApiMissingFieldError,
    ApiTypeError,
    ApiValueError,
    OpenApiException,
)
from video_api.model.access_token import AccessToken
from video_api.model.additional_bad_request_errors import AdditionalBadRequestErrors
from video_api.model.authenticate_payload import AuthenticatePayload
from video_api.model.bad_request import BadRequest
from video_api.model.live_stream import LiveStream
from video_api.model.metadata import Metadata
from video_api.model.refresh_token_payload import RefreshTokenPayload
from video_api.model.token_creation_payload import TokenCreationPayload
from video_api.model.upload_token import UploadToken
from video_api.model.video import Video
from video_api.model.video_assets import VideoAssets
from video_api.model.video_clip import VideoClip
from video_api.model.video_creation_payload import VideoCreationPayload
from video_api.model.video_source import VideoSource
from video_api.model.video_status import VideoStatus
from video_api.model.video_status_encoding_metadata import VideoStatusEncodingMetadata
from video_api.model.video_status_ingest import VideoStatusIngest
from video_api.model.video_status_ingest_received_parts import VideoStatusIngestReceivedParts
from video_api.model.webhook import Webhook
from video_api.model.webhooks_creation_payload import WebhooksCreationPayload
from video_api.schemas import Model, field

API_KEY = "sk_live_0123456789abcdefghijklmnop"
ACCESS = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.payload.signature-access"
REFRESH = "def50200a28d88fb9aaa921be78eeb5604b071101a334899a7d5fc7492cf8"
STREAM_KEY = "cc1b4df0-d1c5-4064-a8f9-9f0368385135"
UPLOAD_TOKEN = "to1tcmSFHeYY5KzyhOqVKMKb"
SIGNATURE = "sig_sec_8fc6e7a5b1c2d3e4f5a6b7c8d9e0"

ALL_MODELS: List[Type[Model]] = [getattr(models, name) for name in models.__all__]
ROOT = Path(__file__).resolve().parent.parent
with open(ROOT / "openapi.yaml", encoding="utf-8") as spec_file:  # the C loader is 5x faster
    SPEC: Dict[str, Any] = yaml.load(spec_file, getattr(yaml, "CSafeLoader", yaml.SafeLoader))
VIDEO_EXAMPLE: Dict[str, Any] = SPEC["components"]["schemas"]["video"]["example"]
VIDEO_RESPONSE: Dict[str, Any] = SPEC["paths"]["/videos/{videoId}"]["get"]["responses"]["200"][
    "content"
]["application/json"]["examples"]["response"]["value"]
VIDEO_STATUS_EXAMPLE: Dict[str, Any] = SPEC["components"]["schemas"]["video-status"]["example"]
WEBHOOK_EVENTS = (
    "live-stream.broadcast.started",
    "live-stream.broadcast.ended",
    "video.source.recorded",
    "video.encoding.quality.completed",
    "video.caption.generated",
    "video.summary.generated",
)


def wire(data: Any) -> Any:
    """A fresh copy of decoded JSON: ``_from_wire`` takes ownership of what it is given."""
    return json.loads(json.dumps(data))


def token(**overrides: Any) -> AccessToken:
    data: Dict[str, Any] = {
        "access_token": ACCESS,
        "expires_in": 3600,
        "refresh_token": REFRESH,
        "token_type": "Bearer",
    }
    data.update(overrides)
    return AccessToken._from_wire(data)


def error_of(build: Callable[[], Any]) -> OpenApiException:
    with pytest.raises(OpenApiException) as info:
        build()
    return info.value


# -- construction ---------------------------------------------------------------------------


def test_construct_by_python_name_and_by_wire_name_give_the_same_model() -> None:
    """`mp4_support=` and `mp4Support=` are two spellings of one field; stored once."""
    by_python = VideoCreationPayload(title="t", mp4_support=False, player_id="pl1")
    by_wire = VideoCreationPayload(title="t", mp4Support=False, playerId="pl1")
    assert by_python == by_wire
    assert by_python.to_json() == by_wire.to_json()
    assert json.loads(by_wire.to_json())["mp4Support"] is False
    assert AuthenticatePayload(api_key=API_KEY) == AuthenticatePayload(apiKey=API_KEY)
    assert RefreshTokenPayload(refresh_token=REFRESH) == RefreshTokenPayload(refreshToken=REFRESH)


@pytest.mark.parametrize(
    "mapping",
    [{"title": "t", "mp4Support": True}, {"title": "t", "mp4_support": True}],
    ids=["wire", "python"],
)
def test_construct_from_a_mapping_positional_argument(mapping: Dict[str, Any]) -> None:
    """A mapping of fields (either spelling) builds the same model as keywords."""
    built = VideoCreationPayload(mapping)
    assert built == VideoCreationPayload(title="t", mp4_support=True)
    assert built.mp4_support is True
    assert VideoCreationPayload.from_dict(mapping) == built


def test_construct_from_another_model() -> None:
    """A model is a mapping in wire names, so it can seed a new model."""
    original = VideoCreationPayload(title="t", tags=["a"], metadata=[{"key": "k", "value": "v"}])
    assert VideoCreationPayload(original) == original
    assert VideoCreationPayload(original.to_dict()) == original


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((), {"player_id": "a", "playerId": "b"}),
        (({"playerId": "a"},), {"player_id": "b"}),
    ],
    ids=["both-keywords", "mapping-and-keyword"],
)
def test_one_field_under_both_names_is_an_error(args: Any, kwargs: Dict[str, str]) -> None:
    """Giving one field under both names is ambiguous, so it is refused, naming the field."""
    with pytest.raises(ApiTypeError) as info:
        VideoCreationPayload(*args, title="t", **kwargs)
    assert str(info.value) == "VideoCreationPayload.player_id was given twice"
    assert info.value.path_to_item == ["VideoCreationPayload", "playerId"]


def test_unknown_keyword_suggests_the_closest_field() -> None:
    """A typo names itself, the field that was probably meant, and the fields there are."""
    with pytest.raises(ApiTypeError) as info:
        VideoCreationPayload(titel="t")
    assert isinstance(info.value, TypeError)
    assert str(info.value) == (
        "VideoCreationPayload got an unexpected keyword 'titel'; did you mean 'title'? "
        "Fields: title, description, source, public, panoramic, mp4_support, player_id, tags, "
        "metadata, clip, watermark, language, transcript, transcript_summary, "
        "transcript_summary_attributes"
    )
    assert info.value.path_to_item == ["VideoCreationPayload", "titel"]


def test_unknown_keyword_spelled_like_a_wire_name_suggests_the_python_name() -> None:
    """A near miss of the wire name (`mp4support`) still points at the field."""
    with pytest.raises(ApiTypeError, match="did you mean 'mp4_support'"):
        VideoCreationPayload(title="t", mp4support=True)
    with pytest.raises(ApiTypeError, match="did you mean 'refresh_token'"):
        RefreshTokenPayload(refreshtoken=REFRESH)


def test_a_typo_in_a_nested_mapping_names_the_nested_model() -> None:
    with pytest.raises(ApiTypeError) as info:
        VideoCreationPayload(title="t", clip={"start": "00:00:01"})
    assert str(info.value) == (
        "VideoClip got an unexpected keyword 'start'; did you mean 'start_timecode'? "
        "Fields: start_timecode, end_timecode"
    )


@pytest.mark.parametrize("data", [["apiKey"], "apiKey", 42, {1: "x"}], ids=repr)
def test_a_positional_argument_that_is_not_a_mapping_of_names_is_an_api_type_error(
    data: Any,
) -> None:
    """Every input error is an OpenApiException (here ApiTypeError), never a bare TypeError."""
    with pytest.raises(ApiTypeError, match=r"^AuthenticatePayload"):
        AuthenticatePayload(data)


def test_missing_required_field_is_an_api_missing_field_error() -> None:
    """A TypeError (like a missing argument) and a ValueError, naming model, field, type."""
    with pytest.raises(ApiMissingFieldError) as info:
        VideoCreationPayload(description="no title")
    error = info.value
    assert isinstance(error, ApiTypeError)
    assert isinstance(error, ApiValueError)
    assert isinstance(error, TypeError)
    assert isinstance(error, ValueError)
    assert str(error) == (
        "VideoCreationPayload.title ('title') is required: expected str, got nothing"
    )
    assert error.path_to_item == ["VideoCreationPayload", "title"]
    with pytest.raises(ApiMissingFieldError) as second:
        WebhooksCreationPayload(url="https://example.com/hook")
    assert str(second.value) == (
        "WebhooksCreationPayload.events ('events') is required: expected list[str], got nothing"
    )


def test_missing_required_field_from_the_server_is_the_same_error() -> None:
    """`_from_wire` reports a missing required field exactly like the constructor, also when
    the server sends null for it: the attribute is typed ``str``, so it is never None."""
    expected = "Video.video_id ('videoId') is required: expected str, got nothing"
    for data in ({}, {"title": "t"}, {"videoId": None}):
        with pytest.raises(ApiMissingFieldError) as info:
            Video._from_wire(data)
        assert str(info.value) == expected
    with pytest.raises(ApiMissingFieldError, match=r"^LiveStream\.restreams \('restreams'\)"):
        LiveStream._from_wire({"liveStreamId": "li1"})


@pytest.mark.parametrize(
    "build, expected",
    [
        (
            lambda: AuthenticatePayload(api_key=12345),
            "AuthenticatePayload.api_key ('apiKey') expects str, got int",
        ),
        (
            lambda: AuthenticatePayload(api_key=None),
            "AuthenticatePayload.api_key ('apiKey') expects str, got NoneType",
        ),
        (
            lambda: VideoCreationPayload(title=1),
            "VideoCreationPayload.title ('title') expects str, got int",
        ),
        (
            lambda: VideoCreationPayload(title="t", mp4Support=1),
            "VideoCreationPayload.mp4_support ('mp4Support') expects bool, got int",
        ),
        (
            lambda: VideoCreationPayload(title="t", tags="a"),
            "VideoCreationPayload.tags ('tags') expects list[str], got str",
        ),
        (
            lambda: VideoCreationPayload(title="t", tags=["a", 1]),
            "VideoCreationPayload.tags ('tags') expects list[str], got int",
        ),
        (
            lambda: VideoCreationPayload(title="t", metadata=[{"key": "k", "value": 1}]),
            "Metadata.value ('value') expects str, got int",
        ),
        (
            lambda: VideoCreationPayload(title="t", clip="00:01"),
            "VideoCreationPayload.clip ('clip') expects VideoClip, got str",
        ),
        (
            lambda: AccessToken(expires_in="3600"),
            "AccessToken.expires_in ('expires_in') expects int, got str",
        ),
        (
            lambda: BadRequest(problems="oops"),
            "BadRequest.problems ('problems') expects list[AdditionalBadRequestErrors], got str",
        ),
        (
            lambda: BadRequest(problems=[{"status": "400"}]),
            "AdditionalBadRequestErrors.status ('status') expects int, got str",
        ),
        (
            lambda: Video(video_id="v", assets=["x"]),
            "Video.assets ('assets') expects VideoAssets, got list",
        ),
        (
            lambda: UploadToken(expires_at=1576484751),
            "UploadToken.expires_at ('expiresAt') expects datetime or None, got int",
        ),
        (
            lambda: Video(video_id="v", language_origin=5),
            "Video.language_origin ('languageOrigin') expects str or None, got int",
        ),
        (
            lambda: VideoStatusEncodingMetadata(bitrate="411.2"),
            "VideoStatusEncodingMetadata.bitrate ('bitrate') expects float or None, got str",
        ),
        (
            lambda: VideoStatusEncodingMetadata(bitrate=True),
            "VideoStatusEncodingMetadata.bitrate ('bitrate') expects float or None, got bool",
        ),
        (
            lambda: Video._from_wire({"videoId": "v", "assets": {"hls": 1}}),
            "VideoAssets.hls ('hls') expects str, got int",
        ),
        (
            lambda: Video._from_wire({"videoId": "v", "metadata": {"key": "k"}}),
            "Video.metadata ('metadata') expects list[Metadata], got dict",
        ),
    ],
    ids=[
        "str-field-int",
        "required-none",
        "required-int",
        "bool-field-int",
        "list-field-str",
        "list-item-int",
        "nested-item",
        "nested-model-str",
        "int-field-str",
        "list-of-models-str",
        "nested-problem",
        "model-field-list",
        "date-time-int",
        "enum-field-int",
        "number-field-str",
        "number-field-bool",
        "server-nested",
        "server-list-dict",
    ],
)
def test_wrong_type_names_model_field_expected_and_received_type(
    build: Callable[[], Model], expected: str
) -> None:
    """The message is enough to fix the call without reading the source."""
    with pytest.raises(ApiTypeError) as info:
        build()
    assert str(info.value) == expected
    assert not isinstance(info.value, ApiValueError)


def test_wrong_type_error_never_shows_the_value() -> None:
    """A secret given in the wrong place or with the wrong type never reaches the message."""
    secret = "s3cr3t-value-that-must-not-leak"
    for build in (
        lambda: AccessToken(access_token=ACCESS, expires_in=secret),
        lambda: AccessToken._from_wire({"access_token": [secret]}),
        lambda: BadRequest(problems=secret),
        lambda: LiveStream._from_wire({"liveStreamId": "l", "restreams": [], "streamKey": 5}),
    ):
        error = error_of(build)
        assert isinstance(error, ApiTypeError)
        assert secret not in str(error)
        assert secret not in repr(error)


# -- enums ----------------------------------------------------------------------------------


def test_an_enum_value_not_in_the_spec_is_refused_on_construction() -> None:
    """Caught before anything is sent: an ApiValueError listing the allowed values."""
    with pytest.raises(ApiValueError) as info:
        WebhooksCreationPayload(events=["nope"], url="https://example.com/hook")
    assert str(info.value) == (
        "WebhooksCreationPayload.events ('events') must be one of "
        + ", ".join(map(repr, WEBHOOK_EVENTS))
        + ", got 'nope'"
    )
    assert info.value.path_to_item == ["WebhooksCreationPayload", "events"]
    assert not isinstance(info.value, ApiTypeError)
    with pytest.raises(ApiValueError) as literal:
        Video(video_id="v", language_origin="robot")
    assert str(literal.value) == (
        "Video.language_origin ('languageOrigin') must be one of 'api', 'auto', got 'robot'"
    )
    with pytest.raises(ApiValueError, match="must be one of 'abstract', 'takeaways', got 'all'"):
        VideoCreationPayload(title="t", transcript_summary_attributes=["abstract", "all"])


def test_enum_values_in_the_spec_are_accepted() -> None:
    payload = WebhooksCreationPayload(events=list(WEBHOOK_EVENTS[:2]), url="https://x.test")
    assert payload.events == WEBHOOK_EVENTS[:2]
    assert Video(video_id="v", language_origin="auto").language_origin == "auto"
    nullable = Video(video_id="v", language_origin=None)
    assert nullable.to_json() == '{"videoId":"v","languageOrigin":null}'
    assert VideoCreationPayload(title="t", language="fr").language == "fr"


def test_an_unknown_enum_value_from_the_server_is_kept() -> None:
    """The server may add values before this package knows them: forward compatible."""
    video = Video._from_wire({"videoId": "v", "languageOrigin": "robot"})
    assert video.language_origin == "robot"
    assert json.loads(video.to_json())["languageOrigin"] == "robot"
    hook = Webhook._from_wire({"webhookId": "wh1", "events": ["video.new-thing", *WEBHOOK_EVENTS]})
    assert hook.events == ("video.new-thing", *WEBHOOK_EVENTS)
    assert Webhook._from_wire(json.loads(hook.to_json())) == hook
    assert pickle.loads(pickle.dumps(hook)) == hook
    with pytest.raises(ApiValueError, match=r"got 'video\.new-thing'$"):
        Webhook(hook.to_dict())  # a user building one is held to the spec


def test_the_spec_language_no_is_accepted() -> None:
    """Norwegian ('no') is one of the spec's languages for VideoCreationPayload.language
    (YAML 1.1 would read the spec's unquoted ``no`` as False; the generator does not)."""
    languages = VideoCreationPayload._lookup["language"].enum or ()
    assert "no" in languages and False not in languages
    assert VideoCreationPayload(title="t", language="no").language == "no"


class Lang(str, enum.Enum):
    FR = "fr"
    XX = "xx"


class Tag(str, enum.Enum):
    PROMO = "promo"


class Origin(str, enum.Enum):
    AUTO = "auto"


class Shout(str):
    def __str__(self) -> str:
        return self.upper()


def test_a_str_enum_member_is_stored_as_its_plain_string_value() -> None:
    """A str Enum's member (whose str() is "Lang.FR", not "fr") or any str subclass, for a str
    or an enum field, is stored and sent as an exact str of its value."""
    payload = VideoCreationPayload(title="Demo", language=Lang.FR, tags=[Tag.PROMO])
    assert payload.to_json() == '{"title":"Demo","language":"fr","tags":["promo"]}'
    assert type(payload.language) is str
    assert payload.tags is not None
    assert type(payload.tags[0]) is str
    assert payload == VideoCreationPayload(title="Demo", language="fr", tags=["promo"])
    titled = VideoCreationPayload(title=Tag.PROMO, description=Shout("quiet"))
    assert titled.to_json() == '{"title":"promo","description":"quiet"}'
    assert type(titled.title) is str
    assert type(titled.description) is str
    origin = Video(video_id="v", language_origin=Origin.AUTO).language_origin
    assert type(origin) is str
    assert origin == "auto"
    with pytest.raises(ApiValueError, match=r"must be one of 'ar', .*, got <Lang\.XX: 'xx'>$"):
        VideoCreationPayload(title="t", language=Lang.XX)


# -- plain values ---------------------------------------------------------------------------


def test_expires_in_is_a_plain_int() -> None:
    """Users do arithmetic on it; an integral float from the server becomes an int."""
    assert type(token().expires_in) is int
    from_float = token(expires_in=3600.0)
    assert type(from_float.expires_in) is int
    assert from_float.expires_in == 3600
    assert type(from_float["expires_in"]) is int
    assert from_float.to_json().count('"expires_in":3600,') == 1
    assert type(AccessToken(expires_in=60.0).expires_in) is int


def test_an_integer_sent_as_digits_by_the_server_becomes_an_int() -> None:
    """The spec's own examples quote some integers; a user must still pass an int."""
    assert token(expires_in="3600").expires_in == 3600
    assert type(token(expires_in="3600").expires_in) is int
    with pytest.raises(ApiTypeError):
        AccessToken(expires_in="3600")


@pytest.mark.parametrize(
    "value",
    [True, False, 3600.5, float("nan"), float("inf"), [3600], "-1", " 1", "1e3", "²", "9" * 5000],
    ids=lambda v: repr(v)[:12],
)
def test_non_integral_values_are_rejected_for_int_fields(value: Any) -> None:
    """bool is not an int here, and neither is a fractional, NaN or infinite float, nor a string
    that is not plain ASCII digits int() takes (superscripts, over 4300 digits)."""
    expected = f"AccessToken.expires_in ('expires_in') expects int, got {type(value).__name__}"
    with pytest.raises(ApiTypeError) as server:
        token(expires_in=value)
    assert str(server.value) == expected
    with pytest.raises(ApiTypeError) as user:
        AccessToken(expires_in=value)
    assert str(user.value) == expected
    with pytest.raises(ApiTypeError, match=r"^BadRequest\.status"):
        BadRequest._from_wire({"status": value})


def test_an_int_is_accepted_for_a_number_field() -> None:
    """JSON does not tell 5 from 5.0: an int is a valid ``number``, and is kept as sent."""
    built = VideoStatusEncodingMetadata(bitrate=5)
    assert built.bitrate == 5
    assert built.to_json() == '{"bitrate":5}'
    assert VideoStatusEncodingMetadata(bitrate=411.218).to_json() == '{"bitrate":411.218}'
    parsed = VideoStatusEncodingMetadata._from_wire({"bitrate": 400, "width": 424})
    assert parsed.bitrate == 400
    assert parsed == VideoStatusEncodingMetadata(bitrate=400.0, width=424)


class TTL(enum.IntEnum):
    HOUR = 3600


class F(float):
    """A float subclass, as numpy's float64 is."""


def test_int_and_float_subclasses_are_stored_as_exact_ints_and_floats() -> None:
    """An IntEnum's member or a float subclass is a number: stored as an exact int or float,
    by today's rules (an integral float for an int field, an int kept for a number field)."""
    ttl = TokenCreationPayload(ttl=TTL.HOUR)
    assert type(ttl.ttl) is int
    assert ttl.ttl == 3600
    assert ttl.to_json() == '{"ttl":3600}'
    parts = VideoStatusIngestReceivedParts(parts=[TTL.HOUR, F(2.0)], total=F(3.0))
    assert parts.parts == (3600, 2)
    assert [type(part) for part in parts.parts or ()] == [int, int]
    assert type(parts.total) is int
    assert parts.to_json() == '{"parts":[3600,2],"total":3}'
    metadata = VideoStatusEncodingMetadata(bitrate=F(411.5), width=TTL.HOUR)
    assert type(metadata.bitrate) is float
    assert metadata.bitrate == 411.5
    assert type(metadata.width) is int
    assert metadata.to_json() == '{"bitrate":411.5,"width":3600}'
    by_int = VideoStatusEncodingMetadata(bitrate=TTL.HOUR)
    assert type(by_int.bitrate) is int
    assert by_int.to_json() == '{"bitrate":3600}'
    with pytest.raises(ApiTypeError) as info:  # not integral: refused, as a float is
        TokenCreationPayload(ttl=F(1.5))
    assert str(info.value) == "TokenCreationPayload.ttl ('ttl') expects int, got F"


def test_a_default_from_the_spec_is_read_but_never_sent() -> None:
    """The contract's default ('bearer') reads as the attribute when the server leaves the
    field out or sends null; a payload leaves defaults out (the server applies the same one),
    so the mapping, iteration and JSON hold only what was given."""
    assert AccessToken().token_type == "bearer"
    assert AccessToken._from_wire({"access_token": ACCESS}).token_type == "bearer"
    assert AccessToken._from_wire({"token_type": None}).token_type == "bearer"
    assert token().token_type == "Bearer"
    assert AccessToken().to_json() == "{}"
    assert "token_type" not in AccessToken()
    with pytest.raises(ApiKeyError, match=r"^AccessToken has no value for 'token_type'$"):
        AccessToken()["token_type"]
    payload = VideoCreationPayload(title="t")
    assert (payload.public, payload.panoramic, payload.mp4_support) == (True, False, True)
    assert (payload.mp4Support, payload.get("mp4Support")) == (True, None)  # wire name too
    assert payload.to_json() == '{"title":"t"}'
    assert VideoCreationPayload(title="t", public=False).to_json() == '{"title":"t","public":false}'


def test_unset_optional_fields_read_as_none_but_are_not_keys() -> None:
    """An absent optional field is None as an attribute, absent as a key, and not sent."""
    problem = BadRequest(title="Bad")
    assert problem.status is None
    assert problem.problems is None
    assert "status" not in problem
    assert len(problem) == 1
    assert problem.to_json() == '{"title":"Bad"}'


def test_none_is_sent_as_null_for_a_nullable_field_and_omitted_otherwise() -> None:
    """``expires_at=None`` means "never expires" and goes on the wire as null; ``title=None``
    for a field that cannot be null means "not given"."""
    never = UploadToken(expires_at=None, ttl=0)
    assert never.expires_at is None
    assert "expiresAt" in never
    assert never.to_json() == '{"expiresAt":null,"ttl":0}'
    assert UploadToken(created_at=None).to_json() == "{}"
    assert "createdAt" not in UploadToken(created_at=None)
    assert Video(video_id="v", title=None) == Video(video_id="v")
    assert Video(video_id="v", title=None).to_json() == '{"videoId":"v"}'
    assert BadRequest(title="Bad", status=None) == BadRequest(title="Bad")
    payload = VideoCreationPayload(title="t", language=None)
    assert json.loads(payload.to_json())["language"] is None


def test_null_from_the_server_is_kept_for_a_nullable_field_and_dropped_otherwise() -> None:
    """JSON null for a field that cannot be null reads as absent (and is not sent back)."""
    video = Video._from_wire({"videoId": "v", "discardedAt": None, "title": None})
    assert video.discarded_at is None
    assert "discardedAt" in video
    assert video.title is None
    assert "title" not in video
    assert video.to_json() == '{"videoId":"v","discardedAt":null}'
    assert video == {"videoId": "v", "discardedAt": None}
    problem = BadRequest._from_wire({"title": "Bad", "name": None})
    assert "name" not in problem
    assert problem.name is None
    assert problem == {"title": "Bad"}


# -- date-time ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2019-12-16T08:25:51+00:00", datetime(2019, 12, 16, 8, 25, 51, tzinfo=timezone.utc)),
        ("2019-12-16T08:25:51Z", datetime(2019, 12, 16, 8, 25, 51, tzinfo=timezone.utc)),
        ("2019-12-16T08:25:51.250Z", datetime(2019, 12, 16, 8, 25, 51, 250000, timezone.utc)),
        (
            "2019-12-16T10:25:51+02:00",
            datetime(2019, 12, 16, 10, 25, 51, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("2019-12-16T08:25:51", datetime(2019, 12, 16, 8, 25, 51, tzinfo=timezone.utc)),
    ],
    ids=["offset", "Z", "fraction", "other-offset", "no-offset-is-utc"],
)
def test_date_times_from_the_server_are_timezone_aware_datetimes(
    text: str, expected: datetime
) -> None:
    video = Video._from_wire({"videoId": "v", "createdAt": text, "deletesAt": text})
    for value in (video.created_at, video["createdAt"], video.deletes_at):
        assert isinstance(value, datetime)
        assert value == expected
        assert value.tzinfo is not None
        assert value.utcoffset() == expected.utcoffset()
    written = json.loads(video.to_json())
    assert written["createdAt"] == expected.isoformat()
    assert datetime.fromisoformat(written["createdAt"]) == expected
    assert Video._from_wire(written) == video


def test_a_timezone_aware_datetime_from_the_user_is_written_as_iso_8601() -> None:
    when = datetime(2024, 3, 3, 12, 52, 3, tzinfo=timezone.utc)
    built = UploadToken(created_at=when, expires_at=when + timedelta(hours=1))
    assert built.created_at is when
    assert built.to_json() == (
        '{"createdAt":"2024-03-03T12:52:03+00:00","expiresAt":"2024-03-03T13:52:03+00:00"}'
    )
    assert UploadToken(createdAt="2024-03-03T12:52:03Z").created_at == when
    assert UploadToken._from_wire(json.loads(built.to_json())) == built


def test_a_naive_datetime_from_the_user_is_refused() -> None:
    """Which moment a naive datetime means is unknown, so it is never sent."""
    for build in (
        lambda: UploadToken(created_at=datetime(2024, 3, 3, 12, 52, 3)),
        lambda: UploadToken(expiresAt=datetime(2024, 3, 3)),
        lambda: Video(video_id="v", discarded_at=datetime.now()),
    ):
        with pytest.raises(ApiValueError) as info:
            build()
        message = str(info.value)
        assert message.endswith(
            " needs a timezone-aware datetime (e.g. datetime.now(timezone.utc)), got a naive one"
        )
        assert isinstance(info.value, ValueError)
        assert not isinstance(info.value, ApiTypeError)
    with pytest.raises(ApiValueError) as info:
        UploadToken(created_at=datetime(2024, 3, 3))
    assert str(info.value) == (
        "UploadToken.created_at ('createdAt') needs a timezone-aware datetime "
        "(e.g. datetime.now(timezone.utc)), got a naive one"
    )
    assert info.value.path_to_item == ["UploadToken", "createdAt"]


@pytest.mark.parametrize(
    "text", ["yesterday", "", "2019-13-45T08:25:51Z", "16/12/2019 08:25", "2019-12-16T25:00:00Z"]
)
def test_a_malformed_date_time_from_the_server_is_an_api_value_error(text: str) -> None:
    with pytest.raises(ApiValueError) as info:
        Video._from_wire({"videoId": "v", "updatedAt": text})
    assert str(info.value) == (
        f"Video.updated_at ('updatedAt') expects an ISO 8601 date-time, got {text!r}"
    )
    assert info.value.path_to_item == ["Video", "updatedAt"]
    with pytest.raises(ApiValueError):
        UploadToken(created_at=text)


# -- nested models --------------------------------------------------------------------------


def test_a_video_from_the_server_nests_models_and_tuples_of_models() -> None:
    video = Video._from_wire(wire(VIDEO_RESPONSE))
    assert isinstance(video.assets, VideoAssets)
    assert video.assets.hls == VIDEO_RESPONSE["assets"]["hls"]
    assert video["assets"]["hls"] == video.assets["hls"]
    assert isinstance(video.source, VideoSource)
    assert video.source.uri == "/videos/vi4blUQJFrYWbaG44NChkH27/source"
    assert video.metadata == (
        Metadata(key="Author", value="John Doe"),
        Metadata(key="Format", value="Tutorial"),
    )
    assert isinstance(video.metadata, tuple)
    assert all(type(item) is Metadata for item in video.metadata)
    assert video.tags == ("maths", "string theory", "video")
    assert video.public is False
    assert video.published_at == datetime(2019, 12, 16, 8, 25, 51, tzinfo=timezone.utc)
    assert video == VIDEO_RESPONSE
    assert video.to_dict() == VIDEO_RESPONSE


def test_a_video_status_nests_three_levels() -> None:
    """VideoStatus.ingest.received_parts.parts, and lists of models inside nested models."""
    data = wire(VIDEO_STATUS_EXAMPLE)
    data["ingest"]["receivedParts"] = {"parts": [1, 2, 3], "total": 3}
    status = VideoStatus._from_wire(data)
    assert isinstance(status.ingest, VideoStatusIngest)
    parts = status.ingest.received_parts
    assert isinstance(parts, VideoStatusIngestReceivedParts)
    assert parts.parts == (1, 2, 3)
    assert parts.total == 3
    assert status["ingest"]["receivedParts"]["parts"] == (1, 2, 3)
    assert status.ingest.received_bytes is not None
    assert [r.to for r in status.ingest.received_bytes] == [134217727, 268435455, 273579400]
    assert status.ingest.received_bytes[1]["from"] == status.ingest.received_bytes[1]._from
    assert status.encoding is not None
    assert status.encoding.metadata is not None
    assert status.encoding.metadata.bitrate == 411.218
    assert status.encoding.metadata.aspect_ratio == "16/9"
    assert [q.status for q in status.encoding.qualities or ()][-1] == "waiting"
    assert status.to_dict() == data


def test_a_user_builds_nested_models_from_dicts_in_either_spelling() -> None:
    payload = VideoCreationPayload(
        title="t",
        metadata=[{"key": "k", "value": "v"}, Metadata(key="k2", value="v2")],
        clip={"start_timecode": "00:00:01", "endTimecode": "00:00:09"},
    )
    assert payload.metadata is not None
    assert [type(m) for m in payload.metadata] == [Metadata, Metadata]
    assert payload.clip == VideoClip(start_timecode="00:00:01", end_timecode="00:00:09")
    assert json.loads(payload.to_json())["clip"] == {
        "startTimecode": "00:00:01",
        "endTimecode": "00:00:09",
    }
    problem = BadRequest(problems=[{"name": "apiKey", "title": "blank"}])
    assert problem.problems == (AdditionalBadRequestErrors(name="apiKey", title="blank"),)


def test_a_nested_model_instance_is_taken_as_is() -> None:
    assets = VideoAssets(hls="https://cdn.test/hls.m3u8")
    video = Video(video_id="v", assets=assets)
    assert video.assets is assets
    with pytest.raises(ApiTypeError) as info:  # another model is read as a mapping of fields
        Video(video_id="v", assets=VideoSource(uri="/x"))
    assert str(info.value) == (
        "VideoAssets got an unexpected keyword 'uri' Fields: hls, iframe, player, thumbnail, mp4"
    )


def test_a_subclass_of_a_model_keeps_its_fields() -> None:
    """A user's subclass, say to add a method, builds, parses and validates as its model."""

    class MyVideo(Video):
        def label(self) -> str:
            return (self.title or "").upper()

    built = MyVideo(video_id="v1", title="maths")
    assert built.label() == "MATHS"
    assert built.to_json() == '{"videoId":"v1","title":"maths"}'
    assert repr(built) == "MyVideo(video_id='v1', title='maths')"
    parsed = MyVideo._from_wire(wire(VIDEO_RESPONSE))
    assert type(parsed) is MyVideo and type(parsed.assets) is VideoAssets
    assert parsed == Video._from_wire(wire(VIDEO_RESPONSE)).to_dict()
    with pytest.raises(ApiTypeError, match=r"^VideoAssets\.hls \('hls'\) expects str, got int$"):
        MyVideo._from_wire({"videoId": "v", "assets": {"hls": 1}})
    with pytest.raises(ApiMissingFieldError, match=r"video_id \('videoId'\) is required"):
        MyVideo(title="t")


# -- immutability and access ----------------------------------------------------------------


def test_models_are_immutable() -> None:
    """setattr, delattr and item assignment all fail, nested models too; nothing changes."""
    video = Video._from_wire(wire(VIDEO_RESPONSE))
    with pytest.raises(ApiAttributeError, match=r"^Video is immutable") as info:
        video.title = "other"  # type: ignore[misc]
    assert isinstance(info.value, AttributeError)
    with pytest.raises(ApiAttributeError, match="immutable"):
        video.anything = 1
    with pytest.raises(ApiAttributeError, match="immutable"):
        del video.title  # type: ignore[misc]
    with pytest.raises(ApiAttributeError, match="immutable"):
        setattr(video, "_values", {})  # noqa: B010
    with pytest.raises(ApiAttributeError, match=r"^VideoAssets is immutable"):
        video.assets.hls = "x"  # type: ignore[misc, union-attr]
    with pytest.raises(TypeError):
        video["title"] = "other"  # type: ignore[index]
    with pytest.raises(TypeError):
        video.metadata[0] = Metadata(key="x")  # type: ignore[index]
    assert video.title == "Maths video"
    with pytest.raises(TypeError, match="unhashable"):
        hash(video)
    # Nor is there an instance dict to write into, or to allocate for each parsed object.
    assert not hasattr(video, "__dict__") and not hasattr(video.assets, "__dict__")


def test_a_half_built_model_fails_plainly_when_shown() -> None:
    """A traceback or debugger may show a model whose construction raised: that is an
    AttributeError, not a RecursionError."""
    half = VideoAssets.__new__(VideoAssets)
    with pytest.raises(AttributeError, match=r"^_values$"):
        repr(half)
    assert not hasattr(half, "hls")
    assert getattr(half, "hls", "none") == "none"


def test_to_dict_is_a_copy() -> None:
    """Changing what to_dict() returned does not change the model."""
    video = Video._from_wire(wire(VIDEO_RESPONSE))
    data = video.to_dict()
    data["title"] = "changed"
    data["metadata"][0]["key"] = "changed"
    data["assets"]["hls"] = "changed"
    assert video.title == "Maths video"
    assert video.metadata is not None
    assert video.metadata[0].key == "Author"
    assert video.assets is not None
    assert video.assets.hls != "changed"


def test_mapping_access_by_wire_name_and_attribute_access_by_python_name() -> None:
    """video["videoId"], video.video_id (and video.videoId) all read the one value."""
    video = Video._from_wire(wire(VIDEO_RESPONSE))
    assert video["videoId"] == video.video_id == video.videoId == "vi4blUQJFrYWbaG44NChkH27"
    assert video["video_id"] == video.video_id
    assert video["mp4Support"] is video.mp4_support is True
    payload = AuthenticatePayload(api_key=API_KEY)
    assert payload["apiKey"] == payload.api_key == payload.apiKey == API_KEY
    body = token()
    assert body["access_token"] == body.access_token == ACCESS


def test_contains_len_and_iteration_use_wire_names() -> None:
    """`in` accepts either name; len and iteration cover the stored wire names."""
    payload = VideoCreationPayload(title="t", mp4_support=False)
    assert "mp4Support" in payload
    assert "mp4_support" in payload
    assert "nope" not in payload
    assert 1 not in payload
    assert list(payload) == ["title", "mp4Support"]
    assert len(payload) == 2
    assert dict(payload) == {"title": "t", "mp4Support": False}
    assert list(payload.keys()) == list(payload)
    assert ("title", "t") in payload.items()
    assert list(AuthenticatePayload(api_key=API_KEY).items()) == [("apiKey", API_KEY)]


def test_missing_key_raises_api_key_error_with_a_clear_message() -> None:
    """A KeyError subclass whose str() is a sentence, not a quoted repr; .get() still works."""
    video = Video(video_id="v")
    with pytest.raises(ApiKeyError) as info:
        video["title"]
    assert isinstance(info.value, KeyError)
    assert str(info.value) == "Video has no value for 'title'"
    assert video.get("title") is None
    assert video.get("title", "untitled") == "untitled"
    with pytest.raises(KeyError, match="AuthenticatePayload has no value for 'nope'"):
        AuthenticatePayload(api_key=API_KEY)["nope"]


def test_unknown_attribute_raises_api_attribute_error_with_a_suggestion() -> None:
    """An AttributeError subclass that names the closest field, so typos are quick to fix."""
    video = Video(video_id="v", title="t")
    with pytest.raises(ApiAttributeError) as info:
        video.titel  # noqa: B018
    assert isinstance(info.value, AttributeError)
    assert str(info.value).startswith(
        "Video has no attribute 'titel'; did you mean 'title'? Fields: video_id, created_at, "
    )
    body = token()
    with pytest.raises(ApiAttributeError) as secret:
        body.acess_token  # noqa: B018
    assert "did you mean 'access_token'?" in str(secret.value)
    assert ACCESS not in str(secret.value)
    assert not hasattr(video, "nothing_like_a_field")
    assert getattr(video, "nothing_like_a_field", "fallback") == "fallback"


def test_server_data_keeps_unknown_fields() -> None:
    """A field the contract does not know is kept, readable and serialized, never rejected."""
    video = Video._from_wire(wire(VIDEO_EXAMPLE))
    assert video["actions"] == ["video_delete", "video_download", "video_update"]
    assert video.actions == video["actions"]
    assert "actions" in video
    assert json.loads(video.to_json())["actions"] == VIDEO_EXAMPLE["actions"]
    body = AccessToken._from_wire(
        {"access_token": ACCESS, "expires_in": 3600, "scope": "video", "x-trace": [1, 2]}
    )
    assert body["scope"] == body.scope == "video"
    assert body["x-trace"] == [1, 2]
    assert set(body) == {"access_token", "expires_in", "scope", "x-trace"}
    assert "scope='video'" in repr(body)
    assert "**{'x-trace': [1, 2]}" in repr(body)
    with pytest.raises(ApiTypeError, match=r"^Video got an unexpected keyword 'actions'"):
        Video(video.to_dict())  # unknown names only pass from the server


@pytest.mark.parametrize(
    "data",
    [[], "text", 1, None, True, [{"videoId": "v"}]],
    ids=repr,
)
def test_server_data_that_is_not_an_object_is_an_api_type_error(data: Any) -> None:
    """The body must be a JSON object; anything else is an ApiTypeError naming the model."""
    with pytest.raises(ApiTypeError) as info:
        Video._from_wire(data)
    assert str(info.value) == f"Video expects a JSON object, got {type(data).__name__}"


def test_problems_nested_as_deep_as_json_allows_raise_only_api_errors() -> None:
    """A hostile, deeply nested body that json.loads accepts parses or raises ApiTypeError /
    ApiValueError, never a RecursionError that escapes as a bare exception."""
    depth = 400
    text = '{"problems":[' * depth + '{"title":"bottom"}' + "]}" * depth
    try:
        BadRequest._from_wire(json.loads(text))
    except (ApiTypeError, ApiValueError) as error:
        assert "BadRequest" in str(error) or "AdditionalBadRequestErrors" in str(error)


class Node(Model):
    """A model that nests itself, as a recursive schema would generate one."""

    __slots__ = ()
    name = field("name", str)
    child = field("child", "Node")
    children = field("children", "Node", many=True)


def test_a_model_nesting_itself_parses_at_every_depth() -> None:
    parsed = Node._from_wire({"name": "a", "child": {"name": "b", "child": {"name": "c"}}})
    assert type(parsed.child) is Node and type(parsed.child.child) is Node
    assert parsed.child.child.name == "c"
    listed = Node._from_wire({"children": [{"children": [{"name": "leaf"}]}]})
    assert listed.children[0].children[0].name == "leaf"
    # As deep as any nested model: a frame a level, two through a list (its load_many).
    for key, wrap, frames in [("child", lambda n: n, 1), ("children", lambda n: [n], 2)]:
        data: Dict[str, Any] = {"name": "bottom"}
        for _ in range(sys.getrecursionlimit() * 3 // 4 // frames):
            data = {key: wrap(data)}
        Node._from_wire(data)
    with pytest.raises(ApiTypeError) as info:
        Node._from_wire({"child": {"child": "leaf"}})
    assert str(info.value) == "Node.child ('child') expects Node, got str"


def test_a_parse_while_its_own_thread_compiles_that_parser_is_a_clear_error() -> None:
    """As from a signal handler that parses a model while the thread it interrupted compiles
    the model's parser: an error saying so, not an endless loop into RecursionError."""

    class Fresh(Model):
        __slots__ = ()
        name = field("name", str)

    with schemas._compile_lock:
        schemas._compiling.add(Fresh)
        try:
            with pytest.raises(ApiValueError) as info:
                Fresh._from_wire({"name": "n"})
        finally:
            schemas._compiling.discard(Fresh)
    assert str(info.value) == "Fresh was parsed while its parser compiled"
    assert Fresh._from_wire({"name": "n"}).name == "n"


class Empty(Model):
    """A model without declared fields, as an object schema with none would generate."""

    __slots__ = ()


def test_a_model_without_fields_keeps_what_the_server_sends() -> None:
    assert Empty._from_wire({"any": [1]}).to_dict() == {"any": [1]}
    with pytest.raises(ApiTypeError, match=r"^Empty expects a JSON object, got list$"):
        Empty._from_wire([])


def test_nesting_deeper_than_python_recurses_is_an_api_value_error() -> None:
    """Too deep for the parser's recursion: the model is named, no RecursionError escapes."""
    data: Dict[str, Any] = {"name": "bottom"}
    for _ in range(sys.getrecursionlimit()):
        data = {"child": data}
    with pytest.raises(ApiValueError) as info:
        Node._from_wire(data)
    assert str(info.value) == "Node is nested too deeply"
    assert info.value.__cause__ is None and info.value.__suppress_context__


# -- JSON, equality, copying ----------------------------------------------------------------


def test_to_json_is_compact_and_uses_wire_names() -> None:
    """What goes on the wire: wire names, no spaces, non-ASCII kept as is."""
    assert AuthenticatePayload(api_key="clé").to_json() == '{"apiKey":"clé"}'
    assert RefreshTokenPayload(refresh_token="r").to_json() == '{"refreshToken":"r"}'
    assert (
        BadRequest(title="t", problems=[AdditionalBadRequestErrors(name="n")]).to_json()
        == '{"title":"t","problems":[{"name":"n"}]}'
    )
    assert (
        VideoCreationPayload(title="t", tags=["a"], public=False).to_json()
        == '{"title":"t","tags":["a"],"public":false}'
    )


ROUND_TRIPS: List[Callable[[], Model]] = [
    lambda: AuthenticatePayload(api_key=API_KEY),
    lambda: RefreshTokenPayload(refresh_token=REFRESH),
    lambda: token(scope="video"),
    lambda: BadRequest(title="t", status=400, problems=[{"name": "n", "title": "x"}]),
    lambda: Video._from_wire(wire(VIDEO_RESPONSE)),
    lambda: Video._from_wire(wire(VIDEO_EXAMPLE)),
    lambda: VideoStatus._from_wire(wire(VIDEO_STATUS_EXAMPLE)),
    lambda: UploadToken(
        token=UPLOAD_TOKEN, created_at=datetime(2024, 1, 1, tzinfo=timezone.utc), expires_at=None
    ),
    lambda: VideoCreationPayload(title="t", metadata=[{"key": "k", "value": "v"}], language=None),
]


@pytest.mark.parametrize("build", ROUND_TRIPS, ids=lambda b: type(b()).__name__)
def test_round_trips_through_dict_json_pickle_and_copy(build: Callable[[], Model]) -> None:
    """to_dict, to_json, pickle, copy and deepcopy all give back an equal model."""
    model = build()
    cls = type(model)
    if all(key in cls._lookup for key in model):  # users may build only declared fields
        assert cls(model.to_dict()) == model
        assert cls(**model.to_dict()) == model
    assert cls._from_wire(model.to_dict()) == model
    assert cls._from_wire(json.loads(model.to_json())) == model
    assert json.loads(model.to_json()) == model.to_dict()
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        restored = pickle.loads(pickle.dumps(model, protocol=protocol))
        assert type(restored) is cls
        assert restored == model
        assert repr(restored) == repr(model)
    assert copy.copy(model) == model
    assert copy.deepcopy(model) == model
    assert type(copy.deepcopy(model)) is cls


def test_pickle_and_copies_keep_a_datetime_s_time_zone() -> None:
    """A copy holds the model's own values: a zone's tzinfo stays that zone, so arithmetic
    across a daylight saving change gives what the original gives."""
    paris = pytest.importorskip("zoneinfo").ZoneInfo("Europe/Paris")
    when = datetime(2024, 3, 30, 12, tzinfo=paris)  # the day before summer time
    upload = UploadToken(token=UPLOAD_TOKEN, created_at=when, expires_at=when)
    assert (when + timedelta(days=1)).utcoffset() == timedelta(hours=2)
    for copied in (
        pickle.loads(pickle.dumps(upload)),
        copy.copy(upload),
        copy.deepcopy(upload),
    ):
        assert type(copied) is UploadToken
        assert copied == upload
        assert copied.created_at is not None
        assert copied.created_at.tzinfo is paris
        assert (copied.created_at + timedelta(days=1)).utcoffset() == timedelta(hours=2)


def test_equality_with_dicts_and_between_models() -> None:
    """A model equals the dict of its wire names, and models compare by type and values."""
    video = Video._from_wire(wire(VIDEO_EXAMPLE))
    assert video == VIDEO_EXAMPLE
    assert VIDEO_EXAMPLE == video  # noqa: SIM300 (dict on the left: reflected ==)
    assert video != {**VIDEO_EXAMPLE, "title": "other"}
    assert video != {**VIDEO_EXAMPLE, "extra": 1}
    payload = AuthenticatePayload(api_key=API_KEY)
    assert payload == {"apiKey": API_KEY}
    assert payload == AuthenticatePayload(apiKey=API_KEY)
    assert payload != AuthenticatePayload(api_key="other")
    assert payload != RefreshTokenPayload(refresh_token=API_KEY)
    assert payload != API_KEY
    problem = BadRequest(problems=[{"title": "x"}])
    assert problem == {"problems": [{"title": "x"}]}
    assert problem == BadRequest._from_wire({"problems": [{"title": "x"}]})
    when = datetime(2024, 3, 3, 12, 52, 3, tzinfo=timezone.utc)
    assert UploadToken(created_at=when) == {"createdAt": "2024-03-03T12:52:03+00:00"}
    from_server = UploadToken._from_wire({"createdAt": "2024-03-03T12:52:03Z"})
    assert UploadToken(created_at=when) == from_server


def test_a_model_equals_its_own_mapping_view() -> None:
    """dict(model) holds tuples, nested models and datetimes, to_dict() lists, dicts and
    strings: a model equals both, from either side."""
    when = datetime(2024, 3, 3, 12, 52, 3, tzinfo=timezone.utc)
    video = Video(video_id="vi1", tags=["a"], created_at=when, assets={"hls": "h"})
    assert video == dict(video)
    assert dict(video) == video
    assert video == video.to_dict()
    assert video != {**dict(video), "tags": ("b",)}
    assert video != {**dict(video), "extra": 1}
    parsed = Video._from_wire(wire(VIDEO_RESPONSE))
    assert parsed == dict(parsed)
    assert parsed == parsed.to_dict()
    assert UploadToken(created_at=when) == {"createdAt": when}


# -- lazy imports ---------------------------------------------------------------------------


def test_nested_model_modules_are_imported_on_first_use() -> None:
    """Importing a model does not import the models it nests: its first parse does, all it
    nests at any depth, as it compiles their parsers with its own, once."""
    code = (
        "import json, sys\n"
        "import video_api.model.video as m\n"
        "loaded = lambda: sorted(n for n in sys.modules if n.startswith('video_api.model.'))\n"
        "states = [loaded()]\n"
        "m.Video._from_wire({'videoId': 'v', 'title': 't'})\n"
        "states.append(loaded())\n"
        "video = m.Video._from_wire({'videoId': 'v', 'assets': {'hls': 'h'}})\n"
        "states.append(loaded())\n"
        "states.append(type(video.assets).__module__)\n"
        "print(json.dumps(states))\n"
    )
    package_root = Path(video_api.__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=str(package_root),
        timeout=60,
    )
    imported, parsed, with_assets, module = json.loads(result.stdout)
    nested = ["metadata", "video_assets", "video_source", "video_source_live_stream"]
    nested += ["video_source_live_stream_link"]
    assert imported == ["video_api.model.video"]
    assert parsed == sorted(f"video_api.model.{name}" for name in [*nested, "video"])
    assert with_assets == parsed
    assert module == "video_api.model.video_assets"


# -- repr, pprint and secrets ---------------------------------------------------------------


def test_repr_names_the_model_and_its_fields() -> None:
    """Non-secret fields are shown in full; the repr reads like the constructor call."""
    problem = BadRequest(name="apiKey", status=400, title="Bad.", type="https://x")
    assert repr(problem) == "BadRequest(name='apiKey', status=400, title='Bad.', type='https://x')"
    assert repr(BadRequest(problems=[{"title": "x"}])) == (
        "BadRequest(problems=(AdditionalBadRequestErrors(title='x'),))"
    )
    when = datetime(2024, 3, 3, tzinfo=timezone.utc)
    assert repr(Video(video_id="v", created_at=when)) == (
        "Video(video_id='v', "
        "created_at=datetime.datetime(2024, 3, 3, 0, 0, tzinfo=datetime.timezone.utc))"
    )


def secret_models() -> List[Any]:
    return [
        pytest.param(AuthenticatePayload(api_key=API_KEY), [API_KEY], id="AuthenticatePayload"),
        pytest.param(RefreshTokenPayload(refresh_token=REFRESH), [REFRESH], id="RefreshToken"),
        pytest.param(token(), [ACCESS, REFRESH], id="AccessToken"),
        pytest.param(
            LiveStream._from_wire(
                {
                    "liveStreamId": "li400mYKSgQ6xs7taUeSaEKr",
                    "name": "My Live Stream Video",
                    "streamKey": STREAM_KEY,
                    "restreams": [],
                    "public": True,
                    "broadcasting": False,
                    "createdAt": "2020-01-31T10:17:47+00:00",
                }
            ),
            [STREAM_KEY],
            id="LiveStream",
        ),
        pytest.param(
            UploadToken._from_wire({"token": UPLOAD_TOKEN, "ttl": 3600}),
            [UPLOAD_TOKEN],
            id="UploadToken",
        ),
        pytest.param(
            Webhook._from_wire(
                {"webhookId": "wh1", "url": "https://x.test", "signatureSecret": SIGNATURE}
            ),
            [SIGNATURE],
            id="Webhook",
        ),
    ]


@pytest.mark.parametrize("model, secrets", secret_models())
def test_secrets_are_shortened_in_repr_str_and_pprint(model: Model, secrets: List[str]) -> None:
    """API keys, tokens, stream keys and webhook secrets are shown by a prefix and a length."""
    outputs = [
        repr(model),
        str(model),
        pprint.pformat(model),
        pprint.pformat(model, width=20),
        pprint.pformat({"body": model, "items": [model]}),
        repr([model]),
        f"{model}",
        f"{model!r}",
    ]
    for output in outputs:
        for secret in secrets:
            assert secret not in output
            assert repr(f"{secret[:4]}…({len(secret)} chars)") in output
    assert repr(model).startswith(type(model).__name__ + "(")
    for secret in secrets:  # the value itself is whole, for use
        assert secret in model.to_json()
        assert secret in model.values()


def test_short_secrets_are_fully_masked() -> None:
    """A secret too short to shorten is masked entirely."""
    assert repr(AuthenticatePayload(api_key="short")) == "AuthenticatePayload(api_key='***')"
    assert repr(UploadToken(token="to1")) == "UploadToken(token='***')"


def test_pprint_of_a_short_model_is_its_repr() -> None:
    payload, body = AuthenticatePayload(api_key="k"), token()
    assert pprint.pformat(payload) == repr(payload)
    assert "_values" not in pprint.pformat(body)
    assert "\n" not in repr(body)


#: A line that is one string literal with no space to break at (pprint breaks after spaces).
UNBREAKABLE = re.compile(r" *(\w+=)?(\w+\()?'[^' ]* ?'[,)]*")


@pytest.mark.parametrize(
    "example", [VIDEO_EXAMPLE, VIDEO_RESPONSE], ids=["schema-example", "response-example"]
)
def test_pprint_of_a_video_shows_one_field_per_line_within_80_columns(
    example: Dict[str, Any],
) -> None:
    """The spec's example Video: ``pprint`` lays it out like a dict, one field per line, nested
    models on their own lines, within 80 columns but for a string with no space to break at;
    ``repr`` stays one line."""
    video = Video._from_wire(wire(example))
    text = pprint.pformat(video)
    lines = text.splitlines()
    assert text.startswith("Video(")
    assert text.endswith(")")
    for line in lines:
        assert len(line) <= 80 or UNBREAKABLE.fullmatch(line), line
    labels = [label for label, _, _ in video._shown()]
    starts = [line[len("Video(") :] if n == 0 else line[6:] for n, line in enumerate(lines)]
    for label in labels:
        assert sum(s.startswith(label) for s in starts) == 1, label
    assert lines[0] == f"Video(video_id={example['videoId']!r},"
    assert "      metadata=(Metadata(key='Author', value='John Doe')," in lines
    assert "                Metadata(key='Format', value='Tutorial'))," in lines
    if "assets" in example:
        assert any(line.startswith("      assets=VideoAssets(") for line in lines)
        assert any(line.startswith(" " * 25 + "player='https://") for line in lines)
    dated = [n for n, line in enumerate(lines) if line.startswith("      published_at=")]
    assert lines[dated[0] + 1].strip() == "tzinfo=datetime.timezone.utc),"
    assert "\n" not in repr(video)
    assert repr(video).startswith("Video(video_id=")
    assert len(repr(video)) > 80


def test_to_str_is_the_pprint_layout_as_in_api_videos_client() -> None:
    video = Video._from_wire(wire(VIDEO_RESPONSE))
    assert video.to_str() == pprint.pformat(video)
    assert video.to_str().count("\n") > 5  # laid out, not one long line
    assert Metadata(key="k", value="v").to_str() == "Metadata(key='k', value='v')"


def test_pprint_keeps_a_datetime_on_one_line_when_it_fits() -> None:
    when = datetime(2024, 3, 3, tzinfo=timezone.utc)
    text = pprint.pformat(Video(video_id="v" * 90, created_at=when), width=100)
    assert text.splitlines()[-1] == (
        "      created_at=datetime.datetime(2024, 3, 3, 0, 0, tzinfo=datetime.timezone.utc))"
    )


def test_errors_about_a_model_holding_secrets_do_not_show_them() -> None:
    """Missing keys, unknown attributes and refused writes never echo the secret values."""
    body = token()
    messages: List[str] = []
    for action in (
        lambda: body["nope"],
        lambda: body.nope,
        lambda: setattr(body, "access_token", "x"),
        lambda: AccessToken(body, accesstoken="x"),
        lambda: AccessToken(body, expires_in="soon"),
    ):
        error = error_of(action)
        messages += [str(error), repr(error)]
    for message in messages:
        assert ACCESS not in message
        assert REFRESH not in message


# -- docs and the package -------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls",
    [AccessToken, Video, VideoCreationPayload, BadRequest, LiveStream],
    ids=lambda c: c.__name__,
)
def test_class_docstring_and_help_list_the_fields(cls: Type[Model]) -> None:
    """help(Model) shows each field with its type, and marks required ones."""
    doc = cls.__doc__ or ""
    text = pydoc.render_doc(cls, renderer=pydoc.plaintext)
    for spec in cls._fields:
        assert f"{spec.name} ({spec.type_name}" in doc
        assert spec.name in text
        if spec.required:
            assert f"{spec.name} ({spec.type_name}, required)" in doc
    assert doc.splitlines()[0].startswith(cls.__name__)


def test_signature_names_the_fields_as_keywords() -> None:
    """inspect.signature, which help(), IPython and run-time completion read, shows each field
    by Python name and type, required ones without a default; the constructor takes them."""
    signature = inspect.signature(VideoCreationPayload)
    parameters = list(signature.parameters.values())
    assert [p.name for p in parameters] == [
        "_data",
        *(f.name for f in VideoCreationPayload._fields),
    ]
    assert parameters[0].kind is inspect.Parameter.POSITIONAL_ONLY
    assert {p.kind for p in parameters[1:]} == {inspect.Parameter.KEYWORD_ONLY}
    title, tags, metadata = (signature.parameters[n] for n in ("title", "tags", "metadata"))
    assert (title.annotation, title.default) == (str, inspect.Parameter.empty)
    assert (tags.annotation, tags.default) == (List[str], None)
    assert metadata.annotation == List[Metadata]
    assert signature.bind(title="t", tags=["a"]).arguments == {"title": "t", "tags": ["a"]}
    assert "(_data=None, /, *, title: str, description: str = None" in pydoc.render_doc(
        VideoCreationPayload, renderer=pydoc.plaintext
    )


def test_models_module_re_exports_every_model() -> None:
    """`from video_api.models import X` works for the class of every model module."""
    found = {}
    for info in pkgutil.iter_modules(video_api.model.__path__):
        module = importlib.import_module(f"video_api.model.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == module.__name__:
                found[value.__name__] = value
    assert sorted(models.__all__) == sorted(found)
    for name, cls in found.items():
        assert issubclass(cls, Model)
        assert getattr(models, name) is cls
    assert {Video, VideoCreationPayload, AccessToken, BadRequest} <= set(ALL_MODELS)


# -- properties (Hypothesis) -----------------------------------------------------------------

ZONES = st.sampled_from(
    [timezone.utc, timezone(timedelta(hours=2)), timezone(-timedelta(hours=9, minutes=30))]
)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)


def valid_value(spec: Any) -> st.SearchStrategy[Any]:
    """One valid wire value for a field, as the server or a user would send it."""
    kind = spec.resolve()
    if spec.enum:  # the type check drops the generator's False for 'no' (see report)
        one: st.SearchStrategy[Any] = st.sampled_from([v for v in spec.enum if type(v) is kind])
    elif kind is str:
        one = st.text(max_size=8)
    elif kind is bool:
        one = st.booleans()
    elif kind is int:
        one = st.integers()
    elif kind is float:
        one = st.floats(allow_nan=False, allow_infinity=False) | st.integers()
    elif kind is datetime:
        one = st.datetimes(timezones=ZONES).map(datetime.isoformat)
    elif kind is object:
        one = json_scalars
    else:
        one = valid_wire(kind)
    many = st.lists(one, max_size=3) if spec.many else one
    return many | st.none() if spec.nullable else many


def valid_wire(cls: Type[Model]) -> st.SearchStrategy[Dict[str, Any]]:
    """Dicts of valid wire values for a model: the required fields and some optional ones."""
    return st.fixed_dictionaries(
        {spec.wire: valid_value(spec) for spec in cls._fields if spec.required},
        optional={spec.wire: valid_value(spec) for spec in cls._fields if not spec.required},
    )


def check_round_trip(cls: Type[Model], data: Dict[str, Any]) -> None:
    model = cls(copy.deepcopy(data))
    decoded = json.loads(model.to_json())
    assert decoded == data  # as given: defaults are not added, None for a nullable is null
    assert cls._from_wire(copy.deepcopy(decoded)) == model
    assert cls(decoded) == model
    assert model == decoded


@settings(deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(data=valid_wire(VideoCreationPayload))
def test_any_valid_video_creation_payload_round_trips_through_json(data: Dict[str, Any]) -> None:
    """Built from valid wire values, sent as JSON and parsed back: the same model."""
    check_round_trip(VideoCreationPayload, data)


@settings(deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_valid_value_of_any_model_round_trips_through_json(data: st.DataObject) -> None:
    cls = data.draw(st.sampled_from(ALL_MODELS), label="model")
    check_round_trip(cls, data.draw(valid_wire(cls), label="wire"))


@settings(deadline=None, max_examples=100)
@given(data=st.data())
def test_text_never_fails_with_anything_but_api_type_or_value_errors(
    data: st.DataObject,
) -> None:
    """Any text as any field's value, or as a field name, from a user or the server: the model
    is built, or the error is an ApiTypeError / ApiValueError naming the model."""
    cls = data.draw(st.sampled_from(ALL_MODELS), label="model")
    spec = data.draw(st.sampled_from(cls._fields), label="field")
    text = data.draw(
        st.text(max_size=30)
        | st.sampled_from(["2019-12-16T08:25:51Z", "no", "²", "3600", "9" * 5000, "nan"]),
        label="text",
    )
    for build in (
        lambda: cls({spec.wire: text}),
        lambda: cls(**{spec.name: text}),
        lambda: cls._from_wire({spec.wire: text}),
        lambda: cls({text: text}),
        lambda: cls._from_wire({text: text}),
    ):
        try:
            build()
        except (ApiTypeError, ApiValueError) as error:
            assert str(error).startswith(cls.__name__)


FIELD_KEYS = sorted({spec.wire for cls in (AccessToken, BadRequest, Video) for spec in cls._fields})
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_KEYS) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=15,
)
# Objects that mostly look like a body, so parsing gets past the top level often.
json_objects = st.dictionaries(
    st.sampled_from(FIELD_KEYS) | st.text(max_size=8), json_values, max_size=6
)


@settings(deadline=None, max_examples=60)
@given(cls=st.sampled_from([AccessToken, BadRequest, Video]), data=json_values | json_objects)
def test_server_data_raises_only_api_type_or_value_errors(cls: Type[Model], data: Any) -> None:
    """Whatever JSON the server sends, parsing either succeeds or raises ApiTypeError /
    ApiValueError (which the runtime reports as a bad response); a success keeps unknown
    fields and round-trips through its own JSON."""
    original = copy.deepcopy(data)
    try:
        parsed = cls._from_wire(data)
    except (ApiTypeError, ApiValueError) as error:
        assert isinstance(error, OpenApiException)
        return
    declared = {spec.wire for spec in cls._fields}
    for key, value in original.items():
        if key not in declared:
            assert parsed[key] == value
    assert cls._from_wire(json.loads(parsed.to_json())) == parsed
    pprint.pformat(parsed)


@settings(deadline=None, max_examples=50)
@given(api_key=st.text(), refresh_token=st.text())
def test_payloads_round_trip_through_json(api_key: str, refresh_token: str) -> None:
    """Any text key or token goes to JSON and back to an equal model, under its wire name."""
    for model, name, value in (
        (AuthenticatePayload(api_key=api_key), "apiKey", api_key),
        (RefreshTokenPayload(refresh_token=refresh_token), "refreshToken", refresh_token),
    ):
        decoded = json.loads(model.to_json())
        assert decoded == {name: value}
        assert type(model)._from_wire(decoded) == model


secret_text = st.text(min_size=13)


@settings(deadline=None, max_examples=50)
@given(api_key=secret_text, access=secret_text, refresh=secret_text)
def test_long_secrets_never_appear_whole_in_repr(api_key: str, access: str, refresh: str) -> None:
    """A secret longer than 12 characters is never shown whole, whatever its characters.

    A "secret" that is part of the repr's own text (a field or class name, the length
    note) would be found there whatever the redaction, so such values are not drawn.
    """
    frame = " ".join(
        [
            repr(AuthenticatePayload(api_key="x" * 13)),
            repr(RefreshTokenPayload(refresh_token="x" * 13)),
            pprint.pformat(AccessToken(access_token="x" * 13, refresh_token="x" * 13)),
        ]
    )
    for secret in (api_key, access, refresh):
        assume(secret not in frame and "…" not in secret)
    assert api_key not in repr(AuthenticatePayload(api_key=api_key))
    assert refresh not in repr(RefreshTokenPayload(refresh_token=refresh))
    body = AccessToken._from_wire({"access_token": access, "refresh_token": refresh})
    for output in (repr(body), pprint.pformat(body)):
        assert access not in output
        assert refresh not in output

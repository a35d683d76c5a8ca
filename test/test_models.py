"""The model layer's promises: construction, validation, immutability, access, JSON, repr.

Models are plain data, so these tests need no server: they build models the ways
users and the runtime do (keywords, mappings, ``_from_wire`` on decoded JSON) and
assert on the values, the exception classes and their messages.
"""

from __future__ import annotations

import copy
import json
import pickle
import pprint
import pydoc
from typing import Any, Callable, Dict, List, Type

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from video_api import models
from video_api.exceptions import (
    ApiAttributeError,
    ApiKeyError,
    ApiTypeError,
    ApiValueError,
    OpenApiException,
)
from video_api.model.access_token import AccessToken
from video_api.model.authenticate_payload import AuthenticatePayload
from video_api.model.bad_request import BadRequest
from video_api.model.refresh_token_payload import RefreshTokenPayload
from video_api.schemas import Model

API_KEY = "sk_live_0123456789abcdefghijklmnop"
ACCESS = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.payload.signature-access"
REFRESH = "def50200a28d88fb9aaa921be78eeb5604b071101a334899a7d5fc7492cf8"

ALL_MODELS: List[Type[Model]] = [AccessToken, AuthenticatePayload, BadRequest, RefreshTokenPayload]


def token(**overrides: Any) -> AccessToken:
    data: Dict[str, Any] = {
        "access_token": ACCESS,
        "expires_in": 3600,
        "refresh_token": REFRESH,
        "token_type": "Bearer",
    }
    data.update(overrides)
    return AccessToken._from_wire(data)


# -- construction ---------------------------------------------------------------------------


def test_construct_by_python_name_and_by_wire_name_give_the_same_model() -> None:
    """`api_key=` and `apiKey=` are two spellings of one field; the value is stored once."""
    by_python = AuthenticatePayload(api_key=API_KEY)
    by_wire = AuthenticatePayload(apiKey=API_KEY)
    assert by_python == by_wire
    assert by_python.to_json() == by_wire.to_json() == f'{{"apiKey":"{API_KEY}"}}'
    assert RefreshTokenPayload(refresh_token=REFRESH) == RefreshTokenPayload(refreshToken=REFRESH)


@pytest.mark.parametrize(
    "mapping", [{"apiKey": API_KEY}, {"api_key": API_KEY}], ids=["wire", "python"]
)
def test_construct_from_a_mapping_positional_argument(mapping: Dict[str, str]) -> None:
    """A mapping of fields (either spelling) builds the same model as keywords."""
    assert AuthenticatePayload(mapping) == AuthenticatePayload(api_key=API_KEY)


def test_construct_from_another_model() -> None:
    """A model is a mapping in wire names, so it can seed a new model."""
    original = AuthenticatePayload(api_key=API_KEY)
    assert AuthenticatePayload(original) == original


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((), {"api_key": "a", "apiKey": "b"}),
        (({"apiKey": "a"},), {"api_key": "b"}),
    ],
    ids=["both-keywords", "mapping-and-keyword"],
)
def test_both_spellings_at_once_is_an_error(args: Any, kwargs: Dict[str, str]) -> None:
    """Giving one field under both names is ambiguous, so it is refused, naming the field."""
    with pytest.raises(ApiTypeError, match=r"AuthenticatePayload\.api_key was given twice"):
        AuthenticatePayload(*args, **kwargs)


def test_unknown_keyword_suggests_the_closest_field() -> None:
    """A typo names itself and the field that was probably meant."""
    with pytest.raises(ApiTypeError) as info:
        AuthenticatePayload(api_ky=API_KEY)
    assert isinstance(info.value, TypeError)
    message = str(info.value)
    assert "'api_ky'" in message
    assert "did you mean 'api_key'?" in message
    assert API_KEY not in message


def test_unknown_keyword_spelled_like_the_wire_name_suggests_the_python_name() -> None:
    """A near miss of the wire name (`apikey`) still points at the field."""
    with pytest.raises(ApiTypeError, match="did you mean 'refresh_token'"):
        RefreshTokenPayload(refreshtoken=REFRESH)


@pytest.mark.parametrize("data", [["apiKey"], "apiKey", 42, {1: "x"}], ids=repr)
def test_a_positional_argument_that_is_not_a_mapping_of_names_is_an_api_type_error(
    data: Any,
) -> None:
    """Every input error is an OpenApiException (here ApiTypeError), never a bare TypeError."""
    with pytest.raises(ApiTypeError, match="AuthenticatePayload"):
        AuthenticatePayload(data)


def test_missing_required_field_is_a_type_error_and_a_value_error() -> None:
    """The error names model, field (both spellings) and the expected type."""
    with pytest.raises(ApiTypeError) as info:
        AuthenticatePayload()
    error = info.value
    assert isinstance(error, ApiValueError)
    assert isinstance(error, TypeError)
    assert isinstance(error, ValueError)
    message = str(error)
    assert "AuthenticatePayload.api_key ('apiKey')" in message
    assert "required" in message
    assert "str" in message
    assert error.path_to_item == ["AuthenticatePayload", "apiKey"]


def test_missing_required_field_from_the_server_is_the_same_error() -> None:
    """`_from_wire` reports a missing required field exactly like the constructor."""
    with pytest.raises(ApiValueError, match=r"RefreshTokenPayload\.refresh_token"):
        RefreshTokenPayload._from_wire({})


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
            lambda: AccessToken(expires_in="3600"),
            "AccessToken.expires_in ('expires_in') expects int, got str",
        ),
        (
            lambda: BadRequest(problems="oops"),
            "BadRequest.problems ('problems') expects list[BadRequest], got str",
        ),
        (
            lambda: BadRequest(problems=[{"status": "400"}]),
            "BadRequest.status ('status') expects int, got str",
        ),
    ],
    ids=["str-field-int", "required-none", "int-field-str", "list-field-str", "nested"],
)
def test_wrong_type_names_model_field_expected_and_received_type(
    build: Callable[[], Model], expected: str
) -> None:
    """The message is enough to fix the call without reading the source."""
    with pytest.raises(ApiTypeError) as info:
        build()
    assert str(info.value) == expected


def test_wrong_type_error_never_shows_the_value() -> None:
    """A secret given in the wrong place or with the wrong type never reaches the message."""
    secret = "s3cr3t-value-that-must-not-leak"
    for build in (
        lambda: AccessToken(access_token=ACCESS, expires_in=secret),
        lambda: AccessToken._from_wire({"access_token": [secret]}),
        lambda: BadRequest(problems=secret),
    ):
        with pytest.raises(ApiTypeError) as info:
            build()
        assert secret not in str(info.value)
        assert secret not in repr(info.value)


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


@pytest.mark.parametrize(
    "value", [True, False, 3600.5, float("nan"), float("inf"), "3600", [3600]], ids=repr
)
def test_non_integral_values_are_rejected_for_int_fields(value: Any) -> None:
    """bool is not an int here, and neither is a fractional, NaN or infinite float."""
    expected = f"AccessToken.expires_in ('expires_in') expects int, got {type(value).__name__}"
    with pytest.raises(ApiTypeError) as server:
        token(expires_in=value)
    assert str(server.value) == expected
    with pytest.raises(ApiTypeError) as user:
        AccessToken(expires_in=value)
    assert str(user.value) == expected
    with pytest.raises(ApiTypeError, match=r"BadRequest\.status"):
        BadRequest._from_wire({"status": value})


def test_token_type_default_is_filled() -> None:
    """The contract's default ('bearer') is there when the server leaves it out or sends null."""
    assert AccessToken().token_type == "bearer"
    assert AccessToken()["token_type"] == "bearer"
    assert AccessToken._from_wire({"access_token": ACCESS})["token_type"] == "bearer"
    assert AccessToken._from_wire({"token_type": None}).token_type == "bearer"
    assert json.loads(AccessToken().to_json()) == {"token_type": "bearer"}
    assert token().token_type == "Bearer"


def test_unset_optional_fields_read_as_none_but_are_not_keys() -> None:
    """An absent optional field is None as an attribute, absent as a key, and not sent."""
    problem = BadRequest(title="Bad")
    assert problem.status is None
    assert problem.problems is None
    assert "status" not in problem
    assert len(problem) == 1
    assert problem.to_json() == '{"title":"Bad"}'
    assert BadRequest(title="Bad", status=None) == problem


# -- immutability and access ----------------------------------------------------------------


def test_models_are_immutable() -> None:
    """setattr, delattr and item assignment all fail; the value is unchanged."""
    payload = AuthenticatePayload(api_key=API_KEY)
    with pytest.raises(ApiAttributeError, match="immutable") as info:
        payload.api_key = "other"  # type: ignore[misc]
    assert isinstance(info.value, AttributeError)
    with pytest.raises(ApiAttributeError, match="immutable"):
        payload.anything = 1
    with pytest.raises(ApiAttributeError, match="immutable"):
        del payload.api_key  # type: ignore[misc]
    with pytest.raises(ApiAttributeError, match="immutable"):
        setattr(payload, "_values", {})  # noqa: B010
    with pytest.raises(TypeError):
        payload["apiKey"] = "other"  # type: ignore[index]
    assert payload.api_key == API_KEY
    assert payload == {"apiKey": API_KEY}
    with pytest.raises(TypeError, match="unhashable"):
        hash(payload)


def test_to_dict_is_a_copy() -> None:
    """Changing what to_dict() returned does not change the model."""
    problem = BadRequest._from_wire({"title": "Bad", "problems": [{"name": "apiKey"}]})
    data = problem.to_dict()
    data["title"] = "changed"
    data["problems"][0]["name"] = "changed"
    assert problem.title == "Bad"
    assert problem.problems is not None
    assert problem.problems[0].name == "apiKey"


def test_mapping_access_by_wire_name_and_attribute_access_by_both_names() -> None:
    """body["apiKey"], body.api_key and body.apiKey all read the one value."""
    payload = AuthenticatePayload(api_key=API_KEY)
    assert payload["apiKey"] == API_KEY
    assert payload.api_key == API_KEY
    assert payload.apiKey == API_KEY
    assert payload["api_key"] == API_KEY
    refresh = RefreshTokenPayload(refresh_token=REFRESH)
    assert refresh["refreshToken"] == refresh.refresh_token == refresh.refreshToken == REFRESH
    body = token()
    assert body["access_token"] == body.access_token == ACCESS


def test_contains_len_and_iteration_use_wire_names() -> None:
    """`in` accepts either name; len and iteration cover the stored wire names."""
    payload = AuthenticatePayload(api_key=API_KEY)
    assert "apiKey" in payload
    assert "api_key" in payload
    assert "nope" not in payload
    assert 1 not in payload
    assert len(payload) == 1
    assert list(payload) == ["apiKey"]
    assert dict(payload) == {"apiKey": API_KEY}
    assert list(payload.keys()) == ["apiKey"]
    assert list(payload.items()) == [("apiKey", API_KEY)]
    body = token()
    assert sorted(body) == ["access_token", "expires_in", "refresh_token", "token_type"]
    assert len(body) == 4


def test_missing_key_raises_api_key_error_with_a_clear_message() -> None:
    """A KeyError subclass whose str() is a sentence, not a quoted repr; .get() still works."""
    body = AccessToken(expires_in=10)
    with pytest.raises(ApiKeyError) as info:
        body["access_token"]
    assert isinstance(info.value, KeyError)
    assert str(info.value) == "AccessToken has no value for 'access_token'"
    assert body.get("access_token") is None
    with pytest.raises(KeyError, match="AuthenticatePayload has no value for 'nope'"):
        AuthenticatePayload(api_key=API_KEY)["nope"]


def test_unknown_attribute_raises_api_attribute_error_with_a_suggestion() -> None:
    """An AttributeError subclass that names the closest field, so typos are quick to fix."""
    body = token()
    with pytest.raises(ApiAttributeError) as info:
        body.acess_token  # noqa: B018
    assert isinstance(info.value, AttributeError)
    message = str(info.value)
    assert "'acess_token'" in message
    assert "did you mean 'access_token'?" in message
    assert ACCESS not in message
    assert not hasattr(body, "nothing_like_a_field")
    assert getattr(body, "nothing_like_a_field", "fallback") == "fallback"


# -- data from the server -------------------------------------------------------------------


def test_server_data_keeps_unknown_fields() -> None:
    """A field the contract does not know is kept, readable and serialized, never rejected."""
    body = AccessToken._from_wire(
        {"access_token": ACCESS, "expires_in": 3600, "scope": "video", "x-trace": [1, 2]}
    )
    assert body["scope"] == "video"
    assert body.scope == "video"
    assert body["x-trace"] == [1, 2]
    assert "scope" in body
    assert set(body) == {"access_token", "expires_in", "scope", "x-trace", "token_type"}
    assert json.loads(body.to_json())["x-trace"] == [1, 2]
    assert "scope='video'" in repr(body)
    assert "'x-trace': [1, 2]" in repr(body)


def test_server_data_drops_null_optional_fields() -> None:
    """JSON null for an optional field reads as absent."""
    problem = BadRequest._from_wire({"title": "Bad", "name": None})
    assert "name" not in problem
    assert problem.name is None
    assert problem == {"title": "Bad"}


def test_nested_problems_become_a_tuple_of_bad_request() -> None:
    """problems is a tuple of BadRequest at every depth, from the server or from a user."""
    wire = {
        "type": "https://docs.api.video/reference/invalid-attribute",
        "title": "An attribute is invalid.",
        "status": 400,
        "problems": [
            {"name": "apiKey", "title": "This value should not be blank."},
            {"name": "x", "problems": [{"title": "deeper"}]},
        ],
    }
    problem = BadRequest._from_wire(copy.deepcopy(wire))
    assert isinstance(problem.problems, tuple)
    assert all(type(p) is BadRequest for p in problem.problems)
    assert problem.problems[0].name == "apiKey"
    inner = problem.problems[1].problems
    assert isinstance(inner, tuple)
    assert inner[0] == BadRequest(title="deeper")
    assert problem == BadRequest(wire)
    assert problem.to_dict() == wire


@pytest.mark.parametrize(
    "data",
    [[], "text", 1, None, True, [{"access_token": ACCESS}]],
    ids=repr,
)
def test_server_data_that_is_not_an_object_is_an_api_type_error(data: Any) -> None:
    """The body must be a JSON object; anything else is an ApiTypeError naming the model."""
    with pytest.raises(ApiTypeError, match="AccessToken expects a JSON object"):
        AccessToken._from_wire(data)


def test_problems_nested_as_deep_as_json_allows_raise_only_api_errors() -> None:
    """A hostile, deeply nested problem body that json.loads accepts either parses or raises
    ApiTypeError/ApiValueError, which the runtime turns into ApiResponseError; never a
    RecursionError that escapes as a bare exception."""
    depth = 400
    text = '{"problems":[' * depth + '{"title":"bottom"}' + "]}" * depth
    data = json.loads(text)
    try:
        problem = BadRequest._from_wire(data)
    except (ApiTypeError, ApiValueError) as error:
        assert "BadRequest" in str(error)
    else:
        for _ in range(depth):
            assert problem.problems is not None
            problem = problem.problems[0]
        assert problem.title == "bottom"


# -- JSON, equality, copying ----------------------------------------------------------------


def test_to_json_is_compact_and_uses_wire_names() -> None:
    """What goes on the wire: wire names, no spaces, non-ASCII kept as is."""
    assert AuthenticatePayload(api_key="clé").to_json() == '{"apiKey":"clé"}'
    assert RefreshTokenPayload(refresh_token="r").to_json() == '{"refreshToken":"r"}'
    assert (
        BadRequest(title="t", problems=[BadRequest(name="n")]).to_json()
        == '{"title":"t","problems":[{"name":"n"}]}'
    )


@pytest.mark.parametrize(
    "model",
    [
        AuthenticatePayload(api_key=API_KEY),
        RefreshTokenPayload(refresh_token=REFRESH),
        token(scope="video"),
        BadRequest(title="t", status=400, problems=[{"name": "n", "problems": []}]),
    ],
    ids=lambda m: type(m).__name__,
)
def test_round_trips_through_dict_json_pickle_and_copy(model: Model) -> None:
    """to_dict, to_json, pickle, copy and deepcopy all give back an equal model."""
    cls = type(model)
    if all(key in cls._lookup for key in model):  # users may build only declared fields
        assert cls(model.to_dict()) == model
    assert cls._from_wire(model.to_dict()) == model
    assert cls._from_wire(json.loads(model.to_json())) == model
    assert json.loads(model.to_json()) == model.to_dict()
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        restored = pickle.loads(pickle.dumps(model, protocol=protocol))
        assert type(restored) is cls
        assert restored == model
    assert copy.copy(model) == model
    assert copy.deepcopy(model) == model
    assert type(copy.deepcopy(model)) is cls


def test_equality_with_dicts_and_between_models() -> None:
    """A model equals the dict of its wire names, and models compare by type and values."""
    payload = AuthenticatePayload(api_key=API_KEY)
    assert payload == {"apiKey": API_KEY}
    assert {"apiKey": API_KEY} == payload  # noqa: SIM300 (dict on the left: reflected ==)
    assert payload != {"apiKey": "other"}
    assert payload != {"apiKey": API_KEY, "extra": 1}
    assert payload == AuthenticatePayload(apiKey=API_KEY)
    assert payload != AuthenticatePayload(api_key="other")
    assert payload != RefreshTokenPayload(refresh_token=API_KEY)
    assert payload != API_KEY
    problem = BadRequest(problems=[{"title": "x"}])
    assert problem == {"problems": [{"title": "x"}]}
    assert problem == BadRequest._from_wire({"problems": [{"title": "x"}]})


# -- repr and secrets ------------------------------------------------------------------------


def test_repr_names_the_model_and_its_fields() -> None:
    """Non-secret fields are shown in full; the repr reads like the constructor call."""
    problem = BadRequest(
        name="apiKey", status=400, title="The user credentials were incorrect.", type="https://x"
    )
    text = repr(problem)
    assert text.startswith("BadRequest(")
    for part in (
        "name='apiKey'",
        "status=400",
        "title='The user credentials were incorrect.'",
        "type='https://x'",
    ):
        assert part in text
    assert repr(BadRequest(problems=[{"title": "x"}])) == (
        "BadRequest(problems=(BadRequest(title='x'),))"
    )
    body = token()
    assert "expires_in=3600" in repr(body)
    assert "token_type='Bearer'" in repr(body)


@pytest.mark.parametrize(
    "model, secrets",
    [
        (AuthenticatePayload(api_key=API_KEY), [API_KEY]),
        (RefreshTokenPayload(refresh_token=REFRESH), [REFRESH]),
        (token(), [ACCESS, REFRESH]),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Model) else "",
)
def test_secrets_are_shortened_in_repr_str_and_pprint(model: Model, secrets: List[str]) -> None:
    """API key, access and refresh tokens are shown by a prefix and a length, never whole."""
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
            assert secret[:4] in output
            assert f"{len(secret)} chars" in output
    assert type(model).__name__ in repr(model)


def test_short_secrets_are_fully_masked() -> None:
    """A secret too short to shorten is masked entirely."""
    assert repr(AuthenticatePayload(api_key="short")) == "AuthenticatePayload(api_key='***')"
    assert "short" not in repr(AuthenticatePayload(api_key="short"))


def test_pprint_of_a_response_body_is_readable() -> None:
    """pprint shows the model's repr (one call-like line), not a dump of internals."""
    body = token()
    assert pprint.pformat(body) == repr(body)
    assert "_values" not in pprint.pformat(body)


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
        with pytest.raises(OpenApiException) as info:
            action()
        messages += [str(info.value), repr(info.value)]
    for message in messages:
        assert ACCESS not in message
        assert REFRESH not in message


# -- docs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL_MODELS, ids=lambda c: c.__name__)
def test_class_docstring_and_help_list_the_fields(cls: Type[Model]) -> None:
    """help(Model) shows each field with its type, and marks required ones."""
    doc = cls.__doc__ or ""
    text = pydoc.render_doc(cls, renderer=pydoc.plaintext)
    for spec in cls._fields:
        assert f"{spec.name} ({spec.type_name}" in doc
        assert spec.name in text
        if spec.required:
            assert f"{spec.name} ({spec.type_name}, required)" in doc
    assert doc.splitlines()[0].strip()


def test_models_module_re_exports_every_model() -> None:
    """`from video_api.models import X` works for each model module's class."""
    for cls in ALL_MODELS:
        assert getattr(models, cls.__name__) is cls
    assert sorted(models.__all__) == sorted(c.__name__ for c in ALL_MODELS)


# -- properties (Hypothesis) -----------------------------------------------------------------

FIELD_KEYS = sorted({spec.wire for cls in (AccessToken, BadRequest) for spec in cls._fields})
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_KEYS) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)
# Objects that mostly look like a body, so parsing gets past the top level often.
json_objects = st.dictionaries(
    st.sampled_from(FIELD_KEYS) | st.text(max_size=8), json_values, max_size=6
)


@settings(deadline=None)
@given(api_key=st.text(), refresh_token=st.text())
def test_payloads_round_trip_through_json(api_key: str, refresh_token: str) -> None:
    """Any text key or token goes to JSON and back to an equal model, under its wire name."""
    for model, wire, value in (
        (AuthenticatePayload(api_key=api_key), "apiKey", api_key),
        (RefreshTokenPayload(refresh_token=refresh_token), "refreshToken", refresh_token),
    ):
        decoded = json.loads(model.to_json())
        assert decoded == {wire: value}
        assert type(model)._from_wire(decoded) == model


@settings(deadline=None)
@given(
    access=st.text(),
    refresh=st.text(),
    expires_in=st.integers(),
    token_type=st.text() | st.none(),
)
def test_access_tokens_round_trip_through_json(
    access: str, refresh: str, expires_in: int, token_type: Any
) -> None:
    """An AccessToken built by a user parses back from its own JSON to an equal model."""
    built = AccessToken(
        access_token=access, refresh_token=refresh, expires_in=expires_in, token_type=token_type
    )
    parsed = AccessToken._from_wire(json.loads(built.to_json()))
    assert parsed == built
    assert parsed.expires_in == expires_in
    assert parsed.token_type == ("bearer" if token_type is None else token_type)


@settings(deadline=None, max_examples=150)
@given(data=json_values | json_objects)
@pytest.mark.parametrize("cls", [AccessToken, BadRequest], ids=lambda c: c.__name__)
def test_server_data_raises_only_api_type_or_value_errors(cls: Type[Model], data: Any) -> None:
    """Whatever JSON the server sends, parsing either succeeds or raises ApiTypeError /
    ApiValueError (which the runtime reports as a bad response); a success keeps unknown
    fields and round-trips through its own JSON."""
    original = copy.deepcopy(data)
    try:
        parsed = cls._from_wire(data)
    except (ApiTypeError, ApiValueError) as error:
        assert isinstance(error, OpenApiException)
        assert cls.__name__ in str(error)
        return
    declared = {spec.wire for spec in cls._fields}
    for key, value in original.items():
        if key not in declared:
            assert parsed[key] == value
    assert cls._from_wire(json.loads(parsed.to_json())) == parsed
    repr(parsed)


secret_text = st.text(min_size=13)


@settings(deadline=None)
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
    payload_repr = repr(AuthenticatePayload(api_key=api_key))
    assert api_key not in payload_repr
    assert refresh not in repr(RefreshTokenPayload(refresh_token=refresh))
    body = AccessToken._from_wire({"access_token": access, "refresh_token": refresh})
    for output in (repr(body), pprint.pformat(body)):
        assert access not in output
        assert refresh not in output

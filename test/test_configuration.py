"""video_api.configuration: settings checked when set, and no secret in any message."""

from __future__ import annotations

import warnings

import pytest

import video_api
from video_api.testing import Emulator

SECRET = "s3cr3t-pa55w0rd"


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("http://ho st", r"must be an http\(s\) URL"),
        ("ftp://example.com", r"must be an http\(s\) URL"),
        ("https://ws.api.video/?key=1", "must have no query or fragment"),
        ("https://ws.api.video/#top", "must have no query or fragment"),
        (f"https://user:{SECRET}@ws.api.video", "must not carry a user name or password"),
        ("http://ws.api.video@127.0.0.1:8080", "must not carry a user name or password"),
        ("http://[::1", r"must be an http\(s\) URL, got 'http://\[::1'"),  # unparsable
        (f"http://user:{SECRET}@[::1", r"must be an http\(s\) URL, got '\*\*\*@\[::1'"),
    ],
)
def test_a_host_that_would_mislead_is_refused(host: str, message: str) -> None:
    with pytest.raises(video_api.ApiValueError, match=message) as raised:
        video_api.Configuration(host=host)
    assert SECRET not in str(raised.value)


def test_a_proxy_password_is_redacted_in_the_repr() -> None:
    configuration = video_api.Configuration(proxy=f"http://user:{SECRET}@127.0.0.1:3128")
    assert SECRET not in repr(configuration)
    assert "proxy='http://***@127.0.0.1:3128'" in repr(configuration)


def test_the_repr_shows_the_environment_only_when_it_is_in_effect() -> None:
    assert "environment='sandbox'" in repr(video_api.Configuration(environment="sandbox"))
    custom = video_api.Configuration(host="http://127.0.0.1:1", environment="sandbox")
    assert "environment" not in repr(custom)


def test_credentials_are_stripped_of_surrounding_whitespace() -> None:
    configuration = video_api.Configuration(api_key=" key\n", access_token="eyJ.abc.SIG\n")
    assert (configuration.api_key, configuration.access_token) == ("key", "eyJ.abc.SIG")


@pytest.mark.parametrize("value", ["bad\nkey", "two words", "clé", "\x00", "   "])
def test_an_unusable_credential_is_refused_without_showing_it(value: str) -> None:
    with pytest.raises(video_api.ApiValueError, match="api_key must be printable ASCII") as raised:
        video_api.Configuration(api_key=value)
    if value.strip():
        assert value.strip() not in str(raised.value)


def test_a_credential_that_is_not_a_string_is_a_type_error() -> None:
    with pytest.raises(video_api.ApiTypeError, match="access_token must be a str, got bytes"):
        video_api.Configuration(access_token=b"token")  # type: ignore[arg-type]


def test_credentials_over_plain_http_to_another_host_warn() -> None:
    with pytest.warns(UserWarning, match=r"credentials go in clear text to http://example\.com"):
        video_api.ApiClient(video_api.Configuration(host="http://example.com", api_key="k"))


def test_credentials_over_plain_http_to_loopback_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        video_api.ApiClient(video_api.Configuration(host="http://127.0.0.1:1", api_key="k"))
        video_api.ApiClient(video_api.Configuration(host="http://localhost:1", api_key="k"))


@pytest.mark.parametrize(
    "path", ["@127.0.0.1:9999/videos", ".attacker.test/videos", "//attacker.test/x", "/a b", "\\x"]
)
def test_call_api_refuses_a_path_that_could_change_the_host(emulator: Emulator, path: str) -> None:
    configuration = video_api.Configuration(host=emulator.url, api_key=emulator.api_key)
    with video_api.ApiClient(configuration) as client, pytest.raises(
        video_api.ApiValueError, match="resource_path must start with one '/'"
    ):
        client.call_api(path, "GET", auth_settings=["apiKey"])
    assert emulator.requests == []


def test_the_client_refuses_a_configuration_of_the_wrong_type() -> None:
    with pytest.raises(
        video_api.ApiTypeError, match=r"ApiClient expects a video_api\.Configuration, got str"
    ):
        video_api.ApiClient("http://127.0.0.1:1")  # type: ignore[arg-type]
    with pytest.raises(
        video_api.ApiTypeError, match=r"expects a video_api\.Configuration, got str"
    ):
        video_api.AuthenticatedApiClient(video_api.Configuration(), "key")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (5 * 1024 * 1024 - 1, video_api.ApiValueError, "between 5242880 and 134217728 bytes, got"),
        (128 * 1024 * 1024 + 1, video_api.ApiValueError, "between 5242880 and 134217728 bytes"),
        (10.5 * 1024 * 1024, video_api.ApiTypeError, "chunk_size must be an int, got float"),
        (True, video_api.ApiTypeError, "chunk_size must be an int, got bool"),
    ],
)
def test_a_chunk_size_api_video_would_refuse_is_refused_when_set(
    value: object, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        video_api.Configuration(chunk_size=value)  # type: ignore[arg-type]
    configuration = video_api.Configuration()
    with pytest.raises(error, match=message):
        configuration.chunk_size = value  # type: ignore[assignment]
    assert configuration.chunk_size == 50 * 1024 * 1024


def test_a_configuration_pickled_before_chunk_size_existed_gets_the_default() -> None:
    state = vars(video_api.Configuration()).copy()
    del state["_chunk_size"]
    old = video_api.Configuration.__new__(video_api.Configuration)
    old.__dict__.update(state)
    assert old.chunk_size == 50 * 1024 * 1024

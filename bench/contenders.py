"""The two ways to call the API that the benchmark compares.

``Sdk`` and ``SdkVideo`` are the package as its documentation shows it; ``Floor``
and ``FloorVideo`` are what a user would write with urllib3 alone. Each call is
checked (status 200, an access token or the video in the body) and raises
:class:`CallFailed` otherwise, so the harness can report the failure and leave
the slice out of the timings.

This module imports only urllib3 and the stdlib at the top: the memory child loads it
for the floor too, and must not pull the package in.
"""

from __future__ import annotations

import base64
import importlib
import json
from typing import Any, Dict, Optional

import urllib3


class CallFailed(Exception):
    """A call did not return status 200 with the expected body (a token, the video)."""


class Sdk:
    """The package: ``AuthenticationApi`` over one ``ApiClient`` (one keep-alive pool)."""

    name = "sdk"

    def __init__(self, url: str, key: str, maxsize: int = 16, package: str = "video_api") -> None:
        root = importlib.import_module(package)
        tags = importlib.import_module(f"{package}.apis.tags.authentication_api")
        self._payload = importlib.import_module(
            f"{package}.model.authenticate_payload"
        ).AuthenticatePayload
        self._refresh_payload = importlib.import_module(
            f"{package}.model.refresh_token_payload"
        ).RefreshTokenPayload
        configuration = root.Configuration(host=url, connection_pool_maxsize=maxsize)
        self.client = root.ApiClient(configuration)
        self.api = tags.AuthenticationApi(self.client)
        self.key = key
        self.refresh_token: Optional[str] = None

    def api_key(self) -> None:
        """POST /auth/api-key as the documented example does it."""
        try:
            response = self.api.p_ost_auth_api_key(body=self._payload(api_key=self.key))
        except Exception as error:
            raise CallFailed(f"{type(error).__name__}: {error}") from None
        self._check(response)

    def refresh(self) -> None:
        """POST /auth/refresh with the refresh token the previous call returned."""
        try:
            response = self.api.p_ost_auth_refresh(
                body=self._refresh_payload(refresh_token=self.refresh_token)
            )
        except Exception as error:
            self.refresh_token = None
            raise CallFailed(f"{type(error).__name__}: {error}") from None
        self._check(response)

    def _check(self, response: Any) -> None:
        status = response.response.status
        body = response.body
        if status != 200 or not body.access_token:
            self.refresh_token = None
            raise CallFailed(f"status {status}, access_token {bool(body.access_token)}")
        self.refresh_token = body.refresh_token

    def connections(self) -> int:
        """Connections opened so far (1 means every call reused one keep-alive connection)."""
        return int(self.client.rest_client.pool.num_connections)

    def close(self) -> None:
        self.client.close()


class Floor:
    """urllib3 alone, written the way a user would: ``PoolManager.request`` and ``json``."""

    name = "floor"

    def __init__(
        self, url: str, key: str, maxsize: int = 1, timeout: Optional[urllib3.Timeout] = None
    ) -> None:
        options: Dict[str, Any] = {} if maxsize == 1 else {"maxsize": maxsize}
        if timeout is not None:  # the SDK's default; without one, sockets block with no poll
            options["timeout"] = timeout
        self.http = urllib3.PoolManager(**options)
        self.url = url
        self.api_key_url = url + "/auth/api-key"
        self.refresh_url = url + "/auth/refresh"
        self.key = key
        self.refresh_token: Optional[str] = None

    def api_key(self) -> None:
        try:
            r = self.http.request(
                "POST",
                self.api_key_url,
                body=json.dumps({"apiKey": self.key}),
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )
            data = json.loads(r.data)
        except Exception as error:
            raise CallFailed(f"{type(error).__name__}: {error}") from None
        self._check(r.status, data)

    def refresh(self) -> None:
        try:
            r = self.http.request(
                "POST",
                self.refresh_url,
                body=json.dumps({"refreshToken": self.refresh_token}),
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )
            data = json.loads(r.data)
        except Exception as error:
            self.refresh_token = None
            raise CallFailed(f"{type(error).__name__}: {error}") from None
        self._check(r.status, data)

    def _check(self, status: int, data: Any) -> None:
        token = data.get("access_token") if isinstance(data, dict) else None
        if status != 200 or not token:
            self.refresh_token = None
            raise CallFailed(f"status {status}, access_token {bool(token)}")
        self.refresh_token = data["refresh_token"]

    def connections(self) -> int:
        return int(self.http.connection_from_url(self.url).num_connections)

    def close(self) -> None:
        self.http.clear()


class SdkVideo:
    """``VideosApi(ApiClient(Configuration(host=url, api_key=key))).get(video_id)``: HTTP Basic."""

    name = "sdk"

    def __init__(self, url: str, key: str, video_id: str) -> None:
        root = importlib.import_module("video_api")
        videos = importlib.import_module("video_api.apis.tags.videos_api")
        self.video_class = importlib.import_module("video_api.model.video").Video
        self.client = root.ApiClient(root.Configuration(host=url, api_key=key))
        self.api = videos.VideosApi(self.client)
        self.video_id = video_id

    def get(self) -> None:
        """GET /videos/{videoId}; an error status raises, so a returned Video means a 2xx."""
        try:
            video = self.api.get(self.video_id)
        except Exception as error:
            raise CallFailed(f"{type(error).__name__}: {error}") from None
        if type(video) is not self.video_class or video.video_id != self.video_id:
            raise CallFailed(f"got {type(video).__name__}, not the video {self.video_id}")

    def status(self) -> int:
        """The status of one GET, through ``with_http_info`` (untimed: a check at setup)."""
        with_http_info = importlib.import_module("video_api").with_http_info
        return int(with_http_info(self.api.get, self.video_id).status)

    def connections(self) -> int:
        return int(self.client.rest_client.pool.num_connections)

    def close(self) -> None:
        self.client.close()


class FloorVideo:
    """The same authenticated GET with urllib3 alone, its header built once."""

    name = "floor"

    def __init__(
        self, url: str, key: str, video_id: str, timeout: Optional[urllib3.Timeout] = None
    ) -> None:
        self.http = (
            urllib3.PoolManager() if timeout is None else urllib3.PoolManager(timeout=timeout)
        )
        self.url = url
        self.video_id = video_id
        self.headers = {
            "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
            "Accept": "application/json",
        }

    def get(self) -> None:
        try:
            r = self.http.request(
                "GET", self.url + "/videos/" + self.video_id, headers=self.headers
            )
            data = json.loads(r.data)
        except Exception as error:
            raise CallFailed(f"{type(error).__name__}: {error}") from None
        if r.status != 200 or not isinstance(data, dict) or data.get("videoId") != self.video_id:
            raise CallFailed(f"status {r.status}, not the video {self.video_id}")

    def connections(self) -> int:
        return int(self.http.connection_from_url(self.url).num_connections)

    def close(self) -> None:
        self.http.clear()


def make(name: str, url: str, key: str, maxsize: Optional[int] = None) -> Any:
    """A contender by name: ``sdk`` or ``floor``; ``maxsize`` None keeps each one's default."""
    if name == "sdk":
        return Sdk(url, key) if maxsize is None else Sdk(url, key, maxsize)
    if name == "floor":
        return Floor(url, key) if maxsize is None else Floor(url, key, maxsize)
    raise ValueError(f"unknown contender {name!r}")

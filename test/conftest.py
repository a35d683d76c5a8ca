"""Shared fixtures: every test talks real HTTP to the emulator on 127.0.0.1."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

import video_api
from video_api.apis.tags.authentication_api import AuthenticationApi
from video_api.testing import Emulator

pytest_plugins = ["video_api.testing.pytest_plugin"]

#: Captions (and chapters) as the uploads of the tests send them.
VTT = b"WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nHello\n"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: builds virtualenvs or runs for seconds")


@functools.lru_cache(maxsize=None)
def openapi() -> Dict[str, Any]:
    """openapi.yaml, parsed once (with libyaml when PyYAML has it: 800 KB is slow otherwise)."""
    yaml = pytest.importorskip("yaml")
    text = (Path(__file__).resolve().parent.parent / "openapi.yaml").read_text(encoding="utf-8")
    spec: Dict[str, Any] = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return spec


@pytest.fixture
def emulator(video_api_emulator: Emulator) -> Emulator:
    """A fresh emulator for one test."""
    return video_api_emulator


@pytest.fixture
def configuration(emulator: Emulator) -> video_api.Configuration:
    """Points at the emulator; short timeouts so a broken test fails fast."""
    return video_api.Configuration(host=emulator.url, timeout=(2.0, 5.0))


@pytest.fixture
def client(configuration: video_api.Configuration) -> Iterator[video_api.ApiClient]:
    with video_api.ApiClient(configuration) as api_client:
        yield api_client


@pytest.fixture
def api(client: video_api.ApiClient) -> AuthenticationApi:
    return AuthenticationApi(client)


@pytest.fixture
def upload(tmp_path: Path) -> Path:
    """A video file, with captions beside it (clip.vtt) for the caption and chapter uploads."""
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    path.with_suffix(".vtt").write_bytes(VTT)
    return path

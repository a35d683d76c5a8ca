"""Type checking works in users' code: ``mypy --strict`` on small scripts that use the package.

The package ships ``py.typed``; its models declare typed constructors and attributes, its API
methods real signatures. These tests write one script per case, run mypy once over all of
them (each run costs seconds) against the package as installed (or this checkout, when the
tests run from it), and assert exactly what mypy reports for each script.
"""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest

import video_api

mypy_api = pytest.importorskip("mypy.api")

HEADER = """\
from typing import Iterator, Optional

import video_api
from video_api.apis.tags.authentication_api import AuthenticationApi
from video_api.apis.tags.videos_api import VideosApi
from video_api.model.access_token import AccessToken
from video_api.model.authenticate_payload import AuthenticatePayload
from video_api.model.video import Video
from video_api.model.video_creation_payload import VideoCreationPayload
from video_api.model.webhooks_creation_payload import WebhooksCreationPayload


def check(client: video_api.ApiClient, videos_api: VideosApi, video: Video) -> None:
"""
#: Where a case's own lines start: the mistake in each is on its first line.
FIRST_LINE = HEADER.count("\n") + 1

CASES: Dict[str, str] = {
    # A correct script: what the README shows, with the types a user would write down.
    "correct": """\
    configuration = video_api.Configuration(api_key="YOUR_API_KEY")
    with video_api.ApiClient(configuration) as api_client:
        videos = VideosApi(api_client)
        created: Video = videos.create(
            video_creation_payload=VideoCreationPayload(title="t", tags=["a"])
        )
        video_id: str = created.video_id
        title: Optional[str] = created.title
        page = videos.list(
            tags=["a"], metadata={"k": "v"}, sort_by="createdAt", current_page=2, page_size=50
        )
        first: Video = page.data[0]
        every: Iterator[Video] = video_api.paginate(videos.list, tags=["a"])
        response = video_api.with_http_info(videos.get, "vi1")
        fetched: Video = response.body
        status: int = response.status
        token: AccessToken = (
            AuthenticationApi(api_client)
            .p_ost_auth_api_key(body=AuthenticatePayload(api_key="k"))
            .body
        )
        expires_in: Optional[int] = token.expires_in
        print(video_id, title, first, list(every), fetched, status, expires_in)
""",
    "reveal_get": """\
    reveal_type(videos_api.get("vi1"))
""",
    "reveal_auth_body": """\
    auth = AuthenticationApi(client)
    reveal_type(auth.p_ost_auth_api_key(body=AuthenticatePayload(api_key="k")).body)
""",
    "reveal_paginate": """\
    reveal_type(video_api.paginate(videos_api.list, tags=["a"]))
""",
    "model_keyword_typo": """\
    VideoCreationPayload(titel="t")
""",
    "model_field_type": """\
    VideoCreationPayload(title=1)
""",
    "model_list_given_a_str": """\
    VideoCreationPayload(title="t", tags="maths")
""",
    "model_attribute_typo": """\
    print(video.titel)
""",
    "model_enum_literal": """\
    WebhooksCreationPayload(events=["video.nope"], url="https://example.com/hook")
""",
    "model_attribute_write": """\
    video.title = "other"
""",
    "method_keyword_typo": """\
    videos_api.list(tag=["a"])
""",
    "method_enum_literal": """\
    videos_api.list(sort_order="up")
""",
    "problem_may_be_none": """\
    print(video_api.NotFoundException().problem.title)
""",
    "configuration_attribute_typo": """\
    client.configuration.hots = "http://127.0.0.1:8080"
""",
    "configuration_environment": """\
    video_api.Configuration(environment="sandbx")
""",
    "raw_response_headers": """\
    AuthenticationApi(client).p_ost_auth_api_key(skip_deserialization=True).headers.get("X")
""",
}

LINE = re.compile(r"^(?P<file>.+?\.py):(?P<line>\d+): (?P<severity>error|note): (?P<message>.*)$")


def script(body: str) -> str:
    return HEADER + textwrap.indent(textwrap.dedent(body), "    ")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, List[Tuple]]]:
    """(line, severity, message) for each case's script, from one ``mypy --strict`` run."""
    folder = tmp_path_factory.mktemp("typing")
    for name, body in CASES.items():
        (folder / f"{name}.py").write_text(script(body), encoding="utf-8")
    config = ["[mypy]", "strict = True", f"cache_dir = {folder / '.mypy_cache'}"]
    package_root = Path(video_api.__file__).resolve().parent.parent
    if package_root.name not in ("site-packages", "dist-packages"):  # run from a checkout
        config.append(f"mypy_path = {package_root}")
    (folder / "mypy.ini").write_text("\n".join(config) + "\n", encoding="utf-8")
    here = os.getcwd()
    os.chdir(folder)  # mypy reads the working directory: keep it away from other configs
    try:
        stdout, stderr, _ = mypy_api.run(
            ["--config-file", "mypy.ini", "--show-error-codes", "--no-error-summary"]
            + [f"{name}.py" for name in CASES]
        )
    finally:
        os.chdir(here)
    assert stderr == ""
    found: Dict[str, List[Tuple]] = {name: [] for name in CASES}
    for line in stdout.splitlines():
        match = LINE.match(line)
        if match and match["file"][:-3] in found:
            entry = (int(match["line"]), match["severity"], match["message"])
            found[match["file"][:-3]].append(entry)
    yield found


def test_a_correct_script_passes_strict(reports: Dict[str, List[Tuple]]) -> None:
    """Configuration, ApiClient, VideosApi.create/list, paginate, with_http_info and the auth
    endpoint, with the types a user would write down: no error, no note."""
    assert reports["correct"] == []


@pytest.mark.parametrize(
    "case, line, revealed",
    [
        ("reveal_get", FIRST_LINE, "video_api.model.video.Video"),
        ("reveal_auth_body", FIRST_LINE + 1, "video_api.model.access_token.AccessToken"),
        ("reveal_paginate", FIRST_LINE, "typing.Iterator[video_api.model.video.Video]"),
    ],
)
def test_results_have_their_models_type(
    reports: Dict[str, List[Tuple]], case: str, line: int, revealed: str
) -> None:
    """What an API method returns is its model's type, for mypy as at run time."""
    assert reports[case] == [(line, "note", f'Revealed type is "{revealed}"')]


@pytest.mark.parametrize(
    "case, code, expected",
    [
        (
            "model_keyword_typo",
            "call-arg",
            'Unexpected keyword argument "titel" for "VideoCreationPayload"; did you mean "title"?',
        ),
        (
            "model_field_type",
            "arg-type",
            'Argument "title" to "VideoCreationPayload" has incompatible type "int"; '
            'expected "str"',
        ),
        # A str is a sequence of str, but one tag is not a list of tags: refused at run time.
        (
            "model_list_given_a_str",
            "arg-type",
            'Argument "tags" to "VideoCreationPayload" has incompatible type "str"',
        ),
        ("model_attribute_typo", "attr-defined", '"Video" has no attribute "titel"'),
        ("model_enum_literal", "list-item", 'List item 0 has incompatible type "Literal['),
        ("model_attribute_write", "misc", 'Property "title" defined in "Video" is read-only'),
        (
            "method_keyword_typo",
            "call-arg",
            'Unexpected keyword argument "tag" for "list" of "VideosApi"; did you mean "tags"?',
        ),
        (
            "method_enum_literal",
            "arg-type",
            'Argument "sort_order" to "list" of "VideosApi" has incompatible type '
            "\"Literal['up']\"",
        ),
        # A 502 from a proxy has no problem body: e.problem is Optional.
        ("problem_may_be_none", "union-attr", 'Item "None" of "Problem | None" has no attribute'),
        ("configuration_attribute_typo", "attr-defined", '"Configuration" has no attribute "hots"'),
        (
            "configuration_environment",
            "arg-type",
            'Argument "environment" to "Configuration" has incompatible type "Literal[\'sandbx\']"',
        ),
        # As the reference page says, skip_deserialization leaves the headers unset.
        ("raw_response_headers", "attr-defined", '"Unset" has no attribute "get"'),
    ],
)
def test_a_mistake_is_reported_on_its_line(
    reports: Dict[str, List[Tuple]], case: str, code: str, expected: str
) -> None:
    """Exactly one error, on the mistake's line, naming what is wrong, with its error code."""
    errors = [entry for entry in reports[case] if entry[1] == "error"]
    assert len(errors) == 1, reports[case]
    line, _, message = errors[0]
    assert line == FIRST_LINE
    assert message.startswith(expected), message
    assert message.endswith(f"[{code}]"), message
    notes = [entry for entry in reports[case] if entry[1] == "note"]
    assert all(entry[0] == FIRST_LINE for entry in notes), notes

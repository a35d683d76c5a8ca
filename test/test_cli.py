"""The ``video-api`` command, against an emulator in this process.

Pinned down, exactly: what each command prints to stdout and stderr, and its exit code. An
expected failure is one ``video-api: error:`` line and exit 1, never a traceback unless
``--debug``; a usage error is the usage of the command at fault and exit 2; no API key or
token is ever part of an error.

Most commands run in this process (``run``): ``main`` with the stdin, stdout, stderr,
environment and working directory a child would get, since a child takes a third of a
second to start; they are bounded by the commands' own request timeouts. A child process
(``run_process``, ``run_tty``, ``serve``), bounded by ``TIMEOUT``, runs what needs a process
of its own: the ``python -m`` entry points, a real stdin pipe, signals, a terminal, and
``serve``, which would wait forever for a signal if it ever started by mistake.
"""

from __future__ import annotations

import base64
import functools
import inspect
import io
import json
import os
import queue
import re
import select
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple
from unittest import mock

import pytest

import video_api
import video_api.__main__ as cli
from video_api.apis.tags.analytics_api import AnalyticsApi
from video_api.apis.tags.captions_api import CaptionsApi
from video_api.apis.tags.chapters_api import ChaptersApi
from video_api.apis.tags.live_streams_api import LiveStreamsApi
from video_api.apis.tags.player_themes_api import PlayerThemesApi
from video_api.apis.tags.tags_api import TagsApi
from video_api.apis.tags.upload_tokens_api import UploadTokensApi
from video_api.apis.tags.videos_api import VideosApi
from video_api.apis.tags.webhooks_api import WebhooksApi
from video_api.model.filter_by import FilterBy
from video_api.testing import Emulator, Fault

if sys.platform != "win32":
    import pty

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 30.0  # seconds for any one command or line of output; they take a second or so
BAD_KEY = "wrong-key-7f3a9c2e51"
KEY_HINT = "use --api-key KEY, --api-key - (read from stdin) or set VIDEO_API_KEY"
TOKEN = r"[A-Za-z0-9_-]{20,}"
SHORT = r"[A-Za-z0-9_-]{4}\.\.\."
HIDDEN = "(and 1 value(s) not shown)"
ASSIGNMENTS = re.compile(f"VIDEO_API_ACCESS_TOKEN=({TOKEN})\nVIDEO_API_REFRESH_TOKEN=({TOKEN})\n")


def cli_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """This checkout first on the path; no VIDEO_API_* from the caller; fixed help width."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEO_API_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env["COLUMNS"] = "100"
    return {**env, **(extra or {})}


def run(
    *args: str, input: str = "", env: Optional[Dict[str, str]] = None, cwd: Optional[Path] = None
) -> subprocess.CompletedProcess[str]:
    """``video-api ARGS`` in this process, as ``run_process`` would run it: the same
    environment (all of it, restored after), stdin, and working directory; its stdout, stderr
    and exit code (argparse's exits included)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    stdio = mock.patch.multiple(sys, stdin=io.StringIO(input), stdout=stdout, stderr=stderr)
    here = os.getcwd()
    with mock.patch.dict(os.environ, cli_env(env), clear=True), stdio:
        try:
            os.chdir(cwd or here)
            code = cli.main(list(args))
        except SystemExit as exited:
            code = int(exited.code or 0)
        finally:
            os.chdir(here)
    return subprocess.CompletedProcess(args, code, stdout.getvalue(), stderr.getvalue())


def run_process(
    *args: str, input: str = "", env: Optional[Dict[str, str]] = None, module: str = "video_api"
) -> subprocess.CompletedProcess[str]:
    """``python -m module ARGS`` in a child process."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        input=input,
        env=cli_env(env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


@functools.lru_cache(maxsize=None)
def usage(command: str = "") -> str:
    """The usage block of ``video-api [COMMAND]``, as its --help starts."""
    return run(*command.split(), "--help").stdout.split("\n\n")[0] + "\n"


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any host but loopback fails to resolve, so that a test of where a command goes can
    never reach api.video, whatever the command does."""
    resolve = socket.getaddrinfo

    def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", "localhost"):
            raise OSError(f"the test allows loopback only, not {host}")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def outcome(result: subprocess.CompletedProcess[str]) -> tuple[str, str, int]:
    """(stdout, stderr, exit code), compared at once so a failure shows all three."""
    return result.stdout, result.stderr, result.returncode


def videos_status(emulator: Emulator, access_token: str) -> int:
    """What the emulator's protected endpoint says to ``access_token``."""
    request = urllib.request.Request(
        emulator.url + "/videos", headers={"Authorization": f"Bearer {access_token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def token_json(emulator: Emulator) -> str:
    """The stdout of ``token --json``."""
    result = run("token", "--host", emulator.url, "--api-key", emulator.api_key, "--json")
    assert result.returncode == 0, result.stderr
    return result.stdout


def after(attempts: int) -> str:
    """How an error line tells the retries behind ``attempts`` requests (the retry policy is
    the runtime's; the CLI only reports it)."""
    retries = attempts - 1
    return f" (after {retries} retr{'y' if retries == 1 else 'ies'})" if retries else ""


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- token


def test_token_prints_the_access_token_alone(emulator: Emulator) -> None:
    """stdout is exactly one line, a token the API accepts; nothing on stderr. In a child
    process: ``python -m video_api`` works at all."""
    result = run_process("token", "--host", emulator.url, "--api-key", emulator.api_key)
    assert (result.stderr, result.returncode) == ("", 0)
    match = re.fullmatch(f"({TOKEN})\n", result.stdout)
    assert match, result.stdout
    assert videos_status(emulator, match.group(1)) == 200


def test_token_strips_the_newline_of_the_environment_key(emulator: Emulator) -> None:
    result = run("token", "--host", emulator.url, env={"VIDEO_API_KEY": emulator.api_key + "\n"})
    assert (result.stderr, result.returncode) == ("", 0)
    assert [r.json() for r in emulator.requests] == [{"apiKey": emulator.api_key}]


def test_token_reads_the_key_from_stdin_over_the_environment(emulator: Emulator) -> None:
    """``--api-key -`` takes the first stdin line, without its newline; a child's stdin is a
    real pipe."""
    result = run_process(
        "token",
        "--host",
        emulator.url,
        "--api-key",
        "-",
        input=emulator.api_key + "\n",
        env={"VIDEO_API_KEY": BAD_KEY},
    )
    assert (result.stderr, result.returncode) == ("", 0)
    assert [r.json() for r in emulator.requests] == [{"apiKey": emulator.api_key}]


def test_token_json_is_the_whole_access_token(emulator: Emulator) -> None:
    token = json.loads(token_json(emulator))
    assert sorted(token) == ["access_token", "expires_in", "refresh_token", "token_type"]
    assert (token["expires_in"], token["token_type"]) == (3600, "Bearer")
    assert videos_status(emulator, token["access_token"]) == 200


def test_missing_key_is_a_usage_error_that_says_how_to_give_one(emulator: Emulator) -> None:
    """In a child process: a usage error exits the process with 2, as in this one."""
    result = run_process("token", "--host", emulator.url)
    expected = usage("token") + f"video-api token: error: no API key given: {KEY_HINT}\n"
    assert outcome(result) == ("", expected, 2)
    assert emulator.requests == []


def test_empty_stdin_key_is_a_usage_error(emulator: Emulator) -> None:
    result = run("token", "--host", emulator.url, "--api-key", "-", input="\n")
    expected = usage("token") + f"video-api token: error: no API key given: {KEY_HINT}\n"
    assert outcome(result) == ("", expected, 2)


# -- expected errors: one line, exit 1


def test_connection_refused_is_one_line(closed_port: int) -> None:
    host = f"http://127.0.0.1:{closed_port}"
    result = run("token", "--host", host, "--api-key", BAD_KEY)
    line = f"could not get a token from {host}: connection refused (after 2 retries)"
    assert outcome(result) == ("", f"video-api: error: {line}\n", 1)


def test_debug_adds_the_traceback_before_the_line(closed_port: int) -> None:
    host = f"http://127.0.0.1:{closed_port}"
    result = run("token", "--host", host, "--api-key", BAD_KEY, "--debug")
    line = f"video-api: error: could not get a token from {host}: connection refused"
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert result.stderr.endswith(f"\n{line} (after 2 retries)\n")
    assert (result.stdout, result.returncode) == ("", 1)
    assert BAD_KEY not in result.stderr


def test_debug_from_the_environment_adds_the_traceback(closed_port: int) -> None:
    host = f"http://127.0.0.1:{closed_port}"
    result = run("token", "--host", host, "--api-key", BAD_KEY, env={"VIDEO_API_DEBUG": "1"})
    line = f"video-api: error: could not get a token from {host}: connection refused"
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert result.stderr.endswith(f"\n{line} (after 2 retries)\n")
    assert (result.stdout, result.returncode) == ("", 1)


def test_timeout_is_one_line(emulator: Emulator) -> None:
    """A stalled server: --timeout bounds the wait; the retries made, if any, are told."""
    emulator.add_fault("/auth/api-key", Fault.stall(30), times=3)
    result = run("token", "--host", emulator.url, "--api-key", emulator.api_key, "--timeout", "0.3")
    retried = after(emulator.count("/auth/api-key"))
    line = f"could not get a token from {emulator.url}: timed out{retried}"
    assert outcome(result) == ("", f"video-api: error: {line}\n", 1)


def test_refused_key_is_one_line_without_the_key(emulator: Emulator) -> None:
    result = run("token", "--host", emulator.url, "--api-key", BAD_KEY)
    line = (
        f"could not get a token from {emulator.url}: the API key was refused "
        "(400 Bad Request: The user credentials were incorrect.)"
    )
    assert outcome(result) == ("", f"video-api: error: {line}\n", 1)


def test_server_error_is_one_line(emulator: Emulator) -> None:
    emulator.add_fault("/auth/api-key", Fault.status(500), times=3)
    result = run("token", "--host", emulator.url, "--api-key", emulator.api_key)
    retried = after(emulator.count("/auth/api-key"))
    line = (
        f"could not get a token from {emulator.url}: "
        f"the server answered 500 Internal Server Error{retried}"
    )
    assert outcome(result) == ("", f"video-api: error: {line}\n", 1)


# -- refresh


def test_refresh_prints_both_new_tokens_as_assignments(emulator: Emulator) -> None:
    """Without --json: VIDEO_API_ACCESS_TOKEN= and VIDEO_API_REFRESH_TOKEN= lines, both live."""
    first = json.loads(token_json(emulator))
    result = run("refresh", "--host", emulator.url, "--refresh-token", first["refresh_token"])
    assert (result.stderr, result.returncode) == ("", 0)
    match = ASSIGNMENTS.fullmatch(result.stdout)
    assert match, result.stdout
    access, refresh = match.groups()
    assert videos_status(emulator, access) == 200
    again = run("refresh", "--host", emulator.url, "--refresh-token", refresh)
    assert (again.stderr, again.returncode) == ("", 0)


def test_token_json_pipes_into_refresh(emulator: Emulator) -> None:
    """``video-api token --json | video-api refresh --refresh-token -``"""
    stdout = token_json(emulator)
    result = run("refresh", "--host", emulator.url, "--refresh-token", "-", input=stdout)
    assert (result.stderr, result.returncode) == ("", 0)
    assert ASSIGNMENTS.fullmatch(result.stdout), result.stdout
    sent = emulator.requests[-1].json()
    assert sent == {"refreshToken": json.loads(stdout)["refresh_token"]}


def test_refresh_output_pipes_into_refresh(emulator: Emulator) -> None:
    first = json.loads(token_json(emulator))
    once = run("refresh", "--host", emulator.url, "--refresh-token", first["refresh_token"])
    match = ASSIGNMENTS.fullmatch(once.stdout)
    assert match, once.stderr
    twice = run("refresh", "--host", emulator.url, "--refresh-token", "-", input=once.stdout)
    assert (twice.stderr, twice.returncode) == ("", 0)
    assert emulator.requests[-1].json() == {"refreshToken": match.group(2)}


def test_refresh_reads_a_bare_token_and_strips_its_newline(emulator: Emulator) -> None:
    refresh_token = json.loads(token_json(emulator))["refresh_token"]
    result = run(
        "refresh", "--host", emulator.url, "--refresh-token", "-", input=refresh_token + "\n"
    )
    assert (result.stderr, result.returncode) == ("", 0)
    assert emulator.requests[-1].json() == {"refreshToken": refresh_token}


def test_refresh_json_is_the_whole_new_token(emulator: Emulator) -> None:
    old = json.loads(token_json(emulator))["refresh_token"]
    result = run("refresh", "--host", emulator.url, "--refresh-token", old, "--json")
    assert (result.stderr, result.returncode) == ("", 0)
    new = json.loads(result.stdout)
    assert sorted(new) == ["access_token", "expires_in", "refresh_token", "token_type"]
    assert new["refresh_token"] != old
    assert videos_status(emulator, new["access_token"]) == 200


def test_spent_refresh_token_is_one_line(emulator: Emulator) -> None:
    refresh_token = json.loads(token_json(emulator))["refresh_token"]
    assert run("refresh", "--host", emulator.url, "--refresh-token", refresh_token).returncode == 0
    result = run("refresh", "--host", emulator.url, "--refresh-token", refresh_token)
    line = (
        f"could not refresh the token at {emulator.url}: the refresh token was refused "
        "(400 Bad Request: The refresh token is invalid.)"
    )
    assert outcome(result) == ("", f"video-api: error: {line}\n", 1)


def test_json_without_a_refresh_token_is_a_usage_error(emulator: Emulator) -> None:
    result = run("refresh", "--host", emulator.url, "--refresh-token", "-", input='{"a": 1}\n')
    message = 'video-api refresh: error: the JSON on stdin has no "refresh_token" string\n'
    assert outcome(result) == ("", usage("refresh") + message, 2)
    assert emulator.requests == []


@pytest.mark.parametrize(
    "value, stdin, error",
    [
        ("SECRET TOKEN", "", "expected one refresh token in --refresh-token, got several words"),
        ("-", "SECRET TOKEN\n", "expected one refresh token on stdin, got several words"),
        ('{"SECRET": 1}', "", 'the JSON in --refresh-token has no "refresh_token" string'),
        (
            "VIDEO_API_SECRET=1",
            "",
            "no VIDEO_API_REFRESH_TOKEN= line with a token in --refresh-token",
        ),
    ],
)
def test_an_unusable_refresh_token_is_a_usage_error_saying_where_it_came_from(
    emulator: Emulator, value: str, stdin: str, error: str
) -> None:
    result = run("refresh", "--host", emulator.url, "--refresh-token", value, input=stdin)
    message = f"video-api refresh: error: {error}\n"
    assert outcome(result) == ("", usage("refresh") + message, 2)
    assert emulator.requests == []


# -- usage, help, version


def test_version() -> None:
    assert outcome(run("--version")) == (f"video-api {video_api.__version__}\n", "", 0)


@pytest.mark.parametrize(
    "command", ["", "token", "refresh", "serve", "demo", "upload", "videos", "videos list"]
)
def test_every_help_has_examples(command: str) -> None:
    result = run(*command.split(), "--help")
    assert (result.stderr, result.returncode) == ("", 0)
    assert "\nExamples:\n  video-api " in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["token", "--jsno"], "--jsno (did you mean --json?)"),
        (["refresh", "--refresh-token", "t", "--jsno"], "--jsno (did you mean --json?)"),
        (["serve", "--prot", "8080"], "--prot (did you mean --port?) (and 1 value(s) not shown)"),
        (["demo", "--sandbx"], "--sandbx (did you mean --sandbox?)"),
        (["upload", "README.md", "--tilte", "x"], f"--tilte (did you mean --title?) {HIDDEN}"),
        (["videos", "list", "--tga", "x"], f"--tga (did you mean --tag?) {HIDDEN}"),
    ],
    ids=["token", "refresh", "serve", "demo", "upload", "videos list"],
)
def test_misspelled_flag_shows_the_usage_of_its_command(args: List[str], message: str) -> None:
    """The error names the command at fault; a value that may be a secret is not echoed."""
    command = " ".join(args[:2]) if args[0] == "videos" else args[0]
    error = f"video-api {command}: error: unrecognized arguments: {message}\n"
    assert outcome(run(*args, cwd=ROOT)) == ("", usage(command) + error, 2)


def test_stray_value_is_not_echoed(emulator: Emulator) -> None:
    """A key typed without --api-key is an unrecognized argument, counted but not shown."""
    result = run("token", "--host", emulator.url, BAD_KEY, "--jsno")
    message = "--jsno (did you mean --json?) (and 1 value(s) not shown)"
    error = f"video-api token: error: unrecognized arguments: {message}\n"
    assert outcome(result) == ("", usage("token") + error, 2)


def test_help_lists_the_commands() -> None:
    """In a child process: --help exits the process with 0, as in this one."""
    result = run_process("--help")
    assert (result.stderr, result.returncode) == ("", 0)
    listed = re.findall(r"^    ([a-z-]+)", result.stdout, re.M)
    resources = [
        "videos", "tags", "summaries", "watermarks", "upload-tokens", "live-streams",
        "captions", "chapters", "player-themes", "analytics", "webhooks",
    ]  # fmt: skip
    assert listed == ["token", "refresh", "serve", "demo", "upload", *resources]


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["bogus"],
        ["token", "--timeout", "0"],
        ["token", "--timeout", "soon"],
        ["token", "--host", "ftp://example.invalid"],
        ["token", "--host", "http://127.0.0.1:99999"],
        ["token", "--host", "http://127.0.0.1:port"],
        ["token", "--host", "http://[::1"],
        ["token", "--host", "http://127.0.0.1:9", "--sandbox"],
        ["refresh", "--host", "http://127.0.0.1:9"],
        ["serve", "--port", "many"],
        ["serve", "--port", "70000"],
        ["upload", "no-such-movie.mp4"],
        ["videos", "list", "--metadata", "no-equals-sign"],
    ],
    ids=lambda args: " ".join(args) or "no-command",
)
def test_usage_errors_exit_2(args: List[str]) -> None:
    result = run(*args, cwd=ROOT)
    assert result.returncode == 2
    command = " ".join(word for word in args[:2] if re.fullmatch("[a-z][a-z-]*", word))
    command = "" if command == "bogus" else command
    assert result.stderr.startswith(usage(command))
    assert "Traceback" not in result.stderr


# -- serve


@pytest.mark.parametrize("value", ["-5", "0"])
def test_serve_refuses_a_token_lifetime_below_1(value: str) -> None:
    """In a child process: were the value taken, serve would run until a signal."""
    result = run_process("serve", "--token-lifetime", value)
    message = (
        "video-api serve: error: argument --token-lifetime: "
        f"must be a whole number of seconds, at least 1, got '{value}'\n"
    )
    assert outcome(result) == ("", usage("serve") + message, 2)


def test_testing_module_is_serve() -> None:
    """``python -m video_api.testing`` is the same command as ``video-api serve``."""
    alias = run_process("--help", module="video_api.testing")
    assert outcome(alias) == outcome(run("serve", "--help"))


@pytest.fixture
def serve() -> Iterator[subprocess.Popen[str]]:
    """``serve`` in a child process; killed at the end if the test did not stop it."""
    command = ["serve", "--port", "0", "--token-lifetime", "7", "--api-key", "k-123"]
    process = subprocess.Popen(
        [sys.executable, "-m", "video_api", *command],
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=TIMEOUT)


def line_reader(process: subprocess.Popen[str]) -> Callable[[], str]:
    """Reads stdout lines with a deadline each, so a silent child fails the test, not hangs it;
    "" at the end of the output."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    return lambda: lines.get(timeout=TIMEOUT)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_prints_url_and_key_then_stops_on_a_signal(
    serve: subprocess.Popen[str], signum: int
) -> None:
    """Assignments first, then comments; its key and --token-lifetime work; exit 0 on a signal."""
    next_line = line_reader(serve)
    match = re.fullmatch(r"VIDEO_API_URL=(http://127\.0\.0\.1:\d+)\n", next_line())
    assert match
    url = match.group(1)
    assert next_line() == "VIDEO_API_KEY=k-123\n"
    try_it = f"# emulator listening; try: VIDEO_API_KEY=k-123 video-api token --host {url}\n"
    assert next_line() == try_it
    assert next_line() == "# Ctrl-C stops it\n"
    request = urllib.request.Request(
        url + "/auth/api-key",
        data=json.dumps({"apiKey": "k-123"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        assert json.load(response)["expires_in"] == 7
    serve.send_signal(signum)
    assert serve.wait(TIMEOUT) == 0
    assert (next_line(), next_line()) == ("# stopped\n", "")
    assert serve.stderr is not None and serve.stderr.read() == ""


def test_serve_on_a_busy_port_is_one_line(emulator: Emulator) -> None:
    """In a child process: were the port free, serve would run until a signal."""
    result = run_process("serve", "--port", str(emulator.port))
    line = f"could not listen on 127.0.0.1:{emulator.port}: address already in use"
    assert outcome(result) == ("", f"video-api: error: {line}\n", 1)


# -- demo


def demo_lines(first: str) -> str:
    return (
        f"1\\. {first}\n"
        f"2\\. POST /auth/api-key -> access token {SHORT}, refresh token {SHORT}\n"
        f"3\\. POST /auth/refresh -> access token {SHORT}, refresh token {SHORT} "
        r"\(the first refresh token is now spent\)"
        "\n4\\. GET /videos with the new access token, sent by plain urllib -> 200\n"
        "Done: authenticate, refresh, and a call with the refreshed token all worked\\.\n"
    )


def test_demo_runs_offline_and_ignores_the_environment_key() -> None:
    result = run("demo", env={"VIDEO_API_KEY": BAD_KEY})
    assert (result.stderr, result.returncode) == ("", 0)
    started = r"Started the emulator at http://127\.0\.0\.1:\d+ \(offline, with its demo API key\)"
    assert re.fullmatch(demo_lines(started), result.stdout), result.stdout


def test_demo_against_a_host_uses_the_refreshed_token(emulator: Emulator) -> None:
    result = run("demo", "--host", emulator.url, "--api-key", emulator.api_key)
    assert (result.stderr, result.returncode) == ("", 0)
    using = f"Using {re.escape(emulator.url)} with your API key"
    assert re.fullmatch(demo_lines(using), result.stdout), result.stdout
    counts = [emulator.count(path) for path in ("/auth/api-key", "/auth/refresh", "/videos")]
    assert (counts, emulator.tokens_issued) == ([1, 1, 1], 2)


def test_demo_with_a_host_and_no_key_is_a_usage_error(emulator: Emulator) -> None:
    result = run("demo", "--host", emulator.url)
    message = f"the demo against {emulator.url} needs an API key: {KEY_HINT}"
    assert outcome(result) == ("", usage("demo") + f"video-api demo: error: {message}\n", 2)
    assert emulator.requests == []


def test_demo_with_a_key_and_no_host_is_a_usage_error() -> None:
    result = run("demo", "--api-key", BAD_KEY)
    message = "--api-key needs --host URL or --sandbox (else the demo is offline)"
    assert outcome(result) == ("", usage("demo") + f"video-api demo: error: {message}\n", 2)


def test_demo_with_a_refused_key_is_one_line_after_its_progress(emulator: Emulator) -> None:
    result = run("demo", "--host", emulator.url, env={"VIDEO_API_KEY": BAD_KEY})
    line = (
        f"could not get a token from {emulator.url}: the API key was refused "
        "(400 Bad Request: The user credentials were incorrect.)"
    )
    progress = f"1. Using {emulator.url} with your API key\n"
    assert outcome(result) == (progress, f"video-api: error: {line}\n", 1)


# -- resource commands: read from the API classes, run against the emulator


def api(emulator: Emulator, *args: str, input: str = "") -> subprocess.CompletedProcess[str]:
    """``video-api ARGS --host <emulator>``, its API key in VIDEO_API_KEY."""
    return run(*args, "--host", emulator.url, input=input, env={"VIDEO_API_KEY": emulator.api_key})


def sdk(emulator: Emulator) -> video_api.ApiClient:
    config = video_api.Configuration(host=emulator.url, api_key=emulator.api_key)
    return video_api.ApiClient(config)


def as_json(answer: Any) -> str:
    """What a command prints for one object when piped: the API's JSON."""
    return json.dumps(answer.to_dict(), indent=2, ensure_ascii=False) + "\n"


def sent(emulator: Emulator) -> List[Tuple[str, str, Any]]:
    """(method, path and query, JSON body or None) of each request, in arrival order."""
    return [
        (r.method, r.path, r.json() if r.headers.get_content_type() == "application/json" else None)
        for r in emulator.requests
    ]


def test_videos_create_get_update_delete(emulator: Emulator) -> None:
    created = api(
        emulator, "videos", "create", "--title", "Maths", "--tag", "maths", "--tag", "algebra",
        "--metadata", "level=1", "--no-public",
    )  # fmt: skip
    assert (created.stderr, created.returncode) == ("", 0)
    video_id = json.loads(created.stdout)["videoId"]
    body = {"title": "Maths", "public": False, "tags": ["maths", "algebra"]}
    assert sent(emulator) == [
        ("POST", "/videos", {**body, "metadata": [{"key": "level", "value": "1"}]})
    ]
    with sdk(emulator) as client:
        videos = VideosApi(client)
        assert created.stdout == as_json(videos.get(video_id))
        assert outcome(api(emulator, "videos", "get", video_id)) == (
            as_json(videos.get(video_id)), "", 0,
        )  # fmt: skip
        updated = api(emulator, "videos", "update", video_id, "--title", "Algebra", "--public")
        assert outcome(updated) == (as_json(videos.get(video_id)), "", 0)
    patch = [body for method, _, body in sent(emulator) if method == "PATCH"]
    assert patch == [{"title": "Algebra", "public": True}]
    assert outcome(api(emulator, "videos", "delete", video_id)) == ("", "", 0)
    line = (
        f"could not retrieve a video object (GET /videos/{video_id} at {emulator.url}): "
        "the server answered 404 Not Found: The requested resource was not found."
    )
    assert outcome(api(emulator, "videos", "get", video_id)) == (
        "",
        f"video-api: error: {line}\n",
        1,
    )


def test_videos_list_filters_as_the_sdk_does(emulator: Emulator) -> None:
    """--tag and --metadata repeat; the page is the API's JSON, as the SDK's method reads it."""
    level = [{"key": "level", "value": "1"}]
    with sdk(emulator) as client:
        videos = VideosApi(client)
        wanted = videos.create(
            {"title": "Algebra 1", "tags": ["maths", "algebra"], "metadata": level}
        )
        videos.create({"title": "Algebra 2", "tags": ["maths"], "metadata": level})
        videos.create({"title": "Geometry", "tags": ["maths", "algebra"], "metadata": level})
        emulator.clear()
        result = api(
            emulator, "videos", "list", "--tag", "maths", "--tag", "algebra",
            "--metadata", "level=1", "--title", "Algebra",
        )  # fmt: skip
        page = videos.list(tags=["maths", "algebra"], metadata={"level": "1"}, title="Algebra")
    assert outcome(result) == (as_json(page), "", 0)
    assert [video["videoId"] for video in json.loads(result.stdout)["data"]] == [wanted.video_id]
    cli, ours = sent(emulator)
    assert cli == ours


def test_list_all_prints_json_lines_across_pages(emulator: Emulator) -> None:
    with sdk(emulator) as client:
        videos = VideosApi(client)
        ids = [videos.create({"title": f"video {n}"}).video_id for n in range(30)]
        expected = "".join(video.to_json() + "\n" for video in video_api.paginate(videos.list))
    emulator.clear()
    result = api(emulator, "videos", "list", "--all", "--page-size", "7")
    assert outcome(result) == (expected, "", 0)
    assert [json.loads(line)["videoId"] for line in result.stdout.splitlines()] == ids
    pages = [("GET", f"/videos?currentPage={n}&pageSize=7", None) for n in range(1, 6)]
    assert sent(emulator) == pages


class Account(Dict[str, str]):
    """The ids of one side's resources: a video with English captions and French chapters,
    a live stream, a player theme, a webhook (on loopback) and an upload token."""


ACCOUNT = ("video", "stream", "player", "hook", "token")


def make_account(client: video_api.ApiClient) -> Account:
    video_id = VideosApi(client).create({"title": "Maths", "tags": ["maths"]}).video_id
    vtt = Path(f"{video_id}.vtt")  # in the working directory
    vtt.write_bytes(b"WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nHello\n")
    try:
        CaptionsApi(client).upload(video_id, "en", str(vtt))
        ChaptersApi(client).upload(video_id, "fr", str(vtt))
    finally:
        vtt.unlink()
    hook = {"events": [EVENT], "url": "http://127.0.0.1:9/hook"}
    return Account(
        video=video_id,
        stream=LiveStreamsApi(client).create({"name": "Show"}).live_stream_id or "",
        player=PlayerThemesApi(client).create({"name": "Dark"}).player_id or "",
        hook=WebhooksApi(client).create(hook).webhook_id or "",
        token=UploadTokensApi(client).create_token({"ttl": 0}).token or "",
    )


EVENT = "video.encoding.quality.completed"
Call = Tuple[List[str], Callable[[video_api.ApiClient], Any]]


def reading_calls(ids: Account) -> List[Call]:
    """(command, the same call through the SDK) for actions that change nothing."""
    video_id, stream, player, hook, token = (ids[k] for k in ACCOUNT)
    return [
        (["live-streams", "list", "--name", "Show"], lambda c: LiveStreamsApi(c).list(name="Show")),
        (["live-streams", "get", stream], lambda c: LiveStreamsApi(c).get(stream)),
        (["player-themes", "list"], lambda c: PlayerThemesApi(c).list()),
        (["player-themes", "get", player], lambda c: PlayerThemesApi(c).get(player)),
        (["webhooks", "list", "--events", EVENT], lambda c: WebhooksApi(c).list(events=EVENT)),
        (["webhooks", "get", hook], lambda c: WebhooksApi(c).get(hook)),
        (
            ["upload-tokens", "list", "--sort-by", "ttl"],
            lambda c: UploadTokensApi(c).list(sort_by="ttl"),
        ),
        (["upload-tokens", "get", token], lambda c: UploadTokensApi(c).get_token(token)),
        (["captions", "list", video_id], lambda c: CaptionsApi(c).list(video_id)),
        (["captions", "get", video_id, "en"], lambda c: CaptionsApi(c).get(video_id, "en")),
        (
            ["chapters", "list", video_id, "--page-size", "5"],
            lambda c: ChaptersApi(c).list(video_id, page_size=5),
        ),
        (["chapters", "get", video_id, "fr"], lambda c: ChaptersApi(c).get(video_id, "fr")),
        (["tags", "list", "--value", "maths"], lambda c: TagsApi(c).list(value="maths")),
        (
            shlex.split(
                "analytics get-aggregated-metrics play count --from 2024-01-01T00:00:00+00:00 "
                "--to 2024-02-01T00:00:00+00:00 "  # else "now", a second apart on both sides
                "--filter-by country=FR --filter-by country=DE --filter-by tag=maths --unique"
            ),
            lambda c: AnalyticsApi(c).get_aggregated_metrics(
                "play",
                "count",
                _from=datetime(2024, 1, 1, tzinfo=timezone.utc),
                to=datetime(2024, 2, 1, tzinfo=timezone.utc),
                unique=True,
                filter_by=FilterBy(country=["FR", "DE"], tag="maths"),
            ),
        ),
    ]


def changing_calls(ids: Account) -> List[Call]:
    """(command, the same call through the SDK) for actions that create, change or delete."""
    video_id, stream, player, hook, token = (ids[k] for k in ACCOUNT)
    return [
        (
            ["live-streams", "create", "--name", "Show", "--public"],
            lambda c: LiveStreamsApi(c).create({"name": "Show", "public": True}),
        ),
        (
            ["live-streams", "update", stream, "--name", "Live"],
            lambda c: LiveStreamsApi(c).update(stream, {"name": "Live"}),
        ),
        (
            ["player-themes", "create", "--name", "Dark", "--link", "#fff", "--no-hide-title"],
            lambda c: PlayerThemesApi(c).create(
                {"name": "Dark", "link": "#fff", "hideTitle": False}
            ),
        ),
        (
            ["player-themes", "update", player, "--force-loop"],
            lambda c: PlayerThemesApi(c).update(player, {"forceLoop": True}),
        ),
        (
            ["webhooks", "create", "--event", EVENT, "--url", "https://example.com/hook"],
            lambda c: WebhooksApi(c).create({"events": [EVENT], "url": "https://example.com/hook"}),
        ),
        (
            ["upload-tokens", "create", "--ttl", "60"],
            lambda c: UploadTokensApi(c).create_token({"ttl": 60}),
        ),
        (
            ["captions", "update", video_id, "en", "--default"],
            lambda c: CaptionsApi(c).update(video_id, "en", {"default": True}),
        ),
        (["webhooks", "delete", hook], lambda c: WebhooksApi(c).delete(hook)),
        (
            ["upload-tokens", "delete-token", token],
            lambda c: UploadTokensApi(c).delete_token(token),
        ),
        (["captions", "delete", video_id, "en"], lambda c: CaptionsApi(c).delete(video_id, "en")),
        (["chapters", "delete", video_id, "fr"], lambda c: ChaptersApi(c).delete(video_id, "fr")),
        (["live-streams", "delete", stream], lambda c: LiveStreamsApi(c).delete(stream)),
        (["player-themes", "delete", player], lambda c: PlayerThemesApi(c).delete(player)),
    ]


#: What differs between two objects made alike a moment apart (besides their ids).
VOLATILE = ("createdAt", "updatedAt", "expiresAt", "streamKey", "signatureSecret")


def as_made_by_the_cli(expected: str, printed: str, swaps: Dict[str, str]) -> str:
    """The SDK side's JSON with the CLI side's ids, and with the values that differ between
    two objects made alike (a create's id, times, secrets) taken from what the CLI printed."""
    for ours, theirs in swaps.items():
        expected = expected.replace(ours, theirs)
    try:
        shown, wanted = json.loads(printed), json.loads(expected)
    except ValueError:
        return expected
    if isinstance(shown, dict) and isinstance(wanted, dict):
        for name in [*VOLATILE, "liveStreamId", "playerId", "webhookId", "token"]:
            if isinstance(shown.get(name), str) and isinstance(wanted.get(name), str):
                expected = expected.replace(wanted[name], shown[name])
    return expected


def test_every_resource_runs_as_the_sdk_does(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each action sends what the SDK's method sends and prints what it returns, as JSON
    (nothing for an empty answer). Actions that change nothing run for both on the same
    resources; the others on two accounts made alike, the CLI's and the SDK's, compared with
    the ids swapped."""
    monkeypatch.chdir(tmp_path)
    with sdk(emulator) as client:
        theirs, ours = make_account(client), make_account(client)
    swapped = {ours[name]: theirs[name] for name in ours}
    phases = [
        (reading_calls(theirs), reading_calls(theirs), {}),
        (changing_calls(theirs), changing_calls(ours), swapped),
    ]
    for calls, same, swaps in phases:
        emulator.clear()
        results = [outcome(api(emulator, *command)) for command, _ in calls]
        cli_sent = sent(emulator)
        emulator.clear()
        with sdk(emulator) as client:
            answers = [call(client) for _, call in same]
        names = [" ".join(c[0]) for c in calls]
        expected = [
            (
                "" if answer is None else as_made_by_the_cli(as_json(answer), result[0], swaps),
                "",
                0,
            )
            for answer, result in zip(answers, results)
        ]
        assert dict(zip(names, results)) == dict(zip(names, expected))
        sdk_sent = [
            (method, as_made_by_the_cli(path, "", swaps), body)
            for method, path, body in sent(emulator)
        ]
        assert sorted(cli_sent, key=repr) == sorted(sdk_sent, key=repr)


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [
        ("videos", [], "the following arguments are required: ACTION"),
        ("videos get", [], "the following arguments are required: VIDEO_ID"),
        ("videos create", [], "the following arguments are required: --title"),
        ("videos list", ["--page-size", "many"], "argument --page-size: invalid int value"),
        ("videos list", ["--sort-order", "up"], "argument --sort-order: invalid choice: 'up'"),
        ("live-streams create", ["--name", "x", "--restream", "{"], "argument --restream: "),
        ("upload", ["README.md", "--chunk-size", "0"], "argument --chunk-size: must be"),
        ("upload", ["README.md", "--video-id", "v", "--upload-token", "t"], "argument --upl"),
    ],
    ids=lambda value: value if isinstance(value, str) else " ".join(value),
)
def test_resource_usage_errors(
    command: str,
    args: List[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In-process (argparse's own checks on the declared types): exit 2 with the command's
    usage and what is wrong; the chunk size is checked before any video is created."""
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit):
        cli.main([*command.split(), "--help"])
    expected = capsys.readouterr().out.split("\n\n")[0] + f"\nvideo-api {command}: error: {message}"
    with pytest.raises(SystemExit) as exited:
        cli.main([*command.split(), *args])
    assert exited.value.code == 2
    assert capsys.readouterr().err.startswith(expected)


def test_update_with_nothing_to_change_is_a_usage_error(emulator: Emulator) -> None:
    result = api(emulator, "videos", "update", "vi1")
    message = "nothing to change: give at least one of --player-id, --title, --description..."
    expected = usage("videos update") + f"video-api videos update: error: {message}\n"
    assert outcome(result) == ("", expected, 2)
    assert emulator.requests == []


# -- credentials of the resource commands


def test_resource_key_from_stdin_over_the_environment(emulator: Emulator) -> None:
    result = run(
        "videos", "list", "--host", emulator.url, "--api-key", "-",
        input=emulator.api_key + "\n", env={"VIDEO_API_KEY": BAD_KEY},
    )  # fmt: skip
    assert (result.stderr, result.returncode) == ("", 0)
    basic = base64.b64encode(f"{emulator.api_key}:".encode()).decode()
    assert [r.headers["Authorization"] for r in emulator.requests] == [f"Basic {basic}"]


def test_resource_key_from_the_environment_loses_its_newline(emulator: Emulator) -> None:
    result = run(
        "tags", "list", "--host", emulator.url, env={"VIDEO_API_KEY": emulator.api_key + "\n"}
    )
    assert (result.stderr, result.returncode) == ("", 0)


def test_resource_without_a_key_says_how_to_give_one(emulator: Emulator) -> None:
    result = run("videos", "list", "--host", emulator.url)
    expected = (
        usage("videos list") + f"video-api videos list: error: no API key given: {KEY_HINT}\n"
    )
    assert outcome(result) == ("", expected, 2)
    assert emulator.requests == []


def test_resource_with_a_refused_key_is_one_line(emulator: Emulator) -> None:
    result = run("videos", "list", "--host", emulator.url, "--api-key", BAD_KEY)
    line = (
        f"could not list all video objects (GET /videos at {emulator.url}): "
        "the server answered 401 Unauthorized: The API key is invalid."
    )
    assert outcome(result) == ("", f"video-api: error: {line}\n", 1)


@pytest.mark.parametrize("action", ["get", "delete"])
def test_upload_token_is_not_shown_in_errors(emulator: Emulator, action: str) -> None:
    """An upload token is a secret: its path is told without it."""
    token = "toSECRET4k0jvEUuaTdRAEjQ4Jf"
    result = api(emulator, "upload-tokens", action, token)
    what = "retrieve upload token" if action == "get" else "delete an upload token"
    line = (
        f"could not {what} ({action.upper()} /upload-tokens/*** at {emulator.url}): "
        "the server answered 404 Not Found: The requested resource was not found."
    )
    assert outcome(result) == ("", f"video-api: error: {line}\n", 1)


@pytest.mark.parametrize(
    ("args", "variable", "host"),
    [([], "", "https://ws.api.video"), (["--sandbox"], "", "https://sandbox.api.video"),
     (["--host", "http://127.0.0.1:9/"], "", "http://127.0.0.1:9"),
     ([], "http://127.0.0.1:8/", "http://127.0.0.1:8"),
     (["--sandbox"], "http://127.0.0.1:8", "https://sandbox.api.video"),
     (["--host", "http://127.0.0.1:9"], "http://127.0.0.1:8", "http://127.0.0.1:9")],
    ids=["production", "sandbox", "host", "variable", "sandbox-over-variable",
         "host-over-variable"],
)  # fmt: skip
def test_resource_host_choice(
    args: List[str], variable: str, host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parsed in-process: nothing may be sent to api.video from the tests. VIDEO_API_URL
    (as `serve` prints it) when neither --host nor --sandbox is given."""
    monkeypatch.setenv("VIDEO_API_URL", variable)  # empty: as if unset
    argv = ["videos", "list", *args]
    assert cli._host(cli.build_parser(argv).parse_args(argv)) == host


@pytest.mark.parametrize("command", ["videos list", "token"])
@pytest.mark.usefixtures("loopback_only")
def test_host_from_video_api_url(emulator: Emulator, command: str) -> None:
    """``eval "$(video-api serve)"``-style variables: the key goes where the URL says, never
    to the production host (which the loopback_only guard would refuse)."""
    env = {"VIDEO_API_URL": emulator.url, "VIDEO_API_KEY": emulator.api_key}
    result = run(*command.split(), env=env)
    assert (result.stderr, result.returncode) == ("", 0)
    assert [r.path for r in emulator.requests] == [
        "/videos" if command == "videos list" else "/auth/api-key"
    ]


def test_host_flag_wins_over_video_api_url(emulator: Emulator, closed_port: int) -> None:
    env = {"VIDEO_API_URL": f"http://127.0.0.1:{closed_port}"}
    result = run("token", "--host", emulator.url, "--api-key", emulator.api_key, env=env)
    assert (result.stderr, result.returncode) == ("", 0)
    assert emulator.count("/auth/api-key") == 1


@pytest.mark.parametrize("command", ["videos list", "token", "upload README.md"])
@pytest.mark.usefixtures("loopback_only")
def test_invalid_video_api_url_is_a_usage_error(emulator: Emulator, command: str) -> None:
    env = {"VIDEO_API_URL": "ftp://127.0.0.1/", "VIDEO_API_KEY": emulator.api_key}
    result = run(*command.split(), env=env, cwd=ROOT)
    name = " ".join(command.split()[:2]) if command.startswith("videos") else command.split()[0]
    message = "environment variable VIDEO_API_URL: expected an http(s) URL, got 'ftp://127.0.0.1/'"
    assert outcome(result) == ("", usage(name) + f"video-api {name}: error: {message}\n", 2)


def test_every_action_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    """In-process (a subprocess each would take seconds): ``RESOURCE ACTION --help``."""
    for command, actions in cli.resources().items():
        for name in actions:
            with pytest.raises(SystemExit) as exited:
                cli.main([command, name, "--help"])
            assert exited.value.code == 0
            assert f"\nExamples:\n  video-api {command} {name}" in capsys.readouterr().out


# -- on a terminal: a table and key/value lines

needs_pty = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")


def run_tty(*args: str, env: Dict[str, str], script: str = "") -> Tuple[str, str, int]:
    """The command with stdout (or, with ``script``, stderr) on a pseudo-terminal:
    (what the terminal shows, what the other stream got, exit code). ``script`` runs the
    command's ``main`` after its own lines, instead of ``python -m video_api``."""
    controller, terminal = pty.openpty()
    command = ["-c", script + "\nsys.exit(main(sys.argv[1:]))"] if script else ["-m", "video_api"]
    process = subprocess.Popen(
        [sys.executable, *command, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if script else terminal,
        stderr=terminal if script else subprocess.PIPE,
        env=cli_env(env),
    )
    os.close(terminal)
    shown, deadline = b"", time.monotonic() + TIMEOUT
    try:
        while select.select([controller], [], [], max(0.0, deadline - time.monotonic()))[0]:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the command has closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        other = process.communicate(timeout=max(0.0, deadline - time.monotonic()))[
            0 if script else 1
        ]
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
            process.wait()
    return shown.decode().replace("\r\n", "\n"), other.decode(), process.returncode


@needs_pty
def test_terminal_lists_as_a_table(emulator: Emulator) -> None:
    with sdk(emulator) as client:
        videos = [
            VideosApi(client).create({"title": title})
            for title in ("Algebra", "Geometry and more", "Ratios")
        ]
    key = {"VIDEO_API_KEY": emulator.api_key}
    rows = [("videoId", "title", "createdAt")]
    rows += [
        (v.video_id, v.title or "", v.created_at.isoformat() if v.created_at else "")
        for v in videos
    ]
    table = "".join(f"{a:24}  {b:17}  {c}\n" for a, b, c in rows)
    listed = run_tty("videos", "list", "--host", emulator.url, env=key)
    assert listed == (table + "page 1 of 1, 3 in all\n", "", 0)
    everything = run_tty(
        "videos", "list", "--all", "--page-size", "2", "--host", emulator.url, env=key
    )
    assert everything == (table, "", 0)
    forced = run_tty("videos", "list", "--all", "--json", "--host", emulator.url, env=key)
    assert [json.loads(line)["title"] for line in forced[0].splitlines()] == [
        "Algebra",
        "Geometry and more",
        "Ratios",
    ]


@needs_pty
def test_terminal_shows_an_object_as_key_value_lines(emulator: Emulator) -> None:
    level = [{"key": "level", "value": "1"}]
    with sdk(emulator) as client:
        video = VideosApi(client).create(
            {"title": "Maths", "tags": ["maths", "algebra"], "metadata": level}
        )
    key = {"VIDEO_API_KEY": emulator.api_key}
    shown, stderr, code = run_tty("videos", "get", video.video_id, "--host", emulator.url, env=key)
    assert (stderr, code) == ("", 0)
    width = len("assets.thumbnail")  # the longest name
    lines = shown.splitlines()
    assert lines[0] == f"{'videoId':{width}}  {video.video_id}"
    player = f"{emulator.url}/vod/{video.video_id}"
    for name, text in [
        ("title", "Maths"),
        ("tags", "maths, algebra"),
        ("metadata", "level=1"),
        ("public", "true"),
        ("assets.player", player),
    ]:
        assert f"{name:{width}}  {text}" in lines
    fields = video.to_dict()
    names = [name for name, value in fields.items() if not isinstance(value, dict)]
    names += [
        f"{name}.{inner}"
        for name, value in fields.items()
        if isinstance(value, dict)
        for inner in value
    ]
    assert sorted(line.split(" ")[0] for line in lines) == sorted(names)  # a line each
    deleted = run_tty("videos", "delete", video.video_id, "--host", emulator.url, env=key)
    assert deleted == ("Delete a video object: done.\n", "", 0)


@needs_pty
def test_terminal_escapes_control_characters(emulator: Emulator) -> None:
    """Text from the server cannot move the cursor, color or break a line on the terminal:
    C0, DEL and C1 characters are shown as Python's repr shows them."""
    title = "line1\nline2\x1b[31mRED"
    escaped = r"line1\nline2\x1b[31mRED"
    with sdk(emulator) as client:
        video = VideosApi(client).create(
            {"title": title, "description": "\x07bell\x7f\x9b2J", "tags": ["a\tb", "\x85c"]}
        )
    key = {"VIDEO_API_KEY": emulator.api_key}
    created = video.created_at.isoformat() if video.created_at else ""
    table = "".join(
        f"{a:24}  {b:{len(escaped)}}  {c}\n"
        for a, b, c in [("videoId", "title", "createdAt"), (video.video_id, escaped, created)]
    )
    listed = run_tty("videos", "list", "--host", emulator.url, env=key)
    assert listed == (table + "page 1 of 1, 1 in all\n", "", 0)
    shown, stderr, code = run_tty("videos", "get", video.video_id, "--host", emulator.url, env=key)
    assert (stderr, code) == ("", 0)
    width = len("assets.thumbnail")
    lines = shown.splitlines()
    for name, text in [
        ("title", escaped),
        ("description", r"\x07bell\x7f\x9b2J"),
        ("tags", r"a\tb, \x85c"),
    ]:
        assert f"{name:{width}}  {text}" in lines
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", shown), repr(shown)


def test_error_line_escapes_control_characters(emulator: Emulator) -> None:
    """The server's words in an error stay on one line, with no escape sequence."""
    problem = {"status": 404, "title": "No\nsuch\x1b[2J video", "type": "about:blank"}
    emulator.add_fault("/videos/vi1", Fault.status(404, problem))
    result = api(emulator, "videos", "get", "vi1")
    line = (
        f"could not retrieve a video object (GET /videos/vi1 at {emulator.url}): "
        r"the server answered 404 Not Found: No\nsuch\x1b[2J video"
    )
    assert outcome(result) == ("", f"video-api: error: {line}\n", 1)


# -- upload


@pytest.fixture
def movie(tmp_path: Path) -> Path:
    path = tmp_path / "movie.mp4"
    path.write_bytes(os.urandom(200_000))
    return path


def test_upload_creates_the_video_and_prints_its_id_and_player(
    emulator: Emulator, movie: Path
) -> None:
    """Titled with the file's name; the id and the player URL, one a line; --json: the video."""
    plain = api(emulator, "upload", str(movie))
    with sdk(emulator) as client:
        (video,) = VideosApi(client).list().data or ()
    posted = [r.json() for r in emulator.requests if (r.method, r.path) == ("POST", "/videos")]
    assert posted == [{"title": "movie.mp4"}]
    assert emulator.count(f"/videos/{video.video_id}/source", "POST") >= 1
    whole = api(emulator, "upload", str(movie), "--title", "Maths, chapter 1", "--json")
    assert (whole.stderr, whole.returncode) == ("", 0)
    answer = json.loads(whole.stdout)
    assert emulator.requests[-2].json() == {"title": "Maths, chapter 1"}
    assert emulator.requests[-1].path == f"/videos/{answer['videoId']}/source"
    player = answer["assets"]["player"].replace(answer["videoId"], video.video_id)
    assert outcome(plain) == (f"{video.video_id}\n{player}\n", "", 0)


@pytest.mark.parametrize(
    ("name", "message"),
    [("empty.mp4", "the file 'empty.mp4' is empty"),
     ("folder", "'folder' is a directory, not a file")],
    ids=["empty", "directory"],
)  # fmt: skip
def test_upload_refuses_an_empty_file_or_a_directory_before_sending(
    emulator: Emulator, tmp_path: Path, name: str, message: str
) -> None:
    """A usage error, as for a missing file: no video is created for nothing."""
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "folder").mkdir()
    result = run(
        "upload", name, "--host", emulator.url, env={"VIDEO_API_KEY": emulator.api_key},
        cwd=tmp_path,
    )  # fmt: skip
    expected = usage("upload") + f"video-api upload: error: argument FILE: {message}\n"
    assert outcome(result) == ("", expected, 2)
    assert emulator.requests == []


def test_upload_with_an_upload_token_needs_no_key(emulator: Emulator, movie: Path) -> None:
    with sdk(emulator) as client:
        token = UploadTokensApi(client).create_token({"ttl": 0}).token
    assert token
    emulator.clear()
    result = run("upload", str(movie), "--upload-token", token, "--host", emulator.url)
    assert (result.stderr, result.returncode) == ("", 0)
    assert len(result.stdout.splitlines()) == 2
    uploads = [r for r in emulator.requests if r.path.startswith("/upload?")]
    assert uploads and all("Authorization" not in r.headers for r in uploads)
    assert [r.path for r in emulator.requests if r.method != "POST" or r.path == "/videos"] == []


UPLOAD_KEYWORDS = set(inspect.signature(VideosApi.upload).parameters) >= {"chunk_size", "progress"}


@pytest.mark.skipif(
    UPLOAD_KEYWORDS, reason="the upload engine takes --chunk-size and --concurrency"
)
def test_upload_says_when_it_cannot_use_chunks(emulator: Emulator, movie: Path) -> None:
    result = api(emulator, "upload", str(movie), "--chunk-size", "5242880", "--concurrency", "2")
    note = (
        "video-api: note: --chunk-size and --concurrency ignored: "
        "this video_api sends the file in one request\n"
    )
    assert (result.stderr, result.returncode) == (note, 0)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_upload_stops_on_ctrl_c_with_130_and_says_how_far(emulator: Emulator, movie: Path) -> None:
    with sdk(emulator) as client:
        video_id = VideosApi(client).create({"title": "Maths"}).video_id
    source = f"/videos/{video_id}/source"
    emulator.add_fault(source, Fault.stall(20), times=10)
    process = subprocess.Popen(
        [sys.executable, "-m", "video_api", "upload", str(movie), "--video-id", video_id,
         "--host", emulator.url],
        env=cli_env({"VIDEO_API_KEY": emulator.api_key}),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + TIMEOUT
        while emulator.count(source) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    line = (
        f"video-api: interrupted; the upload to video {video_id} did not finish: to try again, "
        f"run video-api upload {movie} --video-id {video_id} --host {emulator.url}\n"
    )
    assert (stdout, stderr, process.returncode) == ("", line, 130)


#: The chunked upload engine as it will call back: progress(uploaded, total) after each part;
#: with FAKE_CTRL_C set, Ctrl-C comes half way.
FAKE_ENGINE = """
import os, sys
from video_api.__main__ import main
from video_api.upload import ChunkedUploads

original = ChunkedUploads.upload

def upload(self, video_id, file, *, chunk_size=None, concurrency=1, progress=None, **options):
    for done in (0, 100_000, 200_000):
        progress(done, 200_000)
        if done and os.environ.get("FAKE_CTRL_C"):
            raise KeyboardInterrupt
    print(f"chunk_size={chunk_size} concurrency={concurrency}")
    return original(self, video_id, file, **options)

ChunkedUploads.upload = upload
"""


@needs_pty
def test_upload_on_a_terminal_shows_a_progress_bar(emulator: Emulator, movie: Path) -> None:
    """Once the upload method takes them, the CLI passes --chunk-size, --concurrency and a
    progress callback, drawn on stderr when that is a terminal."""
    args = ["upload", str(movie), "--chunk-size", "5242880", "--concurrency", "2"]
    env = {"VIDEO_API_KEY": emulator.api_key}
    shown, stdout, code = run_tty(*args, "--host", emulator.url, env=env, script=FAKE_ENGINE)
    assert code == 0, shown
    assert stdout.startswith("chunk_size=5242880 concurrency=2\nvi")
    last = shown.split("\r")[-1]
    assert re.fullmatch(
        r"\[#{24}\] 100%  200\.0 kB of 200\.0 kB  [\d.]+ [kMG]?B/s  done\x1b\[K\n", last
    ), repr(shown)


@needs_pty
def test_upload_stopped_on_a_terminal_says_how_much_was_uploaded(
    emulator: Emulator, movie: Path
) -> None:
    with sdk(emulator) as client:
        video_id = VideosApi(client).create({"title": "Maths"}).video_id
    args = ["upload", str(movie), "--video-id", video_id, "--host", emulator.url]
    env = {"VIDEO_API_KEY": emulator.api_key, "FAKE_CTRL_C": "1"}
    shown, stdout, code = run_tty(*args, env=env, script=FAKE_ENGINE)
    message = (
        "video-api: interrupted with 100.0 kB of 200.0 kB (50%) uploaded; the upload to video "
        f"{video_id} did not finish: to try again, run video-api upload {movie} "
        f"--video-id {video_id} --host {emulator.url}\n"
    )
    bars = shown[: -len(message)]  # the bar's drawings, if it was drawn, then a new line
    assert shown.endswith(message) and re.fullmatch(r"(\r\[[#-]{24}\][^\r\n]*)*\n?", bars)
    assert (stdout, code) == ("", 130)


@needs_pty
def test_upload_stopped_says_to_try_again_with_the_same_options(
    emulator: Emulator, movie: Path
) -> None:
    """The command to try again goes to the same host, in the same parts; without the key."""
    with sdk(emulator) as client:
        video_id = VideosApi(client).create({"title": "Maths"}).video_id
    args = [
        "upload", str(movie), "--video-id", video_id, "--host", emulator.url,
        "--chunk-size", "5242880", "--concurrency", "2", "--timeout", "2.5",
        "--api-key", emulator.api_key,
    ]  # fmt: skip
    shown, stdout, code = run_tty(*args, env={"FAKE_CTRL_C": "1"}, script=FAKE_ENGINE)
    again = (
        f"run video-api upload {movie} --video-id {video_id} --host {emulator.url} "
        "--chunk-size 5242880 --concurrency 2 --timeout 2.5\n"
    )
    assert shown.endswith(f"did not finish: to try again, {again}"), shown
    assert emulator.api_key not in shown
    assert (stdout, code) == ("", 130)


@pytest.mark.parametrize(
    ("args", "variable", "again"),
    [
        (["--video-id", "vi1"], "", "--video-id vi1"),
        (["--video-id", "vi1", "--sandbox", "--chunk-size", "6000000"], "",
         "--video-id vi1 --sandbox --chunk-size 6000000"),
        (["--video-id", "vi1"], "http://127.0.0.1:8/", "--video-id vi1 --host http://127.0.0.1:8"),
        (["--upload-token", "toSECRET4k0jvEUuaTdRAEjQ4Jf", "--host", "http://127.0.0.1:9",
          "--concurrency", "3"], "",
         "--upload-token TOKEN --host http://127.0.0.1:9 --concurrency 3, "
         "TOKEN being the same upload token"),
    ],
    ids=["production", "sandbox", "variable", "upload-token"],
)  # fmt: skip
def test_upload_stopped_names_the_host_it_went_to(
    args: List[str],
    variable: str,
    again: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In-process, the upload stopped as it starts, and any host but loopback unresolvable:
    nothing is sent to api.video. Never the key or the upload token in the command."""

    def ctrl_c(
        self: Any,
        target: str,
        file: str,
        *,
        chunk_size: Any = None,
        concurrency: Any = None,
        progress: Any = None,
    ) -> None:
        raise KeyboardInterrupt

    def no_network(host: str, *args: Any, **kwargs: Any) -> Any:
        raise OSError(f"the test allows no network, not {host}")

    monkeypatch.setattr(VideosApi, "upload", ctrl_c)
    monkeypatch.setattr(VideosApi, "upload_with_upload_token", ctrl_c)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setenv("VIDEO_API_URL", variable)
    monkeypatch.chdir(ROOT)
    assert cli.main(["upload", "README.md", *args, "--api-key", BAD_KEY]) == 130
    where = " to video vi1" if "vi1" in args else ""
    expected = (
        f"video-api: interrupted; the upload{where} did not finish: to try again, "
        f"run video-api upload README.md {again}\n"
    )
    assert capsys.readouterr() == ("", expected)

"""The ``video-api`` command, run as ``python -m video_api`` against an emulator in this process.

Pinned down, exactly: what each command prints to stdout and stderr, and its exit code. An
expected failure is one ``video-api: error:`` line and exit 1, never a traceback unless
``--debug``; a usage error is the usage of the command at fault and exit 2; no API key or
token is ever part of an error. Every subprocess is bounded by ``TIMEOUT``.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import pytest

import video_api
from video_api.testing import Emulator, Fault

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 30.0  # seconds for any one command or line of output; they take a second or so
BAD_KEY = "wrong-key-7f3a9c2e51"
KEY_HINT = "use --api-key KEY, --api-key - (read from stdin) or set VIDEO_API_KEY"
TOKEN = r"[A-Za-z0-9_-]{20,}"
SHORT = r"[A-Za-z0-9_-]{4}\.\.\."
ASSIGNMENTS = re.compile(f"VIDEO_API_ACCESS_TOKEN=({TOKEN})\nVIDEO_API_REFRESH_TOKEN=({TOKEN})\n")


def cli_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """This checkout first on the path; no VIDEO_API_* from the caller; fixed help width."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEO_API_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env["COLUMNS"] = "100"
    return {**env, **(extra or {})}


def run(
    *args: str, input: str = "", env: Optional[Dict[str, str]] = None, module: str = "video_api"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        input=input,
        env=cli_env(env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def usage(command: str = "") -> str:
    """The usage block of ``video-api [COMMAND]``, as its --help starts."""
    return run(*filter(None, [command]), "--help").stdout.split("\n\n")[0] + "\n"


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
    """stdout is exactly one line, a token the API accepts; nothing on stderr."""
    result = run("token", "--host", emulator.url, "--api-key", emulator.api_key)
    assert (result.stderr, result.returncode) == ("", 0)
    match = re.fullmatch(f"({TOKEN})\n", result.stdout)
    assert match, result.stdout
    assert videos_status(emulator, match.group(1)) == 200


def test_token_strips_the_newline_of_the_environment_key(emulator: Emulator) -> None:
    result = run("token", "--host", emulator.url, env={"VIDEO_API_KEY": emulator.api_key + "\n"})
    assert (result.stderr, result.returncode) == ("", 0)
    assert [r.json() for r in emulator.requests] == [{"apiKey": emulator.api_key}]


def test_token_reads_the_key_from_stdin_over_the_environment(emulator: Emulator) -> None:
    """``--api-key -`` takes the first stdin line, without its newline."""
    result = run(
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
    result = run("token", "--host", emulator.url)
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


# -- usage, help, version


def test_version() -> None:
    assert outcome(run("--version")) == (f"video-api {video_api.__version__}\n", "", 0)


@pytest.mark.parametrize("command", ["", "token", "refresh", "serve", "demo"])
def test_every_help_has_examples(command: str) -> None:
    result = run(*filter(None, [command]), "--help")
    assert (result.stderr, result.returncode) == ("", 0)
    assert "\nExamples:\n  video-api " in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["token", "--jsno"], "--jsno (did you mean --json?)"),
        (["refresh", "--refresh-token", "t", "--jsno"], "--jsno (did you mean --json?)"),
        (["serve", "--prot", "8080"], "--prot (did you mean --port?) (and 1 value(s) not shown)"),
        (["demo", "--sandbx"], "--sandbx (did you mean --sandbox?)"),
    ],
    ids=["token", "refresh", "serve", "demo"],
)
def test_misspelled_flag_shows_the_usage_of_its_command(args: List[str], message: str) -> None:
    """The error names the command at fault; a value that may be a secret is not echoed."""
    command = args[0]
    error = f"video-api {command}: error: unrecognized arguments: {message}\n"
    assert outcome(run(*args)) == ("", usage(command) + error, 2)


def test_stray_value_is_not_echoed(emulator: Emulator) -> None:
    """A key typed without --api-key is an unrecognized argument, counted but not shown."""
    result = run("token", "--host", emulator.url, BAD_KEY, "--jsno")
    message = "--jsno (did you mean --json?) (and 1 value(s) not shown)"
    error = f"video-api token: error: unrecognized arguments: {message}\n"
    assert outcome(result) == ("", usage("token") + error, 2)


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert (result.stderr, result.returncode) == ("", 0)
    assert "{token,refresh,serve,demo}" in result.stdout


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
    ],
    ids=lambda args: " ".join(args) or "no-command",
)
def test_usage_errors_exit_2(args: List[str]) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert result.stderr.startswith(usage(args[0] if args and args[0] != "bogus" else ""))
    assert "Traceback" not in result.stderr


# -- serve


@pytest.mark.parametrize("value", ["-5", "0"])
def test_serve_refuses_a_token_lifetime_below_1(value: str) -> None:
    result = run("serve", "--token-lifetime", value)
    message = (
        "video-api serve: error: argument --token-lifetime: "
        f"must be a whole number of seconds, at least 1, got '{value}'\n"
    )
    assert outcome(result) == ("", usage("serve") + message, 2)


def test_testing_module_is_serve() -> None:
    """``python -m video_api.testing`` is the same command as ``video-api serve``."""
    alias = run("--help", module="video_api.testing")
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
    result = run("serve", "--port", str(emulator.port))
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

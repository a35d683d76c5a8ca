"""The ``video-api`` command, run as ``python -m video_api`` against the emulator.

Pinned down: what each command prints and its exit code; one ``video-api: error:`` line and
exit 1 for each expected failure, never a traceback; exit 2 for usage errors; no API key
anywhere in the output, and tokens in full only with ``--json``.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, Optional

import pytest

from video_api.testing import Emulator, Fault

ROOT = Path(__file__).resolve().parent.parent
BAD_KEY = "wrong-key-7f3a9c2e51"
TOKEN_LIKE = re.compile(r"[A-Za-z0-9_-]{40,}")  # the emulator's tokens are 43 characters


def run(
    *args: str, input: Optional[str] = None, env: Optional[Dict[str, str]] = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI with VIDEO_API_KEY unset unless ``env`` sets it."""
    return subprocess.run(
        [sys.executable, "-m", "video_api", *args],
        input=input if input is not None else "",
        env=cli_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def cli_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "VIDEO_API_KEY"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**env, **(extra or {})}


def one_error_line(result: subprocess.CompletedProcess[str], quiet: bool = True) -> str:
    """The single stderr line of an expected failure, after checking the exit (and that
    nothing went to stdout, unless the command had reported progress: ``quiet=False``)."""
    assert result.returncode == 1, result.stderr
    assert result.stdout == "" or not quiet
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("video-api: error: ")
    return lines[0]


def videos_status(emulator: Emulator, access_token: str) -> int:
    """What the emulator's protected endpoint says to ``access_token``."""
    request = urllib.request.Request(
        emulator.url + "/videos", headers={"Authorization": f"Bearer {access_token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def token_json(emulator: Emulator) -> Dict[str, object]:
    result = run("token", "--host", emulator.url, "--api-key", emulator.api_key, "--json")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- token


def test_token_prints_the_access_token_alone(emulator: Emulator) -> None:
    """stdout is one line, a token the API accepts; the API key is sent but never shown."""
    result = run("token", "--host", emulator.url, "--api-key", emulator.api_key)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert videos_status(emulator, lines[0]) == 200
    assert emulator.requests[0].json() == {"apiKey": emulator.api_key}
    assert emulator.api_key not in result.stdout


def test_token_reads_the_key_from_the_environment(emulator: Emulator) -> None:
    result = run("token", "--host", emulator.url, env={"VIDEO_API_KEY": emulator.api_key})
    assert result.returncode == 0, result.stderr
    assert emulator.requests[0].json() == {"apiKey": emulator.api_key}


def test_token_reads_the_key_from_stdin(emulator: Emulator) -> None:
    """``--api-key -`` takes the first stdin line, without its newline, over the environment."""
    result = run(
        "token",
        "--host",
        emulator.url,
        "--api-key",
        "-",
        input=emulator.api_key + "\n",
        env={"VIDEO_API_KEY": BAD_KEY},
    )
    assert result.returncode == 0, result.stderr
    assert emulator.requests[0].json() == {"apiKey": emulator.api_key}
    assert videos_status(emulator, result.stdout.strip()) == 200


def test_token_json_prints_the_whole_access_token(emulator: Emulator) -> None:
    """--json: the AccessToken in wire names, tokens in full because they were asked for."""
    token = token_json(emulator)
    assert set(token) == {"access_token", "refresh_token", "expires_in", "token_type"}
    assert token["expires_in"] == 3600
    assert videos_status(emulator, str(token["access_token"])) == 200


def test_token_honours_timeout_within_bounds(emulator: Emulator) -> None:
    """A stalled server: --timeout bounds each attempt; one error line, exit 1."""
    emulator.add_fault("/auth/api-key", Fault.stall(30), times=5)
    result = run("token", "--host", emulator.url, "--api-key", emulator.api_key, "--timeout", "0.3")
    line = one_error_line(result)
    assert line.startswith(f"video-api: error: no answer in time from {emulator.url}: ")
    assert "timed out" in line
    assert emulator.api_key not in result.stderr


def test_bad_key_is_one_line_without_the_key(emulator: Emulator) -> None:
    result = run("token", "--host", emulator.url, "--api-key", BAD_KEY)
    line = one_error_line(result)
    assert line.startswith("video-api: error: the API key was refused: (400) Bad Request")
    assert "The user credentials were incorrect." in line
    assert BAD_KEY not in result.stderr


def test_unreachable_host(closed_port: int) -> None:
    host = f"http://127.0.0.1:{closed_port}"
    result = run("token", "--host", host, "--api-key", BAD_KEY)
    line = one_error_line(result)
    assert line.startswith(f"video-api: error: cannot connect to {host}: ")
    assert "refused" in line.lower()
    assert BAD_KEY not in result.stderr


def test_server_error_is_one_line(emulator: Emulator) -> None:
    """Any other ApiException (here a 500 after the retries) is one line too."""
    emulator.add_fault("/auth/api-key", Fault.status(500), times=3)
    result = run("token", "--host", emulator.url, "--api-key", emulator.api_key)
    line = one_error_line(result)
    assert "(500) Internal Server Error" in line
    assert emulator.count("/auth/api-key") == 3  # the first try and two retries


# -- refresh


def test_refresh_prints_a_new_access_token(emulator: Emulator) -> None:
    """The refresh token is sent; the new access token works; no refresh token is shown."""
    first = token_json(emulator)
    refresh_token = str(first["refresh_token"])
    result = run("refresh", "--host", emulator.url, "--refresh-token", refresh_token)
    assert result.returncode == 0, result.stderr
    assert emulator.requests[-1].json() == {"refreshToken": refresh_token}
    new_access = result.stdout.strip()
    assert new_access != first["access_token"]
    assert videos_status(emulator, new_access) == 200
    assert refresh_token not in result.stdout + result.stderr
    assert result.stdout.count("\n") == 1


def test_refresh_reads_the_token_from_stdin_and_prints_json(emulator: Emulator) -> None:
    refresh_token = str(token_json(emulator)["refresh_token"])
    result = run(
        "refresh", "--host", emulator.url, "--refresh-token", "-", "--json", input=refresh_token
    )
    assert result.returncode == 0, result.stderr
    new = json.loads(result.stdout)
    assert emulator.requests[-1].json() == {"refreshToken": refresh_token}
    assert new["refresh_token"] != refresh_token
    assert videos_status(emulator, new["access_token"]) == 200


def test_spent_refresh_token_is_refused_in_one_line(emulator: Emulator) -> None:
    refresh_token = str(token_json(emulator)["refresh_token"])
    assert run("refresh", "--host", emulator.url, "--refresh-token", refresh_token).returncode == 0
    result = run("refresh", "--host", emulator.url, "--refresh-token", refresh_token)
    line = one_error_line(result)
    assert line.startswith("video-api: error: the refresh token was refused: (400)")
    assert "The refresh token is invalid." in line
    assert refresh_token not in result.stderr
    assert emulator.refresh_token_reuses == 1


# -- usage errors


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
    ],
    ids=lambda args: " ".join(args) or "no-command",
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert "usage: video-api" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_key_is_a_usage_error_that_says_how_to_give_one(emulator: Emulator) -> None:
    result = run("token", "--host", emulator.url)
    assert result.returncode == 2
    assert "no API key given" in result.stderr and "VIDEO_API_KEY" in result.stderr
    empty_stdin = run("token", "--host", emulator.url, "--api-key", "-", input="")
    assert empty_stdin.returncode == 2
    assert emulator.requests == []


def test_stray_positional_is_not_echoed(emulator: Emulator) -> None:
    """A key typed without --api-key is an unrecognized argument, reported without its value."""
    result = run("token", "--host", emulator.url, BAD_KEY, "--jsno")
    assert result.returncode == 2
    assert BAD_KEY not in result.stderr
    assert "--jsno" in result.stderr


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("token", "refresh", "serve", "demo"):
        assert command in result.stdout


# -- serve


def read_line(process: subprocess.Popen[str], seconds: float = 20.0) -> str:
    """The next stdout line, or a failure instead of a hang."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], seconds)
    assert ready, f"no output in {seconds} s"
    return process.stdout.readline()


@pytest.fixture
def serve() -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "video_api", "serve", "--token-lifetime", "7"],
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
        process.wait(10)
        for stream in (process.stdout, process.stderr):
            assert stream is not None
            stream.close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_answers_then_stops_cleanly(serve: subprocess.Popen[str], signum: int) -> None:
    """The printed URL and key authenticate; a signal stops it with exit 0, no traceback."""
    first = read_line(serve)
    match = re.search(r"serving at (http://127\.0\.0\.1:\d+) \(demo API key: (\S+)\)", first)
    assert match, first
    url, key = match.groups()
    request = urllib.request.Request(
        url + "/auth/api-key",
        data=json.dumps({"apiKey": key}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response)["expires_in"] == 7  # --token-lifetime reached the emulator
    serve.send_signal(signum)
    assert serve.wait(20) == 0
    assert serve.stderr is not None and serve.stdout is not None
    assert "Traceback" not in serve.stderr.read()
    assert "Stopped." in serve.stdout.read()


def test_serve_on_a_busy_port_is_one_line(emulator: Emulator) -> None:
    result = run("serve", "--port", str(emulator.port))
    line = one_error_line(result)
    assert f"cannot listen on port {emulator.port}" in line


# -- demo


def test_demo_runs_offline_with_secrets_shortened() -> None:
    """Without --host the demo uses its own emulator, even when VIDEO_API_KEY is set."""
    result = run("demo", env={"VIDEO_API_KEY": BAD_KEY})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Started the emulator at http://127.0.0.1:" in out
    assert "POST /auth/api-key" in out and "POST /auth/refresh" in out
    assert re.search(r"GET /videos .*-> 200", out)
    assert TOKEN_LIKE.search(out) is None, out
    assert BAD_KEY not in out + result.stderr


def test_demo_against_a_host_uses_the_refreshed_token(emulator: Emulator) -> None:
    """With a key and --host: one authentication, one refresh, and /videos with that token."""
    result = run("demo", "--host", emulator.url, "--api-key", emulator.api_key)
    assert result.returncode == 0, result.stderr
    assert (emulator.count("/auth/api-key"), emulator.count("/auth/refresh")) == (1, 1)
    assert emulator.count("/videos") == 1
    assert emulator.tokens_issued == 2  # the client reused the refreshed token
    assert emulator.api_key not in result.stdout + result.stderr
    assert TOKEN_LIKE.search(result.stdout) is None


def test_demo_with_a_bad_key_is_one_line(emulator: Emulator) -> None:
    result = run("demo", "--host", emulator.url, env={"VIDEO_API_KEY": BAD_KEY})
    line = one_error_line(result, quiet=False)
    assert line.startswith("video-api: error: the API key was refused")
    assert BAD_KEY not in result.stderr

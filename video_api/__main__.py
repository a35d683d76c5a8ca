"""The ``video-api`` command (``python -m video_api``): get tokens, serve the emulator, demo.

Expected failures (a refused key, an unreachable host, a timeout) print one line to
stderr and exit 1 (``--debug`` or ``VIDEO_API_DEBUG=1`` adds the traceback); usage
errors print the command's usage and exit 2. No error ever shows an API key or a token.
The CLI uses only the SDK's public surface: Configuration, ApiClient, AuthenticationApi,
the payload models, the exceptions and the emulator.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import shlex
import signal
import sys
import threading
import traceback
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from video_api import __version__
from video_api.exceptions import (
    ApiConnectionError,
    ApiException,
    ApiResponseError,
    BadRequestException,
    OpenApiException,
)

PROG = "video-api"
PRODUCTION = "https://ws.api.video"
SANDBOX = "https://sandbox.api.video"
ACCESS_VAR, REFRESH_VAR = "VIDEO_API_ACCESS_TOKEN", "VIDEO_API_REFRESH_TOKEN"
TOKEN_FIELDS = ("access_token", "refresh_token", "expires_in", "token_type")
_KEY_HINT = "use --api-key KEY, --api-key - (read from stdin) or set VIDEO_API_KEY"

TOP_EXAMPLES = """\
Examples:
  video-api demo                    # the whole token flow, offline, on a local emulator
  video-api serve                   # a local emulator; prints its URL and API key
  VIDEO_API_KEY=demo-api-key video-api token --host http://127.0.0.1:PORT
  video-api token --json | video-api refresh --refresh-token -

Exit status: 0 on success; 1 on an expected error, told in one line on stderr
(--debug or VIDEO_API_DEBUG=1 adds the traceback); 2 on a usage error.
"""
TOKEN_EXAMPLES = """\
Output: the access token alone on one line; --json prints the whole token
(access_token, refresh_token, expires_in, token_type), secrets in full.

Examples:
  video-api token --api-key - < key.txt     # or --api-key KEY, or export VIDEO_API_KEY=...
  curl -H "Authorization: Bearer $(video-api token)" https://ws.api.video/videos
  video-api token --sandbox --json > token.json
  video-api token --json | video-api refresh --refresh-token -
"""
REFRESH_EXAMPLES = """\
The refresh token is spent by this call, so the output always carries the new one.
Output: two lines in shell-assignment form,
  VIDEO_API_ACCESS_TOKEN=<new access token>
  VIDEO_API_REFRESH_TOKEN=<new refresh token>
or with --json the whole token as JSON, as `token --json` prints it.
With --refresh-token -, stdin holds a bare refresh token, that JSON, or those lines.

Examples:
  video-api token --json | video-api refresh --refresh-token -
  eval "$(video-api refresh --refresh-token "$VIDEO_API_REFRESH_TOKEN")"
  video-api refresh --refresh-token - --json < token.json > new-token.json
"""
SERVE_EXAMPLES = """\
Output: VIDEO_API_URL=<url> and VIDEO_API_KEY=<key> lines, then comment lines;
`python -m video_api.testing` is the same command.

Examples:
  video-api serve
  video-api serve --port 8080 --token-lifetime 60 --api-key my-test-key
"""
DEMO_EXAMPLES = """\
Without --host or --sandbox the demo starts its own emulator and needs no key
(it then ignores VIDEO_API_KEY); with either of them it needs an API key.

Examples:
  video-api demo
  video-api demo --sandbox --api-key - < sandbox-key.txt
"""


class _Parser(argparse.ArgumentParser):
    """Usage errors come from the (sub)command they belong to, and never echo a secret."""

    def parse_known_args(  # type: ignore[override]
        self, args: Optional[Sequence[str]] = None, namespace: Optional[argparse.Namespace] = None
    ) -> Tuple[argparse.Namespace, List[str]]:
        """Refuse unknown words here, so a subcommand's typo shows that subcommand's usage."""
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(self._unrecognized(extras))
        return parsed, extras

    def _unrecognized(self, words: List[str]) -> str:
        """Name the unknown flags (with a suggestion); a stray value may be a key: count it."""
        flags = [w.partition("=")[0] for w in words if w.startswith("-")]
        known = [s for action in self._actions for s in action.option_strings]
        shown = []
        for flag in flags:
            close = difflib.get_close_matches(flag, known, n=1)
            shown.append(f"{flag} (did you mean {close[0]}?)" if close else flag)
        hidden = len(words) - len(flags)
        shown += [f"(and {hidden} value(s) not shown)"] if hidden else []
        return "unrecognized arguments: " + " ".join(shown)


class _Failure(Exception):
    """An expected failure the CLI found itself (not raised by the SDK)."""


# -- argument types


def _url(value: str) -> str:
    """An http(s) URL with a host and a valid port, without its trailing slash."""
    try:
        parts = urllib.parse.urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
    except ValueError:
        valid = False
    if not valid:
        raise argparse.ArgumentTypeError(f"expected an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {value!r}")
    return seconds


def _whole(low: int, high: int, what: str) -> Callable[[str], int]:
    """An argparse type for a whole number in [low, high]."""

    def check(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = low - 1
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"must be {what}, got {value!r}")
        return number

    return check


# -- inputs and outputs


def _stdin_or(value: str, whole: bool = False) -> str:
    """``value``, or stdin for ``-`` (its first line, or all of it when ``whole``), stripped."""
    if value == "-":
        value = sys.stdin.read() if whole else sys.stdin.readline()
    return value.strip()


def _api_key(
    args: argparse.Namespace, value: Optional[str], missing: str = f"no API key given: {_KEY_HINT}"
) -> str:
    """The key given (``-``: read from stdin), stripped; a usage error when it is empty."""
    key = _stdin_or(value or "")
    if not key:
        args.parser.error(missing)
    args.secrets.append(key)
    return key


def _refresh_token(args: argparse.Namespace) -> str:
    """The refresh token given, or read from stdin; a usage error when there is none."""
    try:
        token = _find_refresh_token(_stdin_or(args.refresh_token, whole=True))
    except ValueError as error:
        args.parser.error(str(error))
    args.secrets.append(token)
    return token


def _find_refresh_token(text: str) -> str:
    """The token in a bare token, the JSON of ``--json``, or the lines ``refresh`` prints."""
    lines = text.splitlines()
    token: object = text
    if text.startswith("{"):
        try:
            token = json.loads(text).get("refresh_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str):
            raise ValueError('the JSON on stdin has no "refresh_token" string')
    elif any(line.startswith("VIDEO_API_") for line in lines):
        found = [line.partition("=")[2] for line in lines if line.startswith(REFRESH_VAR + "=")]
        try:
            token = "".join(shlex.split(found[0])) if found else ""
        except ValueError:
            token = ""
        if not token:
            raise ValueError(f"stdin has no {REFRESH_VAR}= line with a token")
    elif len(text.split()) > 1:
        raise ValueError("expected one refresh token on stdin, got several words")
    if not isinstance(token, str) or not token.strip():
        raise ValueError("no refresh token given")
    return token.strip()


def _host(args: argparse.Namespace) -> str:
    return str(args.host or (SANDBOX if args.sandbox else PRODUCTION))


def _client(args: argparse.Namespace, host: str) -> Any:
    from video_api import ApiClient, Configuration

    options = {} if args.timeout is None else {"timeout": args.timeout}
    return ApiClient(Configuration(host=host, **options))


def _token_dict(token: Any) -> Dict[str, Any]:
    return {name: getattr(token, name, None) for name in TOKEN_FIELDS}


def _field(token: Any, name: str) -> str:
    """A token string of the answer, which the contract marks optional."""
    value = getattr(token, name, None)
    if not isinstance(value, str) or not value:
        raise _Failure(f"the answer has no {name}")
    return value


def _short(secret: str) -> str:
    """Enough of a secret to tell two apart, not enough to use it."""
    return secret[:4] + "..."


# -- commands


def cmd_token(args: argparse.Namespace) -> int:
    """Authenticate with the API key."""
    from video_api.apis.tags.authentication_api import AuthenticationApi
    from video_api.model.authenticate_payload import AuthenticatePayload

    key = _api_key(args, args.api_key or os.environ.get("VIDEO_API_KEY"))
    host = _host(args)
    args.failed, args.refused = f"could not get a token from {host}", "the API key"
    with _client(args, host) as client:
        body = AuthenticatePayload(api_key=key)
        token = AuthenticationApi(client).p_ost_auth_api_key(body=body).body
    print(json.dumps(_token_dict(token), indent=2) if args.json else _field(token, "access_token"))
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    """Spend the refresh token; the output always carries the new one (see REFRESH_EXAMPLES)."""
    from video_api.apis.tags.authentication_api import AuthenticationApi
    from video_api.model.refresh_token_payload import RefreshTokenPayload

    refresh_token, host = _refresh_token(args), _host(args)
    args.failed, args.refused = f"could not refresh the token at {host}", "the refresh token"
    with _client(args, host) as client:
        body = RefreshTokenPayload(refresh_token=refresh_token)
        token = AuthenticationApi(client).p_ost_auth_refresh(body=body).body
    if args.json:
        print(json.dumps(_token_dict(token), indent=2))
    else:
        access, refresh = _field(token, "access_token"), _field(token, "refresh_token")
        print(f"{ACCESS_VAR}={shlex.quote(access)}\n{REFRESH_VAR}={shlex.quote(refresh)}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the emulator in the foreground until SIGINT or SIGTERM."""
    from video_api.testing import Emulator

    if args.api_key is None:  # the emulator's own demo key
        emulator = Emulator(port=args.port, token_lifetime=args.token_lifetime)
    else:
        key = _api_key(args, args.api_key, "--api-key is empty: give the key to accept")
        emulator = Emulator(port=args.port, token_lifetime=args.token_lifetime, api_keys=[key])
    done = threading.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = [signal.signal(signum, lambda *_: done.set()) for signum in signals]
    try:
        args.failed = f"could not listen on 127.0.0.1:{args.port}"
        with emulator:
            url, key = emulator.url, shlex.quote(emulator.api_key)
            print(f"VIDEO_API_URL={url}\nVIDEO_API_KEY={key}")
            print(f"# emulator listening; try: VIDEO_API_KEY={key} {PROG} token --host {url}")
            print("# Ctrl-C stops it", flush=True)
            while not done.wait(0.5):  # a timeout keeps Ctrl-C responsive on Windows
                pass
    finally:
        for signum, handler in zip(signals, previous):
            signal.signal(signum, handler)
    print("# stopped")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Authenticate, refresh, and use the new access token: offline unless a host is given."""
    from video_api.testing import Emulator

    if args.host or args.sandbox:
        host = _host(args)
        missing = f"the demo against {host} needs an API key: {_KEY_HINT}"
        key = _api_key(args, args.api_key or os.environ.get("VIDEO_API_KEY"), missing)
        print(f"1. Using {host} with your API key")
        return _demo(args, host, key)
    if args.api_key is not None:
        args.parser.error("--api-key needs --host URL or --sandbox (else the demo is offline)")
    with Emulator() as emulator:
        print(f"1. Started the emulator at {emulator.url} (offline, with its demo API key)")
        return _demo(args, emulator.url, emulator.api_key)


def _demo(args: argparse.Namespace, host: str, key: str) -> int:
    from video_api.apis.tags.authentication_api import AuthenticationApi
    from video_api.model.authenticate_payload import AuthenticatePayload
    from video_api.model.refresh_token_payload import RefreshTokenPayload

    args.secrets.append(key)
    with _client(args, host) as client:
        api = AuthenticationApi(client)
        args.failed, args.refused = f"could not get a token from {host}", "the API key"
        first = _pair(args, api.p_ost_auth_api_key(body=AuthenticatePayload(api_key=key)).body)
        print(f"2. POST /auth/api-key -> {_shown(first)}")
        args.failed, args.refused = f"could not refresh the token at {host}", "the refresh token"
        body = RefreshTokenPayload(refresh_token=first[1])
        second = _pair(args, api.p_ost_auth_refresh(body=body).body)
        print(f"3. POST /auth/refresh -> {_shown(second)} (the first refresh token is now spent)")
    args.failed = f"could not list the videos at {host}"
    status = _videos_status(host, second[0], args.timeout or 60.0)
    print(f"4. GET /videos with the new access token, sent by plain urllib -> {status}")
    if status != 200:
        raise _Failure(f"the new access token was refused with HTTP {status}")
    print("Done: authenticate, refresh, and a call with the refreshed token all worked.")
    return 0


def _pair(args: argparse.Namespace, token: Any) -> Tuple[str, str]:
    """(access token, refresh token), both kept out of any error message."""
    pair = _field(token, "access_token"), _field(token, "refresh_token")
    args.secrets.extend(pair)
    return pair


def _shown(pair: Tuple[str, str]) -> str:
    return f"access token {_short(pair[0])}, refresh token {_short(pair[1])}"


def _videos_status(host: str, access_token: str, timeout: float) -> int:
    """GET /videos with a bearer token, as curl or any HTTP client would send it."""
    headers = {"Authorization": f"Bearer {access_token}"}
    request = urllib.request.Request(host + "/videos", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


# -- the parser


def build_parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog=PROG,
        description="api.video tokens from the shell, and a local emulator to try them on.",
        epilog=TOP_EXAMPLES,
        formatter_class=raw,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    common = _Parser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        help="on an error, print its traceback too (or set VIDEO_API_DEBUG=1)",
    )

    def command(name: str, run: Any, summary: str, more: str, epilog: str, api: bool = True) -> Any:
        """A subcommand: ``summary`` in the command list, ``more`` after it in its own help."""
        sub = commands.add_parser(
            name,
            help=summary,
            description=f"{summary}\n{more}".strip(),
            epilog=epilog,
            formatter_class=raw,
            parents=[common],
        )
        sub.set_defaults(run=run, parser=sub)
        if api:
            where = sub.add_mutually_exclusive_group()
            where.add_argument("--host", type=_url, help=f"API base URL (default: {PRODUCTION})")
            where.add_argument("--sandbox", action="store_true", help=f"use {SANDBOX}")
            sub.add_argument(
                "--timeout",
                type=_seconds,
                metavar="S",
                help="seconds to connect, and to wait for the answer (default: 5 and 60)",
            )
        return sub

    json_help = "print the whole token as JSON, refresh token included"
    token = command("token", cmd_token, "Authenticate; print the access token.", "", TOKEN_EXAMPLES)
    token.add_argument("--api-key", metavar="KEY", help="'-' reads stdin; default $VIDEO_API_KEY")
    token.add_argument("--json", action="store_true", help=json_help)

    refresh = command(
        "refresh",
        cmd_refresh,
        "Spend a refresh token; print the new access and refresh tokens.",
        "",
        REFRESH_EXAMPLES,
    )
    refresh.add_argument(
        "--refresh-token",
        required=True,
        metavar="T",
        help="the refresh token; '-' reads it from stdin, alone or in this command's output",
    )
    refresh.add_argument("--json", action="store_true", help=json_help)

    serve = command(
        "serve",
        cmd_serve,
        "Run the local emulator until Ctrl-C.",
        "An api.video-compatible server (the auth endpoints and GET /videos) on 127.0.0.1,\n"
        "issuing tokens that expire and rotating refresh tokens; SIGTERM stops it too.",
        SERVE_EXAMPLES,
        api=False,
    )
    serve.add_argument(
        "--port",
        type=_whole(0, 65535, "a port number, 0-65535"),
        default=0,
        help="port to listen on (default: 0, a free one)",
    )
    serve.add_argument(
        "--token-lifetime",
        type=_whole(1, 10**9, "a whole number of seconds, at least 1"),
        default=3600,
        metavar="S",
        help="seconds an access token stays valid (default: %(default)s)",
    )
    serve.add_argument(
        "--api-key",
        metavar="KEY",
        help="the API key the emulator accepts; '-' reads stdin (default: its demo key)",
    )

    demo = command(
        "demo",
        cmd_demo,
        "Show the token flow, offline unless --host or --sandbox is given.",
        "Authenticate, refresh, then call GET /videos with the new access token.",
        DEMO_EXAMPLES,
    )
    demo.add_argument(
        "--api-key", metavar="KEY", help="for --host/--sandbox; '-' reads stdin; $VIDEO_API_KEY"
    )
    return parser


# -- errors


def _cause(error: BaseException) -> str:
    """The innermost cause, as the operating system or the server put it, in lower case."""
    seen = {id(error)}
    while True:
        inner = error.__cause__ or error.__context__
        if inner is None or id(inner) in seen:
            break
        seen.add(id(inner))
        error = inner
    text = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    text = text.partition(f"{type(error).__name__}: ")[2] or text
    if len(text) > 1 and text[1].islower():
        text = text[0].lower() + text[1:]
    return text or type(error).__name__


def _why(error: BaseException, refused: str) -> str:
    """Why an exchange failed, in words: the cause, the status and the server's title."""
    if isinstance(error, ApiConnectionError):
        why = _cause(error)
    elif isinstance(error, ApiResponseError):
        why = "the answer is not what the API promises: " + (
            getattr(error, "detail", None) or _cause(error)
        )
    elif isinstance(error, ApiException):
        title = getattr(getattr(error.api_response, "body", None), "title", None)
        status = " ".join(str(p) for p in (error.status, error.reason) if p)
        status += f": {title}" if isinstance(title, str) and title not in ("", error.reason) else ""
        if isinstance(error, BadRequestException):
            why = f"{refused} was refused ({status})"
        else:
            why = f"the server answered {status}"
    else:
        why = _cause(error)
    retries = getattr(error, "retries", 0)
    if isinstance(retries, int) and retries > 0:
        why += f" (after {retries} retr{'y' if retries == 1 else 'ies'})"
    return why


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    args.secrets, args.failed, args.refused = [], f"{args.command} failed", "the request"
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130
    except (OpenApiException, OSError, _Failure) as error:
        if args.debug or os.environ.get("VIDEO_API_DEBUG", "0") not in ("", "0"):
            traceback.print_exc()
        message = f"{args.failed}: {_why(error, args.refused)}"
        for secret in args.secrets:
            message = message.replace(secret, "***")
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

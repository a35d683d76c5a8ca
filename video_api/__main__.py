"""The ``video-api`` command (``python -m video_api``): get tokens, serve the emulator, demo.

Expected failures (a refused key, an unreachable host, a timeout) print one line to
stderr and exit 1; usage errors exit 2. API keys are never printed, and tokens only
in full when asked for (``--json``). The package is imported inside the commands.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from typing import Any, NoReturn, Optional, Sequence

PROG = "video-api"
_KEY_HINT = ": use --api-key KEY, --api-key - (read from stdin) or set VIDEO_API_KEY"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """Usage error (exit 2); a stray positional may be a secret, so it is not echoed."""
        head, sep, rest = message.partition("unrecognized arguments: ")
        if sep:
            words = rest.split()
            hidden = sum(not w.startswith("-") for w in words)
            shown = [w.partition("=")[0] for w in words if w.startswith("-")]
            note = [f"(and {hidden} value(s) not shown)"] if hidden else []
            message = head + sep + " ".join([*shown, *note])
        super().error(message)


def _url(value: str) -> str:
    from video_api.configuration import check_url
    from video_api.exceptions import ApiValueError

    try:
        return check_url(value)
    except ApiValueError:
        raise argparse.ArgumentTypeError(f"expected an http(s) URL, got {value!r}") from None


def _secret(
    parser: argparse.ArgumentParser, value: Optional[str], what: str, hint: str = ""
) -> str:
    """The value given, or a line read from stdin for ``-``."""
    if value == "-":
        value = sys.stdin.readline().strip()
    if not value:
        parser.error(f"no {what} given{hint}")
    return value


def _configuration(args: argparse.Namespace) -> Any:
    from video_api import Configuration

    configuration = Configuration(
        args.host, environment="sandbox" if args.sandbox else "production"
    )
    if args.timeout is not None:
        configuration.timeout = args.timeout
    return configuration


def _target(args: argparse.Namespace) -> str:
    return str(_configuration(args).host)


def _emit(args: argparse.Namespace, token: Any) -> int:
    print(json.dumps(token.to_dict(), indent=2) if args.json else token.access_token)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from video_api import ApiClient
    from video_api.apis.tags.authentication_api import AuthenticationApi

    key = _secret(
        args.parser, args.api_key or os.environ.get("VIDEO_API_KEY"), "API key", _KEY_HINT
    )
    with ApiClient(_configuration(args)) as client:
        return _emit(args, AuthenticationApi(client).p_ost_auth_api_key(body={"apiKey": key}).body)


def cmd_refresh(args: argparse.Namespace) -> int:
    from video_api import ApiClient
    from video_api.apis.tags.authentication_api import AuthenticationApi

    token = _secret(args.parser, args.refresh_token, "refresh token")
    with ApiClient(_configuration(args)) as client:
        api = AuthenticationApi(client)
        return _emit(args, api.p_ost_auth_refresh(body={"refreshToken": token}).body)


def cmd_serve(args: argparse.Namespace) -> int:
    from video_api.testing import Emulator

    done = threading.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = [signal.signal(signum, lambda *_: done.set()) for signum in signals]
    try:
        with Emulator(port=args.port, token_lifetime=args.token_lifetime) as emulator:
            print(f"Emulator serving at {emulator.url} (demo API key: {emulator.api_key})")
            print(f"Try: VIDEO_API_KEY={emulator.api_key} {PROG} token --host {emulator.url}")
            print("Press Ctrl-C to stop.", flush=True)
            while not done.wait(0.5):  # a timeout keeps Ctrl-C responsive on Windows
                pass
    finally:
        for signum, handler in zip(signals, previous):
            signal.signal(signum, handler)
    print("Stopped.")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    import time
    from contextlib import ExitStack

    from video_api import ApiClient, AuthenticatedApiClient
    from video_api.apis.tags.authentication_api import AuthenticationApi
    from video_api.testing import Emulator

    key = args.api_key or os.environ.get("VIDEO_API_KEY")
    with ExitStack() as stack:
        if key and (args.host or args.sandbox):
            key = _secret(args.parser, key, "API key")
            print(f"1. Using {_target(args)} with your API key")
        else:
            emulator = stack.enter_context(Emulator())
            key, args.host = emulator.api_key, emulator.url
            print(f"1. Started the emulator at {emulator.url} (offline, with its demo API key)")
        configuration = _configuration(args)
        api = AuthenticationApi(stack.enter_context(ApiClient(configuration)))
        first = api.p_ost_auth_api_key(body={"apiKey": key}).body
        print(f"2. POST /auth/api-key -> {first!r}")
        second = api.p_ost_auth_refresh(body={"refreshToken": first.refresh_token}).body
        print(f"3. POST /auth/refresh -> {second!r} (the old refresh token is spent)")
        configuration = _configuration(args)
        configuration.token = {
            "access_token": second.access_token,
            "expires_at": time.time() + (second.expires_in or 3600),
            "refresh_token": second.refresh_token,
        }
        client = AuthenticatedApiClient(key, configuration, configuration.environment)
        stack.enter_context(client)
        videos = client.call_api("/videos", "GET", auth_settings=["bearerAuth"])
        count = len((videos.body or {}).get("data") or [])
        print(
            f"4. GET /videos via AuthenticatedApiClient.call_api with the refreshed token -> "
            f"{videos.response.status}, {count} video(s)"
        )
    print("Done: authenticate, refresh and an authenticated call all worked.")
    return 0


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {value!r}")
    return seconds


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="api.video authentication from the shell.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(name: str, run: Any, text: str, key: bool = False, out: bool = True) -> Any:
        sub = commands.add_parser(name, help=text, description=text)
        sub.set_defaults(run=run, parser=sub)
        if name == "serve":
            return sub
        where = sub.add_mutually_exclusive_group()
        where.add_argument("--host", type=_url, help="API base URL (default: https://ws.api.video)")
        where.add_argument("--sandbox", action="store_true", help="use https://sandbox.api.video")
        sub.add_argument("--timeout", type=_seconds, metavar="S", help="bound on connect and read")
        if key:
            sub.add_argument(
                "--api-key", metavar="KEY", help="'-' reads stdin; default $VIDEO_API_KEY"
            )
        if out:
            sub.add_argument(
                "--json",
                action="store_true",
                help="the whole AccessToken as JSON, refresh token included (secrets in full)",
            )
        return sub

    command("token", cmd_token, "authenticate; print the access token", key=True)
    command(
        "refresh",
        cmd_refresh,
        "renew a token; the old refresh token is then spent, so use --json to keep the new one",
    ).add_argument(
        "--refresh-token", required=True, metavar="T", help="refresh token; '-' reads stdin"
    )
    serve = command("serve", cmd_serve, "run the local emulator until Ctrl-C")
    serve.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    serve.add_argument("--token-lifetime", type=int, default=3600, metavar="S")
    command(
        "demo",
        cmd_demo,
        "show the token flow: offline on the emulator unless --api-key "
        "(or $VIDEO_API_KEY) and --host or --sandbox are given",
        key=True,
        out=False,
    )
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    from video_api.exceptions import (
        ApiConnectionError,
        ApiTimeoutError,
        BadRequestException,
        OpenApiException,
    )

    try:
        return int(args.run(args))
    except ApiTimeoutError as error:
        message = f"no answer in time from {_target(args)}: {error}"
    except ApiConnectionError as error:
        message = f"cannot connect to {_target(args)}: {error}"
    except BadRequestException as error:
        what = "the refresh token" if args.command == "refresh" else "the API key"
        message = f"{what} was refused: {error}"
    except OSError as error:
        where = f"cannot listen on port {args.port}: " if args.command == "serve" else ""
        message = where + (error.strerror or str(error))
    except OpenApiException as error:  # any other error of the package: one line too
        message = str(error)
    except KeyboardInterrupt:
        return 130
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

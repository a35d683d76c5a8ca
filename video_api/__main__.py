"""The ``video-api`` command (``python -m video_api``): the API from the shell, tokens,
uploads, the emulator and a demo.

Expected failures (a refused key, an unreachable host, a timeout) print one line to
stderr and exit 1 (``--debug`` or ``VIDEO_API_DEBUG=1`` adds the traceback); usage
errors print the command's usage and exit 2; Ctrl-C exits 130. No error ever shows an API
key or a token.

The resource commands (``video-api videos list``, ``video-api captions get ...``) are not
written one by one: they are read from the tag API classes (``video_api.apis.tags.TAGS``),
the operation each method runs (its declaration in ``video_api.paths``) and the fields of
the body models, so that a regenerated API gets its commands with no change here.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import importlib
import inspect
import json
import os
import re
import shlex
import signal
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from video_api import __version__
from video_api.exceptions import (
    ApiConnectionError,
    ApiException,
    ApiResponseError,
    ApiTypeError,
    ApiValueError,
    BadRequestException,
    OpenApiException,
    shown,
)

PROG = "video-api"
PRODUCTION = "https://ws.api.video"
SANDBOX = "https://sandbox.api.video"
ACCESS_VAR, REFRESH_VAR = "VIDEO_API_ACCESS_TOKEN", "VIDEO_API_REFRESH_TOKEN"
TOKEN_FIELDS = ("access_token", "refresh_token", "expires_in", "token_type")
_KEY_HINT = "use --api-key KEY, --api-key - (read from stdin) or set VIDEO_API_KEY"
URL_VAR = "VIDEO_API_URL"
HOST_HELP = f"API base URL (default: ${URL_VAR}, else {PRODUCTION})"

TOP_EXAMPLES = f"""\
Each API resource is a command and its operations are actions: see `{PROG} videos --help`.
Credentials: --api-key KEY, --api-key - (read from stdin) or VIDEO_API_KEY; --sandbox,
--host URL or VIDEO_API_URL (as `{PROG} serve` prints it) for another server than
{PRODUCTION}.

Examples:
  video-api demo                    # the whole token flow, offline, on a local emulator
  video-api serve                   # a local emulator; prints its URL and API key
  export VIDEO_API_URL=http://127.0.0.1:PORT VIDEO_API_KEY=demo-api-key  # as serve says
  video-api videos list --tag maths
  video-api upload movie.mp4 --title "Maths, chapter 1"
  video-api token --json | video-api refresh --refresh-token -

Exit status: 0 on success; 1 on an expected error, told in one line on stderr
(--debug or VIDEO_API_DEBUG=1 adds the traceback); 2 on a usage error; 130 on Ctrl-C.
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
Output: VIDEO_API_URL=<url> and VIDEO_API_KEY=<key> lines, then comment lines; the
other commands read both variables once exported. `python -m video_api.testing` is the
same command.

Examples:
  video-api serve
  video-api serve --port 8080 --token-lifetime 60 --api-key my-test-key
  video-api serve --data state.sqlite --examples   # kept across restarts
"""
DEMO_EXAMPLES = """\
Without --host or --sandbox the demo starts its own emulator and needs no key
(it then ignores VIDEO_API_KEY and VIDEO_API_URL); with either of them it needs an
API key.

Examples:
  video-api demo
  video-api demo --sandbox --api-key - < sandbox-key.txt
"""
UPLOAD_EXAMPLES = """\
Without --video-id or --upload-token, a video is created first, titled --title or
the file's name. Output: the video id, then its player URL, one per line; --json prints
the whole video. On a terminal, a progress bar on stderr. Ctrl-C stops the upload
(exit 130) and says how far it got.

Examples:
  video-api upload movie.mp4 --title "Maths, chapter 1"
  video-api upload movie.mp4 --video-id vi4k0jvEUuaTdRAEjQ4Jfrgz
  video-api upload movie.mp4 --upload-token to1tcmSFHeYY5KzyhOqVKMKb   # no API key needed
  video-api upload movie.mp4 --json | jq -r .assets.player
"""
RESOURCE_NOTES = f"""\
Output: on a terminal, a table (lists) or key/value lines (an object); otherwise, or
with --json, the API's JSON: one object, or one item per line (JSON Lines) with --all.
Credentials: --api-key KEY, --api-key - (read from stdin) or VIDEO_API_KEY; --sandbox,
--host URL or VIDEO_API_URL for another server than {PRODUCTION}.
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
        raise argparse.ArgumentTypeError(f"expected an http(s) URL, got {shown(repr(value))}")
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


def _chunk_size(value: str) -> int:
    """Bytes, within the upload engine's bounds (when it declares them)."""
    from video_api import upload

    low, high = getattr(upload, "MIN_CHUNK_SIZE", 1), getattr(upload, "MAX_CHUNK_SIZE", 2**40)
    return _whole(low, high, f"a number of bytes from {low} to {high}")(value)


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
    where = "on stdin" if args.refresh_token == "-" else "in --refresh-token"
    try:
        token = _find_refresh_token(_stdin_or(args.refresh_token, whole=True), where)
    except ValueError as error:
        args.parser.error(str(error))
    args.secrets.append(token)
    return token


def _find_refresh_token(text: str, where: str) -> str:
    """The token in a bare token, the JSON of ``--json``, or the lines ``refresh`` prints;
    errors say ``where`` the text came from ("on stdin"), never what it holds."""
    lines = text.splitlines()
    token: object = text
    if text.startswith("{"):
        try:
            token = json.loads(text).get("refresh_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str):
            raise ValueError(f'the JSON {where} has no "refresh_token" string')
    elif any(line.startswith("VIDEO_API_") for line in lines):
        found = [line.partition("=")[2] for line in lines if line.startswith(REFRESH_VAR + "=")]
        try:
            token = "".join(shlex.split(found[0])) if found else ""
        except ValueError:
            token = ""
        if not token:
            raise ValueError(f"no {REFRESH_VAR}= line with a token {where}")
    elif len(text.split()) > 1:
        raise ValueError(f"expected one refresh token {where}, got several words")
    if not isinstance(token, str) or not token.strip():
        raise ValueError("no refresh token given")
    return token.strip()


def _host(args: argparse.Namespace) -> str:
    """--host, --sandbox, else $VIDEO_API_URL (a usage error when it is not a URL), else
    production."""
    if args.host or args.sandbox:
        return str(args.host or SANDBOX)
    value = os.environ.get(URL_VAR, "")
    try:
        return _url(value) if value else PRODUCTION
    except argparse.ArgumentTypeError as error:
        parser: argparse.ArgumentParser = args.parser
        parser.error(f"environment variable {URL_VAR}: {error}")


def _client(args: argparse.Namespace, host: str, api_key: Optional[str] = None) -> Any:
    from video_api import ApiClient, Configuration

    options = {} if args.timeout is None else {"timeout": args.timeout}
    return ApiClient(Configuration(host=host, api_key=api_key, **options))


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

    options: Dict[str, Any] = {"port": args.port, "token_lifetime": args.token_lifetime}
    options.update(data=args.data, examples=args.examples)
    if args.api_key is None:  # the emulator's own demo key
        emulator = Emulator(**options)
    else:
        key = _api_key(args, args.api_key, "--api-key is empty: give the key to accept")
        emulator = Emulator(api_keys=[key], **options)
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


# -- resource commands, read from the tag API classes and their operation declarations

#: Tags left out: token and refresh are the Authentication operations.
SKIPPED_TAGS = ("AuthenticationApi",)
#: The columns a table shows: an id, a label and a date, when the items have them.
LABELS = ("title", "name", "value", "url", "srclang", "language")
DATES = ("createdAt", "emittedAt")
CELL = 40  # characters at most in a table cell
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1
REPEAT = "repeat it for several"
CRUD = ("list", "get", "create", "update", "delete")  # the actions a resource's help shows first


class Action(NamedTuple):
    """One resource action: the method of a tag API class and the operation it runs."""

    api: Any  # the tag API class
    method: str
    operation: Any  # video_api.operation.Operation


def resource_names() -> Dict[str, str]:
    """Command name -> tag API class name: ``live-streams`` -> ``LiveStreamsApi``."""
    from video_api.apis.tags import TAGS

    return {_kebab(name[: -len("Api")]): name for name in TAGS if name not in SKIPPED_TAGS}


def resources(only: Optional[str] = None) -> Dict[str, Dict[str, Action]]:
    """Command name -> action name -> action, for every tag (or the one named ``only``) and
    every method whose declaration the class's module imports as ``_<method>`` (the chunked
    uploads, a mixin's, are the ``upload`` command)."""
    from video_api.apis.tags import TAGS

    found: Dict[str, Dict[str, Action]] = {}
    for command, class_name in resource_names().items():
        if only is not None and command != only:
            continue
        module = importlib.import_module(f"video_api.apis.tags.{TAGS[class_name]}")
        api = getattr(module, class_name)
        singular = "_" + command.rpartition("-")[2].rstrip("s")  # upload-tokens -> _token
        actions = found.setdefault(command, {})
        for method in vars(api):  # declaration order: list, create, get...
            declared = getattr(module, f"_{method}", None)
            if declared is not None and not method.startswith("_"):
                name = method[: -len(singular)] if method.endswith(singular) else method
                actions[name.replace("_", "-")] = Action(api, method, declared.operation)
    return found


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def _snake(name: str) -> str:
    return _kebab(name).replace("-", "_")


def _flag(name: str, many: bool = False) -> str:
    """``--player-id`` for player_id; a list is given one item at a time: ``--tag``."""
    name = name.strip("_")
    if many and name.endswith("s"):
        name = name[:-1]
    return "--" + name.replace("_", "-")


def _metavar(flag: str) -> str:
    return flag[2:].upper().replace("-", "_")


def _help(text: str) -> str:
    """The first sentence of a description, safe for argparse's % formatting."""
    return text.split(". ")[0].rstrip(".").replace("%", "%%")


def _choices(annotation: str) -> Tuple[str, ...]:
    """The string values of a ``Literal[...]`` annotation, as the generated code spells it."""
    found = re.search(r"Literal\[(.*?)\]", annotation)
    values = ast.literal_eval(f"({found.group(1)},)") if found else ()
    return tuple(v for v in values if isinstance(v, str))


def _key_value(value: str) -> Tuple[str, str]:
    key, equals, item = value.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {value!r}")
    return key, item


def _json_object(value: str) -> Any:
    try:
        found = json.loads(value)
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {value!r}")
    return found


def _file(value: str) -> str:
    if os.path.isdir(value):
        raise argparse.ArgumentTypeError(f"{value!r} is a directory, not a file")
    if not os.path.isfile(value):
        raise argparse.ArgumentTypeError(f"no file at {value!r}")
    return value


def _video_file(value: str) -> str:
    """A file to upload: refused when empty, before a video is created for it."""
    if os.path.getsize(_file(value)) == 0:
        raise argparse.ArgumentTypeError(f"the file {value!r} is empty")
    return value


def _add_param(sub: argparse.ArgumentParser, param: Any, annotation: str) -> None:
    """A path parameter or a file as a positional argument; a query or form one as a flag."""
    dest, choices = f"param.{param.name}", _choices(annotation)
    if param.where == "path":
        metavar = param.name.upper()
        sub.add_argument(dest, metavar=metavar, choices=choices or None, help=", ".join(choices))
        return
    if param.where == "file":
        sub.add_argument(dest, metavar="FILE", type=_file, help="the file to send")
        return
    many = "Sequence[" in annotation
    flag = _flag(param.name, many)
    metavar = _metavar(flag)
    if param.where == "deep":  # a mapping, or a model's fields: KEY=VALUE, repeated
        model = re.fullmatch(r"Optional\[(\w+)\]", annotation)
        if model:
            sub.set_defaults(**{f"model.{param.name}": f"{_snake(model[1])}.{model[1]}"})
        sub.add_argument(
            flag, dest=dest, metavar="KEY=VALUE", type=_key_value, action="append", help=REPEAT
        )
    elif many:
        sub.add_argument(
            flag, dest=dest, metavar=metavar, choices=choices or None, action="append", help=REPEAT
        )
    elif not choices and re.search(r"\bbool\b", annotation):
        _add_boolean(sub, flag, dest, "")
    elif not choices and re.search(r"\bint\b", annotation):
        sub.add_argument(flag, dest=dest, metavar="N", type=int)
    else:
        helps = f"one of: {', '.join(choices)}" if choices else None
        sub.add_argument(flag, dest=dest, metavar=metavar, choices=choices or None, help=helps)


def _add_boolean(sub: argparse.ArgumentParser, flag: str, dest: str, text: str) -> None:
    either = sub.add_mutually_exclusive_group()
    no = "--no-" + flag[2:]
    either.add_argument(flag, dest=dest, action="store_true", default=None, help=f"{text} ({no})")
    either.add_argument(no, dest=dest, action="store_false", default=None, help=argparse.SUPPRESS)


def _add_body(sub: argparse.ArgumentParser, model: Any) -> None:
    """A flag for each field of the body model, typed as the field is."""
    from datetime import datetime

    for field in model._fields:
        kind, dest, text = field.resolve(), f"body.{field.wire}", _help(field.description)
        flag = _flag(field.name, field.many)
        metavar = _metavar(flag)
        options: Dict[str, Any] = {"dest": dest, "metavar": metavar, "help": text or None}
        options["action"] = "append" if field.many else "store"
        if field.many:
            options["help"] = f"{text}; {REPEAT}" if text else REPEAT
        options["required"] = field.required
        if kind is bool and not field.many:
            _add_boolean(sub, flag, dest, text)
            continue
        if _is_pairs(field):
            options.update(metavar="KEY=VALUE", type=_key_value)
        elif kind in (int, float):
            options.update(metavar="N", type=kind)
        elif kind not in (str, datetime):  # a nested model or any JSON
            options.update(metavar="JSON", type=_json_object)
        choices = [value for value in field.enum or () if isinstance(value, str)]
        if choices:
            options.update(choices=choices, help=f"{text}; one of: {', '.join(choices)}")
        sub.add_argument(flag, **options)


def _is_pairs(field: Any) -> bool:
    """A list of key-value objects (metadata): given as KEY=VALUE."""
    kind = field.resolve()
    names = sorted(f.wire for f in getattr(kind, "_fields", ()))
    return bool(field.many) and names == ["key", "value"]


def _examples(command: str, name: str, action: Action) -> List[str]:
    """Example lines for an action, from its declaration."""
    operation, words = action.operation, [PROG, command, name]
    for param in operation.params:
        if param.where in ("path", "file"):
            words.append(param.name.upper() if param.where == "path" else "FILE")
    base = " ".join(words)
    lines = [base]
    body = operation.model("body")
    if body is not None:
        labels = [f for f in body._fields if f.wire in LABELS]
        fields = [f for f in body._fields if f.required] or (labels or list(body._fields))[:1]
        flags = [_flag(f.name, f.many) for f in fields]
        flags = [
            flag if field.resolve() is bool else f"{flag} {_metavar(flag)}"
            for flag, field in zip(flags, fields)
        ]
        lines = [f"{base} {' '.join(flags)}"]
    filters = [p for p in operation.params if p.where == "query" and "page" not in p.name]
    if filters:
        flag = _flag(filters[0].name)
        lines.append(f"{base} {flag} {_metavar(flag)}")
    if operation.paginated:
        lines.append(f"{base} --all --json > {command}.jsonl")
    elif operation.method == "GET":
        lines.append(f"{base} --json | jq .")
    return lines


def _add_resources(
    commands: Any, parents: List[argparse.ArgumentParser], wanted: Optional[str]
) -> None:
    """A command per resource; the actions only for the one ``wanted`` (the command line's
    first word), so that a command imports only the API class it uses."""
    raw = argparse.RawDescriptionHelpFormatter
    found = resources(wanted)
    for command, class_name in resource_names().items():
        words = _kebab(class_name[: -len("Api")]).replace("-", " ").capitalize()
        summary = f"The {words} operations"
        actions = found.get(command)
        if actions is None:  # not the command run: listed in the top-level help only
            commands.add_parser(command, help=f"{summary} (`{PROG} {command} --help`).")
            continue
        ordered = sorted(
            actions, key=lambda name: (name not in CRUD, CRUD.index(name) if name in CRUD else 0)
        )
        examples = [_examples(command, name, actions[name])[0] for name in ordered]
        resource = commands.add_parser(
            command,
            help=f"{summary} (`{PROG} {command} --help`).",
            description=f"{summary}: {', '.join(actions)}.\n"
            f"`{PROG} {command} ACTION --help` tells an action's arguments.",
            epilog=RESOURCE_NOTES + "\nExamples:\n" + "".join(f"  {e}\n" for e in examples[:5]),
            formatter_class=raw,
        )
        subs = resource.add_subparsers(
            dest="action", required=True, metavar="ACTION", parser_class=_Parser
        )
        for name, action in actions.items():
            _add_action(subs, command, name, action, parents)


def _add_action(
    subs: Any, command: str, name: str, action: Action, parents: List[argparse.ArgumentParser]
) -> None:
    operation = action.operation
    method = getattr(action.api, action.method)
    aliases = [action.method.replace("_", "-")] if name != action.method.replace("_", "-") else []
    sub = subs.add_parser(
        name,
        aliases=aliases,
        help=operation.summary,
        description=f"{operation.summary}: {operation.method} {operation.path}.",
        epilog=RESOURCE_NOTES
        + "\nExamples:\n"
        + "".join(f"  {e}\n" for e in _examples(command, name, action)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=parents,
    )
    sub.set_defaults(run=cmd_resource, parser=sub, act=action)
    parameters = inspect.signature(method).parameters
    for param in operation.params:
        if param.where == "json":
            _add_body(sub, operation.model("body"))
        else:
            _add_param(sub, param, str(parameters[param.name].annotation))
    if operation.paginated:
        sub.add_argument("--all", action="store_true", help="every page, fetched as it is printed")


def cmd_resource(args: argparse.Namespace) -> int:
    """Run one operation with the arguments given, and print its answer."""
    import video_api

    action: Action = args.act
    operation, values = action.operation, vars(args)
    positional: List[Any] = []
    keywords: Dict[str, Any] = {}
    for param in operation.params:
        value = values.get(f"param.{param.name}")
        if param.where == "json":
            value = _body(args, operation.model("body"))
        elif param.where == "deep" and value is not None:
            value = _mapping(value, values.get(f"model.{param.name}"))
        if param.where in ("path", "file", "json"):
            positional.append(value)
        elif value is not None:
            keywords[param.name] = value
    key = _api_key(args, args.api_key or os.environ.get("VIDEO_API_KEY"))
    host = _host(args)
    path, summary = operation.path, operation.summary
    for param in operation.params:
        if param.where == "path":
            path = path.replace(f"{{{param.wire}}}", values[f"param.{param.name}"])
    where = shown(f"{operation.method} {path} at {host}")  # an upload token's path
    args.failed = f"could not {summary[:1].lower()}{summary[1:]} ({where})"
    with _client(args, host, key) as client:
        method = getattr(action.api(client), action.method)
        if getattr(args, "all", False):
            _print_items(args, action, video_api.paginate(method, *positional, **keywords))
        else:
            _print_answer(args, action, method(*positional, **keywords))
    return 0


def _mapping(pairs: List[Tuple[str, str]], model: Optional[str]) -> Dict[str, Any]:
    """KEY=VALUE pairs as a mapping; a key given again, or a list field of ``model``, makes
    a list."""
    from video_api.schemas import resolve

    lists = {f.wire for f in resolve(model)._fields if f.many} if model else set()
    found: Dict[str, Any] = {}
    for key, value in pairs:
        if key in lists or key in found:
            previous = found.get(key, [])
            found[key] = [*(previous if isinstance(previous, list) else [previous]), value]
        else:
            found[key] = value
    return found


def _body(args: argparse.Namespace, model: Any) -> Any:
    """The body model from the flags given; a usage error when it is not valid."""
    values = vars(args)
    body: Dict[str, Any] = {}
    for field in model._fields:
        value = values.get(f"body.{field.wire}")
        if value is not None:
            body[field.wire] = (
                [{"key": k, "value": v} for k, v in value] if _is_pairs(field) else value
            )
    if not body and args.act.operation.method == "PATCH":
        flags = [_flag(f.name, f.many) for f in model._fields][:3]
        args.parser.error(f"nothing to change: give at least one of {', '.join(flags)}...")
    try:
        return model(body)
    except (ApiTypeError, ApiValueError) as error:
        args.parser.error(str(error))


def _as_json(args: argparse.Namespace) -> bool:
    return bool(args.json) or not sys.stdout.isatty()


def _print_answer(args: argparse.Namespace, action: Action, answer: Any) -> None:
    """The answer as JSON, or on a terminal as a table (a page) or key/value lines."""
    if answer is None:  # an empty answer: a delete, a completion
        if not _as_json(args):
            print(f"{action.operation.summary}: done.")
        return
    if _as_json(args):
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
        return
    if action.operation.paginated:
        _print_table(_item_model(action), answer.data or ())
        pagination = answer.pagination
        if pagination is not None and pagination.pages_total:
            more = "; --all lists every page" if pagination.pages_total > 1 else ""
            print(
                f"page {pagination.current_page} of {pagination.pages_total}, "
                f"{pagination.items_total} in all{more}"
            )
        return
    rows = list(_flatten(answer.to_dict()))
    width = max((len(name) for name, _ in rows), default=0)
    for name, text in rows:
        print(f"{name.ljust(width)}  {text}".rstrip())


def _print_items(args: argparse.Namespace, action: Action, items: Iterable[Any]) -> None:
    """``--all``: JSON Lines as each page arrives, or one table on a terminal."""
    if _as_json(args):
        for item in items:
            print(item.to_json(), flush=True)
    else:
        _print_table(_item_model(action), list(items))


def _item_model(action: Action) -> Any:
    """The model of a page's items: the ``data`` field of the list's answer."""
    success = min(status for status in action.operation.responses if status < 300)
    return action.operation.model(success)._lookup["data"].resolve()


def _print_table(model: Any, items: Sequence[Any]) -> None:
    columns = _columns(model)
    rows = [columns] + [[_cell(item.to_dict().get(name)) for name in columns] for item in items]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    if not items:
        print("(none)")


def _columns(model: Any) -> List[str]:
    """An id, a label and a date, when the items have them; else their first fields."""
    from datetime import datetime

    plain = [
        f.wire
        for f in model._fields
        if not f.many and f.resolve() in (str, int, float, bool, datetime)
    ]
    ident = [w for w in plain if w.endswith("Id") or w in ("token", "uri")][:1]
    label = [w for w in LABELS if w in plain][:1]
    date = [w for w in DATES if w in plain][:1]
    chosen = ident + label + date
    return chosen + [w for w in plain if w not in chosen][: max(0, 3 - len(chosen))]


def _cell(value: Any) -> str:
    text = _text(value)
    return text if len(text) <= CELL else text[: CELL - 1] + "…"


def _text(value: Any) -> str:
    """A value as a person reads it: strings bare, lists joined, the rest as JSON; control
    characters escaped."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        text = ", ".join(value)
    elif isinstance(value, list) and all(_is_pair(item) for item in value):
        text = ", ".join(f"{item['key']}={item['value']}" for item in value)
    else:
        text = "" if value is None else json.dumps(value, ensure_ascii=False)
    return _escaped(text)


def _escaped(text: str) -> str:
    """``text`` safe for a terminal: C0, DEL and C1 control characters (a new line, an
    escape sequence's ESC or CSI) written as Python's repr writes them (``\\n``, ``\\x1b``)."""
    return _CONTROL.sub(lambda found: repr(found.group())[1:-1], text)


def _is_pair(value: Any) -> bool:
    return isinstance(value, dict) and sorted(value) == ["key", "value"]


def _flatten(value: Dict[str, Any], prefix: str = "") -> Iterable[Tuple[str, str]]:
    """(dotted name, text) for each value, nested objects one level per dot."""
    for name, item in value.items():
        if isinstance(item, dict) and item:
            yield from _flatten(item, f"{prefix}{name}.")
        else:
            yield _escaped(prefix + name), _text(item)


# -- upload


class _Progress:
    """A progress bar on stderr, redrawn at most ten times a second: the part uploaded, the
    rate and the time left. ``progress(uploaded_bytes, total_or_None)`` is how the upload
    engine reports, from any of its threads."""

    WIDTH = 24

    def __init__(self, stream: Any) -> None:
        self.stream, self.lock = stream, threading.Lock()
        self.started = self.drawn = time.monotonic()
        self.done: int = 0
        self.total: Optional[int] = None
        self.shown = False  # a bar is on the line, to end before anything else is written

    def __call__(self, done: int, total: Optional[int]) -> None:
        with self.lock:
            self.done, self.total = done, total
            now = time.monotonic()
            if now - self.drawn >= 0.1 or done == total:
                self.drawn, self.shown = now, True
                self.stream.write("\r" + self.line(now) + "\x1b[K")  # \x1b[K: clear to the end
                self.stream.flush()

    def line(self, now: float) -> str:
        done, total = self.done, self.total
        rate = done / max(now - self.started, 1e-3)
        speed = f"{_size(rate)}/s"
        if not total:
            return f"{_size(done)}  {speed}"
        filled = self.WIDTH * min(done, total) // total
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        left = "done"
        if done < total:
            left = f"{_duration((total - done) / rate)} left" if rate else ""
        return f"[{bar}] {done / total:4.0%}  {self.how_far(percent=False)}  {speed}  {left}"

    def how_far(self, percent: bool = True) -> str:
        if not self.total:
            return _size(self.done)
        share = f" ({self.done / self.total:.0%})" if percent else ""
        return f"{_size(self.done)} of {_size(self.total)}{share}"

    def end(self) -> None:
        """End the bar's line, once."""
        with self.lock:
            if self.shown:
                self.stream.write("\n")
                self.shown = False


def _size(count: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return ""  # not reached


def _duration(seconds: float) -> str:
    minutes, whole = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{whole:02d}" if hours else f"{minutes}:{whole:02d}"


def _accepted(method: Any, options: Dict[str, Any]) -> Dict[str, Any]:
    """The options the upload method takes (the chunked upload engine adds them)."""
    parameters = inspect.signature(method).parameters
    return {k: v for k, v in options.items() if k in parameters and v is not None}


def cmd_upload(args: argparse.Namespace) -> int:
    """Create the video (unless an id or an upload token is given), then upload the file."""
    from video_api.apis.tags.videos_api import VideosApi
    from video_api.model.video_creation_payload import VideoCreationPayload

    host, token = _host(args), args.upload_token
    key = None if token else _api_key(args, args.api_key or os.environ.get("VIDEO_API_KEY"))
    if token:
        args.secrets.append(token)
    with _client(args, host, key) as client:
        api = VideosApi(client)
        video_id = args.video_id
        if video_id is None and token is None:
            args.failed = f"could not create the video at {host}"
            title = args.title or os.path.basename(args.file)
            video_id = api.create(VideoCreationPayload(title=title)).video_id
        method = api.upload_with_upload_token if token else api.upload
        progress = _Progress(sys.stderr) if sys.stderr.isatty() else None
        wanted = {"chunk_size": args.chunk_size, "concurrency": args.concurrency}
        options = _accepted(method, {**wanted, "progress": progress})
        ignored = [_flag(name) for name, value in wanted.items() if value and name not in options]
        if ignored:
            print(
                f"{PROG}: note: {' and '.join(ignored)} ignored: this video_api sends the "
                "file in one request",
                file=sys.stderr,
            )
        args.failed = f"could not upload {args.file} to {host}"
        try:
            video = method(token or video_id, args.file, **options)
        except KeyboardInterrupt:
            _interrupted(args, video_id, progress)
            return 130
        finally:
            if progress is not None:
                progress.end()
    if args.json:
        print(json.dumps(video.to_dict(), indent=2, ensure_ascii=False))
    else:
        player = video.assets.player if video.assets is not None else None
        print(video.video_id + (f"\n{player}" if player else ""))
    return 0


def _interrupted(
    args: argparse.Namespace, video_id: Optional[str], progress: Optional[_Progress]
) -> None:
    """Say how far the upload got, and how to try again."""
    if progress is not None:
        progress.end()
    uploaded = f" with {progress.how_far()} uploaded" if progress and progress.done else ""
    again = f"{PROG} upload {shlex.quote(args.file)}"
    again += f" --video-id {shlex.quote(video_id)}" if video_id else " --upload-token TOKEN"
    again += _same_options(args)
    again += "" if video_id else ", TOKEN being the same upload token"
    where = f" to video {video_id}" if video_id else ""
    line = f"interrupted{uploaded}; the upload{where} did not finish: to try again, run {again}"
    print(f"{PROG}: {_escaped(line)}", file=sys.stderr)


def _same_options(args: argparse.Namespace) -> str:
    """The options of an upload that a new try needs too (the host's, the parts'), as flags;
    never a credential."""
    host = _host(args)  # from --host, --sandbox or $VIDEO_API_URL
    found = {PRODUCTION: [], SANDBOX: ["--sandbox"]}.get(host, ["--host", host])
    for name in ("chunk_size", "concurrency", "timeout"):
        value = getattr(args, name)
        found += [] if value is None else [_flag(name), str(value)]
    hidden = shown(" ".join(shlex.quote(word) for word in found))
    for secret in args.secrets:
        hidden = hidden.replace(secret, "***")
    return " " + hidden if hidden else ""


# -- the parser


def build_parser(argv: Optional[Sequence[str]] = None) -> argparse.ArgumentParser:
    """The parser; a resource's actions are built when ``argv`` names it (or is None)."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog=PROG,
        description="The api.video API from the shell: videos, uploads, live streams, captions,\n"
        "chapters, player themes, webhooks, upload tokens...; tokens; and a local emulator.",
        epilog=TOP_EXAMPLES,
        formatter_class=raw,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    common = _Parser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        help="on an error, print its traceback too (or set VIDEO_API_DEBUG=1)",
    )

    def command(
        name: str,
        run: Any,
        summary: str,
        more: str,
        epilog: str,
        api: bool = True,
        host_help: str = HOST_HELP,
    ) -> Any:
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
            where.add_argument("--host", type=_url, help=host_help)
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
        "An api.video-compatible server on 127.0.0.1: every operation of the API, on an\n"
        "account that keeps what is created on it (empty at the start, or --examples),\n"
        "signed webhooks to loopback URLs, tokens that expire; SIGTERM stops it too.",
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
    serve.add_argument(
        "--data",
        metavar="PATH",
        help="a SQLite file that keeps the emulator's state across restarts (default: memory)",
    )
    serve.add_argument(
        "--examples",
        action="store_true",
        help="start with the objects whose ids the API reference's examples use",
    )

    demo = command(
        "demo",
        cmd_demo,
        "Show the token flow, offline unless --host or --sandbox is given.",
        "Authenticate, refresh, then call GET /videos with the new access token.",
        DEMO_EXAMPLES,
        host_help="API base URL (default: an emulator of its own)",
    )
    demo.add_argument(
        "--api-key", metavar="KEY", help="for --host/--sandbox; '-' reads stdin; $VIDEO_API_KEY"
    )

    key_help = "'-' reads it from stdin; default $VIDEO_API_KEY"
    upload = command(
        "upload",
        cmd_upload,
        "Upload a video file; print its id and player URL.",
        "",
        UPLOAD_EXAMPLES,
    )
    upload.add_argument("file", metavar="FILE", type=_video_file, help="the video file")
    target = upload.add_mutually_exclusive_group()
    target.add_argument("--title", metavar="T", help="the new video's title (default: FILE's name)")
    target.add_argument("--video-id", metavar="ID", help="upload into this existing video")
    target.add_argument(
        "--upload-token", metavar="TOKEN", help="upload with a delegated token, without an API key"
    )
    upload.add_argument(
        "--chunk-size", type=_chunk_size, metavar="BYTES", help="bytes a part (a request) carries"
    )
    upload.add_argument(
        "--concurrency", type=_whole(1, 64, "1 to 64"), metavar="N", help="parts sent at once"
    )
    upload.add_argument("--api-key", metavar="KEY", help=key_help)
    upload.add_argument("--json", action="store_true", help="print the whole video as JSON")

    connection = _Parser(add_help=False)
    where = connection.add_mutually_exclusive_group()
    where.add_argument("--host", type=_url, help=HOST_HELP)
    where.add_argument("--sandbox", action="store_true", help=f"use {SANDBOX}")
    connection.add_argument("--api-key", metavar="KEY", help=key_help)
    connection.add_argument(
        "--timeout",
        type=_seconds,
        metavar="S",
        help="seconds to connect, and to wait for the answer (default: 5 and 60)",
    )
    connection.add_argument(
        "--json", action="store_true", help="print the API's JSON, even on a terminal"
    )
    wanted = None if argv is None else (list(argv) or ["-"])[0]
    _add_resources(commands, [common, connection], wanted)
    return parser


# -- errors


def _cause(error: BaseException) -> str:
    """The innermost cause, as the operating system or the server put it, in lower case."""
    seen = {id(error)}
    while True:
        # A context raised "from None" is hidden: urllib3 1.26 hides a TypeError it caught.
        inner = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
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
    if isinstance(error, ApiConnectionError) or (
        isinstance(error, ApiException) and error.status is None  # a failed upload's part
    ):
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
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    args.secrets, args.failed, args.refused = [], f"{args.command} failed", "the request"
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader left (`| head`): stop quietly, as a killed tool would
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the exit's flush cannot fail again
        return 141
    except (OpenApiException, OSError, _Failure) as error:
        if args.debug or os.environ.get("VIDEO_API_DEBUG", "0") not in ("", "0"):
            traceback.print_exc()
        message = f"{args.failed}: {_why(error, args.refused)}"
        for secret in args.secrets:
            message = message.replace(secret, "***")
        message = _escaped(shown(message))  # no upload token, no control character
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

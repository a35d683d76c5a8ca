"""The runtime: one :class:`ApiClient` runs every operation (data: :mod:`video_api.operation`).
:meth:`~ApiClient.call` (API methods), :meth:`~ApiClient.call_operation` (the auth tag) and
:meth:`~ApiClient.call_api` (any path) build a :class:`Request`; ``_send`` adds credentials
and sends it; ``_respond`` reads, parses, and returns or raises."""

from __future__ import annotations

import copy
import functools
import json
import logging
import os
import re
import threading
import time
import warnings
from datetime import datetime
from functools import lru_cache
from types import MappingProxyType
from typing import (
    IO,
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    NamedTuple,
    NoReturn,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
    cast,
)
from urllib.parse import quote, urlencode

from ._version import __version__
from .configuration import (
    ENVIRONMENTS,
    Configuration,
    Timeout,
    check_timeout,
    check_url,
    is_loopback,
)
from .exceptions import (
    ApiResponseError,
    ApiTimeoutError,
    ApiTypeError,
    ApiValueError,
    TooManyRequestsException,
    exception_class_for,
    shown,
)
from .operation import ApiResponse, ApiResponseWithoutDeserialization, Operation
from .schemas import Model, _encode, resolve, unset

logger: logging.Logger = logging.getLogger("video_api")

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

if TYPE_CHECKING:  # typing-only: nothing here is imported or built at run time
    import urllib3
    from typing_extensions import ParamSpec, Protocol, Self, TypedDict

    from .auth import BasicAuth, TokenManager
    from .configuration import Environment
    from .rest import RESTClientObject

    P = ParamSpec("P")

    class CallOptions(TypedDict, total=False):
        """Per-call options every API method takes, as keywords."""

        _request_timeout: Timeout  # seconds, or (connect, read)
        _headers: Mapping[str, str]  # extra request headers

    #: A file to upload: a path, bytes, or a file object opened in binary mode.
    FileInput = Union[str, "os.PathLike[str]", bytes, IO[bytes]]

    class Page(Protocol[T_co]):
        @property
        def data(self) -> Optional[Sequence[T_co]]: ...


JSON = "application/json"
ACCEPT_JSON: Tuple[str, ...] = (JSON,)
#: Larger JSON bodies are refused rather than parsed: no api.video answer is near it.
MAX_JSON_BYTES = 8 * 1024 * 1024
READ_BLOCK = 64 * 1024
#: An HTTP method or header name (RFC 9110's token)
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: A header value http.client can send: Latin-1 (as it encodes them), no line break or NUL.
_FIELD_VALUE = re.compile(r"[^\r\n\0\u0100-\U0010ffff]*")
_OPTIONS = frozenset({"_request_timeout", "_headers", "_return_http_data_only", "_preload_content"})


@lru_cache(maxsize=64)  # bounded: a server could send endless variants
def is_json(content_type: str) -> bool:
    """True for ``application/json``, with parameters, and ``+json`` types (``problem+json``)."""
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime == JSON or (mime.startswith("application/") and mime.endswith("+json"))


class Request:
    """One request, ready to send: the options object every call path builds."""

    __slots__ = ("body", "deadline", "headers", "host", "operation", "timeout", "transport", "url")

    def __init__(
        self,
        operation: Operation[Any],
        url: str,
        headers: Dict[str, str],
        body: Union[bytes, MultipartBody, None] = None,
        timeout: Optional[Timeout] = None,
        host: Optional[str] = None,
    ) -> None:
        self.operation: Operation[Any] = operation
        self.url: str = url  # the path and query, below the configured host
        self.headers: Dict[str, str] = headers
        self.body: Union[bytes, MultipartBody, None] = body
        self.timeout: Optional[Timeout] = timeout
        self.host: Optional[str] = host
        #: When the whole call must be over (monotonic), for a timeout given as one number.
        self.deadline: Optional[float] = None
        #: Set for a token exchange: the transport of the token manager that asks for it.
        self.transport: Optional[RESTClientObject] = None


class MultipartBody:
    """multipart/form-data streamed from its sources, never read whole into memory. Each
    iteration yields the body from the start (a file from where it started), so a retry sends
    it again; a stream that cannot seek is read once, and the body is not ``replayable``."""

    BLOCK = 256 * 1024

    class File(NamedTuple):
        """A file field whose bytes the caller provides (the chunked upload's parts): its name,
        size (None when unknown), and ``blocks()``, which yields its bytes anew at each call."""

        name: str
        size: Optional[int]
        blocks: Callable[[], Iterator[Union[bytes, memoryview]]]

    def __init__(self, fields: Sequence[Tuple[str, Any, bool]], where: str) -> None:
        self.boundary: str = os.urandom(16).hex()
        self.content_type: str = f"multipart/form-data; boundary={self.boundary}"
        self.replayable: bool = True
        self._sections: List[Union[bytes, MultipartBody.File]] = []
        for wire, value, is_file in fields:
            disposition = f'Content-Disposition: form-data; name="{wire}"'
            if not is_file:
                field = f"--{self.boundary}\r\n{disposition}\r\n\r\n{value!s}\r\n"
                self._sections.append(field.encode())
                continue
            file = value if isinstance(value, MultipartBody.File) else self._source(value, where)
            import mimetypes  # only uploads need it

            kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            name = file.name.replace('"', "%22").replace("\r", "").replace("\n", "")
            head = f'--{self.boundary}\r\n{disposition}; filename="{name}"\r\n'
            head += f"Content-Type: {kind}\r\n\r\n"
            self._sections += [head.encode(), file, b"\r\n"]
        self._sections.append(f"--{self.boundary}--\r\n".encode())

    def _source(self, value: Any, where: str) -> MultipartBody.File:
        """A path, bytes, or a binary file object, as a :class:`File`."""
        if isinstance(value, (bytes, bytearray)):
            data = bytes(value)
            return self.File("file", len(data), lambda: iter((data,)))
        if isinstance(value, (str, os.PathLike)):
            path = os.fspath(value)
            if not os.path.isfile(path):
                raise ApiValueError(f"{where}: no file at {path!r}")
            return self.File(
                os.path.basename(path), os.path.getsize(path), lambda: self._read_path(path)
            )
        if not hasattr(value, "read"):
            raise ApiTypeError(
                f"{where} expects a path, bytes or a binary file object, got {type(value).__name__}"
            )
        if getattr(value, "closed", False):
            raise ApiValueError(f"{where}: the file is closed")
        # A text file has a str mode without "b", or an encoding; a GzipFile's mode is an int.
        mode, encoding = getattr(value, "mode", "b"), getattr(value, "encoding", None)
        if (isinstance(mode, str) and "b" not in mode) or isinstance(encoding, str):
            raise ApiValueError(f"{where}: open the file in binary mode ('rb'), not text mode")
        name = getattr(value, "name", None)
        name = os.path.basename(name) if isinstance(name, str) else "file"
        try:
            start = value.tell()
            size = value.seek(0, os.SEEK_END) - start
            value.seek(start)
        except (AttributeError, OSError, ValueError):  # a pipe or a socket: read it once
            self.replayable = False
            return self.File(name, None, lambda: self._blocks(value))
        return self.File(name, size, lambda: self._blocks(value, start))

    @property
    def length(self) -> Optional[int]:
        """The body's size in bytes, or None when a stream's size is unknown."""
        sizes = [len(s) if isinstance(s, bytes) else s.size for s in self._sections]
        return None if None in sizes else sum(size for size in sizes if size is not None)

    def __iter__(self) -> Iterator[Union[bytes, memoryview]]:
        for section in self._sections:
            if isinstance(section, bytes):
                yield section
            else:
                yield from section.blocks()

    def _read_path(self, path: str) -> Iterator[bytes]:
        with open(path, "rb") as file:
            yield from self._blocks(file)

    def _blocks(self, file: IO[bytes], start: Optional[int] = None) -> Iterator[bytes]:
        if start is not None:
            file.seek(start)
        yield from iter(lambda: file.read(self.BLOCK), b"")


def _scalar(value: Any, where: str) -> str:
    """A query value as the API reads it: booleans in lower case, dates in ISO 8601, an
    Enum's member by its value; anything else is refused rather than sent as its repr."""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (int, float)):
        return str(float(value) if isinstance(value, float) else int(value))
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.isoformat()
    raise ApiTypeError(
        f"{where} expects text, a number, a boolean or a timezone-aware datetime (or a list of "
        f"them), got {'a naive datetime' if isinstance(value, datetime) else type(value).__name__}"
    )


def _json_bytes(value: Any, where: str) -> bytes:
    """``value`` as UTF-8 JSON, or an error naming ``where``: a set, an int too long for
    text or a lone surrogate would otherwise fail deep in json or in the codec."""
    try:
        return (value.to_json() if isinstance(value, Model) else _encode(value)).encode()
    except UnicodeEncodeError as error:
        character = error.object[error.start : error.end]
        raise ApiValueError(f"{where} holds text UTF-8 cannot carry: {character!r}") from None
    except (TypeError, ValueError) as error:
        raise ApiTypeError(f"{where} cannot be sent as JSON: {error}") from None


def _headers_given(headers: Any, where: str) -> Mapping[str, str]:
    """Extra request headers, checked: a line break in one would write a header of its own.
    Values are never shown, as one may be a credential."""
    if not isinstance(headers, Mapping):
        raise ApiTypeError(
            f"{where} expects a mapping of header names to values, got {type(headers).__name__}"
        )
    for name, value in headers.items():
        number = isinstance(value, int) and not isinstance(value, bool)  # sent as its digits
        if not isinstance(name, str) or not (isinstance(value, str) or number):
            raise ApiTypeError(
                f"{where}: header names are str and values str or int, got "
                f"{type(name).__name__} and {type(value).__name__}"
            )
        if not _TOKEN.fullmatch(name) or not _FIELD_VALUE.fullmatch(str(value)):
            raise ApiValueError(f"{where}: header {name!r} has a character HTTP does not allow")
    return headers


def _segment(value: str) -> str:
    """A path parameter, encoded so that it cannot leave its segment (``/``, ``..``)."""
    if value.isascii() and value.isalnum():  # an id, as nearly all are: nothing to encode
        return value
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if set(value) <= {"."} else encoded


class BaseApi:
    """Base of the API classes: they hold the client that runs their operations."""

    def __init__(self, api_client: Optional[ApiClient] = None) -> None:
        if api_client is not None and not isinstance(api_client, ApiClient):
            raise ApiTypeError(
                f"{type(self).__name__} expects an ApiClient, got {type(api_client).__name__}"
            )
        self.api_client: ApiClient = api_client if api_client is not None else ApiClient()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.api_client!r})"


class ApiClient:
    """Runs operations over one urllib3 pool: use it in a ``with`` block, or ``close()`` it."""

    def __init__(
        self,
        configuration: Optional[Configuration] = None,
        header_name: Optional[str] = None,
        header_value: Optional[str] = None,
    ) -> None:
        if configuration is not None and not isinstance(configuration, Configuration):
            raise ApiTypeError(
                f"{type(self).__name__} expects a video_api.Configuration, "
                f"got {type(configuration).__name__}"
            )
        config = configuration if configuration is not None else Configuration()
        self.configuration = config
        # The transport, and urllib3 with it, load with the first client, not with the package.
        from . import rest

        self._rest = rest
        self._default_headers: Dict[str, str] = {
            "User-Agent": f"video-api-python/{__version__}",
            "AV-Origin-Client": f"python:{__version__}",
        }
        self._prepared: Dict[Tuple[Any, ...], Dict[str, str]] = {}
        if header_name is not None and header_value is not None:
            self.set_default_header(header_name, header_value)
        self._auth_from: Tuple[Any, ...] = ()  # the settings self.auth was built from
        #: (transport, token manager, Basic auth) of one configuration, read whole by each call,
        #: so that a token goes only to the host that issued it, whatever changes meanwhile.
        self._route: Tuple[RESTClientObject, Optional[TokenManager], Optional[BasicAuth]]
        self._reconfiguring = threading.Lock()
        self._configure()

    def _configure(self) -> None:
        """Build the transport and the auth strategies from the configuration: with the
        client, and again at the first call after the configuration changed, as api.video's
        client reads it at each call (``client.configuration.host = url`` takes effect)."""
        config = self.configuration
        taken = config._changes
        transport = self._rest.RESTClientObject(config)
        has_credentials = bool(config.api_key or config.access_token or config.token is not None)
        if has_credentials and config.host.startswith("http://") and not is_loopback(config.host):
            warnings.warn(
                f"credentials go in clear text to {config.host} (plain http): "
                f"anyone on the network path can read them; use https",
                stacklevel=3,
            )
        exchange = functools.partial(self._exchange, transport)
        previous, tokens, basic = getattr(self, "_route", (None, None, None))
        auth_from = (config.host, config.api_key, config.access_token, config.token, config.auth)
        if auth_from == self._auth_from:  # the same credentials for the same host: tokens kept
            if tokens is not None:  # its exchanges go over the new transport, to the same host
                tokens._exchange = exchange
        else:
            tokens, basic = None, None
            if has_credentials:
                from .auth import BasicAuth, TokenManager  # a client without credentials skips it

                # A saved token is the host's and the key's it was saved with: restored once.
                restore = previous is None or config.token is not self._auth_from[3]
                tokens = TokenManager(config, exchange, restore=restore)
                if config.api_key and config.auth == "basic":
                    basic = BasicAuth(config.api_key)
            self._auth_from = auth_from
        self._route, self._taken = (transport, tokens, basic), taken
        if previous is not None:
            previous.close()  # a call under way on it opens a new connection, to its host

    @property
    def rest_client(self) -> RESTClientObject:
        """The transport, as the configuration is now."""
        return self._route[0]

    @property
    def auth(self) -> Optional[TokenManager]:
        """The token manager (None without credentials): set one (on a clock of its own, in
        a test) to have the client use it."""
        return self._route[1]

    @auth.setter
    def auth(self, tokens: Optional[TokenManager]) -> None:
        self._route = (self._route[0], tokens, self._route[2])

    def _take_up_changes(self) -> None:
        if self.configuration._changes != self._taken:
            with self._reconfiguring:
                if self.configuration._changes != self._taken:
                    self._configure()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release every pooled connection; the client may still be used after."""
        self.rest_client.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(host={self.configuration.host!r})"

    @property
    def default_headers(self) -> Mapping[str, str]:
        """Headers sent with every request (read-only; see :meth:`set_default_header`)."""
        return MappingProxyType(self._default_headers)

    def set_default_header(self, name: str, value: str) -> None:
        _headers_given({name: value}, "set_default_header")
        self._default_headers[name] = value
        self._prepared.clear()

    def set_application_name(self, name: str, version: str) -> None:
        """Tell api.video which application calls: ``AV-Origin-App: name:version``."""
        self._set_origin("AV-Origin-App", "application", name, version)

    def set_sdk_name(self, name: str, version: str) -> None:
        """Tell api.video which SDK built on this one calls: ``AV-Origin-Sdk: name:version``."""
        self._set_origin("AV-Origin-Sdk", "sdk", name, version)

    def _set_origin(self, header: str, kind: str, name: str, version: str) -> None:
        """As api.video's client checks them; neither given leaves the header as it is."""
        if not name and not version:
            return
        if not isinstance(name, str) or not re.fullmatch(r"[\w-]{1,50}", name, re.ASCII):
            raise ApiValueError(
                f"{kind} name must be 1 to 50 of A-Z, a-z, 0-9, '-' and '_', got {name!r}"
            )
        if not isinstance(version, str) or not re.fullmatch(
            r"[0-9]{1,3}(\.[0-9]{1,3}){0,2}", version
        ):
            raise ApiValueError(f"{kind} version must be like 1, 1.2 or 1.2.3, got {version!r}")
        self.set_default_header(header, f"{name}:{version}")

    @property
    def user_agent(self) -> str:
        return self._default_headers["User-Agent"]

    @user_agent.setter
    def user_agent(self, value: str) -> None:
        self.set_default_header("User-Agent", value)

    def _headers(self, content_type: Optional[str], accept: Sequence[str]) -> Dict[str, str]:
        key = (content_type, tuple(accept))
        headers = self._prepared.get(key)
        if headers is None:
            headers = {**self._default_headers, "Accept": ", ".join(accept)}
            if content_type:
                headers["Content-Type"] = content_type
            self._prepared[key] = headers
        return headers

    # -- the three ways in
    def call(self, operation: Operation[T], args: Tuple[Any, ...], options: Mapping[str, Any]) -> T:
        """Run ``operation`` with the generated method's arguments, in declaration order: the
        parsed body, or with ``_return_http_data_only=False`` the :class:`ApiResponse`."""
        unknown = set(options) - _OPTIONS
        if unknown:
            raise ApiTypeError(
                f"{operation.name}() got an unexpected keyword argument {sorted(unknown)[0]!r}"
            )
        if options.get("_preload_content") is False:  # api.video's client's raw response
            raise ApiValueError(
                f"{operation.name}: _preload_content=False is not supported; for the raw "
                f"response use client.call_api(path, method, stream=True)"
            )
        request = self._build(operation, args)
        extra = options.get("_headers")
        if extra is not None:
            _headers_given(extra, f"{operation.name}: _headers")
            request.headers = {**request.headers, **extra}
        request.timeout = options.get("_request_timeout")
        response = self._respond(request, *self._send(request))
        if options.get("_return_http_data_only") is False:
            return response  # type: ignore[return-value]  # with_http_info types this one
        return response.body  # type: ignore[no-any-return]

    def call_operation(
        self,
        operation: Operation[Any],
        body: Any = unset,
        content_type: str = JSON,
        accept_content_types: Sequence[str] = ACCEPT_JSON,
        stream: bool = False,
        timeout: Optional[Timeout] = None,
        skip_deserialization: bool = False,
    ) -> ApiResponse[Any]:
        """Run ``operation`` with the generated client's options (the auth tag's methods)."""
        request = self._auth_request(operation, body, content_type, accept_content_types, timeout)
        response, retries = self._send(request)
        if skip_deserialization:
            if not stream:  # loaded now, capped, so that the connection is free again
                data = self._read(request, response)
                response = type(response)(
                    body=data,
                    headers=response.headers,
                    status=response.status,
                    reason=response.reason,
                    preload_content=True,
                    decode_content=False,  # _read decoded it
                )
            return ApiResponseWithoutDeserialization(response, retries)
        return self._respond(request, response, retries)

    def _auth_request(
        self,
        operation: Operation[Any],
        body: Any,
        content_type: str,
        accept: Sequence[str],
        timeout: Optional[Timeout],
    ) -> Request:
        if content_type is not JSON or accept is not ACCEPT_JSON:  # the caller's: checked
            if isinstance(accept, str) or not isinstance(accept, (list, tuple)):
                raise ApiTypeError(
                    f"{operation.name}: accept_content_types expects a list or tuple of media "
                    f"types, got {type(accept).__name__}"
                )
            for header, kind in [("Content-Type", content_type), *(("Accept", a) for a in accept)]:
                if not isinstance(kind, str):
                    raise ApiTypeError(
                        f"{operation.name}: a media type is a str, got {type(kind).__name__}"
                    )
                _headers_given({header: kind}, operation.name)
        payload = None
        if body is not unset:
            if not is_json(content_type):
                raise ApiValueError(
                    f"{operation.name}: content_type {content_type!r} is not supported; "
                    f"this operation sends {JSON}"
                )
            payload = _json_bytes(self._model(operation, body, "body"), f"{operation.name}: body")
        headers = self._headers(content_type if payload else None, accept)
        return Request(operation, operation.path, headers, payload, timeout)

    def call_api(
        self,
        resource_path: str,
        method: str,
        headers: Optional[Mapping[str, str]] = None,
        body: Any = None,
        fields: Optional[Mapping[str, Any]] = None,
        auth_settings: Optional[Sequence[str]] = None,
        stream: bool = False,
        timeout: Optional[Timeout] = None,
        host: Optional[str] = None,
    ) -> ApiResponse[Any]:
        """Call any endpoint, with this client's auth, retries, timeouts and errors. ``body``
        goes as JSON (a model, dict or list) or as is (bytes or str); ``fields`` as multipart
        form data: a str or a number as text, a file (a ``pathlib.Path``, bytes or a binary
        file object) streamed.
        ``auth_settings=["apiKey"]`` authorizes it as the API methods do, ``["bearerAuth"]``
        always with a bearer token. The response ``body`` is the decoded JSON (None if empty);
        ``stream=True`` leaves a success unread in ``response``. POST and PATCH are not
        replayed once they may have reached the server."""
        if not isinstance(method, str) or not _TOKEN.fullmatch(method):
            raise ApiValueError(
                f"call_api: method must be an HTTP method such as 'GET', got {method!r}"
            )
        method = method.upper()
        # Else the request, and its credentials, could go to another host.
        if not isinstance(resource_path, str) or not re.fullmatch(r"/(?!/)[^\s\\]*", resource_path):
            raise ApiValueError(
                f"call_api: resource_path must start with one '/' and have no spaces or "
                f"backslashes, got {resource_path!r}"
            )
        if host is not None:
            check_url(host, "host")
        operation: Operation[Any] = Operation(
            name=f"{method} {resource_path}",
            method=method,
            path=resource_path,
            responses={},
            security=tuple(auth_settings or ()),
            replay_safe=method not in ("POST", "PATCH"),
        )
        sent = self._headers(None, ACCEPT_JSON)
        payload: Union[bytes, MultipartBody, None] = None
        if fields is not None:
            payload = MultipartBody(
                [(k, v, not isinstance(v, (str, int, float))) for k, v in fields.items()],
                operation.name,
            )
            sent = {**sent, "Content-Type": payload.content_type}
        elif isinstance(body, (bytes, str)):
            payload = body.encode() if isinstance(body, str) else body
        elif body is not None:  # a model, or JSON data that may hold models and datetimes
            payload = _json_bytes(body, "call_api: body")
            sent = {**sent, "Content-Type": JSON}
        if headers:
            sent = {**sent, **_headers_given(headers, "call_api: headers")}
        request = Request(operation, resource_path, sent, payload, timeout, host)
        response, retries = self._send(request)
        if stream and 200 <= response.status < 300:
            return ApiResponse(response, unset, response.headers, retries)
        return self._respond(request, response, retries)

    def _build(self, operation: Operation[Any], args: Tuple[Any, ...]) -> Request:
        """Serialize the arguments where the declaration says they go."""
        path, query = operation.path, cast("List[Tuple[str, str]]", [])
        payload: Union[bytes, MultipartBody, None] = None
        content_type: Optional[str] = None
        form: List[Tuple[str, Any, bool]] = []
        for param, value in zip(operation.params, args):
            if value is None:
                if param.where in ("path", "json", "file"):
                    raise ApiValueError(f"{operation.name}: {param.name} is required, got None")
                continue
            where = param.where
            if where == "path":
                if not isinstance(value, str) or not value:
                    raise ApiTypeError(
                        f"{operation.name}: {param.name} expects a non-empty str, got {value!r}"
                    )
                path = path.replace(f"{{{param.wire}}}", _segment(value))
            elif where == "query":
                items = value if isinstance(value, (list, tuple)) else (value,)
                label = f"{operation.name}: {param.name}"
                query.extend((param.wire, _scalar(item, label)) for item in items)
            elif where == "deep":  # deepObject: name[key]=value, name[key][]=item for a list
                if not isinstance(value, Mapping):
                    raise ApiTypeError(
                        f"{operation.name}: {param.name} expects a mapping, "
                        f"got {type(value).__name__}"
                    )
                for key, item in value.items():
                    label = f"{operation.name}: {param.name}[{key!r}]"
                    if isinstance(item, (list, tuple)):
                        query.extend(
                            (f"{param.wire}[{key}][]", _scalar(one, label)) for one in item
                        )
                    else:
                        query.append((f"{param.wire}[{key}]", _scalar(item, label)))
            elif where == "json":
                model = self._model(operation, value, param.name)
                payload = _json_bytes(model, f"{operation.name}: {param.name}")
                content_type = JSON
            else:
                form.append((param.wire, value, where == "file"))
        if form:  # text fields before files, in the order api.video's client sends them
            form.sort(key=lambda field: field[2])
            payload = MultipartBody(form, f"{operation.name}: file")
            content_type = payload.content_type
        url = f"{path}?{urlencode(query)}" if query else path
        return Request(operation, url, self._headers(content_type, ACCEPT_JSON), payload)

    @staticmethod
    def _model(operation: Operation[Any], value: Any, name: str) -> Model:
        """The body as its model: a model instance as is, or a mapping of its fields."""
        model = operation.model("body")
        assert model is not None, operation
        if type(value) is model:
            return value
        if isinstance(value, Model) or not isinstance(value, Mapping):
            raise ApiTypeError(
                f"{operation.name}: {name} must be {model.__name__} "
                f"(or a mapping of its fields), got {type(value).__name__}",
                [name],
            )
        return model(value)

    def _route_for(self, operation: Operation[Any]) -> Tuple[RESTClientObject, Any]:
        """The transport, and the auth strategy ``operation`` needs (None: no credentials), of
        the configuration as it is now."""
        if self.configuration._changes != self._taken:  # checked here too: no call per request
            self._take_up_changes()
        transport, tokens, basic = self._route
        security = operation.security
        if not security:
            return transport, None
        for scheme in security:
            if scheme not in ("apiKey", "bearerAuth"):
                raise ApiValueError(
                    f"{operation.name}: unknown auth setting {scheme!r}; "
                    f"use 'apiKey' or 'bearerAuth'"
                )
        if "bearerAuth" not in security and basic is not None:
            return transport, basic
        if tokens is None:
            raise ApiValueError(
                f"{operation.name} needs credentials: "
                f"give Configuration(api_key=...) (or access_token=...)"
            )
        return transport, tokens

    def _send(self, request: Request) -> Tuple[urllib3.HTTPResponse, int]:
        """Send with the credentials the operation needs, and log it without secrets."""
        operation = request.operation
        debug = logger.isEnabledFor(logging.DEBUG)
        started = time.perf_counter() if debug else 0.0
        timeout = request.timeout
        if timeout is None:
            timeout = self.configuration.timeout  # checked when it was set
        else:
            check_timeout(timeout)  # refused here, before any credential is fetched
        if not isinstance(timeout, tuple):  # one number: the whole call, retries included
            request.deadline = time.monotonic() + timeout
        body = request.body
        replay_safe = operation.replay_safe and getattr(body, "replayable", True)
        headers = request.headers
        length = body.length if isinstance(body, MultipartBody) else None
        if length is not None:  # each length reads the sections' sizes: once, here
            headers = {**headers, "Content-Length": str(length)}
        transport, auth = self._route_for(operation)
        transport = request.transport or transport
        retries = 0
        for again in (False, True):  # again after a 401 the auth strategy can recover from
            credential, sent = None, headers
            if auth is not None:  # a token renewal gets what is left of the call's time
                left = timeout if request.deadline is None else request.deadline - time.monotonic()
                credential = auth.header(left)
                sent = {**headers, "Authorization": credential}
            response, more = transport.request(
                operation.method,
                request.url,
                headers=sent,
                body=body,
                timeout=request.timeout,
                host=request.host,
                replay_safe=replay_safe,
                deadline=request.deadline,
            )
            retries += more
            if again or response.status != 401 or auth is None or not auth.refused(credential):
                break
            self._rest.discard(response)
        if debug:
            logger.debug(
                "%s %s%s -> %s %s in %.1f ms",
                operation.method,
                request.host or self.configuration.host,
                shown(request.url),
                response.status,
                response.reason,
                (time.perf_counter() - started) * 1000,
            )
        return response, retries

    def _exchange(
        self,
        transport: RESTClientObject,
        operation: Operation[Any],
        body: Mapping[str, Any],
        timeout: Optional[Timeout] = None,
    ) -> Any:
        """A token manager's way to the server: an auth operation, within ``timeout``, over
        the transport the manager was built with (its host's)."""
        request = self._auth_request(operation, body, JSON, ACCEPT_JSON, timeout)
        request.transport = transport
        return self._respond(request, *self._send(request)).body

    def _respond(
        self, request: Request, response: urllib3.HTTPResponse, retries: int
    ) -> ApiResponse[Any]:
        """Read and parse the body: a success is returned, an error status raised."""
        operation = request.operation
        status = response.status
        data = self._read(request, response)
        response_class = operation.response_classes.get(status, ApiResponse)
        if 200 <= status < 300:
            body = self._parse(response, data, operation.model(status))
            return response_class(response, body, response.headers, retries)
        # An error: the problem parsed into its declared model, when it fits.
        model = operation.model(status) or resolve("bad_request.BadRequest")
        try:
            problem = self._parse(response, data, model)
        except ApiResponseError:
            problem = None
        api_response = response_class(response, problem, response.headers, retries)
        error = exception_class_for(status)(api_response=api_response, body=data, retries=retries)
        if isinstance(error, TooManyRequestsException):
            error.retry_after = self._rest.retry_after(response.headers)
            error.rate_limit_limit = _int_or_none(response.headers.get("X-RateLimit-Limit"))
            error.rate_limit_remaining = _int_or_none(response.headers.get("X-RateLimit-Remaining"))
        raise error

    def _read(self, request: Request, response: urllib3.HTTPResponse) -> bytes:
        """The whole body, decoded, refusing one too large to be an API answer (whatever
        its transfer encoding says) or one still arriving past the call's deadline."""
        deadline = request.deadline
        length = response.length_remaining  # Content-Length, as urllib3 parsed it
        if length is not None and length > MAX_JSON_BYTES:
            self._refuse(response, f"body of {length} bytes is larger than {MAX_JSON_BYTES}")
        # The usual case: a known size under the cap, no encoding to expand it, no deadline.
        whole = deadline is None and length is not None
        whole = whole and "Content-Encoding" not in response.headers
        # Else urllib3 2's read1 returns what has arrived, so that a drip meets the deadline.
        read = getattr(response, "read1", response.read)
        chunks: List[bytes] = []
        size = 0
        try:
            if whole:
                return response.read()
            while True:
                if deadline is not None and time.monotonic() > deadline:
                    response.close()
                    response.release_conn()
                    detail = f"{request.url}: the body was still arriving at the call's deadline"
                    raise ApiTimeoutError(
                        response.status, response.reason, headers=response.headers, detail=detail
                    )
                chunk = read(READ_BLOCK)
                if not chunk:
                    return b"".join(chunks)
                size += len(chunk)
                if size > MAX_JSON_BYTES:
                    self._refuse(response, f"body is larger than {MAX_JSON_BYTES} bytes")
                chunks.append(chunk)
        except self._rest.HTTPError as error:
            # http.client's IncompleteRead keeps the bytes that did arrive.
            partial = getattr(error.args[-1] if error.args else None, "partial", b"")
            body = b"".join(chunks) + (partial if isinstance(partial, bytes) else b"")
            raise self._rest.transport_error(
                error, "reading", request.url, response=response, body=body
            ) from error

    @staticmethod
    def _refuse(response: urllib3.HTTPResponse, detail: str) -> NoReturn:
        response.close()  # unread, so this connection cannot serve another request
        response.release_conn()
        status = response.status
        # An error status keeps its class (a 503 is a ServiceException), with the reason.
        kind = ApiResponseError if status < 400 else exception_class_for(status)
        raise kind(status, response.reason, headers=response.headers, body=b"", detail=detail)

    @staticmethod
    def _parse(response: urllib3.HTTPResponse, data: bytes, model: Optional[Type[Model]]) -> Any:
        """The body as ``model`` (or plain JSON without one); anything else is ApiResponseError."""
        if model is None and not data:
            return None
        content_type = response.headers.get("Content-Type", "")
        if not is_json(content_type):
            detail = f"expected JSON, got content type {content_type!r} ({len(data)} bytes)"
        else:
            try:
                value = json.loads(data)
            except ValueError as error:
                detail = f"invalid JSON ({len(data)} bytes): {error}"
            except RecursionError:
                detail = "JSON nested too deeply"
            else:
                if model is None:
                    return value
                try:
                    return model._from_wire(value)
                except (ApiTypeError, ApiValueError) as error:
                    detail = f"body is not a valid {model.__name__}: {error}"
        raise ApiResponseError(
            response.status, response.reason, headers=response.headers, body=data, detail=detail
        )


class AuthenticatedApiClient(ApiClient):
    """An :class:`ApiClient` that exchanges ``api_key`` for bearer tokens and renews them, as
    api.video's own client does. ``environment`` ("production" or "sandbox"), or that client's
    ``production=False`` (also as the second argument), overrides the configuration's."""

    auth: TokenManager  # always set: this client authenticates with tokens

    def __init__(
        self,
        api_key: str,
        configuration: Union[Configuration, bool, None] = None,
        environment: Optional[Environment] = None,
        *,
        production: Optional[bool] = None,
        header_name: Optional[str] = None,
        header_value: Optional[str] = None,
    ) -> None:
        if isinstance(configuration, bool):  # api.video's AuthenticatedApiClient(key, production)
            if production not in (None, configuration):
                raise ApiValueError(
                    f"AuthenticatedApiClient: production given twice, as {configuration} "
                    f"(the second argument) and as {production}"
                )
            configuration, production = None, configuration
        if configuration is not None and not isinstance(configuration, Configuration):
            raise ApiTypeError(
                f"AuthenticatedApiClient(api_key, configuration) expects a video_api."
                f"Configuration, got {type(configuration).__name__}"
            )
        # A copy: another client built from the same configuration keeps its own settings.
        configuration = copy.copy(configuration) if configuration is not None else Configuration()
        if not isinstance(api_key, str):
            raise ApiTypeError(
                f"AuthenticatedApiClient expects the API key as a str, got {type(api_key).__name__}"
            )
        configuration.api_key = api_key  # an empty key is refused here
        configuration.auth = "bearer"
        if production is not None:
            chosen: Environment = "production" if production else "sandbox"
            if environment in ENVIRONMENTS and environment != chosen:  # else its own error
                raise ApiValueError(
                    f"AuthenticatedApiClient: production={production} and "
                    f"environment={environment!r} contradict each other; give one"
                )
            environment = chosen if environment is None else environment
        if environment is not None:  # else the configuration's own (production by default)
            configuration.environment = environment
        super().__init__(configuration, header_name, header_value)

    def connect(self) -> None:
        """Get an access token now rather than on the first call, as api.video's client does."""
        self._take_up_changes()
        self.auth.access_token()

    def refresh_token(self) -> None:
        """Get a new access token now (with the refresh token, else the API key), as api.video's
        client does; a refusal raises :class:`~video_api.AuthenticationError`."""
        self._take_up_changes()
        self.auth.force_refresh()


def _int_or_none(value: Optional[str]) -> Optional[int]:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def with_http_info(method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> ApiResponse[T]:
    """Call an API method and get its :class:`ApiResponse`: ``status``, ``headers`` (such as
    the rate-limit headers) and the parsed ``body``: ``with_http_info(videos_api.get, id)``."""
    return cast("ApiResponse[T]", method(*args, _return_http_data_only=False, **kwargs))  # type: ignore[arg-type]


def paginate(method: Callable[P, Page[T]], *args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
    """Every item of a paginated list, across pages, fetched one page at a time:
    ``for video in paginate(videos_api.list, tags=["news"]): ...`` takes the same filters
    as the method; ``page_size`` sets how many items each request fetches."""
    import inspect  # only paginating needs it

    if not callable(method):  # paginate(videos_api.list()): a page, not the method
        raise ApiTypeError(
            f"paginate expects a list method such as videos_api.list, got {type(method).__name__}"
        )
    if "current_page" not in inspect.signature(method).parameters:
        raise ApiTypeError(f"{getattr(method, '__name__', method)} does not return pages")
    page_number = cast(int, kwargs.pop("current_page", None) or 1)
    while True:
        page = method(*args, current_page=page_number, **kwargs)  # type: ignore[arg-type]
        pagination = getattr(page, "pagination", None)
        if pagination is None:
            raise ApiResponseError(detail=f"{page!r} has no pagination")
        data = page.data or ()
        yield from data
        if not data or page_number >= (pagination.pages_total or 0):
            return
        page_number += 1


__all__ = [
    "ApiClient",
    "ApiResponse",
    "ApiResponseWithoutDeserialization",
    "AuthenticatedApiClient",
    "BaseApi",
    "Operation",
    "paginate",
    "with_http_info",
]

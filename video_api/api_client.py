"""The runtime: one :class:`ApiClient` executes every operation.

An operation is data (:class:`Operation`); the API classes are thin functions made
by :func:`endpoint` that hand their arguments to :meth:`ApiClient.call_operation`.
That one method validates and serializes the body, adds headers and credentials,
sends through :mod:`video_api.rest`, picks the response class by status,
deserializes, and returns or raises.
"""

from __future__ import annotations

import json
import logging
import time
from types import MappingProxyType
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Dict,
    Generic,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
    cast,
    overload,
)

import urllib3

from . import __version__
from .configuration import Configuration, Timeout
from .exceptions import (
    ApiException,
    ApiResponseError,
    ApiTypeError,
    ApiValueError,
    TooManyRequestsException,
    exception_class_for,
)
from .model.bad_request import BadRequest
from .rest import RESTClientObject, retry_after, transport_error
from .schemas import Model, Unset, unset

logger = logging.getLogger("video_api")

B = TypeVar("B")
R = TypeVar("R", bound="ApiResponse[Any]")
B_contra = TypeVar("B_contra", contravariant=True)
R_co = TypeVar("R_co", covariant=True)

if TYPE_CHECKING:  # typing-only: nothing here is imported or built at run time
    from typing_extensions import Literal, Protocol

    from .auth import TokenManager

    # The API methods are plain functions made by `endpoint`; these describe them exactly.
    class BoundEndpoint(Protocol[B_contra, R_co]):
        @overload
        def __call__(
            self,
            body: Union[B_contra, Mapping[str, Any], Unset] = ...,
            content_type: str = ...,
            accept_content_types: Sequence[str] = ...,
            stream: bool = ...,
            timeout: Optional[Timeout] = ...,
            skip_deserialization: Literal[False] = ...,
        ) -> R_co: ...

        @overload
        def __call__(
            self,
            body: Union[B_contra, Mapping[str, Any], Unset] = ...,
            content_type: str = ...,
            accept_content_types: Sequence[str] = ...,
            stream: bool = ...,
            timeout: Optional[Timeout] = ...,
            *,
            skip_deserialization: Literal[True],
        ) -> ApiResponseWithoutDeserialization: ...

    class Endpoint(Protocol[B_contra, R_co]):
        @overload
        def __get__(self, api: None, owner: Any) -> Endpoint[B_contra, R_co]: ...

        @overload
        def __get__(self, api: BaseApi, owner: Any) -> BoundEndpoint[B_contra, R_co]: ...


JSON = "application/json"
ACCEPT_JSON: Tuple[str, ...] = (JSON,)
#: Larger JSON bodies are refused rather than parsed: no api.video answer is near it.
MAX_JSON_BYTES = 8 * 1024 * 1024
_json_types: Dict[str, bool] = {}


def is_json(content_type: str) -> bool:
    """True for ``application/json``, with parameters, and ``+json`` types (``problem+json``)."""
    known = _json_types.get(content_type)
    if known is None:
        mime = content_type.split(";", 1)[0].strip().lower()
        known = mime == JSON or (mime.startswith("application/") and mime.endswith("+json"))
        if len(_json_types) < 64:  # a server could send endless variants; keep the usual ones
            _json_types[content_type] = known
    return known


class ApiResponse(Generic[B]):
    """A deserialized response: the urllib3 ``response``, the parsed ``body``, the ``headers``,
    and how many ``retries`` it took."""

    body_model: ClassVar[Optional[Type[Model]]] = None

    def __init__(
        self, response: urllib3.HTTPResponse, body: B, headers: Any = unset, retries: int = 0
    ) -> None:
        self.response = response
        self.body = body
        self.headers = headers
        self.retries = retries

    def __repr__(self) -> str:
        response = self.response
        headers = dict(self.headers) if self.headers is not unset else unset
        return (
            f"{type(self).__name__}(response=<HTTPResponse {response.status} {response.reason}>, "
            f"body={self.body!r}, headers={headers!r}, retries={self.retries})"
        )


class ApiResponseWithoutDeserialization(ApiResponse[Unset]):
    """What ``skip_deserialization=True`` returns: the urllib3 ``response``, nothing parsed.
    With ``stream=True`` its body is still unread: read it with ``response.stream()``."""

    def __init__(self, response: urllib3.HTTPResponse, retries: int = 0) -> None:
        super().__init__(response, unset, unset, retries)


class Operation(Generic[B, R]):
    """One API operation, declared once: what to send, where, and what may come back.

    ``replay_safe=False`` marks an operation that does harm when run twice on the
    server (it consumes a refresh token): it is not retried once it may have arrived.
    """

    __slots__ = (
        "method",
        "name",
        "path",
        "replay_safe",
        "request_model",
        "responses",
        "security",
        "summary",
    )

    def __init__(
        self,
        *,
        name: str,
        method: str,
        path: str,
        request_model: Type[Model],
        responses: Mapping[int, Type[ApiResponse[Any]]],
        summary: str = "",
        security: Tuple[str, ...] = (),
        replay_safe: bool = True,
    ) -> None:
        self.name = name
        self.method = method
        self.path = path
        self.request_model = request_model
        self.responses = responses
        self.summary = summary
        self.security = security
        self.replay_safe = replay_safe

    def __repr__(self) -> str:
        return f"Operation({self.name}: {self.method} {self.path})"


class BaseApi:
    """Base of the API classes: they hold the client that runs their operations."""

    def __init__(self, api_client: Optional[ApiClient] = None) -> None:
        self.api_client = api_client if api_client is not None else ApiClient()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.api_client!r})"


class ApiClient:
    """Runs operations over one urllib3 pool. Use it in a ``with`` block, or ``close()`` it,
    to release its connections."""

    def __init__(
        self,
        configuration: Optional[Configuration] = None,
        header_name: Optional[str] = None,
        header_value: Optional[str] = None,
    ) -> None:
        self.configuration = configuration if configuration is not None else Configuration()
        self.rest_client = RESTClientObject(self.configuration)
        self._default_headers: Dict[str, str] = {
            "User-Agent": f"video-api-python/{__version__}",
            "AV-Origin-Client": f"python:{__version__}",
        }
        if header_name is not None and header_value is not None:
            self._default_headers[header_name] = header_value
        self._prepared: Dict[Tuple[Any, ...], Dict[str, str]] = {}
        self.auth: Optional[TokenManager] = None
        config = self.configuration
        if config.api_key or config.access_token or config.token is not None:
            from .auth import TokenManager

            self.auth = TokenManager(self)

    # -- lifecycle
    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release every pooled connection; the client may still be used after."""
        self.rest_client.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(host={self.configuration.host!r})"

    # -- headers
    @property
    def default_headers(self) -> Mapping[str, str]:
        """Headers sent with every request (read-only; see :meth:`set_default_header`)."""
        return MappingProxyType(self._default_headers)

    def set_default_header(self, name: str, value: str) -> None:
        self._default_headers[name] = value
        self._prepared.clear()

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
            headers = dict(self._default_headers)
            headers["Accept"] = ", ".join(accept)
            if content_type:
                headers["Content-Type"] = content_type
            self._prepared[key] = headers
        return headers

    # -- operations
    def call_operation(
        self,
        operation: Operation[Any, Any],
        body: Any = unset,
        content_type: str = JSON,
        accept_content_types: Sequence[str] = ACCEPT_JSON,
        stream: bool = False,
        timeout: Optional[Timeout] = None,
        skip_deserialization: bool = False,
    ) -> ApiResponse[Any]:
        """Execute ``operation``: the one code path behind every API method."""
        payload = self._serialize(operation, body, content_type)
        response, retries = self._send(
            operation.method,
            operation.path,
            self._headers(content_type if payload is not None else None, accept_content_types),
            payload,
            timeout,
            operation.security,
            operation.replay_safe,
            body,
        )
        if skip_deserialization:
            if not stream:  # loaded now, so the connection goes back to the pool
                self._read(response, operation.path)
            return ApiResponseWithoutDeserialization(response, retries)
        response_class = operation.responses.get(response.status, ApiResponse)
        return self._respond(response, retries, operation.path, response_class)

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
        """Call any endpoint, with this client's auth, retries, timeouts and errors.

        ``body`` is sent as JSON (a model, dict or list) or as is (bytes or str);
        ``fields`` as multipart form data. ``auth_settings=["bearerAuth"]`` adds the
        access token. The response ``body`` is the decoded JSON (None when empty);
        with ``stream=True`` a success is left unread in ``response``. POST and PATCH
        are not replayed once they may have reached the server.
        """
        method = method.upper()
        sent = self._headers(None, ACCEPT_JSON)
        payload: Optional[bytes] = None
        if fields is not None:
            payload, form_type = urllib3.encode_multipart_formdata(dict(fields))
            sent = {**sent, "Content-Type": form_type}
        elif isinstance(body, (bytes, str)):
            payload = body.encode() if isinstance(body, str) else body
        elif body is not None:
            payload = (body.to_json() if isinstance(body, Model) else json.dumps(body)).encode()
            sent = {**sent, "Content-Type": JSON}
        if headers:
            sent = {**sent, **headers}
        response, retries = self._send(
            method,
            resource_path,
            sent,
            payload,
            timeout,
            tuple(auth_settings or ()),
            method not in ("POST", "PATCH"),
            body,
            host,
        )
        if stream and 200 <= response.status < 300:
            return ApiResponse(response, unset, response.headers, retries)
        return self._respond(response, retries, resource_path, ApiResponse)

    def _respond(
        self,
        response: urllib3.HTTPResponse,
        retries: int,
        path: str,
        response_class: Type[ApiResponse[Any]],
    ) -> ApiResponse[Any]:
        """Read and parse the body: a success is returned, an error status raised."""
        data = self._read(response, path)
        if 200 <= response.status < 300:
            body = self._parse(response, data, response_class.body_model)
            return response_class(response, body, response.headers, retries)
        raise self._error(response, data, response_class, retries)

    def _serialize(
        self, operation: Operation[Any, Any], body: Any, content_type: str
    ) -> Optional[bytes]:
        if body is unset:
            return None
        model = operation.request_model
        if type(body) is not model:
            if isinstance(body, Model) or not isinstance(body, Mapping):
                raise ApiTypeError(
                    f"{operation.name}: body must be {model.__name__} "
                    f"(or a mapping of its fields), got {type(body).__name__}",
                    ["body"],
                )
            body = model(body)
        if not is_json(content_type):
            raise ApiValueError(
                f"{operation.name}: content_type {content_type!r} is not supported; "
                f"this operation sends {JSON}"
            )
        return cast(Model, body).to_json().encode()

    def _send(
        self,
        method: str,
        path: str,
        headers: Dict[str, str],
        payload: Optional[bytes],
        timeout: Optional[Timeout],
        security: Sequence[str],
        replay_safe: bool,
        shown_body: Any = None,
        host: Optional[str] = None,
    ) -> Tuple[urllib3.HTTPResponse, int]:
        """Send with credentials when the operation needs them; log without secrets."""
        debug = logger.isEnabledFor(logging.DEBUG)
        started = time.perf_counter() if debug else 0.0
        auth = self.auth if security else None
        if auth is not None:
            response, retries = auth.send(
                method, path, headers, payload, timeout, replay_safe, host
            )
        else:
            response, retries = self.rest_client.request(
                method,
                path,
                headers=headers,
                body=payload,
                timeout=timeout,
                host=host,
                replay_safe=replay_safe,
            )
        if debug:
            logger.debug(
                "%s %s%s%s -> %s %s in %.1f ms",
                method,
                host or self.configuration.host,
                path,
                f" {shown_body!r}" if isinstance(shown_body, Model) else "",
                response.status,
                response.reason,
                (time.perf_counter() - started) * 1000,
            )
        return response, retries

    def _read(self, response: urllib3.HTTPResponse, path: str) -> bytes:
        """The whole body, refusing one too large to be an API answer."""
        length = response.length_remaining  # Content-Length, as urllib3 parsed it
        if length is not None and length > MAX_JSON_BYTES:
            response.close()  # unread, so this connection cannot serve another request
            response.release_conn()
            raise ApiResponseError(
                response.status,
                response.reason,
                headers=response.headers,
                body=b"",
                detail=f"body of {length} bytes is larger than {MAX_JSON_BYTES}",
            )
        try:
            return response.read(cache_content=True)
        except urllib3.exceptions.HTTPError as error:
            # http.client's IncompleteRead keeps the bytes that did arrive.
            partial = getattr(error.args[-1] if error.args else None, "partial", b"")
            raise transport_error(
                error,
                "reading",
                path,
                response=response,
                body=partial if isinstance(partial, bytes) else b"",
            ) from error

    @staticmethod
    def _parse(response: urllib3.HTTPResponse, data: bytes, model: Optional[Type[Model]]) -> Any:
        """The body as ``model`` (or plain JSON without one); anything else is ApiResponseError."""

        def fail(detail: str) -> ApiResponseError:
            return ApiResponseError(
                response.status, response.reason, headers=response.headers, body=data, detail=detail
            )

        content_type = response.headers.get("Content-Type", "")
        if not is_json(content_type):
            if model is None and not data:
                return None
            raise fail(f"expected JSON, got content type {content_type!r} ({len(data)} bytes)")
        try:
            value = json.loads(data)
        except ValueError as error:
            raise fail(f"invalid JSON ({len(data)} bytes): {error}") from None
        if model is None:
            return value
        try:
            return model._from_wire(value)
        except (ApiTypeError, ApiValueError) as error:
            raise fail(f"body is not a valid {model.__name__}: {error}") from None

    def _error(
        self,
        response: urllib3.HTTPResponse,
        data: bytes,
        response_class: Type[ApiResponse[Any]],
        retries: int,
    ) -> ApiException:
        """The exception for an error status, with the problem body when it parses."""
        try:
            problem = self._parse(response, data, BadRequest)
        except ApiResponseError:
            problem = None
        api_response = response_class(
            response=response, body=problem, headers=response.headers, retries=retries
        )
        error = exception_class_for(response.status)(api_response=api_response, retries=retries)
        if isinstance(error, TooManyRequestsException):
            error.retry_after = retry_after(response.headers)
        return error


def endpoint(operation: Operation[B, R], name: Optional[str] = None) -> Endpoint[B, R]:
    """An API method that runs ``operation``; a plain function, so binding costs nothing."""

    def method(
        self: BaseApi,
        body: Any = unset,
        content_type: str = JSON,
        accept_content_types: Sequence[str] = ACCEPT_JSON,
        stream: bool = False,
        timeout: Optional[Timeout] = None,
        skip_deserialization: bool = False,
    ) -> ApiResponse[Any]:
        return self.api_client.call_operation(
            operation,
            body,
            content_type,
            accept_content_types,
            stream,
            timeout,
            skip_deserialization,
        )

    method.__name__ = method.__qualname__ = name or operation.name
    ok = next(cls for status, cls in operation.responses.items() if 200 <= status < 300)
    method.__annotations__ = {  # what help() shows
        **method.__annotations__,
        "body": f"Union[{operation.request_model.__name__}, Mapping[str, Any], Unset]",
        "return": f"Union[{ok.__name__}, ApiResponseWithoutDeserialization]",
    }
    codes = ", ".join(f"{status}: {cls.__name__}" for status, cls in operation.responses.items())
    method.__doc__ = (
        f"{operation.summary}: {operation.method} {operation.path}\n\n"
        f"body: {operation.request_model.__name__} (or a mapping of its fields)\n"
        f"content_type: the request's media type; default {JSON!r}\n"
        f"accept_content_types: media types accepted in the response; default {ACCEPT_JSON!r}\n"
        f"stream: leave the body unread until it is needed (see skip_deserialization)\n"
        f"timeout: seconds, or (connect, read); default: the configuration's\n"
        f"skip_deserialization: return ApiResponseWithoutDeserialization, body unparsed\n\n"
        f"Responses by status: {codes}. A success is returned; an error status raises the\n"
        f"ApiException subclass for it, carrying its response as ``api_response``."
    )
    return cast("Endpoint[B, R]", method)


__all__ = [
    "ApiClient",
    "ApiResponse",
    "ApiResponseWithoutDeserialization",
    "BaseApi",
    "Operation",
    "endpoint",
]

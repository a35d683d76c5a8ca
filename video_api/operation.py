"""Operations as data: what the generated ``paths`` modules declare and the runtime executes.

Models are named as ``"module.Class"`` strings, resolved on first use, so that importing an
API class imports no model until a response needs one.
"""

from __future__ import annotations

from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Generic,
    Iterator,
    Mapping,
    Optional,
    Tuple,
    Type,
    TypeVar,
    Union,
)

from .schemas import Model, Unset, resolve, unset

if TYPE_CHECKING:
    import urllib3

B = TypeVar("B")
T = TypeVar("T")


class Param:
    """One argument of an operation and where it goes: ``path``, ``query`` (form style: a list
    repeats the name), ``deep`` (deepObject: ``name[key]=value``), ``json`` (the body),
    ``form`` or ``file`` (multipart fields)."""

    __slots__ = ("name", "where", "wire")

    def __init__(self, name: str, wire: str, where: str) -> None:
        self.name: str = name
        self.wire: str = wire
        self.where: str = where

    def __repr__(self) -> str:
        return f"Param({self.name!r}, {self.wire!r}, {self.where!r})"


class ApiResponse(Generic[B]):
    """A response: the urllib3 ``response``, the parsed ``body``, the ``headers``, its
    ``status``, and how many ``retries`` it took. It unpacks and indexes as ``body, status,
    headers``, like api.video's own client's tuple with ``_return_http_data_only=False``."""

    def __init__(
        self, response: urllib3.HTTPResponse, body: B, headers: Any = unset, retries: int = 0
    ) -> None:
        self.response = response
        self.body = body
        self.headers = headers
        self.retries = retries

    @property
    def status(self) -> int:
        return self.response.status

    def __iter__(self) -> Iterator[Any]:
        return iter((self.body, self.response.status, self.headers))

    def __getitem__(self, index: int) -> Any:  # response[1], as api.video's tuple allows
        return (self.body, self.response.status, self.headers)[index]

    def __len__(self) -> int:
        return 3

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

    headers: Unset  # unset, as the reference page says: the raw response's are ``response.headers``

    def __init__(self, response: urllib3.HTTPResponse, retries: int = 0) -> None:
        super().__init__(response, unset, unset, retries)


class Operation(Generic[T]):
    """One API operation, declared once: what to send, where, and what may come back.

    ``replay_safe=False``: running it twice may do harm (it creates something, or spends a
    refresh token), so once it may have reached the server it is not retried. ``security``
    lists the schemes that may authorize it; empty means none."""

    __slots__ = (
        "_models",
        "body_model",
        "method",
        "name",
        "paginated",
        "params",
        "path",
        "replay_safe",
        "response_classes",
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
        params: Tuple[Param, ...] = (),
        body_model: Optional[str] = None,
        responses: Mapping[int, Optional[str]],
        security: Tuple[str, ...] = (),
        replay_safe: bool = True,
        paginated: bool = False,
        summary: str = "",
        response_classes: Optional[Mapping[int, Type[ApiResponse[Any]]]] = None,
    ) -> None:
        self.name: str = name
        self.method: str = method
        self.path: str = path
        self.params: Tuple[Param, ...] = params
        self.body_model: Optional[str] = body_model
        self.responses: Mapping[int, Optional[str]] = responses
        self.security: Tuple[str, ...] = security
        self.replay_safe: bool = replay_safe
        self.paginated: bool = paginated
        self.summary: str = summary
        self.response_classes: Mapping[int, Type[ApiResponse[Any]]] = response_classes or {}
        self._models: Dict[Union[int, str], Optional[Type[Model]]] = {}

    def model(self, status: Union[int, str]) -> Optional[Type[Model]]:
        """The model of the body for ``status`` (``"body"`` for the request), or None."""
        try:
            return self._models[status]
        except KeyError:
            ref = self.body_model if status == "body" else self.responses.get(int(status))
            model = self._models[status] = resolve(ref) if ref else None
            return model

    def __repr__(self) -> str:
        return f"Operation({self.name}: {self.method} {self.path})"

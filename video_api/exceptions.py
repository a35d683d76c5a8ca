"""The exception tree: every error the package raises is an :class:`OpenApiException`.

Errors about the caller's input also subclass the matching builtin (``TypeError``, ...), so
``except ValueError`` keeps working. Errors about an HTTP exchange are :class:`ApiException`,
one subclass per status family. No message ever includes a credential.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Protocol, Sequence, Type

if TYPE_CHECKING:
    from .api_client import ApiResponse


class Problem(Protocol):
    """What every error model of the spec has (RFC 9457's members): ``isinstance(problem,
    BadRequest)`` for a model's others."""

    @property
    def type(self) -> Optional[str]: ...
    @property
    def title(self) -> Optional[str]: ...
    @property
    def status(self) -> Optional[int]: ...


#: An upload token in a query string or in an /upload-tokens/ path, up to where the URL (or
#: the message naming it) goes on.
_UPLOAD_TOKEN = re.compile(r"(?:(?<=[?&]token=)|(?<=/upload-tokens/))[^&#/?\s:;,'\")]+")


def shown(text: str) -> str:
    """``text`` (a path, a message) as logs and errors may show it: without an upload token."""
    return _UPLOAD_TOKEN.sub("***", text) if "token" in text else text


class OpenApiException(Exception):
    """Base of every exception raised by video_api."""


class _InputError(OpenApiException):
    """An error about the caller's input; ``path_to_item`` locates it (model, field)."""

    def __init__(self, msg: str, path_to_item: Optional[Sequence[Any]] = None) -> None:
        super().__init__(msg)
        self.path_to_item: List[Any] = list(path_to_item or [])


class ApiTypeError(_InputError, TypeError):
    """A value has the wrong type, or a required field is missing."""


class ApiValueError(_InputError, ValueError):
    """A value has the right type but cannot be used."""


class ApiMissingFieldError(ApiTypeError, ApiValueError):
    """A required field is missing: a ``TypeError`` as for a missing argument, and a ValueError."""


class ApiAttributeError(OpenApiException, AttributeError):
    """An attribute does not exist, or a model was asked to change."""


class ApiKeyError(OpenApiException, KeyError):
    """A key is not present in a model."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ApiException(OpenApiException):
    """An HTTP exchange failed: the server answered an error status, or could not be used.

    ``status``, ``reason``, ``headers`` and ``body`` (raw bytes) describe the response;
    ``api_response.body`` is the server's problem in its declared model (``BadRequest``,
    ``NotFound``, ...), when it sent one. ``retries`` counts the retries made before giving up.
    """

    def __init__(
        self,
        status: Optional[int] = None,
        reason: Optional[str] = None,
        api_response: Optional[ApiResponse[Any]] = None,
        *,
        headers: Optional[Any] = None,
        body: Optional[bytes] = None,
        detail: Optional[str] = None,
        retries: int = 0,
    ) -> None:
        response = api_response.response if api_response is not None else None
        if response is not None:
            status = response.status if status is None else status
            reason = response.reason if reason is None else reason
            headers = response.headers if headers is None else headers
            body = response.data if body is None else body
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.api_response = api_response
        # It may name an upload URL, whose token is hidden.
        self.detail: Optional[str] = None if detail is None else shown(detail)
        self.retries = retries
        super().__init__(self._message())

    @property
    def problem(self) -> Optional[Problem]:
        """The parsed problem body (``BadRequest``, ``NotFound``, ...), or None if there is none
        (a 502 from a proxy sends HTML)."""
        body = getattr(self.api_response, "body", None)
        return body if hasattr(body, "title") else None

    def _message(self) -> str:
        parts = [f"({self.status})" if self.status is not None else "", self.reason or ""]
        head = " ".join(p for p in parts if p)
        problem: Any = self.problem  # read as a mapping: problem models differ in fields
        if problem is not None:
            if problem.get("title"):
                head += f": {problem['title']}"
            # Which parameter, and what is wrong with it, as api.video's problems say.
            said = [str(problem[key]) for key in ("name", "detail") if problem.get(key)]
            bounds = problem.get("range")
            if isinstance(bounds, dict) and bounds:  # {"min": 1}
                said.append(", ".join(f"{key} {value}" for key, value in bounds.items()))
            if said:
                head += f" ({shown(': '.join(said))})"
            if problem.get("type"):
                head += f" [type: {problem['type']}]"
            for sub in problem.get("problems") or ():
                head += f"; {sub.get('name') or '?'}: {sub.get('title')}"
        if self.detail:  # without a status, the detail alone: its class is the traceback's
            head = f"{head}: {self.detail}" if head else self.detail
        head = head or type(self).__name__
        if self.retries:
            head += f" (after {self.retries} retr{'y' if self.retries == 1 else 'ies'})"
        return head


class BadRequestException(ApiException):
    """400: the server refused the request (for auth: a wrong API key or refresh token)."""


class AuthenticationError(BadRequestException):
    """With bearer tokens: the API key or refresh token was refused at the token exchange, so
    no access token could be had. (With HTTP Basic, a wrong key is an UnauthorizedException.)"""


#: api.video's client's name for it, so that its ``except ApiAuthException`` keeps working.
ApiAuthException = AuthenticationError


class UnauthorizedException(ApiException):
    """401: the credentials were refused: with HTTP Basic (the default), a wrong API key; with
    bearer tokens, one the server no longer takes after a renewal."""


class ForbiddenException(ApiException):
    """403: the credentials are valid but not allowed to do this."""


class NotFoundException(ApiException):
    """404: no such resource."""


class ConflictException(ApiException):
    """409: the request conflicts with the resource's state (e.g. a summary already exists)."""


class TooManyRequestsException(ApiException):
    """429: rate limited. ``retry_after``: the wait asked for, in seconds; ``rate_limit_limit``
    and ``rate_limit_remaining``: the ``X-RateLimit-Limit`` and ``-Remaining`` headers."""

    retry_after: Optional[float] = None
    rate_limit_limit: Optional[int] = None
    rate_limit_remaining: Optional[int] = None


class ServiceException(ApiException):
    """5xx: the server failed."""


class ApiResponseError(ApiException, ValueError):
    """The server answered success, but not with what the contract promises (a ``ValueError``,
    as the ``json.JSONDecodeError`` it stands for would be)."""


class ApiConnectionError(ApiException):
    """No response: the connection could not be made or broke (DNS, refused, reset, TLS)."""


class ApiTimeoutError(ApiConnectionError):
    """No response in time: the connect or the read bound was reached."""


_BY_STATUS: Dict[int, Type[ApiException]] = {
    400: BadRequestException,
    401: UnauthorizedException,
    403: ForbiddenException,
    404: NotFoundException,
    409: ConflictException,
    429: TooManyRequestsException,
}


def exception_class_for(status: int) -> Type[ApiException]:
    """The exception class for an HTTP error status."""
    return ServiceException if status >= 500 else _BY_STATUS.get(status, ApiException)

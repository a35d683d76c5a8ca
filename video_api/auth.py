"""Auth strategies: HTTP Basic with the API key, and bearer tokens with their lifecycle.

A strategy gives a request's ``Authorization`` (``header()``) and hears of its 401
(``refused()``: is one more try worth it?). :class:`TokenManager` renews a token shortly
before expiry and after a 401, on demand in the calling thread, one renewal at a time: threads
with a still valid (STALE) token keep it meanwhile; those whose token expired wait, and all
get its outcome. A refresh token leaves the state before it is sent, so it is never sent
twice; a refused one falls back to the API key. Tests set the clock (``clock=``) instead of
sleeping; a call's deadline stays real time, as everywhere in the transport.
"""

from __future__ import annotations

import base64
import enum
import os
import threading
import time
import weakref
from typing import Any, Callable, Dict, Mapping, NamedTuple, Optional, Union

from urllib3.exceptions import ConnectTimeoutError

from .configuration import Configuration, Timeout, check_secret
from .exceptions import (
    ApiConnectionError,
    ApiException,
    ApiResponseError,
    ApiTimeoutError,
    ApiValueError,
    AuthenticationError,
    BadRequestException,
)
from .model.access_token import AccessToken
from .operation import Operation
from .paths.auth_api_key import post as auth_api_key
from .paths.auth_refresh import post as auth_refresh
from .rest import UNPROCESSED_STATUSES

#: Renew this long before expiry at most; a short-lived token is renewed at 90 % of its life.
MAX_MARGIN = 60.0
#: The lifetime assumed when the server does not say (api.video's is one hour).
DEFAULT_LIFETIME = 3600
#: The longest lifetime believed (a day): a server may say anything, up to ``10**400``.
MAX_LIFETIME = 86400
#: After a renewal failed, none is tried for this long (on the manager's clock); and a 401 to
#: a token that replaced a refused one this recently fails rather than costs a renewal.
RENEW_BACKOFF = 1.0
_NO_KEY = "no API key was given to get a new one: give Configuration(api_key=...)"

Exchange = Callable[[Operation[AccessToken], Mapping[str, Any], Optional[Timeout]], AccessToken]


class BasicAuth:
    """HTTP Basic with the API key as user name, as the spec declares: nothing to renew."""

    def __init__(self, api_key: str) -> None:
        self._header = "Basic " + base64.b64encode(f"{api_key}:".encode()).decode()

    def __repr__(self) -> str:
        return "BasicAuth(api_key=<set>)"

    def header(self, timeout: Optional[Timeout] = None) -> str:
        return self._header

    def refused(self, header: Optional[str]) -> bool:
        return False  # the same key would be refused again


class TokenState(str, enum.Enum):
    FRESH = "fresh"  # valid and not due for renewal
    STALE = "stale"  # still valid, due for renewal
    INVALID = "invalid"  # missing or expired


class _Token(NamedTuple):
    access_token: str
    refresh_token: Optional[str]
    renew_at: float  # monotonic
    expires_at: float  # monotonic; inf for a static token
    wall_expires_at: float  # epoch seconds, for users and for persistence
    margin: float  # renew_at is this long before expires_at

    def __repr__(self) -> str:  # never the secrets
        return f"_Token(expires_at={self.wall_expires_at})"


def _again(error: ApiException, more: str = "") -> ApiException:
    """A copy of ``error``, its detail extended by ``more``: raising one instance in several
    threads, or on every call of a backoff, would pile up their tracebacks."""
    twin = type(error).__new__(type(error))
    twin.__dict__.update(vars(error))
    if more:
        twin.detail = f"{error.detail}; {more}" if error.detail else more
    twin.args = (twin._message(),)
    return twin


def _unspent(error: ApiException) -> bool:
    """Whether a failed refresh surely left its token unspent: it never reached the server (no
    connection, or no attempt before the deadline: no cause), or got 408, 429 or 503."""
    if error.status is not None:
        return error.status in UNPROCESSED_STATUSES
    return error.__cause__ is None or isinstance(error.__cause__, ConnectTimeoutError)


class TokenManager:
    """Keeps a valid access token for one :class:`~video_api.ApiClient`."""

    def __init__(
        self,
        configuration: Configuration,
        exchange: Exchange,
        clock: Any = time,
        restore: bool = True,
    ) -> None:
        """``restore=False``: leave ``configuration.token`` out (it was saved for another host
        or key than the configuration's now)."""
        self._exchange = exchange
        self._clock = clock
        self.api_key: Optional[str] = configuration.api_key
        self.on_token: Optional[Callable[[Dict[str, Any]], None]] = configuration.on_token
        self._token: Optional[_Token] = None
        if configuration.token is not None and restore:
            self._token = self._restore(configuration.token)
        elif configuration.access_token:
            inf = float("inf")
            self._token = _Token(configuration.access_token, None, inf, inf, inf, 0.0)
        self._outcome: Union[str, ApiException] = ""  # of the last renewal: a token or an error
        self._renewals = 0  # renewals finished, so that waiters know theirs is over
        self._retry_at = 0.0  # after a failed renewal, the next one not before this
        self._quiet_until = 0.0  # a 401 before this does not renew (see RENEW_BACKOFF)
        self._new_locks()
        _managers.add(self)

    def _new_locks(self) -> None:
        self._lock = threading.Lock()
        self._finished = threading.Condition(self._lock)
        self._renewing = False

    def _after_fork(self) -> None:
        """New locks, as their holder is not in the child. A refresh token works once (and a
        server that detects reuse may revoke all it issued): the parent keeps it, not the child."""
        self._new_locks()
        if self._token is not None and self._token.refresh_token:
            self._token = self._token._replace(refresh_token=None)

    def __repr__(self) -> str:
        api_key = "<set>" if self.api_key else None
        return f"TokenManager(state={self.state.value}, api_key={api_key})"

    def _expiring(
        self, access_token: str, refresh_token: Optional[str], expires_at: float, margin: float
    ) -> _Token:
        """Timed on the monotonic clock, so that changes to the wall clock do not matter."""
        left = max(expires_at - self._clock.time(), 0.0)
        expires = self._clock.monotonic() + left
        return _Token(access_token, refresh_token, expires - margin, expires, expires_at, margin)

    @property
    def state(self) -> TokenState:
        token, now = self._token, self._clock.monotonic()
        if token is None or now >= token.expires_at:
            return TokenState.INVALID
        return TokenState.FRESH if now < token.renew_at else TokenState.STALE

    @property
    def is_fresh(self) -> bool:
        return self.state is TokenState.FRESH

    @property
    def expires_at(self) -> Optional[float]:
        """When the access token expires, in epoch seconds (None if unknown or no token)."""
        token = self._token
        return token.wall_expires_at if token and token.wall_expires_at != float("inf") else None

    def force_refresh(self) -> None:
        """Renew now, whatever the state (or take the outcome of the renewal in flight)."""
        self._renewed(None, force=True)

    def access_token(self, timeout: Optional[Timeout] = None) -> str:
        """A valid access token, renewed first when due (within ``timeout``, as a call is)."""
        token = self._token
        if token is not None and self._clock.monotonic() < token.renew_at:
            return token.access_token
        return self._renewed(timeout, force=False)

    def _renewed(self, timeout: Optional[Timeout], force: bool) -> str:
        """The access token once renewed, by this thread or the one renewing already."""
        deadline = time.monotonic() + timeout if isinstance(timeout, (int, float)) else None
        with self._lock:
            token, now = self._token, self._clock.monotonic()
            failed = self._outcome if now < self._retry_at and not force else ""
            if token is not None and not force:
                if now < token.renew_at:
                    return token.access_token  # another thread renewed it meanwhile
                if now < token.expires_at and (self._renewing or isinstance(failed, ApiException)):
                    return token.access_token  # STALE: kept while one renews, or after it failed
            if self._renewing:
                return self._wait(deadline)
            if isinstance(failed, ApiException):
                raise _again(failed)  # the last renewal failed moments ago
            self._renewing = True
            refresh_token = token.refresh_token if token is not None else None
            if token is not None:  # the refresh token leaves the state before it is sent
                self._token = token._replace(refresh_token=None)
        outcome: Union[str, ApiException] = ApiException(detail="the token renewal was cut short")
        try:
            new = self._from_server(self._fetch(refresh_token, deadline, timeout))
            with self._lock:  # refused() blanks the token it drops
                refused = self._token is not None and self._token.access_token == ""
                self._token = new
                self._quiet_until = self._clock.monotonic() + RENEW_BACKOFF if refused else 0.0
            outcome = new.access_token  # this call's, even with a lifetime of 0
            if self.on_token is not None:  # before any other renewal can start, and save
                self.on_token(self.saved())
        except ApiException as error:
            outcome = error
        finally:
            with self._finished:
                self._renewing = False
                self._renewals += 1
                self._outcome = outcome
                if isinstance(outcome, ApiException):  # else _retry_at is not looked at
                    self._retry_at = self._clock.monotonic() + RENEW_BACKOFF
                self._finished.notify_all()
        if isinstance(outcome, str):
            return outcome
        token = self._token
        if token is not None and self._clock.monotonic() < token.expires_at and not force:
            return token.access_token  # the renewal failed, but this one still works
        raise outcome

    def _wait(self, deadline: Optional[float]) -> str:
        """The outcome of the renewal in flight (token, or error raised); lock held."""
        renewals = self._renewals
        left = None if deadline is None else deadline - time.monotonic()
        if not self._finished.wait_for(lambda: self._renewals != renewals, left):
            raise ApiTimeoutError(detail="the call's deadline passed waiting for a new token")
        if isinstance(self._outcome, ApiException):
            raise _again(self._outcome)
        return self._outcome

    def _fetch(
        self, refresh_token: Optional[str], deadline: Optional[float], timeout: Optional[Timeout]
    ) -> AccessToken:
        """A new token, with the refresh token if any, else (or if it fails) the API key."""

        def bound() -> Optional[Timeout]:
            if deadline is None:
                return timeout
            left = deadline - time.monotonic()
            if left <= 0:
                raise ApiTimeoutError(detail="the call's deadline passed before a new token came")
            return left

        if refresh_token:
            try:
                body = {"refreshToken": refresh_token}
                return self._exchange(auth_refresh.operation, body, bound())
            except ApiException as error:
                if _unspent(error):  # it still works: keep it for the next try
                    with self._lock:
                        if self._token is not None:
                            self._token = self._token._replace(refresh_token=refresh_token)
                    raise
                if not isinstance(error, (BadRequestException, ApiConnectionError)):
                    raise
                if not self.api_key:
                    if isinstance(error, BadRequestException):
                        raise AuthenticationError(
                            api_response=error.api_response,
                            detail=f"the refresh token was refused and {_NO_KEY}",
                            retries=error.retries,
                        ) from None
                    raise _again(error, f"the refresh token may be spent, and {_NO_KEY}") from None
        if not self.api_key:
            raise AuthenticationError(detail=f"the access token is no longer valid and {_NO_KEY}")
        try:
            return self._exchange(auth_api_key.operation, {"apiKey": self.api_key}, bound())
        except BadRequestException as error:
            raise AuthenticationError(
                api_response=error.api_response,
                detail="the API key was refused",
                retries=error.retries,
            ) from None

    def _from_server(self, body: AccessToken) -> _Token:
        """The token the server issued, checked: it goes into a header on every call."""
        access_token = (body.access_token or "").strip()
        if not access_token:
            raise AuthenticationError(detail="the server's token response has no access_token")
        if not access_token.isascii() or not access_token.isprintable() or " " in access_token:
            raise ApiResponseError(
                detail="the server issued an access token that is not printable ASCII, so it "
                "cannot be sent in a header (the value is not shown)"
            )
        # 0 or less: valid for the call that asked for it only. Absurdly long: capped.
        lifetime = body.expires_in
        lifetime = DEFAULT_LIFETIME if lifetime is None else min(max(lifetime, 0), MAX_LIFETIME)
        expires_at, margin = self._clock.time() + lifetime, min(MAX_MARGIN, lifetime / 10)
        return self._expiring(access_token, body.refresh_token, expires_at, margin)

    def saved(self) -> Dict[str, Any]:
        """The token as a JSON-ready dict, to persist and pass back as ``Configuration(token=)``."""
        token = self._token
        if token is None:
            return {}
        return {
            "access_token": token.access_token,
            "refresh_token": token.refresh_token,
            "expires_at": token.wall_expires_at,
            "renew_before": token.margin,
        }

    def _restore(self, saved: Mapping[str, Any]) -> _Token:
        try:
            access_token = check_secret(saved["access_token"], "token['access_token']")
            refresh_token = saved.get("refresh_token")
            expires_at = float(saved["expires_at"])
            margin = float(saved.get("renew_before", min(MAX_MARGIN, DEFAULT_LIFETIME / 10)))
        except (AttributeError, KeyError, TypeError, ValueError, OverflowError):
            access_token = None
        if not access_token or not isinstance(refresh_token, (str, type(None))):
            raise ApiValueError(
                "Configuration.token must be what on_token gave: a dict with access_token, "
                "refresh_token, expires_at (epoch seconds) and renew_before"
            )
        return self._expiring(access_token, refresh_token, expires_at, margin)

    def header(self, timeout: Optional[Timeout] = None) -> str:
        return f"Bearer {self.access_token(timeout)}"

    def refused(self, header: Optional[str]) -> bool:
        """A 401 to ``header``: drop that token, and say if a renewed one is worth a new try."""
        refused = (header or "").partition(" ")[2]
        with self._lock:
            token = self._token
            if token is not None and token.access_token == refused:
                if self._clock.monotonic() < self._quiet_until:
                    return False
                self._token = token._replace(access_token="", renew_at=0.0, expires_at=0.0)
            return bool(self.api_key or self._renewing or (token and token.refresh_token))


#: Every token manager, to give each new locks in a child process after a fork.
_managers: weakref.WeakSet[TokenManager] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for manager in list(_managers):
        manager._after_fork()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)

"""Auth strategies: HTTP Basic with the API key, and bearer tokens with their lifecycle.

A strategy gives the runtime the ``Authorization`` value for the next request
(``header()``) and is told when the server refused one (``refused()``, which says
whether one more try is worth it). It never holds the client: the token manager
reaches the auth endpoints through the ``exchange`` callable it is given.

Give the client an API key once; :class:`TokenManager` gets an access token on
first use, renews it shortly before it expires, and on a 401 renews it so that the
call is replayed once. There is no background thread: work happens on demand, in
the calling thread. Its clock is a parameter (anything with ``time()`` and
``monotonic()``, the :mod:`time` module by default), so tests set expiry instead
of sleeping.

Threads: a token past its refresh point but not yet expired (STALE) is renewed
by one thread while the others go on using it; only threads whose token has
expired (INVALID) wait for the renewal. A refresh token is taken out of the
state before it is sent, so it is never sent twice, whatever happens to the
request. A refused refresh falls back to the API key.
"""

from __future__ import annotations

import base64
import enum
import threading
import time
from typing import Any, Callable, Dict, Mapping, NamedTuple, Optional

from .configuration import Configuration
from .exceptions import (
    ApiConnectionError,
    ApiException,
    AuthenticationError,
    BadRequestException,
)
from .model.access_token import AccessToken
from .operation import Operation
from .paths.auth_api_key import post as auth_api_key
from .paths.auth_refresh import post as auth_refresh

#: Renew this long before expiry at most; a short-lived token is renewed at 90 % of its life.
MAX_MARGIN = 60.0
#: The lifetime assumed when the server does not say (api.video's is one hour).
DEFAULT_LIFETIME = 3600


class BasicAuth:
    """HTTP Basic with the API key as the user name and an empty password, as the spec
    declares for every operation: no token round trip, nothing to renew."""

    def __init__(self, api_key: str) -> None:
        self._header = "Basic " + base64.b64encode(f"{api_key}:".encode()).decode()

    def __repr__(self) -> str:
        return "BasicAuth(api_key=<set>)"

    def header(self) -> str:
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


class TokenManager:
    """Keeps a valid access token for one :class:`~video_api.ApiClient`.

    ``exchange(operation, body)`` runs one of the auth operations and returns its
    :class:`AccessToken`; ``clock`` has ``time()`` and ``monotonic()``.
    """

    def __init__(
        self,
        configuration: Configuration,
        exchange: Callable[[Operation[AccessToken], Mapping[str, Any]], AccessToken],
        clock: Any = time,
    ) -> None:
        self._exchange = exchange
        self._clock = clock
        self.api_key = configuration.api_key
        self.on_token: Optional[Callable[[Dict[str, Any]], None]] = configuration.on_token
        self._lock = threading.Lock()
        self._token: Optional[_Token] = None
        if configuration.token is not None:
            self._token = self._restore(configuration.token)
        elif configuration.access_token:
            inf = float("inf")
            self._token = _Token(configuration.access_token, None, inf, inf, inf, 0.0)

    def __repr__(self) -> str:
        return (
            f"TokenManager(state={self.state.value}, api_key={'<set>' if self.api_key else None})"
        )

    # -- state users can read
    def _expiring(
        self, access_token: str, refresh_token: Optional[str], expires_at: float, margin: float
    ) -> _Token:
        """A token that expires at ``expires_at`` (epoch seconds), renewed ``margin`` before,
        timed on the monotonic clock so that changes to the wall clock do not matter."""
        left = max(expires_at - self._clock.time(), 0.0)
        now = self._clock.monotonic()
        return _Token(
            access_token, refresh_token, now + left - margin, now + left, expires_at, margin
        )

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
        """Renew now, whatever the state."""
        with self._lock:
            self._renew()

    # -- getting a token
    def access_token(self) -> str:
        """A valid access token, renewing it first when it is due."""
        token = self._token
        now = self._clock.monotonic()
        if token is not None and now < token.renew_at:
            return token.access_token
        if token is not None and now < token.expires_at:
            # STALE: one thread renews; the others keep the token that still works.
            if not self._lock.acquire(blocking=False):
                return token.access_token
            try:
                if self._token is token:
                    self._renew()
            except ApiException:
                if self._clock.monotonic() >= token.expires_at:
                    raise
                return token.access_token  # renewal failed, but this one still works
            finally:
                self._lock.release()
            return self._current()
        with self._lock:  # INVALID: everyone waits for one renewal
            if self._token is token:
                self._renew()
            return self._current()

    def _current(self) -> str:
        token = self._token
        if token is None:
            raise AuthenticationError(detail="no access token could be obtained")
        return token.access_token

    def _drop(self, access_token: str) -> None:
        """Forget ``access_token`` (the server refused it), unless it was already replaced."""
        with self._lock:
            token = self._token
            if token is not None and token.access_token == access_token:
                self._token = token._replace(access_token="", renew_at=0.0, expires_at=0.0)

    def _renew(self) -> None:
        """Get a new token: refresh if we hold a refresh token, else (or if refused) the API key.
        Called with the lock held."""
        old = self._token
        refresh_token = old.refresh_token if old else None
        if old is not None:  # the refresh token leaves the state before it is sent
            self._token = old._replace(refresh_token=None)
        if refresh_token:
            try:
                self._store(self._exchange(auth_refresh.operation, {"refreshToken": refresh_token}))
                return
            except (BadRequestException, ApiConnectionError):
                if not self.api_key:
                    raise
        if not self.api_key:
            raise AuthenticationError(
                detail="the access token is no longer valid and no API key was given to renew it"
            )
        try:
            body = self._exchange(auth_api_key.operation, {"apiKey": self.api_key})
        except BadRequestException as error:
            raise AuthenticationError(
                api_response=error.api_response,
                detail="the API key was refused",
                retries=error.retries,
            ) from None
        self._store(body)

    def _store(self, body: AccessToken) -> None:
        if not body.access_token:
            raise AuthenticationError(detail="the server's token response has no access_token")
        lifetime = body.expires_in if body.expires_in is not None else DEFAULT_LIFETIME
        margin = min(MAX_MARGIN, lifetime / 10)
        self._token = self._expiring(
            body.access_token, body.refresh_token, self._clock.time() + lifetime, margin
        )
        if self.on_token is not None:
            self.on_token(self.saved())

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
        """A saved token, renewed as early before expiry as when it was saved."""
        margin = saved.get("renew_before", min(MAX_MARGIN, DEFAULT_LIFETIME / 10))
        return self._expiring(
            str(saved["access_token"]),
            saved.get("refresh_token"),
            float(saved["expires_at"]),
            float(margin),
        )

    # -- the strategy the runtime calls
    def header(self) -> str:
        """The ``Authorization`` value for the next request, renewing the token when due."""
        return f"Bearer {self.access_token()}"

    def refused(self, header: Optional[str]) -> bool:
        """The server answered 401 to ``header``: drop that token, and say whether a renewed
        one is worth one more try."""
        self._drop((header or "").partition(" ")[2])
        token = self._token
        return bool(self.api_key or (token and token.refresh_token))

"""Transport: a urllib3 pool, TLS, timeouts and retries, and our exceptions for its errors.

Everything per-call that can be decided once is decided in ``__init__``: the pool
for the configured host, the default timeout, the retry policy. A call is then
one ``urlopen`` on a known pool with a prepared path and headers, which is
cheaper than what ``PoolManager.request`` does with a URL string every time.

In a child process after a fork, every client gets a new pool manager: parent and child
never share a connection, nor a lock that a thread of the parent held.
"""

from __future__ import annotations

import logging
import math
import os
import random
import re
import time
import warnings
import weakref
from http.client import RemoteDisconnected
from typing import Any, Dict, Mapping, Optional, Tuple, cast
from urllib.parse import unquote, urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    NewConnectionError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.exceptions import (
    HTTPError as HTTPError,  # re-exported: the client's reads catch it
)

from .configuration import Configuration, Timeout, check_timeout, check_url, redact
from .exceptions import (
    ApiConnectionError,
    ApiTimeoutError,
    ApiValueError,
)

logger = logging.getLogger("video_api")

#: Statuses worth another try: the server said it did not (or could not) do the work.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Of those, the ones that also promise the request was not processed, so that
#: even a request that must not run twice (it consumes a refresh token) is safe.
UNPROCESSED_STATUSES = frozenset({408, 429, 503})
#: The longest wait a retry hint may ask for; a longer one is raised to the caller.
MAX_RETRY_WAIT = 20.0
#: The longest wait ``retry_after`` reports: hints beyond an hour (or infinite) are capped.
MAX_RETRY_AFTER = 3600.0
#: A response body drained for reuse of its connection at most; a longer one is not read.
DRAIN_LIMIT = 64 * 1024
BACKOFF_BASE = 0.2

_NO_RETRY = urllib3.Retry(total=False, redirect=False, raise_on_status=False)
Response = urllib3.HTTPResponse


class IdleClosed(RemoteDisconnected):
    """The server closed a kept-alive connection, cleanly and without a byte of answer, just
    as a request was sent on it: the race with a server closing a connection it saw idle.

    Such a request is sent again once, even one that must not run twice. A server closes a
    kept-alive connection only between requests, so this one was not read. (A server that
    read it and then died without a word would look the same: for a POST that creates
    something, that rare case is the risk taken.) For a refresh the resend is safe whatever
    happened: a refresh token works once, so had it been spent, the server refuses it the
    second time, and the token manager falls back to the API key as it would have done
    anyway. A reset, or a close on a new connection, may come after the server read the
    request: those are not sent again.
    """


class _Pool(urllib3.HTTPConnectionPool):
    """Tells a request that met the server's close of its kept-alive connection (IdleClosed)
    from one that the server may have read."""

    def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
        reused = conn.sock is not None  # a new connection is not connected yet
        try:
            return super()._make_request(conn, *args, **kwargs)
        except RemoteDisconnected as error:
            if reused:
                raise IdleClosed(*error.args) from error
            raise


class _HTTPSPool(_Pool, urllib3.HTTPSConnectionPool):
    pass


_POOL_CLASSES: Dict[str, Any] = {"http": _Pool, "https": _HTTPSPool}


def to_urllib3_timeout(timeout: Optional[Timeout]) -> Optional[urllib3.Timeout]:
    """A number bounds connect and read alike; a pair is ``(connect, read)``."""
    if timeout is None:
        return None
    connect, read = check_timeout(timeout)
    return urllib3.Timeout(connect=connect, read=read)


def retry_after(headers: Mapping[str, str]) -> Optional[float]:
    """The wait a response asks for, in seconds, from any header api.video or peers use;
    at most ``MAX_RETRY_AFTER``, and None for a value that is not a number or a date."""
    wait: Optional[float] = None
    value = headers.get("retry-after-ms")
    if value:
        wait = _seconds(value, 1000)
    for name in ("X-RateLimit-Retry-After", "Retry-After"):
        value = headers.get(name)
        if wait is None and value:
            wait = _seconds(value, 1)
    return None if wait is None else min(max(wait, 0.0), MAX_RETRY_AFTER)


def _seconds(value: str, per_second: int) -> Optional[float]:
    try:
        number = float(value) / per_second
    except ValueError:
        if per_second != 1:
            return None
        import email.utils  # an HTTP date is the rare form of this header

        try:
            when = email.utils.parsedate_tz(value)
            return None if when is None else email.utils.mktime_tz(when) - time.time()
        except (OverflowError, ValueError):
            return MAX_RETRY_AFTER
    return None if math.isnan(number) else number


def proxy_credentials(url: str) -> Tuple[str, Dict[str, str]]:
    """The proxy URL without its user name and password, and those as Proxy-Authorization
    (urllib3 would otherwise drop them silently)."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, {}
    user, password = unquote(parts.username), unquote(parts.password or "")
    return redact(url).replace("***@", ""), urllib3.make_headers(
        proxy_basic_auth=f"{user}:{password}"
    )


def check_settings(configuration: Configuration) -> None:
    """Refuse, with the setting's name, what urllib3 would fail on later or obscurely."""
    if configuration.proxy:
        check_url(configuration.proxy, "proxy", userinfo=True)
    for setting in ("ssl_ca_cert", "cert_file", "key_file"):
        path = getattr(configuration, setting)
        if path and not os.path.isfile(path):
            raise ApiValueError(f"Configuration.{setting}: no file at {path!r}")
    size = configuration.connection_pool_maxsize
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ApiValueError(f"Configuration.connection_pool_maxsize must be >= 1, got {size!r}")


class RESTClientObject:
    """Sends requests for an :class:`~video_api.ApiClient` over one urllib3 pool manager."""

    def __init__(self, configuration: Configuration) -> None:
        self.configuration = configuration
        check_settings(configuration)
        pool_args: dict[str, Any] = {"maxsize": configuration.connection_pool_maxsize}
        if configuration.verify_ssl:
            pool_args["cert_reqs"] = "CERT_REQUIRED"
            if configuration.ssl_ca_cert:
                pool_args["ca_certs"] = configuration.ssl_ca_cert
            else:
                import certifi  # only clients that verify against the public bundle need it

                pool_args["ca_certs"] = certifi.where()
        else:
            warnings.warn(
                "TLS certificate verification is off (verify_ssl=False): "
                "anyone on the network path can read and change this client's traffic",
                stacklevel=3,
            )
            pool_args["cert_reqs"] = "CERT_NONE"
        if configuration.cert_file:
            pool_args["cert_file"] = configuration.cert_file
            pool_args["key_file"] = configuration.key_file
        if configuration.assert_hostname is not None:
            pool_args["assert_hostname"] = configuration.assert_hostname
        if configuration.proxy:
            proxy, headers = proxy_credentials(configuration.proxy)
            pool_args["proxy_url"] = proxy
            pool_args["proxy_headers"] = {**headers, **(configuration.proxy_headers or {})}
        self._pool_args = pool_args
        self.host = configuration.host
        self.base_path = urlsplit(self.host).path.rstrip("/")
        self.timeout = to_urllib3_timeout(configuration.timeout)
        self.retries = configuration.retries
        self._open()
        _clients.add(self)

    def _open(self) -> None:
        """A new pool manager, sharing no connection and no lock with any before it: when the
        client is built, and in a child process after a fork. (The parent's connections are
        left to the parent: the child never reads or writes them, nor shuts them down.)"""
        if "proxy_url" in self._pool_args:
            self.manager: urllib3.PoolManager = urllib3.ProxyManager(**self._pool_args)
        else:
            self.manager = urllib3.PoolManager(**self._pool_args)
        self.manager.pool_classes_by_scheme = _POOL_CLASSES
        # Through a proxy every request goes via the manager, which adds proxy headers.
        self.pool = (
            None if self.configuration.proxy else self.manager.connection_from_url(self.host)
        )

    def close(self) -> None:
        """Close every pooled connection; a later request opens a new one."""
        # PoolManager.clear() forgets its pools without closing their idle sockets.
        pools = [self.manager.pools[key] for key in self.manager.pools.keys()]  # noqa: SIM118 (not iterable)
        if self.pool is not None:
            pools.append(self.pool)
            self.pool = None
        self.manager.clear()
        for pool in pools:
            pool.close()
        if not self.configuration.proxy:
            self.pool = self.manager.connection_from_url(self.host)

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str],
        body: Any = None,
        timeout: Optional[Timeout] = None,
        host: Optional[str] = None,
        retries: Optional[int] = None,
        replay_safe: bool = True,
        deadline: Optional[float] = None,
    ) -> Tuple[Response, int]:
        """Send one request, retrying what is safe to retry; returns the unread response
        and the number of retries it took. ``body`` is bytes, or an iterable of bytes that
        starts over each time it is iterated (a streamed multipart body).

        ``replay_safe=False`` marks a request that must not run twice on the server:
        it is retried only when it surely was not processed. ``deadline`` (on the
        monotonic clock) bounds every attempt and wait: past it, no retry starts.
        """
        per_attempt = self.timeout if timeout is None else to_urllib3_timeout(timeout)
        budget = self.retries if retries is None else retries
        attempt = 0
        resent = False
        while True:
            bound = within(per_attempt, deadline, method, path, attempt)
            try:
                response = self._send(method, path, headers, body, bound, host)
            except HTTPError as error:
                idle = isinstance(error.args[-1] if error.args else None, IdleClosed)
                if idle and not resent and getattr(body, "replayable", True):
                    # Never read by the server (see IdleClosed). The connections pooled behind
                    # this one have been idle longer, so they are closed too: urllib3 sees it
                    # and opens a new one. (A body read from a pipe cannot be sent again.)
                    resent = True
                    logger.debug(
                        "%s %s: kept-alive connection closed; sent again", method, shown(path)
                    )
                    continue
                reached = not isinstance(
                    error, (NewConnectionError, ConnectTimeoutError, ProxyError)
                )
                wait = backoff(attempt)
                if (
                    attempt >= budget
                    or isinstance(error, SSLError)
                    or (reached and not replay_safe)
                    or not fits(wait, deadline)
                ):
                    raise transport_error(error, method, path, attempt) from error
                cause = type(error).__name__
            else:
                status = response.status
                if status not in RETRY_STATUSES or attempt >= budget:
                    return response, attempt
                if not replay_safe and status not in UNPROCESSED_STATUSES:
                    return response, attempt
                hint = retry_after(response.headers)
                wait = backoff(attempt) if hint is None else hint
                if wait > MAX_RETRY_WAIT or not fits(wait, deadline):
                    return response, attempt
                discard(response)
                cause = f"{status} {response.reason}"
            attempt += 1
            logger.debug("%s %s: %s; retry %d in %.2f s", method, shown(path), cause, attempt, wait)
            time.sleep(wait)

    def _send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: Any,
        timeout: Optional[urllib3.Timeout],
        host: Optional[str],
    ) -> Response:
        options: dict[str, Any] = {
            "body": body,
            "headers": headers,
            "retries": _NO_RETRY,
            "redirect": False,
            "timeout": timeout,
            "preload_content": False,
            "enforce_content_length": True,  # urllib3 1.26 would take a cut body as whole
        }
        if self.pool is not None and host is None:
            return cast(Response, self.pool.urlopen(method, self.base_path + path, **options))
        base = self.host if host is None else host.rstrip("/")
        return cast(Response, self.manager.urlopen(method, base + path, **options))


#: Every client, to give each a new pool manager in a child process after a fork.
_clients: weakref.WeakSet[RESTClientObject] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for client in list(_clients):
        client._open()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)


def within(
    bound: Optional[urllib3.Timeout],
    deadline: Optional[float],
    method: str,
    path: str,
    attempt: int,
) -> Optional[urllib3.Timeout]:
    """The attempt's timeout, cut to what is left before ``deadline``."""
    if deadline is None:
        return bound
    left = deadline - time.monotonic()
    if left <= 0:
        raise ApiTimeoutError(
            detail=f"{method} {path}: the call's deadline passed", retries=attempt
        )
    connect = bound.connect_timeout if bound is not None else None
    read = bound.read_timeout if bound is not None else None
    return urllib3.Timeout(
        connect=min(left, connect) if isinstance(connect, (int, float)) else left,
        read=min(left, read) if isinstance(read, (int, float)) else left,
    )


def backoff(attempt: int) -> float:
    """Exponential, with jitter so that clients failing together do not retry together."""
    return float(BACKOFF_BASE * 2**attempt * (0.5 + random.random() / 2))


def fits(wait: float, deadline: Optional[float]) -> bool:
    """Whether waiting ``wait`` seconds still leaves time before ``deadline`` for a try."""
    return deadline is None or time.monotonic() + wait < deadline


def discard(response: Response) -> None:
    """Let go of a response not to be read: a short body is drained so that the connection
    can be reused; a long or unknown one closes the connection instead of being read."""
    if response.length_remaining is not None and response.length_remaining <= DRAIN_LIMIT:
        response.drain_conn()
    else:
        response.close()
    response.release_conn()


_TOKEN_IN_QUERY = re.compile(r"(?<=[?&]token=)[^&#\s]*")


def shown(text: str) -> str:
    """``text`` (a path, a message) as logs and errors may show it: an upload token in a
    query string is a credential, so it is hidden."""
    return _TOKEN_IN_QUERY.sub("***", text) if "token=" in text else text


def transport_error(
    error: Exception,
    method: str,
    path: str,
    retries: int = 0,
    *,
    response: Optional[Response] = None,
    body: Optional[bytes] = None,
) -> ApiConnectionError:
    """Our exception for a urllib3 failure, saying what was tried and what happened."""
    # urllib3 makes NewConnectionError a ConnectTimeoutError for history's sake; it is not one.
    timed_out = isinstance(error, (ConnectTimeoutError, ReadTimeoutError)) and not isinstance(
        error, NewConnectionError
    )
    kind = ApiTimeoutError if timed_out else ApiConnectionError
    reason = shown(str(getattr(error, "reason", None) or error))
    path = shown(path)
    if response is None:
        return kind(detail=f"{method} {path}: {reason}", retries=retries)
    # The status line arrived but the body broke off: say which response it was.
    return kind(
        response.status,
        response.reason,
        headers=response.headers,
        body=body,
        detail=f"{method} {path}: body cut short ({reason})",
        retries=retries,
    )

"""Transport: a urllib3 pool, TLS, timeouts and retries, and our exceptions for its errors.

What can be decided once (the pool, the timeout, the retry policy) is decided in ``__init__``:
a call is one ``urlopen`` on a known pool, cheaper than ``PoolManager.request`` with a URL.
After a fork, the child's clients get new pool managers: they share no connection nor lock.
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
import warnings
import weakref
from http.client import RemoteDisconnected
from typing import Any, Dict, Mapping, Optional, Tuple, Union, cast
from urllib.parse import unquote, urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    NewConnectionError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.exceptions import HTTPError as HTTPError  # re-exported: the client's reads catch it

from .configuration import Configuration, Timeout, check_timeout, check_url, redact
from .exceptions import ApiConnectionError, ApiTimeoutError, ApiValueError, shown

logger: logging.Logger = logging.getLogger("video_api")

#: Statuses worth another try: the server said it did not (or could not) do the work.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Of those, the ones promising the request was not processed: safe to send again even a
#: request that must not run twice (it consumes a refresh token).
UNPROCESSED_STATUSES = frozenset({408, 429, 503})
#: The longest wait a retry hint may ask for; a longer one is raised to the caller.
MAX_RETRY_WAIT = 20.0
#: The longest wait ``retry_after`` reports: hints beyond an hour (or infinite) are capped.
MAX_RETRY_AFTER = 3600.0
#: A response body drained for reuse of its connection at most; a longer one is not read.
DRAIN_LIMIT = 64 * 1024
BACKOFF_BASE = 0.2

Response = urllib3.HTTPResponse
#: Failures before the request could reach the server.
_UNSENT = (NewConnectionError, ConnectTimeoutError, ProxyError)
#: ``urlopen`` options of every request: retries and redirects are ours, the caller reads.
_ALWAYS: Dict[str, Any] = {
    "retries": urllib3.Retry(total=False, redirect=False, raise_on_status=False),
    "redirect": False,
    "preload_content": False,
    "enforce_content_length": True,  # urllib3 1.26 would take a cut body as whole
}


class IdleClosed(RemoteDisconnected):
    """The server closed a kept-alive connection, cleanly and without a byte of answer, as a
    request was sent on it: the race with a server closing a connection it saw idle.

    A server does so only between requests, so the request was not read and is sent again
    once, even one that must not run twice. (A server that read it and died silently looks the
    same: for a POST that creates something, that rare risk is taken; a spent refresh token is
    just refused, and the API key used.) A reset, or a close on a new connection, may follow
    the server's read: those are not sent again."""


class _Pool(urllib3.HTTPConnectionPool):
    """Raises IdleClosed for a close met on a reused connection, which the server did not read."""

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


_RETRY_HEADERS = (("retry-after-ms", 1000), ("X-RateLimit-Retry-After", 1), ("Retry-After", 1))


def retry_after(headers: Mapping[str, str]) -> Optional[float]:
    """The wait a response asks for, in seconds, from the first header api.video or peers use
    that holds a number (or a date); at most ``MAX_RETRY_AFTER``."""
    for name, per_second in _RETRY_HEADERS:
        value = headers.get(name)
        if not value:
            continue
        try:
            wait = float(value) / per_second
        except ValueError:
            if per_second != 1:
                continue
            import email.utils  # an HTTP date is the rare form of this header

            try:
                when = email.utils.parsedate_tz(value)
                wait = math.nan if when is None else email.utils.mktime_tz(when) - time.time()
            except (OverflowError, ValueError):
                return MAX_RETRY_AFTER
        if not math.isnan(wait):
            return min(max(wait, 0.0), MAX_RETRY_AFTER)
    return None


class RESTClientObject:
    """Sends requests for an :class:`~video_api.ApiClient` over one urllib3 pool manager."""

    def __init__(self, configuration: Configuration) -> None:
        self.configuration = configuration
        pool_args: dict[str, Any] = {}
        # Refuse, with the setting's name, what urllib3 would fail on later or obscurely.
        if configuration.proxy:
            check_url(configuration.proxy, "proxy", userinfo=True)
            # urllib3 would drop the URL's user and password silently: they become a header.
            proxy, headers = configuration.proxy, {}
            parts = urlsplit(proxy)
            if parts.username is not None:
                user, password = unquote(parts.username), unquote(parts.password or "")
                headers = urllib3.make_headers(proxy_basic_auth=f"{user}:{password}")
                proxy = redact(proxy).replace("***@", "")
            pool_args["proxy_url"] = proxy
            pool_args["proxy_headers"] = {**headers, **(configuration.proxy_headers or {})}
        for setting in ("ssl_ca_cert", "cert_file", "key_file"):
            path = getattr(configuration, setting)
            if path and not os.path.isfile(path):
                raise ApiValueError(f"Configuration.{setting}: no file at {path!r}")
        size = configuration.connection_pool_maxsize
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ApiValueError(f"Configuration.connection_pool_maxsize must be >= 1, got {size!r}")
        pool_args["maxsize"] = size
        pool_args["cert_reqs"] = "CERT_REQUIRED" if configuration.verify_ssl else "CERT_NONE"
        if not configuration.verify_ssl:
            warnings.warn(
                "TLS certificate verification is off (verify_ssl=False): "
                "anyone on the network path can read and change this client's traffic",
                stacklevel=4,
            )
        elif configuration.ssl_ca_cert:
            pool_args["ca_certs"] = configuration.ssl_ca_cert
        else:
            import certifi  # only clients that verify against the public bundle need it

            pool_args["ca_certs"] = certifi.where()
        if configuration.cert_file:
            pool_args.update(cert_file=configuration.cert_file, key_file=configuration.key_file)
        if configuration.assert_hostname is not None:
            pool_args["assert_hostname"] = configuration.assert_hostname
        self._pool_args = pool_args
        self.host: str = configuration.host
        self.base_path: str = urlsplit(self.host).path.rstrip("/")
        self._bounds = check_timeout(configuration.timeout)  # (connect, read)
        self.timeout: urllib3.Timeout = urllib3.Timeout(
            connect=self._bounds[0], read=self._bounds[1]
        )
        self.retries: int = configuration.retries
        self._open()
        _clients.add(self)

    def _open(self) -> None:
        """A new pool manager, sharing no connection and no lock with any before it: when the
        client is built or closed, and in a child after a fork (which leaves the parent's
        connections to the parent: it never reads, writes or shuts them down)."""
        proxied = "proxy_url" in self._pool_args
        manager_class = urllib3.ProxyManager if proxied else urllib3.PoolManager
        self.manager: urllib3.PoolManager = manager_class(**self._pool_args)
        self.manager.pool_classes_by_scheme = {"http": _Pool, "https": _HTTPSPool}
        # Through a proxy every request goes via the manager, which adds proxy headers.
        self.pool: Optional[urllib3.HTTPConnectionPool] = (
            None if proxied else self.manager.connection_from_url(self.host)
        )

    def close(self) -> None:
        """Close every pooled connection; a later request opens a new one."""
        # A manager let go (or cleared, in urllib3 2) leaves its pools' idle sockets open.
        pools = [self.manager.pools[key] for key in self.manager.pools.keys()]  # noqa: SIM118 (not iterable)
        if self.pool is not None:
            pools.append(self.pool)  # in case the manager forgot it
        self._open()
        for pool in pools:
            pool.close()

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
        """Send one request, retrying what is safe to retry; return the unread response and
        the retries it took. ``body``: bytes, or an iterable of bytes that starts over each time
        (a streamed multipart body). ``replay_safe=False``: the request must not run twice, so
        it is retried only if surely not processed. ``deadline`` (monotonic) bounds every try."""
        connect, read = self._bounds if timeout is None else check_timeout(timeout)
        bound = self.timeout if timeout is None else urllib3.Timeout(connect=connect, read=read)
        budget = self.retries if retries is None else retries
        retryable = RETRY_STATUSES if replay_safe else UNPROCESSED_STATUSES
        attempt = 0
        resent = False
        while True:
            if deadline is not None:  # the attempt gets at most what is left
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ApiTimeoutError(
                        detail=f"{method} {path}: the call's deadline passed",
                        retries=attempt,
                    )
                bound = urllib3.Timeout(connect=min(left, connect), read=min(left, read))
            # Through a proxy (no pool) or to another host, the manager finds the pool.
            pool: Union[urllib3.HTTPConnectionPool, urllib3.PoolManager]
            if self.pool is not None and host is None:
                pool, url = self.pool, self.base_path + path
            else:
                pool, url = self.manager, (self.host if host is None else host.rstrip("/")) + path
            try:
                response = cast(
                    Response,
                    pool.urlopen(method, url, body=body, headers=headers, timeout=bound, **_ALWAYS),
                )
            except HTTPError as error:
                idle = isinstance(error.args[-1] if error.args else None, IdleClosed)
                if idle and not resent and getattr(body, "replayable", True):
                    # Not read by the server (see IdleClosed); the connections pooled behind it
                    # idled longer and are closed too. A body read from a pipe cannot be resent.
                    resent = True
                    logger.debug(
                        "%s %s: kept-alive connection closed; sent again", method, shown(path)
                    )
                    continue
                wait = backoff(attempt)
                if (
                    attempt >= budget
                    or isinstance(error, SSLError)
                    or (not replay_safe and not isinstance(error, _UNSENT))
                    or not fits(wait, deadline)
                ):
                    raise transport_error(error, method, path, attempt) from error
                cause = type(error).__name__
            else:
                status = response.status
                if status not in retryable or attempt >= budget:
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


#: Every client, to give each a new pool manager in a child process after a fork.
_clients: weakref.WeakSet[RESTClientObject] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for client in list(_clients):
        client._open()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)


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
    reason = getattr(error, "reason", None) or error
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

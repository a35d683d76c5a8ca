"""Client settings: where to connect, how, and with which credentials."""

from __future__ import annotations

import logging
import math
import re
from typing import TYPE_CHECKING, Any, Callable, Dict, Literal, Optional, Tuple, Union
from urllib.parse import urlsplit, urlunsplit

from .exceptions import ApiTypeError, ApiValueError

Environment = Literal["production", "sandbox"]
AuthMethod = Literal["basic", "bearer"]

ENVIRONMENTS: Dict[str, str] = {
    "production": "https://ws.api.video",
    "sandbox": "https://sandbox.api.video",
}

#: Seconds to connect, and between bytes of the response: a stalled server is an error.
DEFAULT_TIMEOUT: Tuple[float, float] = (5.0, 60.0)

MiB = 1024 * 1024
DEFAULT_CHUNK_SIZE = 50 * MiB  #: The part size of an upload unless told otherwise (api.video's).
MIN_CHUNK_SIZE = 5 * MiB  #: The smallest part api.video takes, but for the last one.
MAX_CHUNK_SIZE = 128 * MiB

Timeout = Union[float, Tuple[float, float]]
_logger = logging.getLogger("video_api")


def redact(url: str) -> str:
    """``url`` with its user name and password, if any, shown as ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:  # unparsable (a bracket left open): hide all that may be a password
        return "***@" + url.rpartition("@")[2] if "@" in url else url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def check_url(url: str, setting: str = "host", userinfo: bool = False) -> str:
    """``url`` if it is a usable http(s) URL, else ApiValueError (never showing a password)."""
    try:
        parts = urlsplit(url if isinstance(url, str) else "")
        # urllib3 fails later, and obscurely, on a host such as "ho st"; reading .port checks it.
        valid = parts.scheme in ("http", "https") and (parts.port is None or parts.port > 0)
        valid = valid and re.fullmatch(r"[\w.\-:%]+", parts.hostname or "") is not None
    except ValueError:
        valid = False
    shown = redact(url) if isinstance(url, str) else url
    if not valid:
        raise ApiValueError(f"Configuration.{setting} must be an http(s) URL, got {shown!r}")
    if parts.query or parts.fragment:
        raise ApiValueError(f"Configuration.{setting} must have no query or fragment: {shown!r}")
    if (parts.username or parts.password) and not userinfo:
        raise ApiValueError(
            f"Configuration.{setting} must not carry a user name or password ({shown!r}): "
            f"give the API key as api_key="
        )
    return url


def is_loopback(url: str) -> bool:
    import ipaddress  # only clients with credentials over plain http need it

    host = urlsplit(url).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_secret(value: Optional[str], setting: str) -> Optional[str]:
    """The credential stripped (one read from a file has a line break); errors never show it."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiTypeError(f"Configuration.{setting} must be a str, got {type(value).__name__}")
    value = value.strip()
    if not value or not value.isascii() or not value.isprintable() or " " in value:
        raise ApiValueError(
            f"Configuration.{setting} must be printable ASCII without spaces "
            f"({len(value)} characters after stripping; the value is not shown)"
        )
    return value


def check_timeout(timeout: Timeout) -> Tuple[float, float]:
    """``(connect, read)`` from a number or a pair of positive finite seconds, or ApiValueError."""
    parts = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    if len(parts) != 2 or not all(
        isinstance(part, (int, float)) and not isinstance(part, bool) and 0 < part < math.inf
        for part in parts
    ):
        raise ApiValueError(
            f"timeout must be positive seconds, or (connect, read) of them, got {timeout!r}"
        )
    return parts


class Configuration:
    """Settings of an :class:`~video_api.ApiClient`, checked when set; a client built from them
    takes up a change at its next call.

    host (wins over) environment: "production" (default) or "sandbox".
    api_key: sent with HTTP Basic, as the spec declares; ``auth="bearer"`` trades it for
        access tokens. access_token: a bearer token used as is. token, on_token: a saved
        token to restore, and the hook that gets each new one.
    verify_ssl, ssl_ca_cert (default: certifi's bundle), cert_file, key_file,
        assert_hostname; proxy, proxy_headers; connection_pool_maxsize.
    timeout: seconds, one number (the whole call) or (connect, read); default (5, 60).
    retries (or max_retries): on connection errors, 408, 429 and 5xx.
    chunk_size: the part size of video uploads, 5 to 128 MiB; default 50 MiB.
    debug: log requests (credentials hidden) to the ``video_api`` logger only.
    """

    #: How many times a setting was set: a client takes up a change at its next call.
    _changes = 0
    _chunk_size = DEFAULT_CHUNK_SIZE  # for one pickled before the setting existed

    if not TYPE_CHECKING:  # else type checkers would take any name, a misspelled one too

        def __setattr__(self, name: str, value: Any) -> None:
            super().__setattr__(name, value)
            super().__setattr__("_changes", self._changes + 1)

    def __init__(
        self,
        host: Optional[str] = None,
        *,
        environment: Environment = "production",
        api_key: Optional[str] = None,
        auth: AuthMethod = "basic",
        access_token: Optional[str] = None,
        verify_ssl: bool = True,
        ssl_ca_cert: Optional[str] = None,
        cert_file: Optional[str] = None,
        key_file: Optional[str] = None,
        assert_hostname: Union[str, bool, None] = None,
        proxy: Optional[str] = None,
        proxy_headers: Optional[Dict[str, str]] = None,
        connection_pool_maxsize: int = 16,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retries: int = 2,
        max_retries: Optional[int] = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        debug: bool = False,
        on_token: Optional[Callable[[Any], None]] = None,
        token: Optional[Any] = None,
    ) -> None:
        self.host = host
        self.environment = environment
        self.api_key = api_key
        self.auth = auth
        self.access_token = access_token
        self.verify_ssl = verify_ssl
        self.ssl_ca_cert = ssl_ca_cert
        self.cert_file = cert_file
        self.key_file = key_file
        self.assert_hostname = assert_hostname
        self.proxy = proxy
        self.proxy_headers = proxy_headers
        self.connection_pool_maxsize = connection_pool_maxsize
        self.timeout = timeout
        self.retries = retries if max_retries is None else max_retries
        self.chunk_size = chunk_size
        self.on_token = on_token
        self.token = token
        self.debug = debug

    @property
    def environment(self) -> Environment:
        return self._environment

    @environment.setter
    def environment(self, name: Environment) -> None:
        if name not in ENVIRONMENTS:
            raise ApiValueError(
                f"Configuration.environment must be one of {', '.join(ENVIRONMENTS)}, got {name!r}"
            )
        self._environment = name

    @property
    def api_key(self) -> Optional[str]:
        return self._api_key

    @api_key.setter
    def api_key(self, value: Optional[str]) -> None:
        self._api_key = check_secret(value, "api_key")

    @property
    def access_token(self) -> Optional[str]:
        return self._access_token

    @access_token.setter
    def access_token(self, value: Optional[str]) -> None:
        self._access_token = check_secret(value, "access_token")

    @property
    def auth(self) -> AuthMethod:
        return self._auth

    @auth.setter
    def auth(self, value: AuthMethod) -> None:
        if value not in ("basic", "bearer"):
            raise ApiValueError(f"Configuration.auth must be 'basic' or 'bearer', got {value!r}")
        self._auth = value

    @property
    def host(self) -> str:
        return (self._host or ENVIRONMENTS[self._environment]).rstrip("/")

    @host.setter
    def host(self, value: Optional[str]) -> None:
        self._host = None if value is None else check_url(value)

    @property
    def timeout(self) -> Timeout:
        return self._timeout

    @timeout.setter
    def timeout(self, value: Timeout) -> None:
        check_timeout(value)
        self._timeout = value

    @property
    def retries(self) -> int:
        return self._retries

    @retries.setter
    def retries(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ApiValueError(f"retries must be a whole number >= 0, got {value!r}")
        self._retries = value

    max_retries = retries

    @property
    def chunk_size(self) -> int:
        return self._chunk_size

    @chunk_size.setter
    def chunk_size(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ApiTypeError(
                f"Configuration.chunk_size must be an int, got {type(value).__name__}"
            )
        if not MIN_CHUNK_SIZE <= value <= MAX_CHUNK_SIZE:
            raise ApiValueError(
                f"Configuration.chunk_size must be between {MIN_CHUNK_SIZE} and "
                f"{MAX_CHUNK_SIZE} bytes, got {value}"
            )
        self._chunk_size = value

    @property
    def debug(self) -> bool:
        return self._debug

    @debug.setter
    def debug(self, value: bool) -> None:
        self._debug = value
        if value:
            _logger.setLevel(logging.DEBUG)
            if not _logger.handlers:
                _logger.addHandler(logging.StreamHandler())

    def __repr__(self) -> str:
        shown: Dict[str, Any] = {"host": self.host}
        if self._host is None:  # else the environment is not in effect
            shown["environment"] = self.environment
        shown["proxy"] = self.proxy and redact(self.proxy)
        for name in ("auth", "timeout", "retries", "verify_ssl"):
            shown[name] = getattr(self, name)
        for name in ("api_key", "access_token"):  # never the secrets
            shown[name] = "<set>" if getattr(self, name) else None
        return "Configuration(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

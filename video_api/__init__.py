"""video_api: a Python client for the api.video authentication API.

import video_api
from video_api.apis.tags import authentication_api
from video_api.model.authenticate_payload import AuthenticatePayload

with video_api.ApiClient(video_api.Configuration()) as api_client:
    api = authentication_api.AuthenticationApi(api_client)
    token = api.p_ost_auth_api_key(body=AuthenticatePayload(api_key="...")).body
"""

__version__ = "1.0.0"

from typing import TYPE_CHECKING, Any, List

from .api_client import ApiClient
from .configuration import Configuration
from .exceptions import (
    ApiAttributeError,
    ApiConnectionError,
    ApiException,
    ApiKeyError,
    ApiTimeoutError,
    ApiTypeError,
    ApiValueError,
    OpenApiException,
)

if TYPE_CHECKING:
    from .auth import AuthenticatedApiClient


def __getattr__(name: str) -> Any:
    """Import the token lifecycle on first use: a plain call does not need it."""
    if name == "AuthenticatedApiClient":
        from .auth import AuthenticatedApiClient

        return AuthenticatedApiClient
    raise AttributeError(f"module 'video_api' has no attribute {name!r}")


def __dir__() -> List[str]:
    return sorted({*globals(), "AuthenticatedApiClient"})


__all__ = [
    "ApiAttributeError",
    "ApiClient",
    "ApiConnectionError",
    "ApiException",
    "ApiKeyError",
    "ApiTimeoutError",
    "ApiTypeError",
    "ApiValueError",
    "AuthenticatedApiClient",
    "Configuration",
    "OpenApiException",
    "__version__",
]

"""video_api: a Python client for the api.video authentication API.

import video_api
from video_api.apis.tags import authentication_api
from video_api.model.authenticate_payload import AuthenticatePayload

with video_api.ApiClient(video_api.Configuration()) as api_client:
    api = authentication_api.AuthenticationApi(api_client)
    token = api.p_ost_auth_api_key(body=AuthenticatePayload(api_key="...")).body
"""

__version__ = "1.0.0"

from .api_client import ApiClient
from .auth import AuthenticatedApiClient
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

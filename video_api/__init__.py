"""video_api: a Python client for the whole api.video API.

import video_api
from video_api.apis.tags.videos_api import VideosApi

configuration = video_api.Configuration(api_key="YOUR_API_KEY")
with video_api.ApiClient(configuration) as api_client:
    for video in video_api.paginate(VideosApi(api_client).list):
        print(video.video_id, video.title)
"""

from ._version import __version__
from .api_client import (
    ApiClient,
    ApiResponse,
    AuthenticatedApiClient,
    paginate,
    with_http_info,
)
from .configuration import Configuration
from .exceptions import (
    ApiAttributeError,
    ApiConnectionError,
    ApiException,
    ApiKeyError,
    ApiResponseError,
    ApiTimeoutError,
    ApiTypeError,
    ApiValueError,
    AuthenticationError,
    BadRequestException,
    ConflictException,
    ForbiddenException,
    NotFoundException,
    OpenApiException,
    ServiceException,
    TooManyRequestsException,
    UnauthorizedException,
)

__all__ = [
    "ApiAttributeError",
    "ApiClient",
    "ApiConnectionError",
    "ApiException",
    "ApiKeyError",
    "ApiResponse",
    "ApiResponseError",
    "ApiTimeoutError",
    "ApiTypeError",
    "ApiValueError",
    "AuthenticatedApiClient",
    "AuthenticationError",
    "BadRequestException",
    "Configuration",
    "ConflictException",
    "ForbiddenException",
    "NotFoundException",
    "OpenApiException",
    "ServiceException",
    "TooManyRequestsException",
    "UnauthorizedException",
    "__version__",
    "paginate",
    "with_http_info",
]

"""The API class for each path."""

from __future__ import annotations

from typing import Dict, Type

from ..api_client import BaseApi
from ..paths import PathValues
from .paths.auth_api_key import AuthApiKey
from .paths.auth_refresh import AuthRefresh

path_to_api: Dict[PathValues, Type[BaseApi]] = {
    PathValues.AUTH_APIKEY: AuthApiKey,
    PathValues.AUTH_REFRESH: AuthRefresh,
}

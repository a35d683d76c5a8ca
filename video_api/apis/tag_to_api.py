"""The API class for each tag."""

from __future__ import annotations

from typing import Dict, Type

from ..api_client import BaseApi
from .tags import TagValues
from .tags.authentication_api import AuthenticationApi

tag_to_api: Dict[TagValues, Type[BaseApi]] = {TagValues.AUTHENTICATION: AuthenticationApi}

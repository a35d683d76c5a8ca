"""The Authentication tag: get and refresh access tokens."""

from __future__ import annotations

from ...api_client import BaseApi, endpoint
from ...paths.auth_api_key import post as auth_api_key
from ...paths.auth_refresh import post as auth_refresh


class AuthenticationApi(BaseApi):
    """Get an access token (``p_ost_auth_api_key``) and renew it (``p_ost_auth_refresh``)."""

    p_ost_auth_api_key = endpoint(auth_api_key.operation)
    p_ost_auth_refresh = endpoint(auth_refresh.operation)

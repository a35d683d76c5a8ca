"""/auth/api-key."""

from __future__ import annotations

from ...api_client import BaseApi, endpoint
from ...paths.auth_api_key import post


class AuthApiKey(BaseApi):
    """POST /auth/api-key."""

    post = endpoint(post.operation, "post")

"""/auth/refresh."""

from __future__ import annotations

from ...api_client import BaseApi, endpoint
from ...paths.auth_refresh import post


class AuthRefresh(BaseApi):
    """POST /auth/refresh."""

    post = endpoint(post.operation, "post")

"""The 200 body of both auth operations."""

from __future__ import annotations

from typing import Optional

from ..schemas import Model, field


class AccessToken(Model):
    """An access token for the API, with the refresh token that renews it."""

    access_token: Optional[str] = field(
        "access_token",
        str,
        secret=True,
        description="Bearer credential for the API; lasts one hour.",
    )
    expires_in: Optional[int] = field(
        "expires_in", int, description="Seconds until the access token expires."
    )
    refresh_token: Optional[str] = field(
        "refresh_token",
        str,
        secret=True,
        description="Gets the next access token; works once.",
    )
    token_type: str = field(
        "token_type", str, default="bearer", description="The kind of token: bearer."
    )

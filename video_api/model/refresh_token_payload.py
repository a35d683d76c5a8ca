"""The body of POST /auth/refresh."""

from __future__ import annotations

from ..schemas import Model, field


class RefreshTokenPayload(Model):
    """A refresh token, exchanged for a new access token and a new refresh token."""

    refresh_token: str = field(
        "refreshToken",
        str,
        required=True,
        secret=True,
        description="The latest refresh token; each one works once.",
    )

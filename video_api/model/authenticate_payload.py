"""The body of POST /auth/api-key."""

from __future__ import annotations

from ..schemas import Model, field


class AuthenticatePayload(Model):
    """Your API key, exchanged for an access token."""

    api_key: str = field(
        "apiKey",
        str,
        required=True,
        secret=True,
        description="Your account API key: sandbox or production.",
    )

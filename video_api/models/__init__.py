"""All models in one import: ``from video_api.models import AccessToken``."""

from ..model.access_token import AccessToken
from ..model.authenticate_payload import AuthenticatePayload
from ..model.bad_request import BadRequest
from ..model.refresh_token_payload import RefreshTokenPayload

__all__ = ["AccessToken", "AuthenticatePayload", "BadRequest", "RefreshTokenPayload"]

"""POST /auth/refresh: exchange a refresh token for a new access token."""

from __future__ import annotations

from ...api_client import ApiResponse, Operation
from ...model.access_token import AccessToken
from ...model.bad_request import BadRequest
from ...model.refresh_token_payload import RefreshTokenPayload

SchemaForRequestBodyApplicationJson = RefreshTokenPayload
SchemaFor200ResponseBodyApplicationJson = AccessToken
SchemaFor400ResponseBodyApplicationJson = BadRequest


class ApiResponseFor200(ApiResponse[AccessToken]):
    body_model = AccessToken


class ApiResponseFor400(ApiResponse[BadRequest]):
    body_model = BadRequest


operation: Operation[RefreshTokenPayload, ApiResponseFor200] = Operation(
    name="p_ost_auth_refresh",
    method="POST",
    path="/auth/refresh",
    summary="Refresh token",
    request_model=RefreshTokenPayload,
    responses={200: ApiResponseFor200, 400: ApiResponseFor400},
    # A refresh token works once: a refresh that may have reached the server is not replayed.
    replay_safe=False,
)

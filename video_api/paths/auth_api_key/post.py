"""POST /auth/api-key: exchange an API key for an access token."""

from __future__ import annotations

from ...api_client import ApiResponse, Operation
from ...model.access_token import AccessToken
from ...model.authenticate_payload import AuthenticatePayload
from ...model.bad_request import BadRequest

SchemaForRequestBodyApplicationJson = AuthenticatePayload
SchemaFor200ResponseBodyApplicationJson = AccessToken
SchemaFor400ResponseBodyApplicationJson = BadRequest


class ApiResponseFor200(ApiResponse[AccessToken]):
    body_model = AccessToken


class ApiResponseFor400(ApiResponse[BadRequest]):
    body_model = BadRequest


operation: Operation[AuthenticatePayload, ApiResponseFor200] = Operation(
    name="p_ost_auth_api_key",
    method="POST",
    path="/auth/api-key",
    summary="Authenticate",
    request_model=AuthenticatePayload,
    responses={200: ApiResponseFor200, 400: ApiResponseFor400},
)

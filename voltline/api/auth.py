"""Bearer-token authentication for the REST API."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from voltline.api.deps import node_of
from voltline.api.errors import ApiError
from voltline.services.security.api_tokens import ApiToken

_bearer = HTTPBearer(auto_error=False, description="an API token from `voltline token create`")


async def require_token(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> ApiToken:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", "send an API token as `Authorization: Bearer <token>`")
    token = await node_of(request).services.tokens.verify(credentials.credentials)
    if token is None:
        raise ApiError(401, "unauthorized", "the API token is unknown or revoked")
    return token

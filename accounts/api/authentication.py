from django.http import HttpRequest
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from accounts.services.tokens import token_from_secret


class PipelineTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>``: the request acts as the token's service account.

    No header: not authenticated (401, unless another class accepts the request). A token that is unknown,
    revoked or expired: 401, with the same message for each, so a caller learns nothing about other tokens.
    """

    keyword = "Bearer"

    def authenticate(self, request: HttpRequest) -> tuple[object, object] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the token as 'Authorization: Bearer <token>'.")
        try:
            secret = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("The token is not valid.") from None
        token = token_from_secret(secret)
        if token is None:
            raise exceptions.AuthenticationFailed("The token is not valid, has expired or has been revoked.")
        return token.service_account, token

    def authenticate_header(self, request: HttpRequest) -> str:
        return f'{self.keyword} realm="api"'


class PipelineTokenScheme(OpenApiAuthenticationExtension):
    """The token as the OpenAPI schema describes it (HTTP bearer)."""

    target_class = PipelineTokenAuthentication
    name = "pipelineToken"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A token from manage.py create_pipeline_token."}

"""Session authentication for the API that, like the admin, accepts only a session verified with the second
factor. Pipeline tokens are unaffected (they authenticate by ``PipelineTokenAuthentication``)."""

from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request

from accounts.services.second_factor import session_is_verified


class VerifiedSessionAuthentication(SessionAuthentication):
    def authenticate(self, request: Request) -> tuple[object, None] | None:
        result = super().authenticate(request)
        if result is None or not session_is_verified(request._request):
            return None
        return result

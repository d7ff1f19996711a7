from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.models import PipelineToken
from audit.ledger import record_denial


class HasTokenScope(BasePermission):
    """The request carries a pipeline token that holds the view's ``required_scope``.

    Which use cases the token reaches is checked by the view once it knows the record (``check_use_case``).
    A refused scope is recorded in the ledger like any refused action.
    """

    message = "This token does not have the scope this endpoint needs."

    def has_permission(self, request: Request, view: APIView) -> bool:
        token = request.auth
        if not isinstance(token, PipelineToken):
            return False
        scope = view.required_scope
        if scope in token.scopes:
            return True
        self.message = f"This token does not have the scope {scope}."
        record_denial(actor=request.user, attempted=f"api {scope}", reason=self.message)
        return False

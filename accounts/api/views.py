"""The base of every pipeline endpoint: token, rate limit (``accounts.api.throttling``, checked before the
scope) and scope, the use-case check, the body limit, and ``Idempotency-Key`` on POST.

A POST with an ``Idempotency-Key`` runs in one transaction with its key: a retry with the same key and the same
body gets the first (successful) response again and creates nothing; the same key with another body is refused
(422). A refused or failed call keeps no key, so the pipeline may retry it once it has fixed the cause.
"""

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import transaction
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.authentication import PipelineTokenAuthentication
from accounts.api.exceptions import RequestTooLarge
from accounts.api.permissions import HasTokenScope
from accounts.models import IdempotentRequest, PipelineToken
from audit.ledger import ActionDenied, record_denial

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY = 200


class PipelineAPIView(APIView):
    """Subclasses set ``required_scope`` and implement ``get``; POST endpoints use ``PipelineCreateAPIView``."""

    authentication_classes = [PipelineTokenAuthentication]
    permission_classes = [HasTokenScope]
    required_scope: str = ""
    #: Views that read and parse the body themselves (OpenLineage's gzip) set this; the others have any body
    #: parsed before they run, so a malformed one is a 400 even where the endpoint would not read it.
    reads_raw_body: bool = False

    @property
    def token(self) -> PipelineToken:
        return self.request.auth

    def check_permissions(self, request: Request) -> None:
        # The rate comes first: a token over it gets 429 before anything is done or written, even the ledger
        # entry of a refused scope (which would otherwise let a runaway pipeline fill the ledger).
        self.check_throttles(request)
        super().check_permissions(request)

    def check_throttles(self, request: Request) -> None:
        if getattr(self, "_throttles_checked", False):
            return
        self._throttles_checked = True
        super().check_throttles(request)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if any("\x00" in str(value) for value in kwargs.values()):
            # No identifier holds a NUL character, and PostgreSQL refuses to even compare one.
            raise NotFound("No record has an identifier with a NUL character in it.")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.API_MAX_REQUEST_BYTES:
            raise RequestTooLarge(
                f"The request body has {length} bytes; the limit is {settings.API_MAX_REQUEST_BYTES}. "
                "Send fewer records per request."
            )
        if length and request.method in ("POST", "PUT", "PATCH") and not self.reads_raw_body:
            request.data  # noqa: B018 -- parsed now for its errors; DRF keeps the result for the view

    def raw_body(self) -> bytes:
        """The raw body, for views that read it themselves, up to the API's own limit (413 above it). Not
        ``request.body``: Django caps that at ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2.5 MiB), far below what the rest
        of the API accepts."""
        limit = settings.API_MAX_REQUEST_BYTES
        stream = self.request.stream
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge(f"The request body is larger than {limit} bytes.")
        return raw

    def check_use_case(self, use_case_id: int | None, *, attempted: str, obj: object = None) -> None:
        """403 unless the token reaches the use case (recorded in the ledger as a refused action)."""
        if use_case_id is not None and use_case_id in self.token.use_case_ids:
            return
        reason = "This token is not issued for the use case of this record."
        record_denial(actor=self.request.user, attempted=attempted, obj=obj, reason=reason)
        raise PermissionDenied(reason)


class PipelineCreateAPIView(PipelineAPIView):
    """A POST endpoint: subclasses implement ``create``; ``post`` adds the ``Idempotency-Key`` handling."""

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotImplementedError

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if not key:
            return self.create(request, *args, **kwargs)
        if len(key) > MAX_IDEMPOTENCY_KEY:
            return Response(
                {"detail": f"The {IDEMPOTENCY_HEADER} may have at most {MAX_IDEMPOTENCY_KEY} characters."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
        request_hash = hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()
        with transaction.atomic():
            # A concurrent retry with the same key waits here, on the unique key, until this one commits.
            record, created = IdempotentRequest.objects.get_or_create(
                token=self.token,
                key=key,
                defaults={"request_hash": request_hash, "status_code": 0, "response_body": ""},
            )
            if not created:
                if record.request_hash != request_hash:
                    return Response(
                        {
                            "detail": f"This {IDEMPOTENCY_HEADER} was used for another request; "
                            "use a new key for a new request."
                        },
                        status=status.HTTP_422_UNPROCESSABLE_ENTITY,
                    )
                return Response(
                    json.loads(record.response_body),
                    status=record.status_code,
                    headers={"Idempotent-Replayed": "true"},
                )
            try:
                response = self.create(request, *args, **kwargs)
            except Exception as exc:  # the API's error response, or raised again (and rolled back)
                response = self.handle_exception(exc)
            if status.is_success(response.status_code):
                record.status_code = response.status_code
                record.response_body = JSONRenderer().render(response.data).decode()
                record.save(update_fields=["status_code", "response_body"])
            else:
                record.delete()
        return response


@contextmanager
def all_or_nothing(*, about: object = None) -> Iterator[None]:
    """For an endpoint that calls several services: all of them commit, or none.

    A refusal inside rolls back its own ledger entry with the rest; a refusal is evidence, so it is recorded
    again once the work is undone, naming its record if that still exists, else ``about`` (the record the
    request was about, e.g. the model version whose ticket was refused).
    """
    try:
        with transaction.atomic():
            yield
    except ActionDenied as denial:
        obj = denial.obj
        if obj is not None and not type(obj)._default_manager.filter(pk=obj.pk).exists():
            obj = about
        record_denial(actor=denial.actor, attempted=denial.attempted, obj=obj, reason=denial.reason)
        raise

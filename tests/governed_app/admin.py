from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse

from accounts.admin.signing import signing_view
from audit.admin import GovernedAdmin
from tests.governed_app.models import Memo
from tests.governed_app.services import memo_publish


@admin.register(Memo)
class MemoAdmin(GovernedAdmin):
    """Shaped like a domain admin: a transition is a signing page that calls the service."""

    list_display = ("title", "status")

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:pk>/publish/",
                self.admin_site.admin_view(self.publish_view),
                name="governed_app_memo_publish",
            ),
            *super().get_urls(),
        ]

    def publish_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        memo = get_object_or_404(Memo, pk=pk)
        change_url = reverse("admin:governed_app_memo_change", args=[pk])
        return signing_view(
            request,
            admin_site=self.admin_site,
            record=memo,
            meaning="Published as author",
            title="Publish memo",
            perform=lambda credentials: memo_publish(memo=memo, actor=request.user, **credentials),
            success_url=change_url,
            success_message="Memo published and signed.",
            cancel_url=change_url,
        )

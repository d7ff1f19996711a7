from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portal.views import favicon, healthz

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    # Single sign-on (OpenID Connect): 404 unless configured; local accounts keep the admin login form.
    path("oidc/", include("accounts.oidc_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("accounts.api.urls")),
    path("api/v1/", include("lineage.api.urls")),
    path("api/v1/", include("registry.api.urls")),
    path("api/v1/", include("inference.urls")),
    path("api/v1/", include("evidence.api.urls")),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    # The keys evidence is signed with, for anyone who must check it without trusting the portal.
    path("", include("audit.urls")),
]

handler403 = "portal.views.permission_denied"
handler404 = "portal.views.not_found"

"""Single sign-on URLs (``/oidc/``): 404 unless OIDC is configured. Names as mozilla-django-oidc expects them."""

from django.urls import path

from accounts.oidc import SSOCallbackView, SSOStartView

urlpatterns = [
    path("authenticate/", SSOStartView.as_view(), name="oidc_authentication_init"),
    path("callback/", SSOCallbackView.as_view(), name="oidc_authentication_callback"),
]

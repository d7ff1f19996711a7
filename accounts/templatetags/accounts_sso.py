"""``{% sso_login_url next as url %}``: the "Sign in with SSO" link of the login page, empty when SSO is off."""

from urllib.parse import urlencode

from django import template
from django.urls import reverse

from accounts.oidc import sso_enabled

register = template.Library()


@register.simple_tag
def sso_login_url(next_url: str = "") -> str:
    if not sso_enabled():
        return ""
    url = reverse("oidc_authentication_init")
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url

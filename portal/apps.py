from axes.apps import AppConfig as AxesConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.apps import DefaultConfig as TOTPConfig


class PortalAdminConfig(AdminConfig):
    """Replaces the default admin site with the portal's, which is the product's home page."""

    default_site = "portal.admin.PortalAdminSite"

    def ready(self) -> None:
        super().ready()
        from django.contrib import admin

        from accounts.admin import second_factor

        second_factor.register(admin.site)  # after autodiscovery, replacing django-otp's and axes' admins


class SecondFactorConfig(TOTPConfig):
    """django-otp's TOTP devices, under a name people recognise in the admin."""

    verbose_name = _("Second factor")


class SignInLockoutConfig(AxesConfig):
    """django-axes' access attempts, under a name people recognise in the admin."""

    verbose_name = _("Sign-in lockouts")

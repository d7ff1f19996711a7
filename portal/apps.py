from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    """Replaces the default admin site with the portal's, which is the product's home page."""

    default_site = "portal.admin.PortalAdminSite"

"""Identity and access in the admin: signing in with two factors, the signing and "say why" pages every approval
renders, role-gated action pages and model admins; role grants and the user page; pipeline tokens."""

from django.contrib import admin

from accounts.admin import role_grants
from accounts.admin.delegations import DelegationAdmin
from accounts.admin.tokens import PipelineTokenAdmin

role_grants.register(admin.site)  # the user and group pages without their role, permission and administrator fields

__all__ = ["DelegationAdmin", "PipelineTokenAdmin"]

"""Identity and access in the admin: signing in with two factors, the signing and "say why" pages every approval
renders, role-gated action pages and model admins."""

from django.contrib import admin

from accounts.admin import role_grants

role_grants.register(admin.site)  # the user page without its role, permission and administrator fields

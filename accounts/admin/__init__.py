"""Identity and access in the admin: signing in with two factors, the signing and "say why" pages every approval
renders, role-gated action pages and model admins; pipeline tokens."""

from accounts.admin.tokens import PipelineTokenAdmin

__all__ = ["PipelineTokenAdmin"]

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.choices import Role
from accounts.services.role_grants import role_grant_bootstrap
from audit.ledger import ActionDenied


class Command(BaseCommand):
    help = (
        "Give the first approvers of a new installation their role (Risk Officer or Compliance Reviewer), recorded "
        "in the ledger as provisioned. Refused once someone can approve role grants: from then on every role is "
        "requested by an access administrator and approved by a second person in the admin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True, help="An existing account, not an administrator")
        parser.add_argument("--role", required=True, choices=Role.values, help="The role, e.g. 'Risk Officer'")
        parser.add_argument("--reason", required=True, help="On whose authority, e.g. 'Board decision 2026-12'")

    def handle(self, *args: object, username: str, role: str, reason: str, **options: object) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No account named {username!r}; create it first (not as a superuser).")
        try:
            grant = role_grant_bootstrap(user=user, role=role, reason=reason)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        except ActionDenied as denial:
            raise CommandError(denial.reason) from None
        self.stdout.write(f"{grant} recorded (grant {grant.pk}).")

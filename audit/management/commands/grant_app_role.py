import os

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.database_role import APPEND_ONLY, ORDINARY, RoleRefused, grant_app_role


class Command(BaseCommand):
    help = (
        "Create or update the PostgreSQL role the portal's processes connect as: SELECT and INSERT only on the "
        "ledger, signature, history and other append-only tables, no ownership, no superuser. Run it as the owner "
        "(the role that runs migrate), after every migrate. Fails, granting nothing, if an append-only table has lost "
        "its triggers or the role could still UPDATE, DELETE or TRUNCATE one through PUBLIC or another role."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--role", required=True, help="The application's role, e.g. portal_app.")
        parser.add_argument(
            "--password-env",
            metavar="VARIABLE",
            help="Make it a LOGIN role whose password is in this environment variable (never on the command line).",
        )
        parser.add_argument("--database", default="default", help="Database alias (default: default).")

    def handle(self, *args: object, role: str, password_env: str | None, database: str, **options: object) -> None:
        password = None
        if password_env:
            password = os.environ.get(password_env, "")
            if not password:
                raise CommandError(f"The environment variable {password_env} is empty or not set.")
        try:
            grants = grant_app_role(role=role, password=password, using=database)
        except RoleRefused as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Role {grants.role} {'created' if grants.created else 'updated'}.")
        self.stdout.write(f"{APPEND_ONLY} on {len(grants.append_only)} append-only tables.")
        self.stdout.write(f"{ORDINARY} on {len(grants.ordinary)} other tables.")
        self.stdout.write(f"SELECT on {', '.join(grants.read_only) or 'no'} read-only tables.")
        self.stdout.write(f"Tables created later: {APPEND_ONLY} until this command runs again.")

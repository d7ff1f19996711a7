from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.demo import (
    DEFAULT_DEMO_PASSWORD,
    DEMO_LOGINS,
    demo_authenticator_key,
    seed_demo_authenticators,
    seed_demo_logins,
)
from accounts.services.second_factor import authenticator_of, secret_text


class Command(BaseCommand):
    help = (
        "Create the demo organisation: one login per role, an administrator, and each app's demo data "
        "(use cases, policies, requirements, RACI, thresholds ...). Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            default=DEFAULT_DEMO_PASSWORD,
            help="The password shared by the demo logins created by this run (existing ones keep theirs).",
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help=("Seed even though DEBUG is false. Demo logins with a known password do not belong in production."),
        )

    def handle(self, *args: object, password: str, allow_production: bool, **options: object) -> None:
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "Refusing to create demo logins with a shared password while DEBUG is false. "
                "Use --allow-production for a throw-away staging install."
            )
        if not password.strip():
            raise CommandError("The demo password cannot be empty.")
        created = seed_demo_logins(password=password)
        enrolled = seed_demo_authenticators(created)
        # Each app that has demo data seeds it, in layer order, through its own services.
        for app_config in apps.get_app_configs():
            try:
                module = import_module(f"{app_config.name}.demo_organisation")
            except ModuleNotFoundError as missing:
                if missing.name != f"{app_config.name}.demo_organisation":
                    raise
                continue
            module.seed(password=password)
        self.stdout.write(f"Demo logins: {len(created)} created, {len(DEMO_LOGINS) - len(created)} already present.")
        self.stdout.write(f"Password for new demo logins: {password}")
        for login in DEMO_LOGINS:
            role = login.role.label if login.role else "Administrator (no portal role)"
            self.stdout.write(f"  {login.username:<12} {role}")
        if enrolled:
            self.stdout.write(
                "Second factor: each demo login created by this run has a demo authenticator whose secret is "
                "PUBLISHED (demo only).\n"
                "  The current code of a login:   python manage.py demo_code USERNAME\n"
                "  Or add a login to an authenticator app with its key:"
            )
        else:
            self.stdout.write("Second factor: no demo authenticator was added by this run.")
        for login in DEMO_LOGINS:
            device = authenticator_of(get_user_model().objects.get(username=login.username))
            if device is None:
                self.stdout.write(f"  {login.username:<12} (enrols an authenticator at the first sign-in)")
            elif device.key == demo_authenticator_key(login.username):
                self.stdout.write(f"  {login.username:<12} {secret_text(device)}")
            else:
                self.stdout.write(f"  {login.username:<12} (has an authenticator of its own)")

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.choices import Environment
from registry.lookups import model_version_by_identifier
from registry.models import ModelVersion
from registry.services.promotion import promotion_check


class Command(BaseCommand):
    help = (
        "Whether a model version may go live in an environment now: exit 0 if promotion is allowed, 1 with "
        "every reason if not. For CI/CD pipelines, before they deploy."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model-version", required=True, help="name:number (support-assistant:7) or id")
        parser.add_argument("--environment", required=True, choices=Environment.values)

    def handle(self, *args: object, model_version: str, environment: str, **options: object) -> None:
        try:
            version = model_version_by_identifier(model_version)
        except ModelVersion.DoesNotExist:
            raise CommandError(f"No model version {model_version!r}.", returncode=1) from None
        problems, ticket = promotion_check(version, environment)
        if problems:
            reasons = "\n".join(f"- {problem}" for problem in problems)
            raise CommandError(f"BLOCKED: {version} may not go live in {environment}:\n{reasons}", returncode=1)
        via = f" under {ticket.identifier}" if ticket else ""
        self.stdout.write(self.style.SUCCESS(f"ALLOWED: {version} may go live in {environment}{via}."))

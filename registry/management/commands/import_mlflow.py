from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.text import slugify

from governance.models import UseCase
from registry.mlflow_tracking import TrackingError, read_model_versions
from registry.services.mlflow_import import Outcome, model_version_import_batch


class Command(BaseCommand):
    help = (
        "Import an MLflow registered model's versions, with the runs that produced them (params, metrics, tags, "
        "dataset inputs), into the registry through its services. Idempotent: a version imported before is "
        "reported unchanged. One line per version; exit 1 if any version is refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tracking-uri", required=True, help="the MLflow tracking server, http(s)://host:port")
        parser.add_argument("--model", required=True, help="the registered model's name in MLflow")
        parser.add_argument("--use-case", required=True, help="slug of the use case the versions belong to")
        parser.add_argument(
            "--actor", required=True, help="username the import is recorded as (an ML Engineer or svc- account)"
        )
        parser.add_argument("--name", default="", help="model name in the portal (default: the MLflow name)")
        parser.add_argument("--dry-run", action="store_true", help="check everything, write nothing")

    def handle(
        self,
        *args: object,
        tracking_uri: str,
        model: str,
        use_case: str,
        actor: str,
        name: str,
        dry_run: bool,
        **options: object,
    ) -> None:
        portal_name = name.strip() or model.strip()
        if slugify(portal_name) != portal_name:
            raise CommandError(
                f"{portal_name!r} cannot be a portal model name (lowercase letters, digits and dashes); give --name.",
                returncode=1,
            )
        found_use_case = UseCase.objects.filter(slug=use_case).first()
        if found_use_case is None:
            raise CommandError(f"No use case {use_case!r}.", returncode=1)
        user = get_user_model().objects.filter(username=actor, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {actor!r} to record the import as.", returncode=1)
        try:
            snapshots = read_model_versions(tracking_uri, model)
        except TrackingError as error:
            raise CommandError(str(error), returncode=1) from None
        if not snapshots:
            self.stdout.write(f"{model!r} has no versions in MLflow; nothing to import.")
            return
        results = model_version_import_batch(
            snapshots=snapshots, use_case=found_use_case, name=portal_name, actor=user, dry_run=dry_run
        )
        for result in results:
            line = result.line(dry_run=dry_run)
            style = self.style.ERROR if result.outcome == Outcome.REFUSED else self.style.SUCCESS
            self.stdout.write(style(line))
        refused = sum(result.outcome == Outcome.REFUSED for result in results)
        if refused:
            raise CommandError(f"{refused} of {len(results)} versions refused; nothing of those was imported.")
        if dry_run:
            self.stdout.write("Dry run: nothing was written.")

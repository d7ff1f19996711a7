import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lineage.models import DatasetVersion, SourceSystem
from registry.selectors import Impact, impact_of_source, impact_of_versions


class Command(BaseCommand):
    help = (
        "Everything downstream of a source system or a dataset version: dataset versions, training runs, "
        "model versions and live deployments."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        start = parser.add_mutually_exclusive_group(required=True)
        start.add_argument("--source", help="source system name")
        start.add_argument("--dataset-version", help="slug@number (support-chats@3) or id")
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args: object, source: str | None, dataset_version: str | None, **options: object) -> None:
        if source is not None:
            system = SourceSystem.objects.filter(name=source).first()
            if system is None:
                raise CommandError(f"No source system named {source!r}.", returncode=1)
            impact, start = impact_of_source(system), str(system)
        else:
            try:
                version = DatasetVersion.objects.get_by_identifier(dataset_version)
            except DatasetVersion.DoesNotExist:
                raise CommandError(f"No dataset version {dataset_version!r}.", returncode=1) from None
            impact, start = impact_of_versions([version.pk]), version.identifier
        report = self._report(impact)
        if options["json"]:
            self.stdout.write(json.dumps({"from": start, **report}, indent=2))
            return
        self.stdout.write(f"Impact of {start}")
        for title, rows in report.items():
            self.stdout.write(f"\n{title.replace('_', ' ').capitalize()} ({len(rows)}):")
            for row in rows:
                self.stdout.write(f"  {row}")

    @staticmethod
    def _report(impact: Impact) -> dict[str, list[str]]:
        return {
            "dataset_versions": [f"{v.identifier} [{v.state}]" for v in impact.dataset_versions],
            "training_runs": [f"{run.run_id} ({run.use_case})" for run in impact.training_runs],
            "model_versions": [version.identifier for version in impact.model_versions],
            "live_deployments": [
                f"{d.use_case} / {d.environment}: {d.current_version}"
                + (" [kill switch]" if d.kill_switch_engaged else "")
                for d in impact.live_deployments
            ],
        }

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.services import evidence_pack_render, evidence_pack_request
from governance.models import UseCase
from registry.lookups import model_version_by_identifier
from registry.models import ModelVersion


class Command(BaseCommand):
    help = "Build an evidence pack (PDF/A-3b with its evidence embedded) synchronously and write it to --output."

    def add_arguments(self, parser: CommandParser) -> None:
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("--model-version", help="name:number (e.g. support-assistant:7) or primary key")
        scope.add_argument("--use-case", help="use case slug: a pack over all its model versions")
        parser.add_argument("--output", required=True, help="the PDF file to write")

    def handle(self, *args: object, **options: object) -> None:
        model_version = use_case = None
        if options["model_version"]:
            try:
                model_version = model_version_by_identifier(str(options["model_version"]))
            except ModelVersion.DoesNotExist as error:
                raise CommandError(f"No model version {options['model_version']!r}.") from error
        else:
            use_case = UseCase.objects.filter(slug=options["use_case"]).first()
            if use_case is None:
                raise CommandError(f"No use case {options['use_case']!r}.")
        pack = evidence_pack_request(actor=None, model_version=model_version, use_case=use_case, enqueue=False)
        pack = evidence_pack_render(pack_id=pack.pk)
        with pack.file.open("rb") as handle:
            body = handle.read()
        output = Path(str(options["output"]))
        output.write_bytes(body)
        self.stdout.write(
            self.style.SUCCESS(
                f"Evidence pack #{pack.pk} for {pack.scope_label}: {pack.page_count} pages, "
                f"SHA-256 {pack.sha256}, checkpoint {pack.checkpoint_tree_size} -> {output}"
            )
        )

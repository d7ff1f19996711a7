import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.completeness import model_version_completeness
from registry.lookups import model_version_by_identifier
from registry.models import ModelVersion
from registry.services.provenance import blocking_flags, open_flags, provenance_flags_refresh


class Command(BaseCommand):
    help = (
        "Run the provenance contradiction checks on a model version and list its open flags and the provenance facts "
        "missing from it and everything it was built from; exit 1 when an unresolved high flag or a missing fact "
        "would block its promotion to production."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model-version", required=True, help="name:number (support-assistant:7) or id")
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args: object, model_version: str, **options: object) -> None:
        try:
            version = model_version_by_identifier(model_version)
        except ModelVersion.DoesNotExist:
            raise CommandError(f"No model version {model_version!r}.", returncode=2) from None
        provenance_flags_refresh(model_version=version)
        flags, blocking = open_flags(version), blocking_flags(version)
        completeness = model_version_completeness(version)
        gaps = completeness.missing  # production requires every fact
        if options["json"]:
            document = {
                "model_version": version.identifier,
                "blocks_production": bool(blocking or gaps),
                "open_flags": [
                    {
                        "id": flag.pk,
                        "kind": flag.kind,
                        "severity": flag.severity,
                        "state": flag.state,
                        "about": flag.subject,
                        "summary": flag.summary,
                        "evidence": flag.evidence,
                        "raised_at": flag.raised_at.isoformat(),
                    }
                    for flag in flags
                ],
                "completeness": {
                    "present": completeness.present,
                    "total": completeness.total,
                    "score": completeness.score,
                },
                "gaps": [
                    {
                        "key": fact.key,
                        "label": fact.label,
                        "record": fact.kind.record,
                        "subject": fact.subject,
                        "role": fact.role,
                        "owner": fact.owner,
                        "url": fact.url,
                    }
                    for fact in gaps
                ],
            }
            self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))
        else:
            for flag in flags:
                self.stdout.write(f"{flag.get_severity_display()} [{flag.get_state_display()}] {flag.summary}")
            if not flags:
                self.stdout.write(f"{version}: no open provenance flag.")
            self.stdout.write(f"Provenance completeness of {version}: {completeness.summary()}.")
            for fact in gaps:
                self.stdout.write(f"Missing: {fact.describe()}")
        if blocking or gaps:
            reasons = []
            if blocking:
                reasons.append(f"{len(blocking)} unresolved high provenance flag(s)")
            if gaps:
                reasons.append(f"{len(gaps)} missing provenance fact(s)")
            raise CommandError(f"{version} may not go to production: {' and '.join(reasons)}.", returncode=1)

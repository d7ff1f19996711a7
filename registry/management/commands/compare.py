import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.comparison import Change, Comparison, compare_model_versions, compare_training_runs
from registry.lookups import model_version_by_identifier
from registry.models import ModelVersion, TrainingRun


class Command(BaseCommand):
    help = (
        "Two model versions (or two training runs) side by side: data added, removed and changed, configuration key "
        "by key, hyperparameters, seeds, base model, environment and libraries, gate figures with deltas, model card "
        "changes. The first is the earlier one: 'before', the second 'after'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument(
            "--model-version", action="append", metavar="ID", help="name:number (support-assistant:7) or id; twice"
        )
        which.add_argument("--training-run", action="append", metavar="RUN_ID", help="a run id; twice")
        parser.add_argument("--json", action="store_true", help="print the comparison as one JSON document")

    def handle(self, *args: object, **options: object) -> None:
        if options["model_version"]:
            comparison = compare_model_versions(*self._pair(options["model_version"], self._model_version))
        else:
            comparison = compare_training_runs(*self._pair(options["training_run"], self._training_run))
        if options["json"]:
            self.stdout.write(json.dumps(comparison.as_json(), indent=2, ensure_ascii=False))
        else:
            self.stdout.write("\n".join(_lines(comparison)))

    @staticmethod
    def _pair(values: list[str], find) -> tuple:
        if len(values) != 2:
            raise CommandError(f"Name exactly two to compare ({len(values)} given).")
        return find(values[0]), find(values[1])

    @staticmethod
    def _model_version(value: str) -> ModelVersion:
        try:
            return model_version_by_identifier(value)
        except ModelVersion.DoesNotExist:
            raise CommandError(f"No model version {value!r}.") from None

    @staticmethod
    def _training_run(value: str) -> TrainingRun:
        try:
            return TrainingRun.objects.get(run_id=value)
        except TrainingRun.DoesNotExist:
            raise CommandError(f"No training run {value!r}.") from None


def _section(title: str, changes: tuple[Change, ...]) -> list[str]:
    if not changes:
        return [f"{title}: no change"]
    return [f"{title}:", *(f"  {change.what}: {change.before!r} -> {change.after!r}" for change in changes)]


def _lines(comparison: Comparison) -> list[str]:
    lines = [f"{comparison.before} -> {comparison.after}", "Data:"]
    for item in comparison.data:
        if item.change == "same":
            lines.append(f"  = {item.after}")
        elif item.change == "added":
            lines.append(f"  + {item.after}")
        elif item.change == "removed":
            lines.append(f"  - {item.before}")
        else:
            lines.append(f"  ~ {item.before} -> {item.after}")
            lines.extend(f"      {fact.what}: {fact.before} -> {fact.after}" for fact in item.facts)
    for title in ("configuration", "hyperparameters", "seeds", "base_model", "environment", "libraries"):
        lines.extend(_section(title.replace("_", " ").capitalize(), getattr(comparison, title)))
    if comparison.gate:
        lines.append("Gate (pass rate %, threshold):")
        for figure in comparison.gate:
            lines.append(
                f"  {figure.dimension}: {figure.before} -> {figure.after} ({figure.delta or 'n/a'}), "
                f"threshold {figure.threshold_before} -> {figure.threshold_after}"
            )
    if comparison.gate or comparison.card:
        lines.extend(_section("Model card", comparison.card))
    return lines

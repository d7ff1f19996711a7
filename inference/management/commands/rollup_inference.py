import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.ledger import ActionDenied
from inference.services import inference_monitoring_rollup
from registry.models import Deployment


def _moment(value: str) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


class Command(BaseCommand):
    help = (
        "Record a deployment's monitoring summary for a period, computed from its inference records (volume; "
        "policy-violation, refusal, escalation and human-override rates; escalations awaiting review). A rate above "
        "the deployment's alert threshold raises a "
        "draft incident, as for a posted summary."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--use-case", required=True, help="slug of the deployment's use case")
        parser.add_argument("--environment", required=True, help="dev, test, staging or prod")
        parser.add_argument("--start", required=True, type=_moment, help="period start, ISO 8601 (UTC if no offset)")
        parser.add_argument("--end", required=True, type=_moment, help="period end (excluded), ISO 8601")
        parser.add_argument("--actor", required=True, help="username the summary is recorded as (an ML Engineer)")

    def handle(
        self,
        *args: object,
        use_case: str,
        environment: str,
        start: datetime.datetime,
        end: datetime.datetime,
        actor: str,
        **options: object,
    ) -> None:
        deployment = Deployment.objects.filter(use_case__slug=use_case, environment=environment).first()
        if deployment is None:
            raise CommandError(f"No deployment of {use_case!r} in {environment!r}.", returncode=1)
        user = get_user_model().objects.filter(username=actor, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {actor!r} to record the summary as.", returncode=1)
        try:
            summary = inference_monitoring_rollup(deployment=deployment, actor=user, period_start=start, period_end=end)
        except (ValidationError, ActionDenied) as refused:
            raise CommandError(str(refused), returncode=1) from None
        self.stdout.write(
            f"{summary}: {summary.volume} answer(s) of {summary.model_version}; violations "
            f"{summary.policy_violation_rate}%, refusals {summary.refusal_rate}%, "
            f"escalations {summary.escalation_rate}%, overridden by a reviewer {summary.human_override_rate}%, "
            f"{summary.review_backlog} escalation(s) awaiting review"
        )
        for alert in summary.alerts:
            self.stdout.write(f"alert: {alert} ({summary.incident.identifier}, draft)")

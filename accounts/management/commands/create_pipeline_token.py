from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import PipelineToken, PipelineTokenScope
from accounts.services.tokens import DEFAULT_EXPIRY_DAYS, pipeline_token_create


class Command(BaseCommand):
    help = (
        "Issue an API token for a pipeline's service account (svc-NAME, ML Engineer role only), limited to use "
        "cases and scopes. The token is printed once, on the last line; only its digest is stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--service-account", required=True, help="e.g. training-pipeline (becomes svc-...)")
        parser.add_argument(
            "--use-case", required=True, action="append", dest="use_cases", help="use case slug; repeat for more"
        )
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            choices=PipelineTokenScope.values,
            help="repeat for more; if none is given, every scope but ledger:read (no scope approves anything)",
        )
        parser.add_argument("--expires-in-days", type=int, default=DEFAULT_EXPIRY_DAYS)
        parser.add_argument("--name", default="", help="what the token is for (default: the service account)")

    def handle(
        self,
        *args: object,
        service_account: str,
        use_cases: list[str],
        scopes: list[str] | None,
        expires_in_days: int,
        name: str,
        **options: object,
    ) -> None:
        reachable = PipelineToken.reach_model().objects.filter(slug__in=use_cases)
        found = {use_case.slug: use_case for use_case in reachable}
        missing = sorted(set(use_cases) - set(found))
        if missing:
            raise CommandError(f"No use case {', '.join(missing)}.")
        try:
            issued = pipeline_token_create(
                service_account_name=service_account,
                name=name or service_account,
                use_cases=found.values(),
                scopes=scopes,
                expires_in_days=expires_in_days,
                actor_name="system:create_pipeline_token",
            )
        except ValidationError as error:
            problems = [message for messages in error.message_dict.values() for message in messages]
            raise CommandError(" ".join(problems)) from None
        token = issued.token
        self.stdout.write(
            f"Token {token.prefix} for {token.service_account.get_username()}: use cases "
            f"{', '.join(sorted(found))}; scopes {', '.join(token.scopes)}; expires {token.expires_at:%Y-%m-%d %H:%M} "
            "UTC. It is shown only now; store it in the pipeline's secret store."
        )
        self.stdout.write(issued.secret)

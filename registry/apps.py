from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = _("Model registry")

    def ready(self) -> None:
        from accounts.roles import register_role_permissions
        from registry.roles import ROLE_GRANTS

        register_role_permissions(ROLE_GRANTS)
        self._register_attachment_rules()
        self._register_webhook_events()

        from lineage.openlineage.training import register_training_job_handler
        from registry import provenance_gaps, queues
        from registry.services.openlineage import training_run_record_openlineage

        queues.register()
        provenance_gaps.register()

        from registry.completeness import register_fact_check
        from registry.provenance_languages import LANGUAGE_TESTED, language_facts

        register_fact_check([LANGUAGE_TESTED], language_facts)

        from registry import landing

        landing.register()
        register_training_job_handler(training_run_record_openlineage)

        from lineage.openlineage.signals import run_completed
        from registry.services.provenance import check_after_openlineage_run

        run_completed.connect(check_after_openlineage_run, dispatch_uid="registry.provenance.openlineage")

    def _register_attachment_rules(self) -> None:
        from governance.models import DocumentKind
        from governance.services.documents import AttachmentRule, register_attachment_rule
        from registry.models import Incident

        register_attachment_rule(
            Incident,
            AttachmentRule(
                "governance.attach_incident_document",
                (DocumentKind.INCIDENT_REPORT, DocumentKind.OTHER),
                "ML Engineers, Security Reviewers and Risk Officers",
            ),
        )

    def _register_webhook_events(self) -> None:
        from registry.choices import (
            ChangeTicketState,
            DeploymentEventKind,
            GateOutcome,
            HumanReviewDecision,
            IncidentState,
        )
        from registry.models import ChangeTicket, Deployment, GateDecision, Incident
        from registry.ticketing import ticket_url
        from webhooks.choices import WebhookEvent
        from webhooks.events import Subject, register_webhook_subject

        register_webhook_subject(
            GateDecision,
            Subject(
                "model_version__use_case",
                ("outcome", "human_decision"),
                on_create={("outcome", GateOutcome.FAIL): WebhookEvent.GATE_FAILED},
                # A borderline gate a risk officer turned down fails too.
                on_change={("human_decision", HumanReviewDecision.REJECTED): WebhookEvent.GATE_FAILED},
            ),
        )
        register_webhook_subject(
            ChangeTicket,
            Subject(
                "model_version__use_case",
                ("environment", "external_reference"),
                on_transition={ChangeTicketState.APPROVED: WebhookEvent.PROMOTION_APPROVED},
                # The ticketing tool's automation finds its own ticket by this link and closes its side.
                computed={"external_url": lambda row: ticket_url(row.get("external_reference") or "")},
            ),
        )
        register_webhook_subject(
            Deployment,
            Subject(
                "use_case",
                ("environment",),
                on_recorded={
                    ("deployment_event", DeploymentEventKind.DEPLOY): WebhookEvent.DEPLOYMENT,
                    ("deployment_event", DeploymentEventKind.ROLLBACK): WebhookEvent.ROLLBACK,
                },
            ),
        )
        register_webhook_subject(
            Incident,
            Subject(
                "use_case",
                ("severity", "title", "source"),
                # A draft raised by monitoring and then confirmed, or an incident opened directly.
                on_transition={IncidentState.OPEN: WebhookEvent.INCIDENT_OPENED},
                on_create={("state", IncidentState.OPEN): WebhookEvent.INCIDENT_OPENED},
            ),
        )

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvidenceConfig(AppConfig):
    name = "evidence"
    verbose_name = _("Evidence")

    def ready(self) -> None:
        from accounts.roles import register_role_permissions
        from evidence import checks  # noqa: F401 (registers the signing check)
        from evidence.roles import ROLE_GRANTS

        register_role_permissions(ROLE_GRANTS)

        from evidence import landing

        landing.register()

        from evidence import answer_queue

        answer_queue.register()

        from registry.admin.training import register_model_version_link

        register_model_version_link(
            _("Evidence packs"), "admin:evidence_evidencepack_model_version", "evidence.view_evidencepack"
        )

        from governance.admin.usecases import register_use_case_link

        register_use_case_link(
            _("OSCAL results"),
            "admin:evidence_evidencepack_oscal_assessment_results",
            _("Observations and findings, for the GRC platform (recorded as an export)"),
        )

"""The portal's roles as data: what each one is for, and which model permissions its group holds.

Groups and their permissions are created by migrations (``grant_role_permissions``), not by the demo data,
so a production install has them too. Each issue that adds models extends ``ROLE_PERMISSIONS`` and adds a
migration that calls ``grant_role_permissions`` again. Granting is additive: an administrator's extra grants
are never taken away by an upgrade.

Model permissions only say what a role may *see or edit in general*. Who may approve which record is decided
by the services (state, segregation of duties, object-level assignment), never by these permissions alone.
"""

from collections.abc import Mapping

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.utils.translation import gettext_lazy as _

from governance.choices import Role

#: What each role does in the portal, shown on its landing page.
ROLE_DUTIES: Mapping[Role, str] = {
    Role.ML_ENGINEER: _("Register training runs and model versions, and request promotion."),
    Role.DATA_STEWARD: _("Register source systems, datasets, versions and their lineage."),
    Role.LEGAL_REVIEWER: _("Review dataset versions at the Legal stage: legal basis, consent, retention."),
    Role.SECURITY_REVIEWER: _("Review dataset versions at the Security stage: sensitivity, access, PII handling."),
    Role.COMPLIANCE_REVIEWER: _("Review dataset versions at the Compliance stage and co-sign requirements."),
    Role.RISK_OFFICER: _("Own RACI matrices, evaluation thresholds and retraining cadences; approve promotions."),
    Role.PRODUCT_OWNER: _("Own use cases and sign off their requirements."),
    Role.CHANGE_ADVISORY_BOARD: _("Sign off change tickets that promote a model version to production."),
    Role.AUDITOR: _("Read everything, verify the audit ledger and download evidence packs."),
}

_VIEW = ("view",)

#: The trust core: the ledger and everything beside it. Audit models only ever have the view permission.
_AUDIT_TRAIL = {
    "governance.ledgerentry": _VIEW,
    "governance.signature": _VIEW,
    "governance.ledgercheckpoint": _VIEW,
    "governance.ledgerverification": _VIEW,
    "governance.breakglassoverride": _VIEW,
}

_EDIT = ("view", "add", "change")

#: What everyone working on a use case reads.
_GOVERNANCE_READ = {
    "governance.usecase": _VIEW,
    "governance.policy": _VIEW,
    "governance.control": _VIEW,
    "governance.controlframework": _VIEW,
    "governance.requirementsdocument": _VIEW,
    "governance.behaviorconstraint": _VIEW,
    "governance.racimatrix": _VIEW,
    "governance.raciassignment": _VIEW,
    "governance.thresholdpolicy": _VIEW,
    "governance.thresholdrule": _VIEW,
    "governance.retrainingcadence": _VIEW,
}

#: Drafting requirements (product owners and ML engineers write them; others sign them).
_REQUIREMENTS_DRAFTING = {
    "governance.requirementsdocument": _EDIT,
    "governance.behaviorconstraint": ("view", "add", "change", "delete"),
}

#: Dataset lineage as everyone involved reads it (reviewers, risk, auditors).
_LINEAGE_READ = {
    "lineage.sourcesystem": _VIEW,
    "lineage.dataset": _VIEW,
    "lineage.datasetversion": _VIEW,
    "lineage.lineagerecord": _VIEW,
    "lineage.lineagesource": _VIEW,
    "lineage.transformationstep": _VIEW,
    "lineage.lineageedge": _VIEW,
    "lineage.lineagetemplate": _VIEW,
    "lineage.erasurerequest": _VIEW,
}

#: Registering data and its lineage (data stewards and ML engineers).
_LINEAGE_AUTHORING = {
    "lineage.datasetversion": _EDIT,
    "lineage.lineagerecord": _EDIT,
    "lineage.lineagesource": ("view", "add", "change", "delete"),
    "lineage.transformationstep": ("view", "add", "change", "delete"),
    "lineage.lineageedge": ("view", "add", "delete"),
}

#: The model registry as everyone involved reads it.
_REGISTRY_READ = {
    f"registry.{model}": _VIEW
    for model in (
        "basemodel",
        "trainingrun",
        "trainingrundataset",
        "modelversion",
        "validationsuite",
        "validationcase",
        "validationrun",
        "validationresult",
        "gatedecision",
        "changeticket",
        "deployment",
        "deploymentevent",
        "incident",
        "monitoringsummary",
        "modelcard",
    )
}

#: Registering runs, versions, validation and promotion requests (ML engineers, mostly from pipelines).
_REGISTRY_AUTHORING = {
    **_REGISTRY_READ,
    "registry.basemodel": _EDIT,
    "registry.trainingrun": _EDIT,
    "registry.modelversion": _EDIT,
    "registry.validationsuite": _EDIT,
    "registry.validationcase": _EDIT,
    "registry.validationrun": ("view", "add"),
    "registry.gatedecision": ("view", "add"),
    "registry.changeticket": _EDIT,
    "registry.modelcard": ("view", "add"),
    "registry.monitoringsummary": ("view", "add"),
    "registry.incident": _EDIT,
    "registry.deployment": ("view", "deploy_dev"),
}

#: Signing promotion tickets (each signer for the RACI functions they hold).
_TICKET_SIGNING = {"registry.changeticket": ("view", "approve")}

#: Evidence packs: who may see them and download their PDFs (a read; every download is recorded in the ledger).
_EVIDENCE_DOWNLOAD = {"evidence.evidencepack": ("view", "view_pdf")}

#: Webhooks send governance data out of the portal: Security Reviewers manage the subscriptions and may send a
#: delivery again; Auditors read the subscriptions and the delivery log.
_WEBHOOKS_MANAGE = {
    "webhooks.webhooksubscription": _EDIT,
    "webhooks.webhookdelivery": ("view", "redeliver"),
}
_WEBHOOKS_READ = {"webhooks.webhooksubscription": _VIEW, "webhooks.webhookdelivery": _VIEW}

#: Uploaded documents: everyone sees which exist; a role attaches to the records it owns and downloads those
#: (``governance.services.documents``); oversight roles download every document. Each download is recorded.
_DOCUMENTS_LISTED = {"governance.document": _VIEW}
_DOCUMENTS_DOWNLOAD = {"governance.document": ("view", "view_file")}

#: role -> {"app_label.model": actions}; an action is a permission codename prefix (view, add, change, ...).
#: ``approve`` permissions are approval authority: services check them through role groups only.
ROLE_PERMISSIONS: Mapping[Role, Mapping[str, tuple[str, ...]]] = {
    Role.ML_ENGINEER: {
        **_GOVERNANCE_READ,
        **_REQUIREMENTS_DRAFTING,
        **_LINEAGE_READ,
        **_LINEAGE_AUTHORING,
        **_REGISTRY_AUTHORING,
        "governance.document": ("view", "attach_incident"),
    },
    Role.DATA_STEWARD: {
        **_GOVERNANCE_READ,
        **_LINEAGE_READ,
        **_LINEAGE_AUTHORING,
        "lineage.sourcesystem": _EDIT,
        "lineage.dataset": _EDIT,
        "lineage.datasetversion": ("view", "add", "change", "assign_reviewers", "revoke"),
        "lineage.erasurerequest": _EDIT,
        "lineage.lineagetemplate": _EDIT,
        **_REGISTRY_READ,
        "governance.document": ("view", "attach_dataset"),
    },
    Role.LEGAL_REVIEWER: {
        **_GOVERNANCE_READ,
        **_LINEAGE_READ,
        **_REGISTRY_READ,
        "governance.document": ("view", "attach_dataset"),
    },
    Role.SECURITY_REVIEWER: {
        **_GOVERNANCE_READ,
        **_LINEAGE_READ,
        **_REGISTRY_READ,
        **_TICKET_SIGNING,
        "registry.deployment": ("view", "kill_switch"),
        **_WEBHOOKS_MANAGE,
        "registry.incident": _EDIT,
        "governance.document": ("view", "attach_dataset", "attach_incident"),
    },
    Role.COMPLIANCE_REVIEWER: {
        "auth.group": _VIEW,
        **_GOVERNANCE_READ,
        **_LINEAGE_READ,
        **_AUDIT_TRAIL,
        "governance.accessevent": _VIEW,
        "governance.policy": _EDIT,
        "governance.racimatrix": ("view", "approve"),
        "governance.thresholdpolicy": ("view", "approve"),
        "lineage.datasetversion": ("view", "revoke"),
        "lineage.erasurerequest": _EDIT,
        **_REGISTRY_READ,
        **_EVIDENCE_DOWNLOAD,
        "governance.document": ("view", "view_file", "attach_usecase"),
    },
    # Risk officers own RACI, thresholds and cadences, and are the second person a break-glass override needs.
    Role.RISK_OFFICER: {
        "auth.group": _VIEW,
        **_GOVERNANCE_READ,
        **_LINEAGE_READ,
        **_AUDIT_TRAIL,
        "governance.racimatrix": ("view", "add", "approve"),
        "governance.thresholdpolicy": ("view", "add", "approve"),
        "governance.retrainingcadence": _EDIT,
        "governance.breakglassoverride": ("view", "approve"),
        **_REGISTRY_READ,
        **_TICKET_SIGNING,
        "registry.modelversion": ("view", "gate_review"),
        "registry.deployment": ("view", "change", "rollback", "kill_switch"),
        "registry.incident": ("view", "add", "change", "close"),
        **_EVIDENCE_DOWNLOAD,
        "governance.document": ("view", "view_file", "attach_incident"),
    },
    Role.PRODUCT_OWNER: {
        **_GOVERNANCE_READ,
        **_REQUIREMENTS_DRAFTING,
        "governance.usecase": _EDIT,
        **_LINEAGE_READ,
        **_REGISTRY_READ,
        **_TICKET_SIGNING,
        "registry.modelcard": ("view", "add"),
        "governance.document": ("view", "attach_usecase"),
    },
    Role.CHANGE_ADVISORY_BOARD: {
        **_GOVERNANCE_READ,
        **_LINEAGE_READ,
        **_REGISTRY_READ,
        **_TICKET_SIGNING,
        **_DOCUMENTS_LISTED,
    },
    # Auditors read everything: who holds which role, what was done, who signed, who looked at the evidence.
    Role.AUDITOR: {
        "auth.user": _VIEW,
        "auth.group": _VIEW,
        "auth.permission": _VIEW,
        "admin.logentry": _VIEW,
        **_GOVERNANCE_READ,
        **_LINEAGE_READ,
        **_AUDIT_TRAIL,
        "governance.accessevent": _VIEW,
        **_REGISTRY_READ,
        **_WEBHOOKS_READ,
        **_EVIDENCE_DOWNLOAD,
        **_DOCUMENTS_DOWNLOAD,
    },
}


def permission_keys(role: Role) -> set[tuple[str, str, str]]:
    """The (app_label, model, codename) triples a role is granted."""
    return {
        (label.split(".")[0], label.split(".")[1], f"{action}_{label.split('.')[1]}")
        for label, actions in ROLE_PERMISSIONS.get(role, {}).items()
        for action in actions
    }


def grant_role_permissions(apps: Apps, schema_editor: object = None) -> None:
    """Create the role groups and add their permissions; safe to run any number of times.

    Runs inside migrations with the historical app registry. Permissions are normally created only after
    all migrations (``post_migrate``), so they are created here first for the models migrated so far;
    permissions of models that a later migration adds are granted by that migration's own call.
    """
    for app_config in apps.get_app_configs():
        # Historical app configs carry no models module, which makes create_permissions skip them.
        original_models_module = getattr(app_config, "models_module", None)
        app_config.models_module = original_models_module or True
        try:
            create_permissions(app_config, apps=apps, verbosity=0)
        finally:
            app_config.models_module = original_models_module

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role in Role:
        group, _created = group_model.objects.get_or_create(name=role.value)
        wanted = permission_keys(role)
        if not wanted:
            continue
        candidates = permission_model.objects.filter(
            codename__in={codename for _app, _model, codename in wanted}
        ).select_related("content_type")
        group.permissions.add(
            *(
                permission
                for permission in candidates
                if (permission.content_type.app_label, permission.content_type.model, permission.codename) in wanted
            )
        )

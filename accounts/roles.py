"""The portal's roles as data: what each one is for, and which model permissions its group holds.

Each app declares what the roles may do with *its own* models, in its ``AppConfig.ready``
(``register_role_permissions(ROLE_GRANTS)``, with model classes), so this base never names a model of a later
app. Groups and their permissions are synchronised after every ``migrate`` (a ``post_migrate`` handler,
``grant_role_permissions``), not by the demo data, so a production install has them too and a new model's
permissions are granted by the migrate that creates it. Granting is additive: an administrator's extra grants are
never taken away by an upgrade.

Model permissions only say what a role may *see or edit in general*. Who may approve which record is decided
by the services (state, segregation of duties, object-level assignment), never by these permissions alone.
"""

from collections.abc import Iterable, Mapping

from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role

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

#: Who owns each role: a holder of the owner role attests the role's members at each access review. Nobody owns
#: their own role (a Risk Officer's membership is attested by a Compliance reviewer and the other way round).
ROLE_OWNERS: Mapping[Role, Role] = {
    Role.ML_ENGINEER: Role.RISK_OFFICER,
    Role.DATA_STEWARD: Role.COMPLIANCE_REVIEWER,
    Role.LEGAL_REVIEWER: Role.COMPLIANCE_REVIEWER,
    Role.SECURITY_REVIEWER: Role.COMPLIANCE_REVIEWER,
    Role.COMPLIANCE_REVIEWER: Role.RISK_OFFICER,
    Role.RISK_OFFICER: Role.COMPLIANCE_REVIEWER,
    Role.PRODUCT_OWNER: Role.RISK_OFFICER,
    Role.CHANGE_ADVISORY_BOARD: Role.RISK_OFFICER,
    Role.AUDITOR: Role.COMPLIANCE_REVIEWER,
}

#: Actions are permission codename prefixes: ``view``, ``add``, ``change``, ``delete`` or a model's own.
Actions = tuple[str, ...]
VIEW: Actions = ("view",)
EDIT: Actions = ("view", "add", "change")

_registered: dict[Role, dict[str, Actions]] = {role: {} for role in Role}


def register_role_permissions(grants: Mapping[Role, Mapping[type[models.Model], Iterable[str]]]) -> None:
    """Declare what each role may do with some models; each app calls this for its own models in ``ready``.

    Registering the same model for a role again adds the actions (registrations are idempotent)."""
    for role, model_actions in grants.items():
        for model, actions in model_actions.items():
            label = model._meta.label_lower
            known = _registered[role].get(label, ())
            _registered[role][label] = (*known, *(action for action in actions if action not in known))


def role_permissions() -> Mapping[Role, Mapping[str, Actions]]:
    """role -> {"app_label.model": actions}, as every installed app registered it."""
    return _registered


def permission_keys(role: Role) -> set[tuple[str, str, str]]:
    """The (app_label, model, codename) triples a role is granted."""
    return {
        (label.split(".")[0], label.split(".")[1], f"{action}_{label.split('.')[1]}")
        for label, actions in role_permissions().get(role, {}).items()
        for action in actions
    }


def roles_granting(permission: str) -> list[str]:
    """The roles whose group is granted ``permission`` ("app_label.codename"), in the order of ``Role``: the roles in
    which an approval needing it is signed (a delegation in one of them lets the delegate sign it)."""
    app_label, codename = permission.split(".", 1)
    return [
        role.value
        for role in Role
        if any(app == app_label and name == codename for app, _model, name in permission_keys(role))
    ]


def grant_role_permissions(apps: Apps = global_apps, **kwargs: object) -> None:
    """Create the role groups and add their permissions; safe to run any number of times.

    Connected to ``post_migrate`` (see ``AccountsConfig.ready``): after ``migrate`` with the registry of the
    migrated state, after ``flush`` (which sends no registry) with the installed apps.
    Django creates an app's permissions in its own ``post_migrate`` handler, app by app; they are created here
    first for every app, so the grants do not depend on the order in which the apps' handlers run.
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

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.authz import require
from audit.audit_context import acting_as
from audit.ledger import denials_recorded
from governance.models import UseCase

EDITABLE_FIELDS = (
    "name",
    "business_objective",
    "owner",
    "regulated_domain",
    "jurisdictions",
    "eu_ai_act_risk_tier",
    "internal_risk_tier",
    "status",
)


def clean_jurisdictions(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise ValidationError({"jurisdictions": "Give jurisdictions as a list of codes, e.g. EU, UK, US-NY."})
    codes = [str(code).strip().upper() for code in value if str(code).strip()]
    bad = [code for code in codes if len(code) > 10 or not code.replace("-", "").isalnum()]
    if bad:
        raise ValidationError({"jurisdictions": f"Not a jurisdiction code: {', '.join(bad)}."})
    return sorted(set(codes))


def use_case_create(*, actor: AbstractBaseUser, slug: str, **fields: Any) -> UseCase:
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        require(actor, "governance.add_usecase", attempted="use_case_create")
        use_case = UseCase(slug=slug, **fields)
        use_case.jurisdictions = clean_jurisdictions(use_case.jurisdictions)
        use_case.full_clean()
        use_case.save()
        return use_case


def use_case_update(*, use_case: UseCase, actor: AbstractBaseUser, **changes: Any) -> UseCase:
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = UseCase.objects.select_for_update().get(pk=use_case.pk)
        require(actor, "governance.change_usecase", attempted="use_case_update", obj=locked)
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.jurisdictions = clean_jurisdictions(locked.jurisdictions)
        locked.full_clean()
        locked.save()
        return locked

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from accounts.authz import require
from audit.audit_context import acting_as
from audit.ledger import denials_recorded
from governance.choices import RetrainingTrigger
from governance.models import Control, Policy, UseCase
from governance.services.retraining import retraining_trigger_event


def policy_save(
    *, actor: AbstractBaseUser, controls: Iterable[Control], policy: Policy | None = None, **fields: Any
) -> Policy:
    """Create a policy or change one (compliance owns the policy register). A change raises the policy-change
    retraining trigger of every use case whose requirements hold a constraint under the policy."""
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        if policy is None:
            require(actor, "governance.add_policy", attempted="policy_create")
            policy = Policy(**fields)
        else:
            policy = Policy.objects.select_for_update().get(pk=policy.pk)
            require(actor, "governance.change_policy", attempted="policy_update", obj=policy)
            for name, value in fields.items():
                setattr(policy, name, value)
        changed = policy.pk is not None
        policy.full_clean()
        policy.save()
        policy.controls.set(list(controls))
        if changed:
            for use_case in (
                UseCase.objects.filter(requirements__constraints__policies=policy).distinct().order_by("pk")
            ):
                retraining_trigger_event(
                    use_case=use_case, trigger=RetrainingTrigger.POLICY_CHANGE, detail=f"{policy.code} changed"
                )
        return policy

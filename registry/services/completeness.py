"""The organisation's required provenance facts per environment, under change control, and what they block.

Which facts must be recorded before a version goes to test or staging is the organisation's call (a use case may set
its own): a Risk Officer proposes a revision naming keys of the fact catalogue, a second one approves it with an
electronic signature (``governance.services.revisions``), every step in the ledger. Production requires every fact
of the catalogue whatever a revision says: an auditor asks about all of them.
"""

from collections.abc import Iterable, Mapping

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.authz import require
from audit.audit_context import acting_as
from audit.ledger import ActionDenied, denials_recorded
from governance.choices import RevisionState
from governance.models import UseCase
from governance.services.revisions import next_revision_number, record_revision_content
from registry.choices import Environment
from registry.completeness import fact_keys, model_version_completeness
from registry.models import ModelVersion, ProvenanceRequirement

#: The environments a revision sets; production always requires every fact and development none.
CONFIGURABLE_ENVIRONMENTS = (Environment.TEST, Environment.STAGING)
PROPOSE = "registry.add_provenancerequirement"


def clean_required_facts(required_facts: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """Environment -> sorted fact keys; a ``ValidationError`` naming every unknown environment or key."""
    errors: dict[str, str] = {}
    known = fact_keys()
    cleaned: dict[str, list[str]] = {}
    for environment, keys in required_facts.items():
        if environment not in CONFIGURABLE_ENVIRONMENTS:
            errors[str(environment)] = (
                f"{environment!r} is not set here: production requires every fact, development none; "
                f"name {' or '.join(CONFIGURABLE_ENVIRONMENTS)}."
            )
            continue
        keys = list(keys)
        unknown = sorted({key for key in keys if key not in known})
        if unknown:
            errors[environment] = f"Unknown fact keys: {', '.join(map(repr, unknown))}."
            continue
        cleaned[environment] = sorted(set(keys))
    if errors:
        raise ValidationError(errors)
    return cleaned


def provenance_requirement_propose(
    *,
    use_case: UseCase | None,
    actor: AbstractBaseUser,
    required_facts: Mapping[str, Iterable[str]],
    rationale: str,
) -> ProvenanceRequirement:
    """A new pending revision of the required facts for ``use_case`` (None: the organisation's)."""
    cleaned = clean_required_facts(required_facts)
    if not rationale.strip():
        raise ValidationError({"rationale": "Say why the required facts change."})
    attempted = "provenance_requirement_propose"
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        if use_case is not None:
            use_case = UseCase.objects.select_for_update().get(pk=use_case.pk)
        require(actor, PROPOSE, attempted=attempted, obj=use_case)
        pending = ProvenanceRequirement.objects.select_for_update().filter(
            use_case=use_case, state=RevisionState.PENDING
        )
        if pending.exists():
            raise ActionDenied(
                f"Revision {pending.first().revision} is already pending approval; decide on it first.",
                actor=actor,
                attempted=attempted,
                obj=use_case,
            )
        requirement = ProvenanceRequirement.objects.create(
            use_case=use_case,
            revision=next_revision_number(ProvenanceRequirement, use_case=use_case),
            proposed_by=actor,
            rationale=rationale.strip(),
            required_facts=cleaned,
        )
        record_revision_content(requirement)
        return requirement


def effective_requirement(use_case: UseCase | None) -> ProvenanceRequirement | None:
    """The use case's effective revision, or else the organisation's (one query when the use case has its own)."""
    effective = ProvenanceRequirement.objects.filter(state=RevisionState.EFFECTIVE)
    if use_case is not None:
        own = effective.filter(use_case=use_case).first()
        if own is not None:
            return own
    return effective.filter(use_case__isnull=True).first()


def required_fact_keys(use_case: UseCase | None, environment: str) -> frozenset[str]:
    """The fact keys a version must have to go to ``environment``: all in production, none in development, the
    revision in effect's elsewhere (none while no revision is in effect)."""
    if environment == Environment.PROD:
        return fact_keys()
    if environment not in CONFIGURABLE_ENVIRONMENTS:
        return frozenset()
    requirement = effective_requirement(use_case)
    return frozenset(requirement.required_facts.get(environment, ())) if requirement else frozenset()


def completeness_problems(model_version: ModelVersion, environment: str) -> list[str]:
    """A reason for every required fact missing from the version or anything it was built from, each named."""
    required = required_fact_keys(model_version.use_case, environment)
    if not required:
        return []
    missing = model_version_completeness(model_version).missing_of(required)
    label = Environment(environment).label
    return [f"Provenance fact missing for {label}: {fact.describe()}." for fact in missing]

"""Validation suites, their cases, and recorded validation runs.

A suite version is frozen by the first run recorded against it, so that every gate decision refers to a fixed
set of cases; a changed suite is a new version. Results are written once with their run, in bulk, and the
run's ledger entry carries a SHA-256 over all of them (results are too many to be ledger entries each).
"""

import datetime
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.authz import require
from audit import ledger
from audit.audit_context import acting_as
from audit.canonical import canonical_bytes
from audit.choices import LedgerAction
from audit.ledger import ActionDenied, denials_recorded
from governance.models import BehaviorConstraint, UseCase
from registry.choices import ResultOutcome, ValidationCategory
from registry.models import ModelVersion, ValidationCase, ValidationResult, ValidationRun, ValidationSuite

MAX_RESULTS_PER_RUN = 200_000
MAX_EXCERPT_CHARS = 2000


def validation_suite_create(
    *, actor: AbstractBaseUser, use_case: UseCase, slug: str, title: str, description: str = ""
) -> ValidationSuite:
    """Version 1 of a new suite."""
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        require(actor, "registry.add_validationsuite", attempted="validation_suite_create", obj=use_case)
        if ValidationSuite.objects.filter(slug=slug).exists():
            raise ValidationError({"slug": f"Suite {slug} exists; make a new version of it instead."})
        suite = ValidationSuite(
            use_case=use_case, slug=slug, version=1, title=title.strip(), description=description, created_by=actor
        )
        suite.full_clean()
        suite.save()
        return suite


def _unfrozen(suite: ValidationSuite, actor: AbstractBaseUser, attempted: str) -> ValidationSuite:
    locked = ValidationSuite.objects.select_for_update().get(pk=suite.pk)
    require(actor, "registry.change_validationsuite", attempted=attempted, obj=locked)
    if locked.frozen_at is not None:
        raise ActionDenied(
            f"{locked} has been used by a validation run and is frozen; make a new version of the suite.",
            actor=actor,
            attempted=attempted,
            obj=locked,
        )
    return locked


def validation_case_add(
    *,
    suite: ValidationSuite,
    actor: AbstractBaseUser,
    key: str,
    dimension: str,
    category: str,
    prompt: str,
    expected_behaviour: str,
    expected_detail: str = "",
    constraints: Iterable[BehaviorConstraint] = (),
    language: str = "",
) -> ValidationCase:
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = _unfrozen(suite, actor, "validation_case_add")
        if ValidationCase.objects.filter(suite=locked, key=key).exists():
            raise ValidationError({"key": f"{locked} already has a case {key}."})
        case = ValidationCase(
            suite=locked,
            key=key.strip(),
            dimension=dimension,
            category=category,
            prompt=prompt.strip(),
            expected_behaviour=expected_behaviour,
            expected_detail=expected_detail.strip(),
            language=language.strip(),
        )
        case.full_clean()
        case.save()
        constraints = list(constraints)
        if constraints:
            case.constraints.set(constraints)
        return case


def validation_suite_new_version(*, suite: ValidationSuite, actor: AbstractBaseUser) -> ValidationSuite:
    """The next version of the suite, starting with a copy of this version's cases."""
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        require(actor, "registry.add_validationsuite", attempted="validation_suite_new_version", obj=suite)
        latest = ValidationSuite.objects.select_for_update().filter(slug=suite.slug).order_by("-version").first()
        successor = ValidationSuite(
            use_case=latest.use_case,
            slug=latest.slug,
            version=latest.version + 1,
            title=latest.title,
            description=latest.description,
            created_by=actor,
        )
        successor.save()
        for case in suite.cases.prefetch_related("constraints"):
            copy = ValidationCase(
                suite=successor,
                key=case.key,
                dimension=case.dimension,
                category=case.category,
                prompt=case.prompt,
                expected_behaviour=case.expected_behaviour,
                expected_detail=case.expected_detail,
                language=case.language,
            )
            copy.save()
            copy.constraints.set(case.constraints.all())
        return successor


@dataclass(frozen=True)
class ResultInput:
    """One result as a pipeline reports it: the case by its key."""

    case: str
    outcome: str
    attempt: int = 1
    score: str | Decimal | None = None
    output_excerpt: str = ""
    human_reviewer: str = ""  # username; required for human-review cases
    note: str = ""


def _clean_results(suite: ValidationSuite, results: list[ResultInput]) -> list[ValidationResult]:
    """Every problem at once, each naming the result it is about; nothing is written if any."""
    if not results:
        raise ValidationError({"results": "A validation run needs results."})
    if len(results) > MAX_RESULTS_PER_RUN:
        raise ValidationError({"results": f"{len(results)} results; a run may record at most {MAX_RESULTS_PER_RUN}."})
    cases = {case.key: case for case in ValidationCase.objects.filter(suite=suite)}
    reviewer_names = {result.human_reviewer for result in results if result.human_reviewer}
    reviewers = {user.get_username(): user for user in get_user_model().objects.filter(username__in=reviewer_names)}
    errors: list[str] = []
    seen: set[tuple[str, int]] = set()
    rows = []
    for index, result in enumerate(results, start=1):
        where = f"Result {index} ({result.case})"
        case = cases.get(result.case)
        if case is None:
            errors.append(f"{where}: {suite} has no case {result.case!r}.")
            continue
        if (result.case, result.attempt) in seen:
            errors.append(f"{where}: attempt {result.attempt} is reported twice.")
        seen.add((result.case, result.attempt))
        if result.outcome not in ResultOutcome.values:
            errors.append(f"{where}: the outcome must be pass or fail, not {result.outcome!r}.")
        if not isinstance(result.attempt, int) or result.attempt < 1:
            errors.append(f"{where}: the attempt must be a positive whole number.")
        score = None
        if result.score not in (None, ""):
            try:
                score = Decimal(str(result.score))
            except InvalidOperation:
                errors.append(f"{where}: the score {result.score!r} is not a number.")
            else:
                if not score.is_finite() or abs(score) >= 1000:
                    errors.append(f"{where}: the score must be a finite number below 1000.")
        if len(result.output_excerpt) > MAX_EXCERPT_CHARS:
            errors.append(f"{where}: the output excerpt exceeds {MAX_EXCERPT_CHARS} characters; keep an excerpt.")
        reviewer = None
        if case.category == ValidationCategory.HUMAN_REVIEW:
            reviewer = reviewers.get(result.human_reviewer)
            if reviewer is None:
                errors.append(f"{where}: a human-review case needs the username of its human reviewer.")
        elif result.human_reviewer:
            reviewer = reviewers.get(result.human_reviewer)
        if len(result.note) > 500:
            errors.append(f"{where}: the note exceeds 500 characters.")
        rows.append(
            ValidationResult(
                case=case,
                attempt=result.attempt,
                outcome=result.outcome,
                score=score,
                output_excerpt=result.output_excerpt,
                human_reviewer=reviewer,
                note=result.note,
            )
        )
        if len(errors) >= 50:
            errors.append("... and possibly more; fix these first.")
            break
    if errors:
        raise ValidationError({"results": errors})
    return rows


def results_digest(rows: Iterable[ValidationResult]) -> str:
    """SHA-256 over the canonical JSON of every result, in case-key and attempt order."""
    document = sorted(
        (
            [
                row.case.key,
                row.attempt,
                row.outcome,
                None if row.score is None else str(row.score),
                row.output_excerpt,
                row.human_reviewer.get_username() if row.human_reviewer else "",
                row.note,
            ]
            for row in rows
        ),
        key=lambda item: (item[0], item[1]),
    )
    return hashlib.sha256(canonical_bytes(document)).hexdigest()


def validation_run_record(
    *,
    model_version: ModelVersion,
    suite: ValidationSuite,
    actor: AbstractBaseUser,
    results: list[ResultInput],
    started_at: datetime.datetime,
    finished_at: datetime.datetime | None = None,
    executed_by: str = "",
) -> ValidationRun:
    """Record a validation run with all its results; the suite version is frozen from now on."""
    finished_at = finished_at or timezone.now()
    if finished_at < started_at:
        raise ValidationError({"finished_at": "A run cannot finish before it started."})
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        require(actor, "registry.add_validationrun", attempted="validation_run_record", obj=model_version)
        locked_suite = ValidationSuite.objects.select_for_update().get(pk=suite.pk)
        if locked_suite.use_case_id != model_version.use_case_id:
            raise ValidationError({"suite": f"{locked_suite} belongs to another use case than {model_version}."})
        rows = _clean_results(locked_suite, results)
        digest = results_digest(rows)
        run = ValidationRun(
            model_version=model_version,
            suite=locked_suite,
            executed_by=(executed_by or actor.get_username())[:200],
            started_at=started_at,
            finished_at=finished_at,
            result_count=len(rows),
            results_digest=digest,
        )
        run.save()
        for row in rows:
            row.run = run
        ValidationResult.objects.bulk_create(rows, batch_size=2000)
        if locked_suite.frozen_at is None:
            locked_suite.frozen_at = timezone.now()
            locked_suite.save()
        ledger.append(
            action=LedgerAction.UPDATE,
            obj=run,
            payload={"results": {"count": len(rows), "sha256": digest}},
        )
        return run

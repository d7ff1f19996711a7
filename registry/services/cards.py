"""Model cards: generated sections from the records, written sections from their owners, each revision kept."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max

from accounts.authz import require
from audit.audit_context import acting_as
from audit.canonical import to_jsonable
from audit.ledger import denials_recorded
from registry.models import Deployment, ModelCard, ModelVersion
from registry.selectors import latest_gate_decision
from registry.tasks import check_model_version_provenance


def generated_sections(model_version: ModelVersion) -> dict[str, Any]:
    """What the records say about the model version, as of now."""
    run = model_version.training_run
    data = []
    for link in run.dataset_links.select_related("dataset_version__dataset", "dataset_version__lineage"):
        version = link.dataset_version
        record = getattr(version, "lineage", None)
        sources = list(record.sources.select_related("source_system")) if record else []
        data.append(
            {
                "dataset_version": version.identifier,
                "state": version.state,
                "content_digest": link.content_digest,
                "rows": version.row_count,
                "sensitivity": record.sensitivity if record else None,
                "data_categories": sorted(record.data_categories) if record else [],
                "legal_bases": sorted({f"{s.source_system}: {s.get_legal_basis_display()}" for s in sources}),
            }
        )
    gate = latest_gate_decision(model_version)
    evaluation = None
    if gate is not None:
        evaluation = {
            "outcome": gate.outcome,
            "human_review": gate.human_decision or None,
            "suite": str(gate.suite),
            "threshold_revision": gate.threshold_policy.revision,
            "dimensions": {
                figures["label"]: {"pass_rate": figures["pass_rate"], "outcome": figures["outcome"]}
                for figures in gate.figures.values()
            },
        }
    return to_jsonable(
        {
            "model_details": {
                "identifier": model_version.identifier,
                "use_case": str(model_version.use_case),
                "base_model": str(run.base_model),
                "training_run": run.run_id,
                "code": f"{run.code_repository}@{run.code_commit}",
                "config_hash": run.config_hash,
                "weights_digest": model_version.weights_digest,
            },
            "training_data": data,
            "evaluation": evaluation,
            "deployments": sorted(
                Deployment.objects.filter(current_version=model_version).values_list("environment", flat=True)
            ),
        }
    )


def _changes(previous: ModelCard | None, generated: dict[str, Any], written: dict[str, str]) -> dict[str, Any]:
    """Section -> {before, after} for every section that differs from the previous card."""
    if previous is None:
        return {}
    before = {**previous.generated, **{name: getattr(previous, name) for name in ModelCard.WRITTEN_SECTIONS}}
    after = {**generated, **written}
    return {
        key: {"before": before.get(key), "after": after.get(key)} for key in after if before.get(key) != after.get(key)
    }


def model_card_revise(
    *, model_version: ModelVersion, actor: AbstractBaseUser, what_changed: str | None = None, **written: str
) -> ModelCard:
    """A new revision of the card: generated sections from the records now, written sections as given
    (sections not given are carried over from the latest revision). The changes are computed against the
    latest revision, or for a first card against the previous model version's latest card. ``what_changed``
    (the owners' account of what changed since the previous version; carried over when not given) is checked
    against the recorded differences once the revision is committed (``registry.services.provenance``)."""
    unknown = set(written) - set(ModelCard.WRITTEN_SECTIONS)
    if unknown:
        raise TypeError(f"Unknown model card sections: {', '.join(sorted(unknown))}")
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = ModelVersion.objects.select_for_update().get(pk=model_version.pk)
        require(actor, "registry.add_modelcard", attempted="model_card_revise", obj=locked)
        latest = locked.cards.order_by("-revision").first()
        previous = latest or (
            ModelCard.objects.filter(model_version__name=locked.name, model_version__number__lt=locked.number)
            .order_by("-model_version__number", "-revision")
            .first()
        )
        sections = {
            name: (written[name] if name in written else getattr(latest, name, "")).strip()
            for name in ModelCard.WRITTEN_SECTIONS
        }
        generated = generated_sections(locked)
        if what_changed is None:
            what_changed = latest.what_changed if latest else ""
        card = ModelCard(
            model_version=locked,
            what_changed=what_changed.strip(),
            revision=(locked.cards.aggregate(Max("revision"))["revision__max"] or 0) + 1,
            generated=generated,
            changes=_changes(previous, generated, sections),
            created_by=actor,
            **sections,
        )
        card.full_clean()
        card.save()
        transaction.on_commit(lambda: check_model_version_provenance.delay(locked.pk), robust=True)
        return card

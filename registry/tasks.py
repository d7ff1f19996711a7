"""Scheduled registry work (see ``CELERY_BEAT_SCHEDULE``): idempotent."""

from celery import shared_task


@shared_task(name="registry.check_provenance")
def check_provenance() -> int:
    """Run the provenance contradiction checks on every model version, and on every dataset version a pipeline
    reported through OpenLineage; how many flags were newly raised."""
    from lineage.models import DatasetVersion
    from registry.models import ModelVersion
    from registry.services.provenance import dataset_version_flags_refresh, provenance_flags_refresh

    raised = sum(
        len(provenance_flags_refresh(model_version=version)) for version in ModelVersion.objects.order_by("pk")
    )
    reported = DatasetVersion.objects.filter(openlineage_runs__isnull=False).distinct().order_by("pk")
    return raised + sum(len(dataset_version_flags_refresh(dataset_version=version)) for version in reported)


@shared_task(name="registry.check_model_version_provenance")
def check_model_version_provenance(model_version_id: int) -> int:
    """The checks on one version, after something it is judged by changed (a gate decision, a monitoring summary,
    a model card revision); flags newly raised."""
    from registry.models import ModelVersion
    from registry.services.provenance import provenance_flags_refresh

    version = ModelVersion.objects.filter(pk=model_version_id).first()
    return len(provenance_flags_refresh(model_version=version)) if version is not None else 0


@shared_task(name="registry.check_dataset_version_provenance")
def check_dataset_version_provenance(dataset_version_id: int) -> int:
    """The checks on one dataset version, after a pipeline run that produced it completed; flags newly raised."""
    from lineage.models import DatasetVersion
    from registry.services.provenance import dataset_version_flags_refresh

    version = DatasetVersion.objects.filter(pk=dataset_version_id).first()
    return len(dataset_version_flags_refresh(dataset_version=version)) if version is not None else 0

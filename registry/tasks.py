"""Scheduled registry work (see ``CELERY_BEAT_SCHEDULE``): idempotent."""

from celery import shared_task


@shared_task(name="registry.check_provenance")
def check_provenance() -> int:
    """Run the provenance contradiction checks on every model version; how many flags were newly raised."""
    from registry.models import ModelVersion
    from registry.services.provenance import provenance_flags_refresh

    return sum(len(provenance_flags_refresh(model_version=version)) for version in ModelVersion.objects.order_by("pk"))


@shared_task(name="registry.check_model_version_provenance")
def check_model_version_provenance(model_version_id: int) -> int:
    """The checks on one version, after something it is judged by changed (a gate decision); flags newly raised."""
    from registry.models import ModelVersion
    from registry.services.provenance import provenance_flags_refresh

    version = ModelVersion.objects.filter(pk=model_version_id).first()
    return len(provenance_flags_refresh(model_version=version)) if version is not None else 0

"""Finding a model version by the identifier people and pipelines use (``support-assistant:7``) or by primary
key, with the related rows commands print. The form itself is read by ``ModelVersion.objects``."""

from registry.models import ModelVersion


def model_version_by_identifier(value: str) -> ModelVersion:
    """``name:number`` or a primary key; ``ModelVersion.DoesNotExist`` if there is none."""
    return ModelVersion.objects.select_related("use_case", "training_run").get_by_identifier(value)

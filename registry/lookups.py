"""Finding records by the identifiers people and pipelines use (``support-assistant:7``, ``support-chats@3``)
as well as by primary key."""

from lineage.models import DatasetVersion
from registry.models import ModelVersion


def model_version_by_identifier(value: str) -> ModelVersion:
    """``name:number`` or a primary key; ``ModelVersion.DoesNotExist`` if there is none."""
    value = value.strip()
    name, _sep, number = value.rpartition(":")
    if name and number.isdigit():
        return ModelVersion.objects.select_related("use_case", "training_run").get(name=name, number=int(number))
    if value.isdigit():
        return ModelVersion.objects.select_related("use_case", "training_run").get(pk=int(value))
    raise ModelVersion.DoesNotExist(f"{value!r} is neither name:number nor an id.")


def dataset_version_by_identifier(value: str) -> DatasetVersion:
    """``slug@number`` or a primary key; ``DatasetVersion.DoesNotExist`` if there is none."""
    value = value.strip()
    slug, _sep, number = value.rpartition("@")
    if slug and number.isdigit():
        return DatasetVersion.objects.select_related("dataset").get(dataset__slug=slug, number=int(number))
    if value.isdigit():
        return DatasetVersion.objects.select_related("dataset").get(pk=int(value))
    raise DatasetVersion.DoesNotExist(f"{value!r} is neither slug@number nor an id.")

"""Queries per page for the reviewer's landing queue and the dataset-version list, with 10 and with 100
versions waiting: the figures must not grow with the number of rows."""

from collections.abc import Iterator

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.choices import Role, RoleGrantBasis
from accounts.roles import grant_role_permissions
from accounts.services.role_grants import role_grant_record
from audit.audit_context import acting_as
from governance.catalogue import load_controls
from lineage.choices import LegalBasis
from lineage.services import (
    dataset_create,
    dataset_version_create,
    dataset_version_submit,
    lineage_source_add,
    source_system_create,
)

PASSWORD = "bench-password-not-secret"  # noqa: S105


def _user(username: str, role: Role, superuser: bool = False):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD, is_staff=True)
    with acting_as(actor_name="system:bench"):
        role_grant_record(user=user, role=role, basis=RoleGrantBasis.PROVISIONED, reason="Benchmark persona.")
    user.is_superuser = superuser  # after the grant, which an administrator cannot receive
    user.save()
    return user


def verify_second_factor(client: Client, user: object) -> None:
    """What the second-factor step stores in the session (the admin refuses a session without it)."""
    device = TOTPDevice.objects.create(user=user, name="Bench authenticator", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def _queries(client: Client, url: str) -> int:
    connection.queries_log.clear()  # the log is bounded; setting up the data may have filled it
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    return len(captured.captured_queries)


def run() -> Iterator[tuple[str, float, str]]:
    from django.apps import apps

    grant_role_permissions(apps)
    load_controls()
    steward, engineer = _user("bench-steward", Role.DATA_STEWARD), _user("bench-engineer", Role.ML_ENGINEER)
    legal = _user("bench-legal", Role.LEGAL_REVIEWER)
    source = source_system_create(
        actor=steward, name="Bench CRM", kind="CRM", owner=steward, default_retention_days=365
    )
    dataset = dataset_create(actor=steward, slug="bench-chats", name="Bench chats", steward=steward)
    client = Client()
    client.force_login(legal)
    verify_second_factor(client, legal)
    made = 0
    for total in (10, 100):
        while made < total:
            version = dataset_version_create(
                dataset=dataset,
                actor=engineer,
                content_digest=f"{made:064x}",
                row_count=1,
                size_bytes=1,
                storage_uri="s3://bench/data.parquet",
                retention_days=30,
            )
            lineage_source_add(version=version, actor=engineer, source_system=source, legal_basis=LegalBasis.CONTRACT)
            dataset_version_submit(version=version, actor=engineer)
            made += 1
        yield f"reviewer_queue_queries_{total}_versions", _queries(client, reverse("admin:index")), "queries"
        yield (
            f"version_list_queries_{total}_versions",
            _queries(client, reverse("admin:lineage_datasetversion_changelist")),
            "queries",
        )

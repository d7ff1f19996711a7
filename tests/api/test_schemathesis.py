"""The API against its own OpenAPI schema: requests generated from ``/api/schema/``, valid ones and malformed
ones, never get a server error, whatever they hold, and every answer is one the schema documents: its status
code, its content type and its body's shape.

Every request the schema calls malformed is refused (``negative_data_rejection``): a value of another JSON type
than its field's, a missing field, a text outside its pattern. And every request it calls valid is accepted
(``positive_data_acceptance``), or refused for what no schema can say: a record it names does not exist (404 in
the path, 422 in the body: ``accounts.api.exceptions``), or the record's state does not allow it (409). The
schema says what the API can store (``accounts.api.schema.document_storable_input``), so no valid request holds
a NUL character, an integer beyond 2**53 or blank text.

The portal runs as a real server on loopback; the schema is read from it with a pipeline token holding every
scope, and every request sends that token, so the generated requests reach the endpoints' code rather than stop
at authentication. Generation is derandomised, with a fixed number of examples per operation and mode; runs are
alike but not identical (schemathesis's strategies differ a little from one process to the next), so a failure
may show in one run only: its curl command reproduces it. Every operation is tried and every failure reported
together.

(One test walks the operations itself with ``APIOperation.as_strategy``: schemathesis's lazy pytest schema,
which would load the schema from a fixture, does not work with pytest 9.)
"""

from collections.abc import Callable

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from hypothesis import HealthCheck
from rest_framework.exceptions import ValidationError
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import PipelineTokenScope
from audit.models import LedgerEntry
from registry.api.serializers import parse_results
from registry.models import Incident
from tests.api.conftest import Pipeline

EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
]
#: Schemathesis's default answers to valid data, and 422: a valid request naming a record that does not exist.
ACCEPTING = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
#: ``allow-x00`` off: the schema forbids NUL in free-form values through a recursive component, which the
#: generator follows one level deep and then fills with any value. The NUL refusals are tested on their own below.
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20261122,
        "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none", "allow-x00": False},
        "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTING}},
    }
)


def exercise(operation: object, mode: GenerationMode, *, base_url: str, auth: dict[str, str]) -> None:
    """``EXAMPLES`` requests to one operation; raises the (shrunk) first failure of any of ``CHECKS``."""

    @hypothesis.given(case=operation.as_strategy(generation_mode=mode, headers=auth))
    @hypothesis.settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    def requests_to(case: object) -> None:
        case.call_and_validate(base_url=base_url, headers=auth, checks=CHECKS, timeout=60)

    requests_to()


@pytest.mark.django_db(transaction=True)
def test_generated_requests_get_no_server_error_and_only_documented_answers(
    live_server, world, issue: Callable[..., Pipeline], settings
):
    settings.API_TOKEN_RATE = "1000000/min"  # rates are tested on their own; here they would end the run early
    auth = {"Authorization": f"Bearer {issue(scopes=PipelineTokenScope.values).secret}"}
    schema = schemathesis.openapi.from_url(
        f"{live_server.url}/api/schema/?format=json", config=CONFIG, headers=auth, timeout=60
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11, [operation.label for operation in operations]

    failures = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                exercise(operation, mode, base_url=live_server.url, auth=auth)
            except hypothesis.errors.Unsatisfiable:
                # Only free-text path parameters: every string is a well-formed identifier, so there is no
                # malformed request to make (the positive run of the same operation has made its requests).
                if mode is not GenerationMode.NEGATIVE:
                    raise
            except BaseException as failure:  # every operation is tried; all failures are reported together
                if isinstance(failure, KeyboardInterrupt):
                    raise
                failures.append(f"{operation.label} ({mode.value}):\n{failure}")

    assert not failures, "\n\n".join(failures)


# --- What the generated requests found, kept as plain tests -------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/gates/support-assistant%00:1/dev"),
        ("post", "/api/v1/dataset-versions/support-chats%00@1/submit"),
        ("post", "/api/v1/training-runs/run%00-1/complete"),
    ],
)
def test_an_identifier_with_a_nul_character_is_not_found(world, issue, method, url):
    pipeline = issue()
    entries = LedgerEntry.objects.count()

    response = getattr(pipeline, method)(url)

    assert response.status_code == 404
    assert "NUL" in response.json()["detail"]
    assert LedgerEntry.objects.count() == entries


def raw_post(pipeline: Pipeline, url: str, body: str) -> object:
    return pipeline.client.post(url, body, content_type="application/json", **pipeline.headers())


INCIDENT = '{"use_case": "support-assistant", "title": %s, "description": "d", "severity": "sev3"}'


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("title", "message"),
    [
        ('"spike \\u0000 at night"', "NUL character"),
        ("9007199254740992", "beyond +-9007199254740991"),
        ("-9007199254740992", "beyond +-9007199254740991"),
        ("1e400", "too large to be stored"),
        ("NaN", "JSON parse error"),
    ],
)
def test_a_body_holding_what_cannot_be_stored_is_refused_before_anything_runs(world, issue, title, message):
    pipeline = issue()
    entries, incidents = LedgerEntry.objects.count(), Incident.objects.count()

    response = raw_post(pipeline, "/api/v1/incidents", INCIDENT % title)

    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert (LedgerEntry.objects.count(), Incident.objects.count()) == (entries, incidents)


@pytest.mark.django_db
def test_the_text_backslash_u0000_is_not_a_nul_character(world, issue):
    response = raw_post(issue(), "/api/v1/incidents", INCIDENT % '"path C:\\\\u0000 escaped"')

    assert response.status_code == 201
    assert Incident.objects.get().title == "path C:\\u0000 escaped"


@pytest.mark.django_db
def test_counts_beyond_what_the_ledger_can_hash_are_field_errors(world, issue):
    pipeline = issue()
    deployed = pipeline.post(
        "/api/v1/monitoring-summaries",
        {
            "use_case": "support-assistant",
            "environment": "dev",
            "period_start": "2026-11-01T00:00:00Z",
            "period_end": "2026-11-02T00:00:00Z",
            "volume": "9007199254740993",
            "policy_violation_rate": "0",
            "refusal_rate": "0",
            "escalation_rate": "0",
            "human_override_rate": "0",
        },
    )
    assert deployed.status_code == 400
    assert "volume" in deployed.json()["errors"]

    version = pipeline.post(
        "/api/v1/dataset-versions",
        {
            "dataset": "support-chats",
            "content_digest": "sha256:" + "a" * 64,
            "row_count": "9007199254740993",
            "size_bytes": 1,
            "storage_uri": "s3://x",
        },
    )
    assert version.status_code == 400
    assert "row_count" in version.json()["errors"]


def test_an_attempt_number_beyond_the_results_table_is_a_field_error():
    with pytest.raises(ValidationError) as refused:
        parse_results([{"case": "pii-1", "outcome": "pass", "attempt": 2**31}])

    assert refused.value.detail["results"] == ["Result 1: attempt is above 2147483647."]

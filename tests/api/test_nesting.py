"""JSON nested deeper than any record needs is a 400 with a JSON error on every endpoint, not a server error.

``[`` a hundred thousand times exhausts Python's recursion inside the JSON parser; a few dozen levels more than
``MAX_JSON_DEPTH`` parse but would exhaust it later, in the serializers or the ledger's canonical form."""

import json
import urllib.error
import urllib.request

import pytest

from accounts.api.parsers import MAX_JSON_DEPTH
from tests.api.test_permission_matrix import ENDPOINTS

POSTS = [url for method, url, _scope in ENDPOINTS if method == "post"] + ["/api/v1/lineage"]
HOSTILE = b"[" * 100_000


def nested(levels: int) -> bytes:
    return json.dumps({"config": [1]}).encode().join([b"[" * (levels - 2), b"]" * (levels - 2)])


def post_raw(pipeline, url: str, body: bytes):
    return pipeline.client.post(url, body, content_type="application/json", **pipeline.headers())


@pytest.mark.django_db
def test_hostile_nesting_is_a_json_400_on_every_endpoint(demo_organisation, pipeline):
    wrong = []
    for url in POSTS:
        response = post_raw(pipeline, url, HOSTILE)
        if response.status_code != 400 or "nested" not in response.content.decode():
            wrong.append(f"{url}: {response.status_code} {response.content[:200]!r}")
        elif response["Content-Type"] != "application/json":
            wrong.append(f"{url}: answered {response['Content-Type']}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.django_db
def test_the_depth_limit_is_exact(demo_organisation, pipeline):
    assert json.loads(nested(MAX_JSON_DEPTH))  # the helper builds what it says
    deepest_allowed = post_raw(pipeline, "/api/v1/incidents", nested(MAX_JSON_DEPTH))
    too_deep = post_raw(pipeline, "/api/v1/incidents", nested(MAX_JSON_DEPTH + 1))

    assert deepest_allowed.status_code == 400
    assert "nested deeper" not in deepest_allowed.content.decode()  # refused later, for what it holds
    assert too_deep.status_code == 400
    assert too_deep.json()["detail"].startswith(f"The JSON is nested deeper than {MAX_JSON_DEPTH} levels")


@pytest.mark.django_db(transaction=True)
def test_hostile_nesting_through_the_real_server(live_server, demo_organisation, pipeline):
    request = urllib.request.Request(  # noqa: S310
        f"{live_server.url}/api/v1/training-runs",
        data=HOSTILE,
        method="POST",
        headers={"Authorization": f"Bearer {pipeline.secret}", "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:  # the test server, on loopback
        urllib.request.urlopen(request, timeout=60)  # noqa: S310

    assert refused.value.code == 400
    assert "nested" in json.loads(refused.value.read())["detail"]

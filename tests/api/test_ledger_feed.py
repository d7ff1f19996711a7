"""``GET /api/v1/ledger``: the whole ledger in order, page by page, as a SIEM pulls it, checkable as it arrives."""

import hashlib
import json

import pytest
import rfc8785

from accounts.models import PipelineTokenScope
from audit import ledger
from audit.models import LedgerEntry

pytestmark = pytest.mark.django_db

URL = "/api/v1/ledger"


@pytest.fixture
def reader(world, issue):
    return issue(scopes=[PipelineTokenScope.LEDGER_READ])


def _append(count: int) -> None:
    for number in range(count):
        ledger.append(action="create", object_type="tests.feed", object_id=str(number), actor_name="system:test")


def _pages(reader, *, limit: int, after: int = 0) -> list[dict]:
    pages = []
    while True:
        response = reader.get(f"{URL}?after={after}&limit={limit}")
        assert response.status_code == 200, response.content
        page = json.loads(response.content)
        pages.append(page)
        after = page["next_after"]
        if not page["has_more"]:
            return pages


def test_pages_hold_every_entry_once_in_order_and_their_chain_checks(reader) -> None:
    _append(12)
    total = LedgerEntry.objects.count()

    pages = _pages(reader, limit=5)
    entries = [entry for page in pages for entry in page["entries"]]

    assert [entry["sequence"] for entry in entries] == list(range(1, total + 1))
    assert len(pages) == -(-total // 5)
    previous = bytes(32)
    for entry in entries:
        assert entry["prev_hash"] == previous.hex()
        # The entry as sent is the entry as hashed: re-canonicalised, it hashes to its entry_hash.
        assert hashlib.sha256(previous + rfc8785.dumps(entry["entry"])).hexdigest() == entry["entry_hash"]
        assert entry["entry"]["sequence"] == entry["sequence"]
        previous = bytes.fromhex(entry["entry_hash"])


def test_a_client_resuming_from_its_cursor_gets_only_what_came_after(reader) -> None:
    _append(3)
    first = _pages(reader, limit=1000)
    cursor = first[-1]["next_after"]
    _append(2)

    later = _pages(reader, limit=1000, after=cursor)

    sequences = [entry["sequence"] for page in later for entry in page["entries"]]
    assert sequences == list(range(cursor + 1, LedgerEntry.objects.count() + 1))
    assert [
        e["entry"]["object_id"] for page in later for e in page["entries"] if e["entry"]["object_type"] == "tests.feed"
    ] == ["0", "1"]


def test_an_empty_page_keeps_the_cursor(reader) -> None:
    tail = LedgerEntry.objects.count()
    page = json.loads(reader.get(f"{URL}?after={tail}").content)
    assert page == {"entries": [], "next_after": tail, "has_more": False}


def test_a_page_is_one_query_however_many_entries(reader, django_assert_num_queries) -> None:
    _append(30)
    reader.get(URL)  # the token's first use writes its own bookkeeping
    with django_assert_num_queries(3) as small:
        reader.get(f"{URL}?limit=2")
    with django_assert_num_queries(len(small.captured_queries)):
        reader.get(f"{URL}?limit=1000")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("after=-1", "after"),
        ("after=abc", "after"),
        ("after=", "after"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=", "limit"),
    ],
)
def test_a_bad_cursor_or_limit_is_a_400_naming_it(reader, query: str, field: str) -> None:
    response = reader.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert field in json.loads(response.content)["errors"]


def test_another_scope_is_refused_and_the_refusal_recorded(world, issue) -> None:
    pipeline = issue(scopes=[PipelineTokenScope.GATES_READ])
    before = LedgerEntry.objects.filter(action="denied").count()

    response = pipeline.get(URL)

    assert response.status_code == 403
    assert LedgerEntry.objects.filter(action="denied").count() == before + 1


def test_every_scope_by_default_does_not_include_reading_the_whole_ledger(world, issue) -> None:
    pipeline = issue()
    assert PipelineTokenScope.LEDGER_READ not in pipeline.token.scopes
    assert pipeline.get(URL).status_code == 403


def test_without_a_token_it_is_401(client) -> None:
    assert client.get(URL).status_code == 401

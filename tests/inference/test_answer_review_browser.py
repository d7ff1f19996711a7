"""A reviewer's journey in a real browser: from the landing page's queue of escalated answers, open one, override it
with a reason, and read the decision on the answer's trace page."""

import pytest

from inference.models import AnswerReview
from tests.api.conftest import issue  # noqa: F401 - fixture
from tests.conftest import sign_in
from tests.inference.conftest import intake, spans  # noqa: F401 - fixtures
from tests.inference.reviewing import answers_in_prod

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = "It promised a refund the policy does not allow; an agent corrected it."


def test_a_reviewer_overrides_an_escalated_answer_from_the_landing_page_and_sees_it_on_its_trace(
    live_server,
    world,
    intake,  # noqa: F811
    spans,  # noqa: F811
    page,
) -> None:
    oldest, _passed, _newer = answers_in_prod(world, intake, spans, ["escalated", "pass", "escalated"])
    sign_in(page, live_server.url, "mleng")

    heading = page.locator("h4", has_text="Escalated answers waiting for review")
    queue = heading.locator("xpath=following-sibling::ul[1]")
    assert queue.locator("a").count() == 2
    queue.locator("a").first.click()

    page.wait_for_selector("#review-answer")
    assert oldest.response_id in page.locator("#review-answer").inner_text()
    assert "pci_redaction, disclaimer" in page.locator("#review-checks").inner_text()
    page.get_by_label("Overridden by the reviewer").check()
    page.get_by_role("button", name="Record the decision").click()
    # No reason: the form says what is missing, and nothing is recorded.
    page.wait_for_selector(".errorlist")
    assert not AnswerReview.objects.exists()
    page.get_by_label("Overridden by the reviewer").check()
    page.fill("#id_reason", REASON)
    page.get_by_role("button", name="Record the decision").click()

    page.wait_for_selector("#trace-answer-review")
    decided = page.locator("#trace-answer-review").inner_text()
    assert f"Overridden by the reviewer by {world['mleng'].get_full_name()}" in decided
    assert REASON in decided
    assert AnswerReview.objects.get().record_id == oldest.pk

"""An auditor's journey in a real browser: from the landing page, paste the answer a complaint quotes, read the trace
of what held when it was given, and take the output provenance statement away."""

import pytest
from pypdf import PdfReader

from audit.models import AccessEvent
from tests.api.conftest import issue  # noqa: F401 - fixture
from tests.conftest import sign_in
from tests.inference.conftest import intake, spans  # noqa: F401 - fixtures
from tests.inference.tracing import COMPLAINT_ANSWER, answered_through_a_reviewed_gate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_auditor_pastes_an_answer_and_downloads_its_provenance_statement(
    live_server,
    world,
    intake,  # noqa: F811
    spans,  # noqa: F811
    page,
) -> None:
    answered = answered_through_a_reviewed_gate(world, intake, spans)
    base = live_server.url
    sign_in(page, base, "auditor")

    search = page.locator("form.trace-search")
    search.locator("textarea").fill(COMPLAINT_ANSWER.replace(" was approved", "\n\nwas approved"))
    search.get_by_role("button", name="Trace").click()

    page.wait_for_selector("#trace-version")
    assert answered.model_version.identifier in page.locator("#trace-version").inner_text()
    assert answered.ticket.identifier in page.locator("#trace-version").inner_text()
    assert "Rafael Iskander" in page.locator("#trace-gate").inner_text()
    with page.expect_download() as download:
        page.click("#statement-link")
    pdf = PdfReader(download.value.path())

    shown = "\n".join(p.extract_text() for p in pdf.pages)
    assert answered.model_version.identifier in shown
    assert answered.ticket.identifier in shown
    assert str(answered.gate.threshold_policy) in shown
    assert "record.json" in pdf.attachments
    event = AccessEvent.objects.get(object_type="inference.inferencerecord")
    assert (event.user.username, event.kind, event.object_id) == ("auditor", "download", str(answered.record.pk))

"""The reviewer's and auditor's day in a real browser: a note kept with a signature, overdue work marked on the
landing page, notification settings from the user menu, a delegate signing on behalf of an away reviewer, and a
discussion thread on the review page."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from freezegun import freeze_time

from accounts.choices import NotificationKind, Role
from accounts.demo import DEFAULT_DEMO_PASSWORD
from accounts.models import Comment, NotificationOptOut
from audit.signatures import signatures_for
from governance.worklist import desks_for
from lineage.choices import DatasetVersionState
from lineage.models import DatasetVersion
from tests.conftest import give_role, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: Libraries whose clocks stay real while the portal's is moved forward (the browser driver's own timeouts).
REAL_CLOCKS = ["playwright", "asyncio", "greenlet", "threading", "selectors"]


def legal_review(demo_lineage) -> DatasetVersion:
    version = DatasetVersion.objects.get(dataset__slug="support-chats", number=2)
    assert version.state == DatasetVersionState.LEGAL_REVIEW
    return version


def sign_with_note(page, username: str, note: str, *, first_signing: bool = True) -> None:
    page.get_by_role("link", name="Approve (sign)").click()
    if first_signing:
        page.fill("#id_username", username)
    page.fill("#id_password", DEFAULT_DEMO_PASSWORD)
    page.fill("#id_note", note)
    page.click("input[name=_sign]")
    page.wait_for_selector(".messagelist")


def test_a_reviewer_signs_with_a_note_that_the_auditor_reads_beside_the_signature(
    live_server, demo_lineage, page
) -> None:
    version = legal_review(demo_lineage)
    sign_in(page, live_server.url, "legal")
    page.locator(".portal-desks").get_by_role("link", name=str(version), exact=False).click()

    sign_with_note(page, "legal", "Consent scope confirmed with the DPO <ticket 42>.")

    [(signature, _valid)] = signatures_for(version)
    assert signature.note == "Consent scope confirmed with the DPO <ticket 42>."
    page.context.clear_cookies()
    sign_in(page, live_server.url, "auditor")
    page.goto(f"{live_server.url}/admin/lineage/datasetversion/{version.pk}/audit-trail/")
    row = page.inner_text("#signatures")
    assert "Approved as Legal reviewer" in row
    assert "Note: Consent scope confirmed with the DPO <ticket 42>." in row  # escaped, so shown as typed


def test_an_overdue_review_is_marked_red_and_listed_first(live_server, demo_lineage, page) -> None:
    version = legal_review(demo_lineage)
    legal = get_user_model().objects.get(username="legal")
    [waiting] = [i for d in desks_for(legal) for _q, items in d.queues for i in items if str(version) in i.label]

    with freeze_time(waiting.due_at + timedelta(days=2, hours=3), tick=True, ignore=REAL_CLOCKS):
        sign_in(page, live_server.url, "legal")
        queue = page.locator(".portal-desks ul").filter(has_text=str(version)).locator("li")
        first = queue.first
        assert first.get_attribute("class") == "portal-overdue"  # overdue work is listed before the rest

        mine = queue.filter(has_text=str(version))
        assert "overdue by 2 days" in mine.locator(".portal-overdue-label").inner_text()
        colour = mine.locator(".portal-overdue-label").evaluate("node => getComputedStyle(node).color")
        assert colour == "rgb(186, 33, 33)"


def test_a_reviewer_turns_off_a_kind_of_notification_from_the_user_menu(live_server, demo_lineage, page) -> None:
    sign_in(page, live_server.url, "legal")

    page.click("#my-notifications-link")
    page.get_by_label("A revision awaits my approval").uncheck()
    page.click("#notification-preferences input[type=submit]")
    page.wait_for_selector(".messagelist")

    legal = get_user_model().objects.get(username="legal")
    assert list(NotificationOptOut.objects.filter(user=legal).values_list("kind", flat=True)) == [
        NotificationKind.APPROVAL_AWAITED
    ]
    assert not page.get_by_label("A revision awaits my approval").is_checked()
    assert page.get_by_label("A review is assigned to me").is_checked()


def test_a_delegate_signs_the_away_reviewers_review_on_their_behalf(live_server, demo_lineage, page) -> None:
    version = legal_review(demo_lineage)
    stand_in = get_user_model().objects.create_user(
        username="lex", password=DEFAULT_DEMO_PASSWORD, first_name="Lex", last_name="Lawson", is_staff=True
    )
    give_role(stand_in, Role.LEGAL_REVIEWER)
    sign_in(page, live_server.url, "legal")
    page.click("#my-delegations-link")
    page.select_option("#id_role", Role.LEGAL_REVIEWER.value)
    page.fill("#id_delegate", "lex")
    page.fill("#id_starts", timezone.now().date().isoformat())
    page.fill("#id_ends", (timezone.now().date() + timedelta(days=7)).isoformat())
    page.fill("#id_reason", "Parental leave.")
    page.click("#delegation-form input[type=submit]")
    page.wait_for_selector(".messagelist")
    assert "Lex Lawson" in page.inner_text("#my-delegations")

    page.context.clear_cookies()
    sign_in(page, live_server.url, "lex")
    page.locator(".portal-desks").get_by_role("link", name="on behalf of Lena Galloway", exact=False).click()
    sign_with_note(page, "lex", "Signed while Lena is away.")

    [(signature, _valid)] = signatures_for(version)
    assert (signature.signer.username, signature.on_behalf_of.username) == ("lex", "legal")
    version.refresh_from_db()
    assert version.state == DatasetVersionState.SECURITY_REVIEW


def test_an_auditor_asks_on_the_review_page_and_the_reviewer_reads_it(live_server, demo_lineage, page) -> None:
    version = legal_review(demo_lineage)
    sign_in(page, live_server.url, "auditor")
    page.goto(f"{live_server.url}/admin/lineage/datasetversion/{version.pk}/change/")

    page.fill("#comment-form textarea[name=text]", "Where is the <b>DPIA</b> for the Zendesk source?")
    page.click("#post-comment")
    page.wait_for_selector(".messagelist")

    assert Comment.objects.get(text__contains="DPIA").author.username == "auditor"
    page.context.clear_cookies()
    sign_in(page, live_server.url, "legal")
    page.goto(f"{live_server.url}/admin/lineage/datasetversion/{version.pk}/change/")
    thread = page.inner_text("#discussion")
    assert "Aud Itor" in thread
    assert "Where is the <b>DPIA</b> for the Zendesk source?" in thread
    # The thread sits below the record's form, not behind it (its heading's colour once covered the page's links).
    form, discussion = page.locator("#content-main").bounding_box(), page.locator("#discussion").bounding_box()
    assert discussion["y"] >= form["y"] + form["height"]
    version.refresh_from_db()
    assert version.state == DatasetVersionState.LEGAL_REVIEW  # a comment decides nothing

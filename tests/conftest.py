import os
from collections.abc import Iterator

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from accounts.choices import Role
from accounts.demo import DEFAULT_DEMO_PASSWORD, seed_demo_logins
from accounts.roles import grant_role_permissions
from tests import services

_MARKER_CHECKS = {
    "postgres": services.postgres_missing,
    "redis": services.redis_missing,
    "browser": services.chromium_missing,
    "syslog": services.rsyslog_missing,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that runs only on PostgreSQL says why, so that its skip on the embedded SQLite default explains
    itself: ``@pytest.mark.postgres(reason="SQLite has no TRUNCATE")``."""
    unexplained = [item.nodeid for item in items if (m := item.get_closest_marker("postgres")) and not m.kwargs]
    if unexplained:
        raise pytest.UsageError(f"postgres markers without a reason: {', '.join(unexplained)}")


def pytest_runtest_setup(item: pytest.Item) -> None:
    for name, missing in _MARKER_CHECKS.items():
        if (marker := item.get_closest_marker(name)) and (reason := missing()):
            why = marker.kwargs.get("reason")
            pytest.skip(f"{reason} ({why})" if why else reason)


def _remove_checkpoint_files() -> None:
    from audit.checkpoints import checkpoint_storage

    storage = checkpoint_storage()
    for name in storage.listdir("")[1] if storage.exists("") else []:
        storage.delete(name)


@pytest.fixture(autouse=True)
def _empty_checkpoint_storage() -> Iterator[None]:
    """Every test's database starts with an empty ledger, so the signed checkpoint files, which live outside the
    database and outlive its rollback, must start (and end) empty too: a stale one would claim a longer ledger."""
    _remove_checkpoint_files()
    yield
    _remove_checkpoint_files()


@pytest.fixture(autouse=True)
def _tasks_run_in_process(request: pytest.FixtureRequest) -> Iterator[None]:
    """Unit tests run Celery tasks in-process; tests marked ``redis`` talk to a real broker and worker."""
    from portal.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = request.node.get_closest_marker("redis") is None
    yield
    app.conf.task_always_eager = previous


def give_role(user: object, role: Role) -> None:
    """Give ``user`` the role as an installation's first people get theirs (a recorded grant without a second
    person): tests about something else need people in roles, not the maker-checker of granting them."""
    from accounts.choices import RoleGrantBasis
    from accounts.services.role_grants import role_grant_record
    from audit.audit_context import acting_as

    with acting_as(actor_name="system:test"):
        role_grant_record(user=user, role=role, basis=RoleGrantBasis.PROVISIONED, reason="Test persona.")


@pytest.fixture
def role_groups(db: None) -> None:
    """The role groups, as the migration creates them. Transactional tests flush them, so they ask again."""
    grant_role_permissions(django_apps)


@pytest.fixture
def demo_users(role_groups: None) -> dict[str, object]:
    from django.contrib.auth import get_user_model

    seed_demo_logins(password=DEFAULT_DEMO_PASSWORD)
    return {user.username: user for user in get_user_model().objects.all()}


@pytest.fixture
def user_in_role(role_groups: None):
    """Factory: a staff user holding one role (through a recorded grant, as the approval checks require)."""
    from django.contrib.auth import get_user_model

    def make(role: Role, username: str | None = None) -> object:
        user = get_user_model().objects.create_user(
            username=username or role.value.lower().replace(" ", "-"),
            password=DEFAULT_DEMO_PASSWORD,
            is_staff=True,
        )
        give_role(user, role)
        return user

    return make


# Personas used across test packages: one person per role, named after it.


@pytest.fixture
def legal(user_in_role):
    return user_in_role(Role.LEGAL_REVIEWER, username="legal")


@pytest.fixture
def security(user_in_role):
    return user_in_role(Role.SECURITY_REVIEWER, username="security")


@pytest.fixture
def compliance(user_in_role):
    return user_in_role(Role.COMPLIANCE_REVIEWER, username="compliance")


@pytest.fixture
def auditor(user_in_role):
    return user_in_role(Role.AUDITOR, username="auditor")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Chromium from the operating system (Playwright never downloads a browser here)."""
    if reason := services.chromium_missing():
        pytest.skip(reason)
    # Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a thread with
    # a running loop unless told that this (test-only) use is safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=services.chromium_path(),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def demo_organisation(demo_users: dict[str, object]) -> dict[str, object]:
    """The demo logins and the demo organisation's governance (use cases, RACI, thresholds, requirements)."""
    from governance.catalogue import load_controls
    from governance.demo_organisation import seed

    load_controls()  # migration data, which a transactional test's flush removed

    seed(password=DEFAULT_DEMO_PASSWORD)
    return demo_users


def sign_in(page: object, base_url: str, username: str) -> None:
    """Sign in to the admin through its login form and the second-factor step, as a person does (typing the
    code their authenticator app shows)."""
    from django.contrib.auth import get_user_model

    from tests.signing_in import second_factor_code

    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEFAULT_DEMO_PASSWORD)
    code = second_factor_code(get_user_model().objects.get(username=username))
    page.click("input[type=submit]")
    page.fill("#id_code", code)
    page.click("#second-factor-form input[type=submit]")
    page.wait_for_selector("#waiting-heading")


@pytest.fixture
def demo_lineage(demo_organisation: dict[str, object]) -> dict[str, object]:
    """The demo organisation with its source systems, datasets and versions in every review state."""
    from lineage.demo_organisation import seed

    seed(password=DEFAULT_DEMO_PASSWORD)
    return demo_organisation


# --- The governed test app: a memo and the people who write it ------------------------------------------


@pytest.fixture
def author(db: None):
    """A person allowed to write and publish memos in the governed test app."""
    user = get_user_model().objects.create_user(
        username="author", password=DEFAULT_DEMO_PASSWORD, first_name="Ann", last_name="Author", is_staff=True
    )
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="governed_app", codename__in=["view_memo", "change_memo"])
    )
    return user


@pytest.fixture
def outsider(db: None):
    return get_user_model().objects.create_user(username="outsider", password=DEFAULT_DEMO_PASSWORD, is_staff=True)


@pytest.fixture
def memo(author):
    from tests.governed_app.services import memo_create

    return memo_create(actor=author, title="Card redaction rule", body="Redact full card numbers.")

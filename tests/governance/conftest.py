import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from governance.demo import DEFAULT_DEMO_PASSWORD

PASSWORD = DEFAULT_DEMO_PASSWORD


@pytest.fixture
def author(db: None):
    """A person allowed to write and publish memos in the governed test app."""
    user = get_user_model().objects.create_user(
        username="author", password=PASSWORD, first_name="Ann", last_name="Author", is_staff=True
    )
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="governed_app", codename__in=["view_memo", "change_memo"])
    )
    return user


@pytest.fixture
def outsider(db: None):
    return get_user_model().objects.create_user(username="outsider", password=PASSWORD, is_staff=True)


@pytest.fixture
def memo(author):
    from tests.governed_app.services import memo_create

    return memo_create(actor=author, title="Card redaction rule", body="Redact full card numbers.")

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from accounts.choices import Role
from accounts.demo import DEFAULT_DEMO_PASSWORD

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
def product_owner(user_in_role):
    """Owns the use case; where the RACI names them, Accountable for its requirements."""
    return user_in_role(Role.PRODUCT_OWNER, username="po")


@pytest.fixture
def risk(user_in_role):
    return user_in_role(Role.RISK_OFFICER, username="risk")


@pytest.fixture
def second_risk(user_in_role):
    """Another Risk Officer: change control needs a second person to approve what one proposed."""
    return user_in_role(Role.RISK_OFFICER, username="risk-2")


@pytest.fixture
def memo(author):
    from tests.governed_app.services import memo_create

    return memo_create(actor=author, title="Card redaction rule", body="Redact full card numbers.")

import pytest

from accounts.choices import Role
from accounts.demo import DEFAULT_DEMO_PASSWORD

PASSWORD = DEFAULT_DEMO_PASSWORD


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

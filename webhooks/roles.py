"""Webhooks send governance data out of the portal: Security Reviewers manage the subscriptions and may send a
delivery again; Auditors read the subscriptions and the delivery log. Both see how far the SIEM's syslog
receiver has taken the ledger. Registered in ``WebhooksConfig.ready``."""

from collections.abc import Mapping

from accounts.choices import Role
from accounts.roles import EDIT, VIEW, Actions
from webhooks.models import SyslogCursor, WebhookDelivery, WebhookSubscription

ROLE_GRANTS: Mapping[Role, Mapping[type, Actions]] = {
    Role.SECURITY_REVIEWER: {WebhookSubscription: EDIT, WebhookDelivery: ("view", "redeliver"), SyslogCursor: VIEW},
    Role.AUDITOR: {WebhookSubscription: VIEW, WebhookDelivery: VIEW, SyslogCursor: VIEW},
}

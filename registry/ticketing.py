"""Where a change ticket lives in the organisation's ticketing tool.

A change ticket names its Jira issue (``MLOPS-123``) or ServiceNow change (``CHG0031337``); with the tool's base URL
configured, the reference becomes a link, on the ticket's page and in the ``promotion.approved`` webhook, so the
ticketing tool's own automation can find and close its side of the change."""

import re
from urllib.parse import quote, urlencode

from django.conf import settings

#: A Jira issue key: project key, hyphen, issue number.
JIRA_KEY = r"[A-Z][A-Z0-9]{1,9}-[1-9][0-9]{0,9}"
#: A ServiceNow change request number.
SERVICENOW_CHANGE = r"CHG[0-9]{7,10}"
#: Either of them, and nothing else.
EXTERNAL_REFERENCE_PATTERN = rf"^({JIRA_KEY}|{SERVICENOW_CHANGE})$"


def ticket_url(reference: str) -> str:
    """The reference's page in its ticketing tool, or "" when none is configured for its kind (or there is none)."""
    if re.fullmatch(SERVICENOW_CHANGE, reference) and (base := settings.SERVICENOW_BASE_URL):
        return f"{base}/change_request.do?{urlencode({'sysparm_query': f'number={reference}'})}"
    if re.fullmatch(JIRA_KEY, reference) and (base := settings.JIRA_BASE_URL):
        return f"{base}/browse/{quote(reference)}"
    return ""

"""``{% revision_content revision %}``: what a RACI or threshold revision changes, then the whole of it, on its page
and on the page where it is signed, so the signer reads the differences their signature approves."""

from typing import Any

from django import template

from governance.models.revisions import ChangeControlledRevision
from governance.revision_changes import readable_content, replaced_revision, revision_changes

register = template.Library()


@register.inclusion_tag("admin/governance/revision_content.html")
def revision_content(revision: ChangeControlledRevision) -> dict[str, Any]:
    previous = replaced_revision(revision)
    return {
        "previous": previous,
        "changes": revision_changes(revision, previous),
        "content": readable_content(revision),
    }

"""Discussion threads on records under review: a comment is a ledger entry and never changes its record."""

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from accounts.models import Comment
from accounts.models.discussion import COMMENT_MAX_LENGTH
from audit import ledger
from audit.audit_context import acting_as
from audit.choices import LedgerAction
from audit.ledger import ActionDenied, denials_recorded


def may_comment(user: AbstractBaseUser, target: models.Model) -> bool:
    """Anyone who may view the record may join its discussion (an auditor too: questions are part of review)."""
    opts = target._meta
    return user.is_active and user.has_perm(f"{opts.app_label}.view_{opts.model_name}")


def comment_add(*, target: models.Model, author: AbstractBaseUser, text: str) -> Comment:
    """Add ``text`` to ``target``'s thread. The record is not locked or saved: a comment changes no state and no
    digest, so it neither waits for nor invalidates an approval in progress."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write something to post."})
    if len(text) > COMMENT_MAX_LENGTH:
        raise ValidationError(
            {"text": f"A comment is at most {COMMENT_MAX_LENGTH} characters (this one has {len(text)})."}
        )
    with denials_recorded(), transaction.atomic(), acting_as(author):
        if not may_comment(author, target):
            raise ActionDenied(
                "Only people who may view this record can comment on it.",
                actor=author,
                attempted="comment_add",
                obj=target,
            )
        posted_at = timezone.now()
        author_name = author.get_full_name() or author.get_username()
        entry = ledger.append(
            action=LedgerAction.COMMENT, obj=target, actor=author, payload={"comment": text, "author": author_name}
        )
        return Comment.objects.create(
            author=author,
            author_name=author_name,
            content_type=ContentType.objects.get_for_model(target),
            object_id=str(target.pk),
            text=text,
            posted_at=posted_at,
            ledger_entry=entry,
        )


def thread_of(target: models.Model) -> list[Comment]:
    """The record's comments, oldest first, in one query."""
    return list(
        Comment.objects.filter(content_type=ContentType.objects.get_for_model(target), object_id=str(target.pk))
    )

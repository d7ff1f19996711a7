"""Services written the way every domain service is: lock, check, transition, sign, ledger, in one go."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from accounts.services.signatures import signature_sign
from audit.audit_context import acting_as
from audit.ledger import ActionDenied, denials_recorded
from tests.governed_app.models import Memo


def memo_create(*, actor: AbstractBaseUser, title: str, body: str = "") -> Memo:
    with transaction.atomic(), acting_as(actor):
        return Memo.objects.create(title=title, body=body)


def memo_edit(*, memo: Memo, actor: AbstractBaseUser, body: str) -> Memo:
    with transaction.atomic(), acting_as(actor):
        memo = Memo.objects.select_for_update().get(pk=memo.pk)
        memo.body = body
        memo.save()
        return memo


def memo_publish(*, memo: Memo, actor: AbstractBaseUser, password: str, username: str | None = None) -> Memo:
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        memo = Memo.objects.select_for_update().get(pk=memo.pk)
        if not actor.has_perm("governed_app.change_memo"):
            raise ActionDenied("You may not publish memos.", actor=actor, attempted="memo_publish", obj=memo)
        if memo.status != "draft":
            raise ActionDenied(
                f"Only a draft can be published; this memo is {memo.status}.",
                actor=actor,
                attempted="memo_publish",
                obj=memo,
            )
        signature_sign(record=memo, signer=actor, password=password, username=username, meaning="Published as author")
        memo.publish()
        memo.save()
        return memo

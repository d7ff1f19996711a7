"""Attaching documents to governed records, and handing them out.

Which records take documents, and which role attaches them, is declared by the app that owns the records
(``register_attachment_rule`` in its ``AppConfig.ready``; governance never names a later app's models): a use
case's documents belong to its Product Owner and Compliance, a dataset version's DPIA to the Data Steward and the
Legal and Security reviewers, an incident's report to the people who handle incidents. The owning roles and the
oversight roles (Auditor, Risk Officer, Compliance Reviewer) download them; every download, and every refused
attempt, is in the ledger.

The file is written to the ``documents`` storage under a random name before the row is inserted (the row must
never name a file that is not there); if the service's transaction fails, the file is removed again. A caller
that wraps the service in a transaction of its own and rolls that back leaves an unreferenced file, never a row
without its file.
"""

import hashlib
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import models, transaction
from django.utils import timezone

from accounts.authz import holds_approval_permission
from audit import ledger
from audit.access import access_record
from audit.canonical import model_label
from audit.choices import AccessKind, LedgerAction
from audit.ledger import ActionDenied, denials_recorded
from governance.models import Document, DocumentKind
from governance.uploads import inspect_upload

STORAGE_ALIAS = "documents"
DOWNLOAD_ANY = "governance.view_file_document"


@dataclass(frozen=True)
class AttachmentRule:
    """Who attaches which kinds of document to one kind of record."""

    permission: str
    kinds: tuple[DocumentKind, ...]
    owners: str


#: model label -> rule, as each app registers its own records in ``AppConfig.ready``.
ATTACHMENT_RULES: dict[str, AttachmentRule] = {}


def register_attachment_rule(model: type[models.Model], rule: AttachmentRule) -> None:
    """Let documents be attached to ``model``'s records: called by the app that owns the model."""
    ATTACHMENT_RULES[model_label(model)] = rule


def document_storage() -> Storage:
    return storages[STORAGE_ALIAS]


def rule_for(target: models.Model) -> AttachmentRule:
    rule = ATTACHMENT_RULES.get(model_label(target))
    if rule is None:
        raise ValidationError(f"Documents cannot be attached to a {target._meta.verbose_name}.")
    return rule


def may_attach(user: AbstractBaseUser, target: models.Model) -> bool:
    """Through a role only; being an administrator is not enough."""
    rule = ATTACHMENT_RULES.get(model_label(target))
    return rule is not None and holds_approval_permission(user, rule.permission)


def may_download(user: AbstractBaseUser, document: Document) -> bool:
    """The oversight roles download every document; the roles that attach to a kind of record download its."""
    if holds_approval_permission(user, DOWNLOAD_ANY):
        return True
    label = f"{document.content_type.app_label}.{document.content_type.model}"
    rule = ATTACHMENT_RULES.get(label)
    return rule is not None and holds_approval_permission(user, rule.permission)


def documents_for(target: models.Model) -> models.QuerySet[Document]:
    return Document.objects.filter(
        content_type=ContentType.objects.get_for_model(target), object_id=str(target.pk)
    ).select_related("uploaded_by", "superseded_by", "content_type")


def _storage_name() -> str:
    """Random, and nothing the uploader chose: the name says neither what the file is nor whose it is."""
    return f"{timezone.now():%Y/%m}/{uuid.uuid4().hex}"


@contextmanager
def _removed_on_failure(storage: Storage, name: str) -> Iterator[None]:
    """Delete the stored file when the block that would record it fails."""
    try:
        yield
    except BaseException:
        storage.delete(name)
        raise


def document_upload(
    *,
    actor: AbstractBaseUser,
    target: models.Model,
    kind: DocumentKind | str,
    file: IO[bytes],
    filename: str,
    size: int,
    description: str = "",
    supersedes: Document | None = None,
) -> Document:
    """Check, store and record one uploaded file attached to ``target``.

    Refused (``ActionDenied``, recorded) for a role that does not attach to this kind of record; ``ValidationError``
    for a kind the record does not take, a file too large, empty or not what its name says, or a superseded
    document that is not the current one of the same record and kind. The ledger's ``upload`` entry carries the
    SHA-256 of the stored bytes.
    """
    rule = rule_for(target)
    kind = DocumentKind(kind)
    with denials_recorded(), transaction.atomic():
        if not holds_approval_permission(actor, rule.permission):
            raise ActionDenied(
                f"Only {rule.owners} may attach documents to a {target._meta.verbose_name}.",
                actor=actor,
                attempted="upload document",
                obj=target,
            )
    if kind not in rule.kinds:
        allowed = ", ".join(str(choice.label) for choice in rule.kinds)
        raise ValidationError({"kind": f"A {target._meta.verbose_name} takes these documents: {allowed}."})
    inspected = inspect_upload(file, filename=filename, size=size)
    storage = document_storage()
    stored_name = storage.save(_storage_name(), File(file, name=inspected.filename))
    with _removed_on_failure(storage, stored_name), denials_recorded(), transaction.atomic():
        locked = type(target)._default_manager.select_for_update().get(pk=target.pk)
        if not holds_approval_permission(actor, rule.permission):  # a role taken away meanwhile
            raise ActionDenied("Your roles no longer allow this.", actor=actor, attempted="upload document", obj=locked)
        stored_sha256 = _stored_sha256(storage, stored_name)
        if stored_sha256 != inspected.sha256:
            raise ValidationError({"file": "The stored copy differs from the upload; nothing was saved. Try again."})
        previous = _current_to_supersede(supersedes, target=locked, kind=kind)
        document = Document.objects.create(
            content_type=ContentType.objects.get_for_model(locked),
            object_id=str(locked.pk),
            object_label=str(locked)[:300],
            kind=kind,
            description=description.strip()[:300],
            original_filename=inspected.filename,
            media_type=inspected.media_type,
            size_bytes=inspected.size_bytes,
            sha256=stored_sha256,
            storage_name=stored_name,
            supersedes=previous,
            uploaded_by=actor,
        )
        ledger.append(
            action=LedgerAction.UPLOAD,
            obj=locked,
            actor=actor,
            payload={
                "document": document.pk,
                "kind": kind.value,
                "filename": inspected.filename,
                "media_type": inspected.media_type,
                "size_bytes": inspected.size_bytes,
                "sha256": stored_sha256,
                "storage_name": stored_name,
                "supersedes": previous.pk if previous else None,
            },
        )
        return document


def _stored_sha256(storage: Storage, name: str) -> str:
    digest = hashlib.sha256()
    with storage.open(name, "rb") as handle:
        for chunk in handle.chunks():
            digest.update(chunk)
    return digest.hexdigest()


def _current_to_supersede(supersedes: Document | None, *, target: models.Model, kind: DocumentKind) -> Document | None:
    if supersedes is None:
        return None
    # No row lock on the document itself: its table is append-only, and the application's database role may not
    # UPDATE it, which FOR UPDATE requires. The caller holds the lock on the record, and a document supersedes
    # only one on that same record, so two people superseding the same document are already taken in turn.
    previous = Document.objects.get(pk=supersedes.pk)
    same_record = (previous.content_type_id, previous.object_id) == (
        ContentType.objects.get_for_model(target).pk,
        str(target.pk),
    )
    if not same_record or previous.kind != kind:
        raise ValidationError({"supersedes": "A document supersedes only one of the same kind on the same record."})
    if Document.objects.filter(supersedes=previous).exists():
        raise ValidationError({"supersedes": f"{previous} has already been superseded; supersede the newer one."})
    return previous


#: A download is copied into memory up to this size, into a temporary file beyond it.
DOWNLOAD_SPOOL_BYTES = 1024 * 1024


def _checked_copy(storage: Storage, name: str) -> tuple[IO[bytes], str]:
    """A private copy of the stored file and the SHA-256 of exactly those bytes. The copy, not the stored file, is
    what is handed out: opening the stored file a second time to serve it would let a file changed between the
    check and the serving go out as if it had been checked."""
    copy = tempfile.SpooledTemporaryFile(max_size=DOWNLOAD_SPOOL_BYTES)  # noqa: SIM115 - handed to the caller
    digest = hashlib.sha256()
    try:
        with storage.open(name, "rb") as handle:
            for chunk in handle.chunks():
                digest.update(chunk)
                copy.write(chunk)
        copy.seek(0)
    except BaseException:
        copy.close()
        raise
    return copy, digest.hexdigest()


@dataclass(frozen=True)
class DocumentDownload:
    document: Document
    handle: IO[bytes]


def document_download(*, document: Document, user: AbstractBaseUser) -> DocumentDownload:
    """An open handle on a copy of the stored file for ``user``, recorded as a download of the record the document
    is attached to. The copied bytes are checked against the recorded SHA-256 first: a file changed on disk is not
    handed out (and the refusal is recorded), and the bytes handed out are the very bytes that were checked."""
    with denials_recorded(), transaction.atomic():
        if not may_download(user, document):
            raise ActionDenied(
                "Only Auditors, Risk Officers, Compliance Reviewers and the roles that attach this kind of document "
                "may download it.",
                actor=user,
                attempted="download document",
                obj=document,
            )
        handle, sha256 = _checked_copy(document_storage(), document.storage_name)
        if sha256 != document.sha256:
            handle.close()
            raise ActionDenied(
                "The stored file no longer matches the SHA-256 recorded at upload; it is not handed out.",
                actor=user,
                attempted="download document",
                obj=document,
            )
        access_record(
            user=user,
            kind=AccessKind.DOWNLOAD,
            object_type=f"{document.content_type.app_label}.{document.content_type.model}",
            object_id=document.object_id,
            object_label=document.object_label,
            detail={"document": document.pk, "filename": document.original_filename, "sha256": document.sha256},
        )
        return DocumentDownload(document=document, handle=handle)

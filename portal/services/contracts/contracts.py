"""Contracts as accounts and finance see them, and their signed documents."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal import permissions
from portal.extensions import db
from portal.models import Attachment, Contract, User
from portal.services import audit
from portal.services.errors import InvalidInput
from portal.services.requests.attachments import Upload, check, store_file
from portal.services.storage import FileStore
from portal.services.unit_of_work import use_case


def account_contracts(account_id: int, viewer: User | None = None) -> list[Contract]:
    """An account's contracts with their entitlements, newest first — those ``viewer`` may see (a customer
    no drafts), when given."""
    query = (
        select(Contract)
        .where(Contract.account_id == account_id)
        .options(selectinload(Contract.entitlements))
        .order_by(Contract.end_date.desc(), Contract.id.desc())
    )
    if viewer is not None:
        query = query.where(permissions.contract_condition(viewer))
    return list(db.session.scalars(query))


@use_case
def attach_signed_document(
    contract: Contract, upload: Upload, uploader: User | None, *, files: FileStore, max_bytes: int
) -> Attachment:
    """Store the signed contract as a PDF and make it the contract's document. A re-signed copy replaces
    the link; the earlier file stays stored (nothing a customer once downloaded disappears silently)."""
    name, content_type = check(upload, max_bytes)
    if content_type != "application/pdf":
        raise InvalidInput("file", str(_l("The signed contract must be a PDF file.")))
    uploader_id = uploader.id if uploader else None
    attachment = store_file(
        upload.data, name, content_type, files, account_id=contract.account_id, uploader_id=uploader_id
    )
    attachment.contract_id = contract.id
    contract.signed_document_id = attachment.id
    audit.record("contract.document_attached", actor=uploader, obj=contract, file=name)
    return attachment


def signed_document(contract: Contract) -> Attachment | None:
    if contract.signed_document_id is None:
        return None
    return db.session.get(Attachment, contract.signed_document_id)


@use_case
def record_document_download(contract: Contract, user: User, ip_address: str) -> None:
    audit.record("contract.document_downloaded", actor=user, obj=contract, ip_address=ip_address)

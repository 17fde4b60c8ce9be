"""The signed contract document: stored as a PDF only, downloaded by the account's users, audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.demo.company import _tiny_pdf
from portal.extensions import db
from portal.models import Attachment, AuditEvent, Contract
from portal.services.contracts import contracts
from portal.services.errors import InvalidInput
from portal.services.requests.attachments import Upload
from portal.uploads import file_store
from tests.factories import make_contract, make_user, stored_files


def test_a_customer_downloads_the_signed_contract_and_it_is_audited(client, login_as):
    me = make_user("customer")
    contract = make_contract(me.account)
    pdf = _tiny_pdf("signed copy")
    contracts.attach_signed_document(
        contract, Upload("签约合同.pdf", pdf), None, files=file_store(), max_bytes=10**6
    )
    login_as(me)
    page = client.get(f"/my/contracts/{contract.id}").get_data(as_text=True)
    assert f'href="/my/contracts/{contract.id}/document"' in page and "签约合同.pdf" in page
    response = client.get(f"/my/contracts/{contract.id}/document")
    assert response.status_code == 200 and response.data == pdf
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "contract.document_downloaded"))
    assert event.actor_id == me.id and event.object_id == str(contract.id)


def test_without_a_document_the_page_says_so_and_the_download_is_404(client, login_as):
    me = make_user("customer")
    contract = make_contract(me.account)
    login_as(me)
    page = client.get(f"/my/contracts/{contract.id}", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert "Not on file yet" in page
    assert client.get(f"/my/contracts/{contract.id}/document").status_code == 404


@pytest.mark.parametrize(
    "name, data",
    [
        ("contract.docx", b"PK\x03\x04not really"),
        ("contract.pdf", b"<html><script>alert(1)</script>"),
        ("a.txt", b"x"),
    ],
)
def test_only_a_real_pdf_is_accepted_and_nothing_is_stored_otherwise(name, data):
    before = stored_files()
    contract = make_contract(make_user("customer").account)
    with pytest.raises(InvalidInput):
        contracts.attach_signed_document(
            contract, Upload(name, data), None, files=file_store(), max_bytes=10**6
        )
    db.session.rollback()
    assert db.session.get(Contract, contract.id).signed_document_id is None
    assert db.session.scalar(select(Attachment)) is None
    assert stored_files() == before


def test_a_resigned_copy_replaces_the_link_and_keeps_the_old_file():
    contract = make_contract(make_user("customer").account)
    first = contracts.attach_signed_document(
        contract, Upload("v1.pdf", _tiny_pdf("v1")), None, files=file_store(), max_bytes=10**6
    )
    second = contracts.attach_signed_document(
        contract, Upload("v2.pdf", _tiny_pdf("v2")), None, files=file_store(), max_bytes=10**6
    )
    assert contracts.signed_document(contract).id == second.id != first.id
    assert file_store().read(first) == _tiny_pdf("v1")


def test_the_contract_document_command(app, tmp_path):
    contract = make_contract(make_user("customer").account)
    good = tmp_path / "signed.pdf"
    good.write_bytes(_tiny_pdf("signed"))
    bad = tmp_path / "fake.pdf"
    bad.write_bytes(b"<svg onload=alert(1)>")
    runner, before = app.test_cli_runner(), stored_files()
    refused = runner.invoke(args=["contract-document", contract.number, str(bad)])
    assert refused.exit_code != 0 and ".pdf" in refused.output
    assert db.session.scalar(select(Attachment)) is None
    assert stored_files() == before
    unknown = runner.invoke(args=["contract-document", "NO-SUCH", str(good)])
    assert unknown.exit_code != 0 and "No contract numbered NO-SUCH" in unknown.output
    result = runner.invoke(args=["contract-document", contract.number, str(good)])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert contracts.signed_document(db.session.get(Contract, contract.id)).original_name == "signed.pdf"

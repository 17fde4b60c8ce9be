"""Unmatched mail on screen: the leads, managers and admins read what matched no request — its text never
rendered as HTML — download it as it arrived, and the leads and admins put it aside."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, InboundMail
from portal.services.reference_data import ensure_reference_data
from tests.factories import make_user
from tests.services.test_inbound_mail import message, receive

HTML_MAIL = "<p>Hello</p><script>alert('x')</script><p>我们的服务器坏了</p>"


def _html_only(sender: str, subject: str, html: str) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, "service@portal.example", subject
    m["Message-ID"] = make_msgid(domain="nowhere.example")
    m.set_content(html, subtype="html")
    return bytes(m)


@pytest.fixture
def kept() -> dict[str, InboundMail]:
    ensure_reference_data()
    customer = make_user("customer", email="lin@tianyi.example")
    found = {
        "stranger": receive(_html_only("stranger@nowhere.example", "<b>Quote</b> wanted", HTML_MAIL)),
        "broken": receive(b"\x00\xff garbage \x00"),
        "filed": receive(message(customer.email, "打印机坏了", subject="打印机故障")),
        "ignored": receive(message(customer.email, "Away", headers={"Auto-Submitted": "auto-replied"})),
    }
    db.session.commit()
    assert [m.outcome for m in found.values()] == ["unmatched", "malformed", "filed", "ignored"]
    return found


@pytest.mark.parametrize(
    ("role", "reads", "dismisses"),
    [
        ("lead", True, True),
        ("admin", True, True),
        ("manager", True, False),
        ("agent", False, False),
        ("finance", False, False),
        ("customer", False, False),
    ],
)
def test_who_reads_and_who_puts_mail_aside(client, login_as, kept, role, reads, dismisses):
    login_as(role)
    stranger = kept["stranger"]
    pages = ["/staff/mail", f"/staff/mail/{stranger.id}", f"/staff/mail/{stranger.id}/message.eml"]
    for path in pages:
        assert client.get(path).status_code == (200 if reads else 403), path
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert ('href="/staff/mail"' in home) is reads
    token = client.csrf_token("/profile")
    answer = client.post(f"/staff/mail/{stranger.id}/dismiss", data={"csrf_token": token})
    assert answer.status_code == (303 if dismisses else 403)
    db.session.expire_all()
    assert (db.session.get(InboundMail, stranger.id).dismissed_at is not None) is dismisses


def test_the_list_shows_what_waits_and_why(client, login_as, kept):
    login_as("lead", departments=["after_sales"])
    page = client.get("/staff/mail", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "2 messages wait" in page
    assert "stranger@nowhere.example" in page and "&lt;b&gt;Quote&lt;/b&gt; wanted" in page
    assert "The sender is no contact of an account" in page and "It could not be read" in page
    assert "打印机故障" not in page and "Away" not in page  # filed and ignored mail wait for nobody
    for name in ("filed", "ignored"):
        assert client.get(f"/staff/mail/{kept[name].id}").status_code == 404
    assert client.get("/staff/mail/999999").status_code == 404


def test_a_message_is_read_as_text_and_downloaded_as_it_arrived(client, login_as, kept, store):
    login_as("lead", departments=["after_sales"])
    stranger = kept["stranger"]
    page = client.get(f"/staff/mail/{stranger.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Hello" in page and "我们的服务器坏了" in page and "stranger@nowhere.example" in page
    assert "<script>alert" not in page and "<p>Hello" not in page and "<b>Quote</b>" not in page
    download = client.get(f"/staff/mail/{stranger.id}/message.eml")
    assert download.headers["Content-Disposition"] == f'attachment; filename="mail-{stranger.id}.eml"'
    assert download.mimetype == "message/rfc822"
    assert download.get_data() == store.read(stranger)
    broken = client.get(f"/staff/mail/{kept['broken'].id}", headers={"Accept-Language": "en"})
    assert broken.status_code == 200 and "garbage" in broken.get_data(as_text=True)


def test_putting_mail_aside_takes_it_off_the_list_once(client, login_as, kept):
    lead = login_as("lead", departments=["after_sales"])
    stranger = kept["stranger"]
    token = client.csrf_token("/staff/mail")
    for _ in range(2):
        answer = client.post(f"/staff/mail/{stranger.id}/dismiss", data={"csrf_token": token})
        assert answer.status_code == 303 and answer.headers["Location"].endswith("/staff/mail")
    page = client.get("/staff/mail", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "1 message waits" in page and "nowhere.example" not in page
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "inbound_mail.dismissed")).all()
    assert [(e.actor_id, e.object_id) for e in events] == [(lead.id, str(stranger.id))]
    detail = client.get(f"/staff/mail/{stranger.id}", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert "Put aside" in detail and not re.search(r"<button[^>]*>\s*Put aside", detail)


def test_a_long_list_pages_by_id(client, login_as, app):
    ensure_reference_data()
    for number in range(53):
        receive(message(f"s{number}@nowhere.example", "Hi", subject=f"Mail {number:02d}"))
    db.session.commit()
    login_as("lead", departments=["after_sales"])
    first = client.get("/staff/mail", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "53 messages wait" in first and "Mail 52" in first and "Mail 02" not in first
    older = re.search(r'href="(/staff/mail\?before=\d+)" rel="next"', first)
    assert older
    second = client.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert {f"Mail {n:02d}" for n in range(3)} <= set(re.findall(r"Mail \d\d", second))
    assert "Mail 03" not in second and 'rel="next"' not in second
    assert db.session.scalar(select(func.count()).select_from(InboundMail)) == 53


def test_a_request_by_email_says_so_to_the_customer_and_to_staff(client, login_as, kept):
    request = kept["filed"].request
    assert request is not None and request.channel == "email"
    login_as(request.requester)
    mine = client.get(f"/my/requests/{request.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "· by email" in mine
    client.post_form("/logout", token_from="/my/")
    login_as("lead", departments=[request.department.code])
    theirs = client.get(f"/staff/requests/{request.id}", headers={"Accept-Language": "en"})
    assert theirs.status_code == 200 and "· by email" in theirs.get_data(as_text=True)


def test_a_strangers_mail_is_filed_as_a_request_by_a_chosen_contact(client, login_as, kept):
    from portal.models import Notification, ServiceRequest, User

    contact = db.session.scalar(select(User).where(User.email == "lin@tianyi.example"))
    gone = make_user("customer", account=contact.account, email="gone@tianyi.example", active=False)
    stranger = kept["stranger"]
    lead = login_as("lead", departments=["after_sales"])
    page = client.get(f"/staff/mail/{stranger.id}").get_data(as_text=True)
    assert f'<optgroup label="{contact.account.name}">' in page and f'value="{contact.id}"' in page
    assert f'value="{gone.id}"' not in page  # nobody who may not sign in
    before = db.session.scalar(select(func.count()).select_from(ServiceRequest))
    token = client.csrf_token("/staff/mail")
    for wrong in ("", str(gone.id), "999999"):
        refused = client.post(f"/staff/mail/{stranger.id}/file", data={"csrf_token": token, "contact": wrong})
        assert refused.status_code == 422 and 'class="error"' in refused.get_data(as_text=True), wrong
    assert db.session.scalar(select(func.count()).select_from(ServiceRequest)) == before

    answer = client.post(f"/staff/mail/{stranger.id}/file", data={"csrf_token": token, "contact": contact.id})
    assert answer.status_code == 303
    db.session.expire_all()
    mail = db.session.get(InboundMail, stranger.id)
    filed = mail.request
    assert answer.headers["Location"].endswith(f"/staff/requests/{filed.id}")
    assert (mail.outcome, mail.cause, filed.requester_id, filed.channel) == ("filed", "", contact.id, "email")
    assert filed.title == "<b>Quote</b> wanted" and "我们的服务器坏了" in filed.description
    assert "<script>" not in filed.description
    told = db.session.scalars(select(Notification.kind).where(Notification.user_id == contact.id)).all()
    assert "request_acknowledged" in told
    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "inbound_mail.filed"))
    assert (event.actor_id, event.object_id) == (lead.id, str(stranger.id))
    # Sent twice (a double click, Back and send): the first request opens, no second one.
    again = client.post(f"/staff/mail/{stranger.id}/file", data={"csrf_token": token, "contact": contact.id})
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/staff/requests/{filed.id}")
    assert db.session.scalar(select(func.count()).select_from(ServiceRequest)) == before + 1
    assert "1 message waits" in client.get("/staff/mail", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )


@pytest.mark.parametrize("role", ["manager", "agent", "customer"])
def test_only_leads_and_admins_file_mail(client, login_as, kept, role):
    login_as(role)
    stranger = kept["stranger"]
    token = client.csrf_token("/profile")
    answer = client.post(f"/staff/mail/{stranger.id}/file", data={"csrf_token": token, "contact": 1})
    assert answer.status_code == 403
    db.session.expire_all()
    assert db.session.get(InboundMail, stranger.id).outcome == "unmatched"

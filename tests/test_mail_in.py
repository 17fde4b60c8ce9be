"""The mail listener over real SMTP and LMTP on loopback: what a mail server forwarding the portal's mail
does."""

from __future__ import annotations

import imaplib
import smtplib
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from portal import mail_in
from portal.extensions import db
from portal.models import InboundMail, TimelineEvent
from portal.services.messaging import threads
from tests.factories import make_request, make_user


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(params=["smtp", "lmtp"])
def listener(app: Flask, request: pytest.FixtureRequest) -> Iterator[tuple[str, int]]:
    port = _free_port()
    controller = mail_in.controller(app, host="127.0.0.1", port=port, lmtp=request.param == "lmtp")
    controller.start()
    try:
        yield request.param, port
    finally:
        controller.stop()


def _client(kind: str, port: int) -> smtplib.SMTP:
    """An SMTP client, or an LMTP one (smtplib.LMTP greets with LHLO)."""
    connect = smtplib.LMTP if kind == "lmtp" else smtplib.SMTP
    return connect("127.0.0.1", port, timeout=10)


def test_a_reply_delivered_over_the_wire_joins_its_request(listener):
    kind, port = listener
    customer = make_user("customer", email="lin@tianyi.example")
    request = make_request(customer)
    address = threads.reply_address(threads.Thread(request.id, customer.id))
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = customer.email, address, f"Re: [{request.reference}]"
    message["Message-ID"] = make_msgid(domain="tianyi.example")
    message.set_content("收到，谢谢。")
    with _client(kind, port) as client:
        refused = client.send_message(message, to_addrs=[address])
        assert refused == {}
        # The same message again (the mail server retrying): accepted, stored once.
        client.send_message(message, to_addrs=[address])
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.send_message(message, to_addrs=["someone-else@portal.example"])
    db.session.expire_all()
    (stored,) = db.session.scalars(select(InboundMail)).all()
    assert stored.outcome == "reply"
    bodies = db.session.scalars(
        select(TimelineEvent.body).where(
            TimelineEvent.request_id == request.id, TimelineEvent.kind == "public_reply"
        )
    ).all()
    assert bodies == ["收到，谢谢。"]


def test_a_malformed_message_is_accepted_and_kept(listener):
    kind, port = listener
    with _client(kind, port) as client:
        client.sendmail("x@y.example", ["service@portal.example"], b"\x00\xff not mail at all\r\n")
    db.session.expire_all()
    assert [m.outcome for m in db.session.scalars(select(InboundMail))] == ["malformed"]


def test_the_same_new_mail_delivered_at_once_on_many_connections_files_one_request(listener):
    """A mail server retrying on several connections at the same moment (or two MX hosts delivering the same
    message): every delivery is answered 250, the message is stored once and becomes one request, on SQLite
    (writers queue for the lock) and on PostgreSQL (the unique Message-ID key; the loser reads the winner's
    row)."""
    import threading

    from portal.models import ServiceRequest
    from portal.services.reference_data import ensure_reference_data

    kind, port = listener
    ensure_reference_data()
    customer = make_user("customer", email="lin@tianyi.example")
    db.session.commit()
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = customer.email, "service@portal.example", "机房断电"
    message["Message-ID"] = make_msgid(domain="tianyi.example")
    message.set_content("今早机房断电，请派人检查。")
    deliveries = 6
    ready = threading.Barrier(deliveries, timeout=20)
    answers: list[object] = []

    def deliver() -> None:
        with _client(kind, port) as client:
            ready.wait()  # every connection open and greeted: the messages go at the same moment
            try:
                answers.append(client.send_message(message, to_addrs=["service@portal.example"]))
            except smtplib.SMTPException as error:
                answers.append(error)

    workers = [threading.Thread(target=deliver) for _ in range(deliveries)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert answers == [{}] * deliveries
    db.session.expire_all()
    (stored,) = db.session.scalars(select(InboundMail)).all()
    assert stored.outcome == "filed"
    (filed,) = db.session.scalars(select(ServiceRequest)).all()
    assert (filed.title, filed.channel, filed.requester_id) == ("机房断电", "email", customer.id)


# --- the IMAP mailbox, on a real Dovecot ------------------------------------------------------------------


@pytest.fixture
def mailbox(app: Flask) -> Iterator[object]:
    from tests.imap_server import PASSWORD, USER, start_imap

    server = start_imap()
    settings = {
        "MAIL_IMAP_HOST": "127.0.0.1",
        "MAIL_IMAP_PORT": server.port,
        "MAIL_IMAP_SECURITY": "none",
        "MAIL_IMAP_USER": USER,
        "MAIL_IMAP_PASSWORD": PASSWORD,
    }
    before = {name: app.config[name] for name in settings}
    app.config.update(settings)
    try:
        yield server
    finally:
        app.config.update(before)
        server.stop()


def _imap(server) -> imaplib.IMAP4:  # noqa: ANN001
    from tests.imap_server import PASSWORD, USER

    client = imaplib.IMAP4("127.0.0.1", server.port, timeout=10)
    client.login(USER, PASSWORD)
    client.select("INBOX")
    return client


def _deliver(server, *messages: bytes) -> None:  # noqa: ANN001
    client = _imap(server)
    for raw in messages:
        assert client.append("INBOX", None, None, raw)[0] == "OK"
    client.logout()


def _unseen(server) -> int:  # noqa: ANN001
    client = _imap(server)
    found = client.uid("SEARCH", "UNSEEN")[1][0].split()
    client.logout()
    return len(found)


def test_the_mailbox_is_read_once_and_its_messages_kept(app, mailbox):
    from portal.models import ServiceRequest
    from portal.services.reference_data import ensure_reference_data
    from tests.services.test_inbound_mail import message

    ensure_reference_data()
    customer = make_user("customer", email="lin@tianyi.example")
    request = make_request(customer)
    address = threads.reply_address(threads.Thread(request.id, customer.id))
    db.session.commit()
    _deliver(
        mailbox,
        message(customer.email, "已经好了，谢谢。", to=address, subject="Re: 打印机"),
        message(customer.email, "机房空调漏水。", subject="空调漏水", charset="gb2312"),
        message("stranger@nowhere.example", "想了解报价。", subject="报价"),
    )
    polled = mail_in.poll_mailbox(app)
    assert (polled.stored, polled.failed) == (3, 0)
    assert _unseen(mailbox) == 0  # read, and still there: nothing is deleted
    db.session.expire_all()
    outcomes = sorted(m.outcome for m in db.session.scalars(select(InboundMail)))
    assert outcomes == ["filed", "reply", "unmatched"]
    titles = set(db.session.scalars(select(ServiceRequest.title)))
    assert "空调漏水" in titles
    assert mail_in.poll_mailbox(app).stored == 0  # the next round finds nothing new


def test_a_message_that_could_not_be_stored_waits_for_the_next_round(app, mailbox, monkeypatch):
    from portal.services.messaging import inbound
    from tests.services.test_inbound_mail import message

    _deliver(mailbox, message("someone@nowhere.example", "Hello", subject="Hi"))
    real = inbound.receive

    def away(*_args: object, **_kwargs: object) -> None:
        raise OSError("the database is away")

    monkeypatch.setattr(inbound, "receive", away)
    polled = mail_in.poll_mailbox(app)
    assert (polled.stored, polled.failed) == (0, 1) and _unseen(mailbox) == 1
    monkeypatch.setattr(inbound, "receive", real)
    result = app.test_cli_runner().invoke(args=["mail-poll"])
    assert result.exit_code == 0 and "1 stored" in result.output, result.output
    assert _unseen(mailbox) == 0
    db.session.expire_all()
    assert [m.outcome for m in db.session.scalars(select(InboundMail))] == ["unmatched"]


# --- real clients' messages (tests/mail/*.eml: each as its client builds it) -------------------------------

MAIL = Path(__file__).parent / "mail"
# sample -> what joins its request: the reply, without the history the client quoted under it
REPLIES = {
    "outlook.eml": "好的，明天上午九点可以到现场。",
    "foxmail.eml": "已经按您说的重启了，现在正常。",
    "gmail.eml": "收到，我们这边确认一下备件型号后回复您。",
    "apple_mail.eml": "可以，周五下午安排培训。",
}


def _sample(name: str, reply_to: str = "") -> bytes:
    return (MAIL / name).read_bytes().replace(b"{REPLY_TO}", reply_to.encode())


@pytest.mark.parametrize("name", sorted(REPLIES))
def test_a_real_clients_reply_delivered_to_the_listener_joins_its_request(listener, name):
    kind, port = listener
    customer = make_user("customer", email="lin@tianyi.example")
    request = make_request(customer)
    address = threads.reply_address(threads.Thread(request.id, customer.id))
    with _client(kind, port) as client:
        assert client.sendmail(customer.email, [address], _sample(name, address)) == {}
    db.session.expire_all()
    (stored,) = db.session.scalars(select(InboundMail)).all()
    assert (stored.outcome, stored.request_id) == ("reply", request.id), stored.reason
    (body,) = db.session.scalars(
        select(TimelineEvent.body).where(
            TimelineEvent.request_id == request.id, TimelineEvent.kind == "public_reply"
        )
    ).all()
    assert body.startswith(REPLIES[name]), body
    assert "service@portal.example" not in body and "原始邮件" not in body and "Original Message" not in body


def test_a_foxmail_forward_delivered_to_the_listener_is_a_new_request_with_all_it_carries(listener):
    from portal.models import ServiceRequest
    from portal.services.reference_data import ensure_reference_data

    kind, port = listener
    ensure_reference_data()
    customer = make_user("customer", email="lin@tianyi.example")
    db.session.commit()
    with _client(kind, port) as client:
        client.sendmail(customer.email, ["service@portal.example"], _sample("foxmail_forward.eml"))
    db.session.expire_all()
    (stored,) = db.session.scalars(select(InboundMail)).all()
    assert stored.outcome == "filed", stored.reason
    filed = db.session.get(ServiceRequest, stored.request_id)
    assert filed.title == "分行终端无法打印" and filed.requester_id == customer.id
    assert "0x0000011b" in filed.description and "赵敏" in filed.description  # a forward keeps its history

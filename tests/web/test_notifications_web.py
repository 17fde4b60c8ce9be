"""The bell, the notification list, opening and marking read, and choosing channels in the profile."""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.extensions import db
from portal.models import Notification, NotificationPreference
from portal.services.messaging import notifications
from portal.services.reference_data import ensure_reference_data
from tests.factories import make_request, make_user


def _notice(user, request=None, kind="staff_reply", **data) -> Notification:
    notice = Notification(
        user_id=user.id,
        kind=kind,
        request_id=request.id if request else None,
        data={"ref": request.reference if request else "", "title": request.title if request else "", **data},
    )
    db.session.add(notice)
    db.session.commit()
    return notice


def test_the_bell_shows_the_unread_count_on_every_page_and_as_a_polled_fragment(client, login_as):
    me = login_as("customer")
    request = make_request(me)  # its acknowledgement is one unread notice
    _notice(me, request, actor="Agent Wang")
    page = client.get("/my/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert re.search(r'id="bell"[^>]*hx-get="/notifications/bell"', page)
    assert 'aria-label="Notifications: 2 unread"' in page and '<span class="bell-count">2</span>' in page
    fragment = client.htmx_get("/notifications/bell").get_data(as_text=True)
    assert fragment.lstrip().startswith("<a") and "<html" not in fragment and 'bell-count">2<' in fragment


def test_the_list_in_both_languages_opening_marks_read_and_follows_the_link(client, login_as):
    me = login_as("customer")
    request = make_request(me, title="Printer on fire")
    notice = _notice(me, request, actor="Agent Wang")
    page = client.get("/notifications/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"Agent Wang replied on {request.reference} “Printer on fire”." in page
    page_zh = client.get("/notifications/", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert f"Agent Wang 回复了 {request.reference}“Printer on fire”。" in page_zh
    response = client.get(f"/notifications/{notice.id}")
    assert response.status_code == 303 and response.headers["Location"] == f"/my/requests/{request.id}"
    db.session.expire_all()
    assert db.session.get(Notification, notice.id).read_at is not None
    assert notifications.unread_count(me) == 1  # the acknowledgement is still unread
    client.post_form("/notifications/read-all", token_from="/notifications/")
    assert notifications.unread_count(me) == 0


def test_the_list_fragment_for_older_pages(client, login_as):
    me = login_as("agent", departments=["after_sales"])
    for _ in range(notifications.PAGE_SIZE + 5):
        _notice(me, kind="return_visit_due", account="Huaxin", due_on="2026-11-01")
    page = client.get("/notifications/").get_data(as_text=True)
    older = re.search(r'href="(/notifications/\?before=\d+)"', page).group(1)
    fragment = client.htmx_get(older).get_data(as_text=True)
    assert "<html" not in fragment and fragment.count("<li") == 5


def test_someone_elses_notification_answers_404_and_stays_unread(client, login_as):
    other = make_user("customer")
    theirs = _notice(other, make_request(other))
    login_as("customer")
    assert client.get(f"/notifications/{theirs.id}").status_code == 404
    db.session.expire_all()
    assert db.session.get(Notification, theirs.id).read_at is None
    assert "Batch job fails" not in client.get("/notifications/").get_data(as_text=True)


def test_choosing_channels_in_the_profile(client, login_as):
    ensure_reference_data()
    me = login_as("customer")
    page = client.get("/profile", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'name="channel-staff_reply"' in page and 'name="channel-new_request"' not in page
    token = client.csrf_token("/profile")
    response = client.post(
        "/profile/notifications",
        data={
            "csrf_token": token,
            "channel-staff_reply": "email",
            "channel-new_request": "none",
            "channel-waiting_for_you": "loud",
        },
    )
    assert response.status_code == 303
    chosen = dict(
        db.session.execute(
            select(NotificationPreference.kind, NotificationPreference.channel).where(
                NotificationPreference.user_id == me.id
            )
        ).all()
    )
    assert (
        chosen.get("staff_reply") == "email"
        and "new_request" not in chosen
        and "waiting_for_you" not in chosen
    )
    page = client.get("/profile").get_data(as_text=True)
    assert re.search(r'<option value="email" selected>', page)


def test_signed_out_visitors_get_no_bell(client):
    assert 'id="bell"' not in client.get("/login").get_data(as_text=True)
    assert client.get("/notifications/bell").status_code in (302, 401)

"""Security matrices: CSRF on every POST, headers on every response, error pages for people and htmx."""

from __future__ import annotations

import logging
import re
import time

import pytest
from flask import Flask
from flask import request as flask_request

from portal import create_app, security
from tests.conftest import PortalClient, app_config
from tests.factories import make_user


def _post_endpoints(app: Flask) -> list[str]:
    return sorted(
        re.sub(r"<[^>]+>", "1", rule.rule)
        for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or ())
    )


def test_every_post_endpoint_is_listed(app):
    # Guards the matrix below: a new POST route must show up in it.
    assert {"/login", "/logout", "/language"} <= set(_post_endpoints(app))


@pytest.mark.parametrize("signed_in", [False, True])
def test_every_post_without_csrf_answers_400(app, client, login_as, signed_in):
    if signed_in:
        login_as("admin")
    for path in _post_endpoints(app):
        response = client.post(path, data={"email": "a@example.com", "password": "x", "language": "en"})
        assert response.status_code == 400, path
        assert "表单已过期" in response.get_data(as_text=True), path
        htmx = client.post(path, headers={"HX-Request": "true"})
        assert htmx.status_code == 400 and htmx.headers["HX-Retarget"] == "#messages", path


def test_a_forged_token_answers_400(client):
    response = client.post("/login", data={"csrf_token": "forged", "email": "a@example.com", "password": "x"})
    assert response.status_code == 400


def test_htmx_sends_the_token_in_a_header(client):
    make_user("agent", email="hx@example.com", departments=["sales"])
    token = client.csrf_token()
    response = client.post(
        "/login",
        data={"email": "hx@example.com", "password": "test-Password-1"},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert response.status_code == 303


@pytest.mark.parametrize("path", ["/login", "/my/", "/staff/", "/nowhere", "/static/css/portal.css"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_no_inline_script_or_style_in_pages(client, login_as):
    for page in (client.get("/login"),):
        html = page.get_data(as_text=True)
        assert "<script>" not in html and " style=" not in html and "onclick" not in html


def test_session_cookie_flags_over_http_and_https(app):
    make_user("agent", email="c@example.com", departments=["sales"])
    for base, secure in (("http://localhost", False), ("https://localhost", True)):
        client = app.test_client()
        client.__class__ = PortalClient
        token = client.csrf_token()
        response = client.post(
            "/login",
            base_url=base,
            data={"csrf_token": token, "email": "c@example.com", "password": "test-Password-1"},
        )
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert ("Secure" in cookie) is secure


def _opened(app: Flask, cookie: str) -> dict:
    with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}):
        return app.session_interface.open_session(app, flask_request)


def test_a_cookie_seen_before_is_still_judged_by_its_signature_and_age(app, monkeypatch):
    serializer = app.session_interface.get_signing_serializer(app)
    cookie = serializer.dumps({"_user_id": "7", "_flashes": [["info", "saved"]]})
    assert dict(_opened(app, cookie)) == {"_user_id": "7", "_flashes": [["info", "saved"]]}
    # A copy with one character changed is refused, though the genuine cookie was just verified.
    forged = cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]
    assert dict(_opened(app, forged)) == {}
    # Each request gets values of its own: what one changes in place is not what the next one reads.
    _opened(app, cookie)["_flashes"].append(["info", "again"])
    assert _opened(app, cookie)["_flashes"] == [["info", "saved"]]
    # Past the session's lifetime the kept verification does not make the cookie good.
    lifetime = app.permanent_session_lifetime.total_seconds()
    later = time.time() + lifetime + 5
    monkeypatch.setattr(security.time, "time", lambda: later)
    assert dict(_opened(app, cookie)) == {}
    # Nor does a key taken out of use.
    monkeypatch.undo()
    app.secret_key = "another-secret"
    assert dict(_opened(app, cookie)) == {}


@pytest.mark.parametrize("language, text", [("zh", "未找到"), ("en", "Not found")])
def test_404_page_in_both_languages(client, language, text):
    response = client.get("/nowhere", headers={"Accept-Language": language})
    assert response.status_code == 404 and text in response.get_data(as_text=True)


def test_errors_answer_htmx_with_a_fragment_for_the_message_area(client):
    response = client.htmx_get("/nowhere")
    body = response.get_data(as_text=True)
    assert response.status_code == 404 and "<html" not in body and 'role="alert"' in body
    assert response.headers["HX-Retarget"] == "#messages"


def test_a_customer_on_a_staff_page_is_told_403(client, login_as):
    login_as("customer")
    response = client.get("/staff/", headers={"Accept-Language": "en"})
    assert response.status_code == 403 and "Not allowed" in response.get_data(as_text=True)


def test_an_expired_session_during_htmx_redirects_the_browser(client):
    response = client.htmx_get("/staff/")
    assert response.status_code == 401 and response.headers["HX-Redirect"] == "/login"


def test_a_too_large_upload_answers_413(client, app):
    response = client.post(
        "/login",
        data=b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 413 and "上传的文件超出" in response.get_data(as_text=True)


def test_an_unexpected_error_answers_a_500_page_and_saves_nothing(database_url, tmp_path, caplog):
    broken = create_app(app_config(database_url, tmp_path, TESTING=False))

    @broken.get("/boom")
    def boom():
        raise RuntimeError("kaput")

    with caplog.at_level(logging.ERROR):
        response = broken.test_client().get("/boom", headers={"Accept-Language": "en"})
    assert response.status_code == 500 and "Nothing was saved" in response.get_data(as_text=True)
    assert "kaput" not in response.get_data(as_text=True)
    traces = [r for r in caplog.records if r.exc_info and "kaput" in str(r.exc_info[1])]
    assert len(traces) == 1, [r.getMessage() for r in traces]  # one trace per error, not two

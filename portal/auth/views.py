"""Signing in and out, forgotten passwords, the language switch, the profile (with notification choices)
and accepting an invitation. One login page for every role."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from portal import metrics
from portal.access import home_url
from portal.auth.forms import (
    ForgotPasswordForm,
    InvitationForm,
    LanguageForm,
    PasswordForm,
    ProfileForm,
    ResetPasswordForm,
    SignInForm,
)
from portal.i18n import current_language
from portal.rate_limits import limited
from portal.rendering import render
from portal.services.errors import InvalidInput, SignInRefused
from portal.services.identity import account_users, auth
from portal.services.messaging import notifications
from portal.web import safe_next, show_errors

bp = Blueprint("auth", __name__)


def _throttle_policy() -> auth.ThrottlePolicy:
    config = current_app.config
    return auth.ThrottlePolicy(
        max_failures=int(config["LOGIN_MAX_FAILURES"]),
        window=timedelta(minutes=float(config["LOGIN_FAILURE_WINDOW_MINUTES"])),
        lockout=timedelta(minutes=float(config["LOCKOUT_MINUTES"])),
    )


@bp.get("/")
def index() -> Response:
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    return redirect(url_for("auth.login"))


@bp.get("/login")
def login() -> Response:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or home_url(current_user))
    form = SignInForm(next=safe_next(request.args.get("next")) or "")
    return render("auth/login.html", form=form)


@bp.post("/login")
@limited(lambda: current_app.config["LOGIN_RATE_LIMIT"])
def login_submit() -> Response:
    form = SignInForm()
    if not form.validate_on_submit():
        return render("auth/login.html", form=form, status=422)
    try:
        user, login_session = auth.sign_in(
            form.email.data or "",
            form.password.data or "",
            ip_address=request.remote_addr or "",
            user_agent=request.user_agent.string,
            policy=_throttle_policy(),
        )
    except SignInRefused as refused:
        metrics.sign_in_refused(refused.locked)
        message = (
            _("Too many failed sign-ins. This address is locked for a few minutes; try again later.")
            if refused.locked
            else _("The email or password is not correct, or the account is locked.")
        )
        return render("auth/login.html", form=form, error=message, status=422)

    # A fresh session on every sign-in: nothing a visitor held before carries over (session fixation).
    chosen_language = session.get("locale")
    session.clear()
    session["sid"] = login_session.id
    if chosen_language and chosen_language != user.locale:
        auth.set_locale(user, chosen_language)  # chosen on the login page: an explicit wish, remembered
    session.permanent = True
    login_user(user)
    return redirect(safe_next(form.next.data) or home_url(user), code=303)


@bp.post("/logout")
def logout() -> Response:
    auth.sign_out(
        session.get("sid"),
        user=current_user if current_user.is_authenticated else None,
        ip_address=request.remote_addr or "",
    )
    language = session.get("locale")
    logout_user()
    session.clear()
    if language:
        session["locale"] = language
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.post("/language")
def set_language() -> Response:
    form = LanguageForm()
    if form.validate_on_submit():
        language = form.language.data or current_app.config["DEFAULT_LOCALE"]
        session["locale"] = language
        if current_user.is_authenticated:
            auth.set_locale(current_user, language)
    target = safe_next(form.next.data) or (
        home_url(current_user) if current_user.is_authenticated else url_for("auth.login")
    )
    return redirect(target, code=303)


@bp.get("/profile")
@login_required
def profile() -> Response:
    form = ProfileForm(
        full_name=current_user.full_name,
        language=current_user.locale or current_language(),
        timezone=current_user.timezone,
    )
    return _profile_page(form, PasswordForm())


def _profile_page(form: ProfileForm, password_form: PasswordForm, status: int = 200) -> Response:
    return render(
        "auth/profile.html",
        form=form,
        password_form=password_form,
        preferences=notifications.preferences(current_user),
        kinds=notifications.KINDS,
        status=status,
    )


@bp.post("/profile")
@login_required
def save_profile() -> Response:
    form = ProfileForm()
    if form.validate_on_submit():
        try:
            auth.update_profile(
                current_user,
                full_name=form.full_name.data or "",
                locale=form.language.data,
                timezone=form.timezone.data or "",
            )
            session["locale"] = form.language.data
            flash(_("Your profile is saved."), "info")
            return redirect(url_for("auth.profile"), code=303)
        except InvalidInput as error:
            show_errors(form, error.errors, fallback="full_name")
    return _profile_page(form, PasswordForm(formdata=None), status=422)


@bp.post("/profile/password")
@login_required
def change_password() -> Response:
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            auth.change_password(
                current_user,
                form.old_password.data or "",
                form.new_password.data or "",
                keep_session=session.get("sid"),
                ip_address=request.remote_addr or "",
            )
            flash(_("Your password is changed; your other sessions are signed out."), "info")
            return redirect(url_for("auth.profile"), code=303)
        except InvalidInput as error:
            show_errors(form, error.errors, fallback="new_password")
    profile_form = ProfileForm(
        full_name=current_user.full_name,
        language=current_user.locale or current_language(),
        timezone=current_user.timezone,
    )
    return _profile_page(profile_form, form, status=422)


@bp.post("/profile/notifications")
@login_required
def save_notification_choices() -> Response:
    if FlaskForm().validate_on_submit():
        notifications.set_preferences(
            current_user, {kind: request.form.get(f"channel-{kind}", "") for kind in notifications.KINDS}
        )
        flash(_("Your notification choices are saved."), "info")
    return redirect(url_for("auth.profile", _anchor="notifications"), code=303)


# --- forgotten passwords ---------------------------------------------------------------------------------


@bp.get("/password/forgot")
def forgot_password() -> Response:
    return render("auth/forgot.html", form=ForgotPasswordForm())


@bp.post("/password/forgot")
@limited("5 per minute")
def send_reset_link() -> Response:
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return render("auth/forgot.html", form=form, status=422)
    auth.request_password_reset(form.email.data or "", ip_address=request.remote_addr or "")
    # The same answer whether or not the address belongs to someone.
    flash(
        _(
            "If %(email)s belongs to an account, a link to reset the password is on its way.",
            email=form.email.data,
        ),
        "info",
    )
    return redirect(url_for("auth.login"), code=303)


@bp.get("/password/reset/<token>")
def reset_password_form(token: str) -> Response:
    try:
        user = auth.user_for_reset(token)
    except InvalidInput as error:
        return render("auth/reset.html", error=str(error), form=None, status=410)
    return render("auth/reset.html", user=user, form=ResetPasswordForm(), token=token)


@bp.post("/password/reset/<token>")
def reset_password(token: str) -> Response:
    form = ResetPasswordForm()
    try:
        user = auth.user_for_reset(token)
    except InvalidInput as error:
        return render("auth/reset.html", error=str(error), form=None, status=410)
    if form.validate_on_submit():
        try:
            auth.reset_password(token, form.password.data or "", ip_address=request.remote_addr or "")
            flash(_("Your new password is set. Please sign in."), "info")
            return redirect(url_for("auth.login"), code=303)
        except InvalidInput as error:
            form.password.errors = [str(error)]
    return render("auth/reset.html", user=user, form=form, token=token, status=422)


@bp.get("/invitation/<token>")
def accept_invitation_form(token: str) -> Response:
    try:
        user = account_users.user_for_invitation(token)
    except InvalidInput as error:
        return render("auth/invitation.html", error=str(error), form=None, status=410)
    return render("auth/invitation.html", user=user, form=InvitationForm(), token=token)


@bp.post("/invitation/<token>")
def accept_invitation(token: str) -> Response:
    form = InvitationForm()
    try:
        user = account_users.user_for_invitation(token)
    except InvalidInput as error:
        return render("auth/invitation.html", error=str(error), form=None, status=410)
    if form.validate_on_submit():
        try:
            account_users.accept_invitation(token, form.password.data or "")
            flash(_("Your password is set. Please sign in."), "info")
            return redirect(url_for("auth.login"), code=303)
        except InvalidInput as error:
            form.password.errors = [str(error)]
    return render("auth/invitation.html", user=user, form=form, token=token, status=422)

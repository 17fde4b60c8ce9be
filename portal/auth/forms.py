from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length

from portal.web import options


class SignInForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[
            DataRequired(_l("Enter your email address.")),
            Email(_l("Enter a valid email address.")),
            Length(max=254),
        ],
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=200)]
    )
    next = HiddenField()


class LanguageForm(FlaskForm):
    language = SelectField(_l("Language"), choices=options([("zh", "简体中文"), ("en", "English")]))
    next = HiddenField()


TIME_ZONES = [
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "UTC",
]


class ProfileForm(FlaskForm):
    full_name = StringField(_l("Name"), validators=[DataRequired(_l("Give your name.")), Length(max=120)])
    language = SelectField(_l("Language"), choices=options([("zh", "简体中文"), ("en", "English")]))
    timezone = SelectField(_l("Time zone"), choices=TIME_ZONES, validate_choice=False)


class PasswordForm(FlaskForm):
    old_password = PasswordField(
        _l("Current password"), validators=[DataRequired(_l("Enter your password."))]
    )
    new_password = PasswordField(
        _l("New password"), validators=[DataRequired(_l("Enter your password.")), Length(max=200)]
    )


class InvitationForm(FlaskForm):
    password = PasswordField(
        _l("New password"), validators=[DataRequired(_l("Enter your password.")), Length(max=200)]
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[
            DataRequired(_l("Enter your email address.")),
            Email(_l("Enter a valid email address.")),
            Length(max=254),
        ],
    )


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"), validators=[DataRequired(_l("Enter your password.")), Length(max=200)]
    )

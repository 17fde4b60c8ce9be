from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.validators import Optional

from portal.web import id_field, options, period_field


class SummaryForm(FlaskForm):
    """Which summary to download; read from the query string (a download changes nothing)."""

    class Meta:
        csrf = False

    account = id_field(_l("Account"))
    period = period_field()
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
    language = SelectField(
        _l("Language"),
        choices=options([("", _l("The account's language")), ("zh", "简体中文"), ("en", "English")]),
        validate_choice=False,
    )

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange, Optional

from portal.models.accounts import INDUSTRIES, SIZES, TIERS
from portal.web import choices, id_field, period_field

PERIODS = (
    "this_month",
    "last_month",
    "this_quarter",
    "last_quarter",
    "this_year",
    "last_12_months",
    "custom",
)


class KpiFilterForm(FlaskForm):
    """Read from the query string: looking changes nothing, so no CSRF token."""

    class Meta:
        csrf = False

    period = period_field()
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
    department = id_field(_l("Department"))
    industry = SelectField(
        _l("Industry"), choices=choices("industry", INDUSTRIES, _l("All")), validate_choice=False
    )
    size = SelectField(_l("Size"), choices=choices("size", SIZES, _l("All")), validate_choice=False)
    tier = SelectField(_l("Classification"), choices=choices("tier", TIERS, _l("All")), validate_choice=False)
    account = id_field(_l("Account"))


class WeightsForm(FlaskForm):
    satisfaction = IntegerField(
        _l("Customer satisfaction"), validators=[InputRequired(), NumberRange(0, 100)]
    )
    quality = IntegerField(_l("Service quality"), validators=[InputRequired(), NumberRange(0, 100)])
    efficiency = IntegerField(_l("Service efficiency"), validators=[InputRequired(), NumberRange(0, 100)])
    relationship = IntegerField(
        _l("Relationship maintenance"), validators=[InputRequired(), NumberRange(0, 100)]
    )
    value_added = IntegerField(_l("Value-added services"), validators=[InputRequired(), NumberRange(0, 100)])

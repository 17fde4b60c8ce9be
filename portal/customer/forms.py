"""Forms of the customer portal: one new-request form whose extra fields depend on the service."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import DateField, DecimalField, EmailField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from portal.models.requests import CATEGORIES, PRIORITIES, STATUSES
from portal.web import SubmittedOnceForm, choices, id_field, options

# Which extra fields each category asks for (names of the form's fields).
CATEGORY_FIELDS = {
    "pre_sale": ("project_background", "budget_range", "decision_timeline"),
    "on_site": (
        "site_address",
        "site_contact_name",
        "site_contact_phone",
        "preferred_date_from",
        "preferred_date_to",
        "visit_days",
    ),
    "after_sale": ("product", "serial_number", "severity"),
    "value_added": ("topic", "scope", "wanted_by"),
}
SEVERITY_PRIORITY = {"minor": "normal", "major": "high", "critical": "urgent"}


class NewRequestForm(SubmittedOnceForm):
    title = StringField(
        _l("Title"), validators=[DataRequired(_l("Give the request a title.")), Length(max=200)]
    )
    description = TextAreaField(
        _l("Description"), validators=[DataRequired(_l("Describe what you need.")), Length(max=10000)]
    )
    priority = SelectField(
        _l("Priority"), choices=choices("priority", PRIORITIES, None)[1:], default="normal"
    )
    contract = SelectField(_l("Contract"), choices=[], validate_choice=False)
    # pre-sale
    project_background = TextAreaField(_l("Project background"), validators=[Optional(), Length(max=5000)])
    budget_range = StringField(_l("Budget range"), validators=[Optional(), Length(max=100)])
    decision_timeline = StringField(_l("Decision timeline"), validators=[Optional(), Length(max=100)])
    # on-site
    site_address = StringField(_l("Site address"), validators=[Optional(), Length(max=300)])
    site_contact_name = StringField(_l("Contact on site"), validators=[Optional(), Length(max=120)])
    site_contact_phone = StringField(
        _l("Phone of the contact on site"), validators=[Optional(), Length(max=40)]
    )
    preferred_date_from = DateField(_l("Preferred from"), validators=[Optional()])
    preferred_date_to = DateField(_l("Preferred until"), validators=[Optional()])
    visit_days = DecimalField(
        _l("Days on site"), places=1, default=1, validators=[Optional(), NumberRange(min=0.5, max=60)]
    )
    trainees = IntegerField(_l("Number of trainees"), validators=[Optional(), NumberRange(min=1, max=1000)])
    # after-sale
    product = StringField(_l("Product"), validators=[Optional(), Length(max=200)])
    serial_number = StringField(_l("Serial number"), validators=[Optional(), Length(max=100)])
    severity = SelectField(
        _l("Severity"),
        choices=choices("severity", ("minor", "major", "critical"), None)[1:],
        default="minor",
    )
    # value-added
    topic = StringField(_l("Topic"), validators=[Optional(), Length(max=200)])
    scope = TextAreaField(_l("Scope"), validators=[Optional(), Length(max=5000)])
    wanted_by = DateField(_l("Wanted by"), validators=[Optional()])
    files = MultipleFileField(_l("Attachments"))


class ReplyForm(SubmittedOnceForm):
    body = TextAreaField(
        _l("Message"), validators=[DataRequired(_l("Write a message first.")), Length(max=10000)]
    )
    files = MultipleFileField(_l("Attachments"))


__all__ = [
    "CATEGORY_FIELDS",
    "FlaskForm",
    "InviteForm",
    "NewRequestForm",
    "ReplyForm",
    "RequestFilterForm",
    "SEVERITY_PRIORITY",
    "options",
]


class RequestFilterForm(FlaskForm):
    """Read from the query string: filtering changes nothing, so no CSRF token."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    status = SelectField(
        _l("Status"),
        validate_choice=False,
        choices=options(
            [("open", _l("All open"))] + [(c.value, c.label) for c in choices("status", STATUSES, None)[1:]],
            _l("All"),
        ),
    )
    category = SelectField(
        _l("Category"), choices=choices("category", CATEGORIES, _l("All")), validate_choice=False
    )
    contract = id_field(_l("Contract"))
    submitted_from = DateField(_l("Submitted from"), validators=[Optional()])
    submitted_to = DateField(_l("Submitted until"), validators=[Optional()])


class InviteForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[
            DataRequired(_l("Enter your email address.")),
            Email(_l("Enter a valid email address.")),
            Length(max=254),
        ],
    )
    full_name = StringField(_l("Name"), validators=[DataRequired(_l("Give your name.")), Length(max=120)])
    role = SelectField(_l("Role"), choices=choices("role", ("customer", "customer_admin"), None)[1:])


class ReportFilterForm(FlaskForm):
    """The report library's search, read from the query string."""

    class Meta:
        csrf = False

    q = StringField(_l("Search topic or title"), validators=[Optional(), Length(max=100)])
    kind = SelectField(
        _l("Kind"),
        choices=choices("subtype", ("custom_report", "industry_news", "market_analysis"), _l("All")),
        validate_choice=False,
    )
    published_from = DateField(_l("Published from"), validators=[Optional()])
    published_to = DateField(_l("Published until"), validators=[Optional()])


class ProposalAnswerForm(FlaskForm):
    """The reviewer's answer: which button was pressed (``answer``), a comment, and — from an emailed link,
    where nobody is signed in — the reviewer's name."""

    answer = StringField(validators=[Length(max=20)])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=5000)])
    name = StringField(_l("Your name"), validators=[Length(max=120)])

"""Forms of the admin screens."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from portal.labels import LazyLabel
from portal.models.accounts import INDUSTRIES, INTERNAL_ROLES, SIZES, TIERS
from portal.models.contracts import ENTITLEMENT_KINDS
from portal.models.requests import CATEGORIES, PRIORITIES, SUBTYPES
from portal.web import ALL_SUBTYPES, choices, id_field, optional_id, options


class RuleForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Give the rule a name.")), Length(max=200)])
    category = SelectField(
        _l("Category"), choices=choices("category", CATEGORIES, _l("Any")), validate_choice=False
    )
    subtype = SelectField(
        _l("Service"), choices=choices("subtype", ALL_SUBTYPES, _l("Any")), validate_choice=False
    )
    tier = SelectField(_l("Classification"), choices=choices("tier", TIERS, _l("Any")), validate_choice=False)
    industry = SelectField(
        _l("Industry"), choices=choices("industry", INDUSTRIES, _l("Any")), validate_choice=False
    )
    priority = SelectField(
        _l("Priority"), choices=choices("priority", PRIORITIES, _l("Any")), validate_choice=False
    )
    department = SelectField(
        _l("Send to department"),
        choices=[],
        validate_choice=False,
        validators=[DataRequired(_l("Choose a department."))],
    )
    default_assignee = SelectField(_l("Default assignee"), choices=[], validate_choice=False)
    active = BooleanField(_l("Active"), default=True)


class MailIntakeForm(FlaskForm):
    """Whether a known contact's new mail to the service address becomes a request, and which service and
    priority it is filed under (the routing rules then choose its department)."""

    accepts_new_requests = BooleanField(_l("New mail from a known contact becomes a request"))
    service = SelectField(
        _l("File it under"),
        choices=[
            SelectChoice(f"{category}/{subtype}", LazyLabel("subtype", subtype), optgroup=group)  # type: ignore[arg-type]
            for category, group in ((c, LazyLabel("category", c)) for c in CATEGORIES)
            for subtype in SUBTYPES[category]
        ],
        validate_choice=False,
    )
    priority = SelectField(
        _l("Priority"), choices=choices("priority", PRIORITIES, "–")[1:], validate_choice=False
    )


class SampleForm(FlaskForm):
    """A sample request for the preview: only read, so no CSRF token."""

    class Meta:
        csrf = False

    sample_category = SelectField(
        _l("Category"), choices=choices("category", CATEGORIES, "–"), validate_choice=False
    )
    sample_subtype = SelectField(
        _l("Service"), choices=choices("subtype", ALL_SUBTYPES, "–"), validate_choice=False
    )
    sample_tier = SelectField(
        _l("Classification"), choices=choices("tier", TIERS, "–"), validate_choice=False
    )
    sample_industry = SelectField(
        _l("Industry"), choices=choices("industry", INDUSTRIES, "–"), validate_choice=False
    )
    sample_priority = SelectField(
        _l("Priority"), choices=choices("priority", PRIORITIES, "–"), validate_choice=False
    )


class CalendarForm(FlaskForm):
    workday_start = TimeField(_l("Working day starts"), validators=[DataRequired()])
    workday_end = TimeField(_l("Working day ends"), validators=[DataRequired()])
    weekdays = SelectMultipleField(
        _l("Working weekdays"),
        choices=options(
            [
                ("1", _l("Monday")),
                ("2", _l("Tuesday")),
                ("3", _l("Wednesday")),
                ("4", _l("Thursday")),
                ("5", _l("Friday")),
                ("6", _l("Saturday")),
                ("7", _l("Sunday")),
            ]
        ),
    )
    use_public_holidays = BooleanField(_l("Chinese public holidays and make-up working days"))


class ExceptionForm(FlaskForm):
    day = DateField(_l("Day"), validators=[DataRequired(_l("Choose the day."))])
    kind = SelectField(
        _l("This day is"), choices=options([("off", _l("a day off")), ("on", _l("a working day"))])
    )
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=200)])


class ConfirmForm(FlaskForm):
    """Only the CSRF token: for buttons that act without input."""


class CadenceForm(FlaskForm):
    strategic = IntegerField(
        _l("Strategic partners: every … months"), validators=[InputRequired(), NumberRange(1, 24)]
    )
    key = IntegerField(_l("Key accounts: every … months"), validators=[InputRequired(), NumberRange(1, 24)])
    ordinary = IntegerField(
        _l("Ordinary accounts: every … months"), validators=[InputRequired(), NumberRange(1, 24)]
    )


SURVEY_KIND_CHOICES = options(
    [("csat", _l("After a request (CSAT)")), ("relationship", _l("Relationship (quarterly)"))]
)
QUESTION_KIND_CHOICES = options(
    [
        ("rating", _l("Rating 1–5")),
        ("nps", _l("Likelihood to recommend 0–10")),
        ("yes_no", _l("Yes or no")),
        ("text", _l("Free text")),
    ]
)


class NewTemplateForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=SURVEY_KIND_CHOICES)
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name_zh = StringField(_l("Name (Chinese)"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=200)])


class QuestionForm(FlaskForm):
    kind = SelectField(_l("Kind of question"), choices=QUESTION_KIND_CHOICES)
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    text_zh = StringField(_l("Question (Chinese)"), validators=[DataRequired(), Length(max=300)])
    text_en = StringField(_l("Question (English)"), validators=[DataRequired(), Length(max=300)])
    required = BooleanField(_l("An answer is required"), default=True)


class AuditFilterForm(FlaskForm):
    """The audit log's filters, from the query string."""

    class Meta:
        csrf = False

    person = StringField(_l("Person"), validators=[Optional(), Length(max=100)])
    action = SelectField(_l("Action"), choices=[], validate_choice=False)
    object_type = SelectField(_l("Object"), choices=[], validate_choice=False)
    object_id = StringField(_l("Object number"), validators=[Optional(), Length(max=40)])
    since = DateField(_l("First day"), validators=[Optional()])
    until = DateField(_l("Last day"), validators=[Optional()])


# --- the back office: accounts, their people, staff, departments ------------------------------------------


# Required fields below are the services' to check (the templates mark them): then a person is told every
# problem at once, the form's and the service's, not the form's first and the rest on the next try.


class AccountForm(FlaskForm):
    """An account's record; the service checks codes, names and domains against the others."""

    code = StringField(_l("Code"), validators=[Length(max=20)])
    name = StringField(_l("Name (Chinese)"), validators=[Length(max=200)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=200)])
    industry = SelectField(
        _l("Industry"), choices=choices("industry", INDUSTRIES, "–"), validate_choice=False
    )
    size = SelectField(_l("Size"), choices=choices("size", SIZES, "–"), validate_choice=False)
    tier = SelectField(_l("Classification"), choices=choices("tier", TIERS, "–"), validate_choice=False)
    preferred_language = SelectField(
        _l("Language"), choices=options([("zh", "中文"), ("en", "English")]), default="zh"
    )
    account_manager_id = id_field(_l("Account manager"))
    email_domains = StringField(_l("Email domains"), validators=[Optional(), Length(max=500)])


class AccountFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Code or name"), validators=[Optional(), Length(max=100)])
    tier = SelectField(_l("Classification"), choices=choices("tier", TIERS, _l("All")), validate_choice=False)
    industry = SelectField(
        _l("Industry"), choices=choices("industry", INDUSTRIES, _l("All")), validate_choice=False
    )
    state = SelectField(
        _l("State"),
        choices=options([("active", _l("Active")), ("inactive", _l("Switched off"))], _l("All")),
        validate_choice=False,
    )


CUSTOMER_ROLE_CHOICES = choices("role", ("customer_admin", "customer"), "–")[1:]
STAFF_ROLE_CHOICES = choices("role", INTERNAL_ROLES, "–")[1:]


class AccountUserForm(FlaskForm):
    full_name = StringField(_l("Name"), validators=[Length(max=120)])
    email = StringField(_l("Email"), validators=[Length(max=254)])
    role = SelectField(_l("Role"), choices=CUSTOMER_ROLE_CHOICES, default="customer_admin")


class StaffForm(FlaskForm):
    full_name = StringField(_l("Name"), validators=[Length(max=120)])
    role = SelectField(_l("Role"), choices=STAFF_ROLE_CHOICES, default="agent")
    # An id beyond what the database holds is None (``optional_id``): the service says "from the list".
    department_ids = SelectMultipleField(
        _l("Departments"), choices=[], coerce=optional_id, validate_choice=False
    )
    locale = SelectField(
        _l("Language"),
        choices=options([("zh", "中文"), ("en", "English")], _l("The browser's")),
        validate_choice=False,
    )


class NewStaffForm(StaffForm):
    email = StringField(_l("Email"), validators=[Length(max=254)])


class StaffFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Name or email"), validators=[Optional(), Length(max=100)])
    role = SelectField(_l("Role"), choices=choices("role", INTERNAL_ROLES, _l("All")), validate_choice=False)
    department = id_field(_l("Department"))
    state = SelectField(
        _l("State"),
        choices=options([("active", _l("Active")), ("inactive", _l("Deactivated"))], _l("All")),
        validate_choice=False,
    )


class DepartmentForm(FlaskForm):
    name_zh = StringField(_l("Name (Chinese)"), validators=[Length(max=100)])
    name_en = StringField(_l("Name (English)"), validators=[Length(max=100)])


# --- contracts ---------------------------------------------------------------------------------------------


class ContractForm(FlaskForm):
    """A contract's terms; numbers are typed as text and checked by the service with everything else."""

    number = StringField(_l("Contract number"), validators=[Length(max=40)])
    title = StringField(_l("Title"), validators=[Length(max=200)])
    start_date = DateField(_l("First day"), validators=[Optional()])
    end_date = DateField(_l("Last day"), validators=[Optional()])
    amount = StringField(_l("Amount"), validators=[Length(max=20)])
    currency = StringField(_l("Currency"), default="CNY", validators=[Length(max=3)])
    entitlement_on_site_days = StringField(_l("On-site days"), validators=[Length(max=12)])
    entitlement_support_hours = StringField(_l("Support hours"), validators=[Length(max=12)])
    entitlement_custom_reports = StringField(_l("Custom reports"), validators=[Length(max=12)])
    entitlement_training_sessions = StringField(_l("Training sessions"), validators=[Length(max=12)])
    per_year = SelectMultipleField(
        _l("Counted afresh each contract year"),
        choices=choices("entitlement", ENTITLEMENT_KINDS, "–")[1:],
        validate_choice=False,
    )


class SignedCopyForm(FlaskForm):
    file = FileField(_l("Signed copy (PDF)"))


class TerminateForm(FlaskForm):
    on = DateField(_l("Last day of the contract"), validators=[Optional()])
    reason = TextAreaField(_l("Why it ends early"), validators=[Length(max=500)])


class ImportForm(FlaskForm):
    files = MultipleFileField(_l("Workbook (.xlsx) or CSV files"))
    invite = BooleanField(_l("Send each new contact an invitation by email"))

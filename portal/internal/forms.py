"""Forms of the staff screens, one per use case."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from portal.models.accounts import INDUSTRIES, SIZES, TIERS
from portal.models.contracts import ENTITLEMENT_KINDS
from portal.models.pipeline import PROSPECT_SOURCES
from portal.models.relations import CONTACT_KINDS
from portal.models.requests import CATEGORIES, PRIORITIES, STATUSES, SUBTYPES
from portal.services.requests.queues import QUEUES
from portal.web import ALL_SUBTYPES, QuickSelect, SubmittedOnceForm, choices, id_field, options


def _vocabulary(label: object, kind: str, codes: tuple[str, ...] | list[str]) -> SelectField:
    """A filter over one vocabulary's codes, "All" first; any other value means no filter."""
    return SelectField(
        label, choices=choices(kind, codes, _l("All")), validate_choice=False, widget=QuickSelect()
    )


class QueueFilterForm(FlaskForm):
    """Read from the query string: filtering changes nothing, so it needs no CSRF token."""

    class Meta:
        csrf = False

    queue = SelectField(
        _l("Queue"),
        choices=[SelectChoice(q, q) for q in QUEUES],
        default="all_open",
        validate_choice=False,
        widget=QuickSelect(),
    )
    q = SearchField(_l("Search"), validators=[Optional(), Length(max=100)])
    category = _vocabulary(_l("Category"), "category", CATEGORIES)
    subtype = _vocabulary(_l("Service"), "subtype", ALL_SUBTYPES)
    tier = _vocabulary(_l("Classification"), "tier", TIERS)
    industry = _vocabulary(_l("Industry"), "industry", INDUSTRIES)
    priority = _vocabulary(_l("Priority"), "priority", PRIORITIES)
    status = _vocabulary(_l("Status"), "status", STATUSES)
    # A name typed (suggestions load when the field is first used), not a select of every account.
    account = SearchField(_l("Account"), validators=[Optional(), Length(max=100)])
    assignee = id_field(_l("Assignee"))
    sort = SelectField(
        _l("Sort by"),
        choices=options(
            [
                ("oldest", _l("Oldest first")),
                ("newest", _l("Newest first")),
                ("due", _l("Due soonest")),
                ("priority", _l("Priority")),
            ]
        ),
        default="oldest",
        validate_choice=False,
        widget=QuickSelect(),
    )

    def cleaned(self, name: str, allowed: tuple[str, ...] | list[str]) -> str | None:
        value = getattr(self, name).data
        return value if value in allowed else None


class VersionedForm(FlaskForm):
    version = HiddenField(validators=[InputRequired()])

    def seen_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


class StatusForm(VersionedForm):
    action = HiddenField(validators=[DataRequired()])
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=1000)])


class ReplyForm(VersionedForm, SubmittedOnceForm):
    body = TextAreaField(
        _l("Message"), validators=[DataRequired(_l("Write a message first.")), Length(max=10000)]
    )
    internal = BooleanField(_l("Internal note (never shown to the customer)"))


class AssignForm(VersionedForm):
    assignee = id_field(_l("Assign to"))


class RerouteForm(VersionedForm):
    department = id_field(_l("Department"), validators=[DataRequired(_l("Choose a department."))])
    reason = StringField(
        _l("Reason"),
        validators=[DataRequired(_l("Say why the request goes to another department.")), Length(max=500)],
    )


class VisitForm(VersionedForm):
    day = DateField(_l("Date"), validators=[DataRequired(_l("Choose a date."))])
    start = TimeField(_l("Time"), validators=[DataRequired(_l("Choose a time."))])
    engineer = id_field(_l("Engineer"), validators=[DataRequired(_l("Choose an engineer."))])
    hours = DecimalField(
        _l("Duration (hours)"),
        places=1,
        validators=[DataRequired(_l("Give the duration.")), NumberRange(min=0.5, max=336)],
    )


class TimeForm(FlaskForm):
    minutes = IntegerField(
        _l("Minutes"), validators=[DataRequired(_l("Give the minutes spent.")), NumberRange(min=1, max=1440)]
    )
    work_date = DateField(_l("Day"), validators=[DataRequired(_l("Choose the day."))])
    billable = BooleanField(_l("Billable"), default=True)
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=500)])


class AttachForm(FlaskForm):
    files = MultipleFileField(_l("Files"), validators=[DataRequired(_l("Choose at least one file."))])
    internal = BooleanField(_l("Internal (never shown to the customer)"))


class PublishReportForm(SubmittedOnceForm):
    title = StringField(
        _l("Report title"), validators=[DataRequired(_l("Give the report a title.")), Length(max=200)]
    )
    summary = TextAreaField(_l("Summary for the customer"), validators=[Optional(), Length(max=5000)])
    file = FileField(_l("Report file"), validators=[DataRequired(_l("Choose the report file."))])


class BulkAssignForm(FlaskForm):
    assignee = id_field(
        _l("Assign selected to"), validators=[DataRequired(_l("Choose someone to assign to."))]
    )
    next = HiddenField()


class ContactForm(SubmittedOnceForm):
    kind = SelectField(
        _l("Kind of contact"),
        choices=choices("contact_kind", CONTACT_KINDS, _l("Choose…")),
        validate_choice=False,
    )
    contacted_on = DateField(_l("Date"), validators=[InputRequired(_l("Give the date."))])
    participants = StringField(_l("Participants"), validators=[Optional(), Length(max=300)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])
    next_planned_on = DateField(_l("Next contact planned"), validators=[Optional()])


class FollowUpDoneForm(FlaskForm):
    note = StringField(_l("What was done"), validators=[Optional(), Length(max=2000)])


# --- prospects ---------------------------------------------------------------------------------------------
# Required fields are the service's to check, so that every problem is told at once.


class ProspectForm(FlaskForm):
    name = StringField(_l("Company"), validators=[Length(max=200)])
    industry = SelectField(
        _l("Industry"), choices=choices("industry", INDUSTRIES, "–"), validate_choice=False
    )
    size = SelectField(_l("Size"), choices=choices("size", SIZES, "–"), validate_choice=False)
    source = SelectField(
        _l("Source"), choices=choices("prospect_source", PROSPECT_SOURCES, "–"), validate_choice=False
    )
    contact_name = StringField(_l("Contact"), validators=[Length(max=120)])
    contact_email = StringField(_l("Contact's email"), validators=[Length(max=254)])
    contact_phone = StringField(_l("Contact's phone"), validators=[Length(max=40)])
    notes = TextAreaField(_l("Notes"), validators=[Length(max=5000)])


class ProspectFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = SearchField(_l("Company or contact"), validators=[Optional(), Length(max=100)])
    source = SelectField(
        _l("Source"), choices=choices("prospect_source", PROSPECT_SOURCES, _l("All")), validate_choice=False
    )
    owner = id_field(_l("Sales owner"))


class QualifyForm(FlaskForm):
    owner_id = id_field(_l("Sales owner"))
    note = TextAreaField(_l("For the owner (optional)"), validators=[Length(max=2000)])


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Why"), validators=[Length(max=500)])


class ProspectStepForm(FlaskForm):
    notes = TextAreaField(_l("What was learnt"), validators=[Length(max=5000)])


class ProspectNoteForm(FlaskForm):
    body = TextAreaField(_l("Note"), validators=[Length(max=5000)])


class PresaleRequestForm(SubmittedOnceForm):
    """Sales asks for pre-sale work on a prospect: the customer's pre-sale fields, filed by staff."""

    subtype = SelectField(
        _l("Service"),
        choices=choices("subtype", SUBTYPES["pre_sale"], None)[1:],
        default="solution_design",
    )
    title = StringField(
        _l("Title"), validators=[DataRequired(_l("Give the request a title.")), Length(max=200)]
    )
    description = TextAreaField(
        _l("Description"), validators=[DataRequired(_l("Describe what you need.")), Length(max=10000)]
    )
    priority = SelectField(
        _l("Priority"), choices=choices("priority", PRIORITIES, None)[1:], default="normal"
    )
    project_background = TextAreaField(_l("Project background"), validators=[Optional(), Length(max=5000)])
    budget_range = StringField(_l("Budget range"), validators=[Optional(), Length(max=100)])
    decision_timeline = StringField(_l("Decision timeline"), validators=[Optional(), Length(max=100)])
    files = MultipleFileField(_l("Attachments"))


class ProposalForm(FlaskForm):
    """A proposal's terms; numbers are typed as text and checked by the service with everything else."""

    title = StringField(_l("Title"), validators=[Length(max=200)])
    language = SelectField(
        _l("Language of the proposal"), choices=options([("zh", "中文"), ("en", "English")]), default="zh"
    )
    tier = SelectField(
        _l("Classification"), choices=choices("tier", TIERS, "–"), default="key", validate_choice=False
    )
    currency = StringField(_l("Currency"), default="CNY", validators=[Length(max=3)])
    discount_percent = StringField(_l("Discount (%)"), default="0", validators=[Length(max=8)])
    valid_until = DateField(_l("Offer holds until"), validators=[Optional()])
    start_date = DateField(_l("Contract's first day"), validators=[Optional()])
    end_date = DateField(_l("Contract's last day"), validators=[Optional()])
    terms = TextAreaField(_l("Terms"), validators=[Length(max=10000)])
    quantity_on_site_days = StringField(_l("On-site days"), validators=[Length(max=12)])
    price_on_site_days = StringField(_l("Price per day"), validators=[Length(max=16)])
    quantity_support_hours = StringField(_l("Support hours"), validators=[Length(max=12)])
    price_support_hours = StringField(_l("Price per hour"), validators=[Length(max=16)])
    quantity_custom_reports = StringField(_l("Custom reports"), validators=[Length(max=12)])
    price_custom_reports = StringField(_l("Price per report"), validators=[Length(max=16)])
    quantity_training_sessions = StringField(_l("Training sessions"), validators=[Length(max=12)])
    price_training_sessions = StringField(_l("Price per session"), validators=[Length(max=16)])
    per_year = SelectMultipleField(
        _l("Counted afresh each contract year"),
        choices=choices("entitlement", ENTITLEMENT_KINDS, "–")[1:],
        validate_choice=False,
    )


class FileMailForm(FlaskForm):
    """File an unmatched message as a request: for whom (the choices, grouped by account, set by the view)."""

    contact = SelectField(
        _l("File it as a request by"), coerce=int, validators=[InputRequired(_l("Choose a contact."))]
    )

"""All models, imported here so that Alembic and the app see one complete metadata."""

from portal.models.accounts import Account, Department, LoginSession, RateLimitCounter, SignInThrottle, User
from portal.models.audit import AuditEvent
from portal.models.base import Base
from portal.models.changes import DataVersion
from portal.models.contracts import Contract, Entitlement
from portal.models.files import FileChunk
from portal.models.kpi import KpiWeight
from portal.models.mail import InboundMail, MailIntake
from portal.models.notifications import Notification, NotificationPreference
from portal.models.pipeline import Proposal, ProposalLine, Prospect, ProspectActivity
from portal.models.relations import ContactLog, FollowUpTask, ReturnVisitCadence
from portal.models.requests import (
    Attachment,
    Deliverable,
    ReferenceCounter,
    ServiceRequest,
    TimeEntry,
    TimelineEvent,
)
from portal.models.routing import BusinessCalendar, CalendarException, RoutingRule, SlaPolicy
from portal.models.search import SearchEntry
from portal.models.statements import ExportJob, Statement
from portal.models.submissions import Submission
from portal.models.surveys import SurveyAnswer, SurveyInvitation, SurveyQuestion, SurveyTemplate

__all__ = [
    "Account",
    "Attachment",
    "AuditEvent",
    "Base",
    "BusinessCalendar",
    "CalendarException",
    "ContactLog",
    "DataVersion",
    "Contract",
    "Deliverable",
    "Department",
    "Entitlement",
    "ExportJob",
    "FileChunk",
    "InboundMail",
    "MailIntake",
    "FollowUpTask",
    "KpiWeight",
    "LoginSession",
    "Proposal",
    "ProposalLine",
    "Prospect",
    "ProspectActivity",
    "Notification",
    "NotificationPreference",
    "ReferenceCounter",
    "ReturnVisitCadence",
    "RoutingRule",
    "SearchEntry",
    "ServiceRequest",
    "RateLimitCounter",
    "SignInThrottle",
    "SlaPolicy",
    "Statement",
    "Submission",
    "SurveyAnswer",
    "SurveyInvitation",
    "SurveyQuestion",
    "SurveyTemplate",
    "TimeEntry",
    "TimelineEvent",
    "User",
]

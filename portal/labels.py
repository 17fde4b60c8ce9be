"""Human names of the domain's codes, in the current language."""

from __future__ import annotations

from flask import has_request_context
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import escape

LABELS = {
    "role": {
        "customer_admin": _l("Account administrator"),
        "customer": _l("Account user"),
        "agent": _l("Agent"),
        "lead": _l("Department lead"),
        "finance": _l("Finance"),
        "manager": _l("Service manager"),
        "admin": _l("System administrator"),
    },
    "tier": {
        "strategic": _l("Strategic partner"),
        "key": _l("Key account"),
        "ordinary": _l("Ordinary account"),
    },
    "size": {
        "large": _l("Large enterprise"),
        "medium": _l("Medium enterprise"),
        "small": _l("Small enterprise"),
    },
    "industry": {
        "finance": _l("Financial services"),
        "energy": _l("Energy"),
        "manufacturing": _l("Manufacturing"),
        "telecom": _l("Telecommunications"),
        "public": _l("Government and public utilities"),
        "healthcare": _l("Healthcare"),
        "retail": _l("Retail"),
        "other": _l("Other"),
    },
    "category": {
        "pre_sale": _l("Pre-sale service"),
        "on_site": _l("On-site service"),
        "after_sale": _l("After-sale service"),
        "value_added": _l("Value-added service"),
    },
    "subtype": {
        "consultation": _l("Product consultation"),
        "solution_design": _l("Solution design"),
        "technical_support": _l("Technical support"),
        "quotation": _l("Quotation"),
        "delivery": _l("Delivery"),
        "installation": _l("Installation"),
        "commissioning": _l("Commissioning"),
        "training": _l("Training"),
        "warranty": _l("Warranty"),
        "troubleshooting": _l("Troubleshooting"),
        "custom_report": _l("Custom report"),
        "industry_news": _l("Industry news"),
        "market_analysis": _l("Market analysis"),
        "custom_service": _l("Custom service"),
    },
    "severity": {"minor": _l("Minor"), "major": _l("Major"), "critical": _l("Critical")},
    "department": {
        "sales": _l("Sales"),
        "marketing": _l("Marketing"),
        "tech_support": _l("Technical Support"),
        "after_sales": _l("After-Sales Service"),
        "delivery": _l("Delivery"),
        "finance": _l("Finance"),
    },
    "category_hint": {
        "pre_sale": _l(
            "Product consultation, technical support and solution design; "
            "we join your project's early planning and decisions."
        ),
        "on_site": _l(
            "Timely delivery of products and services, with installation, commissioning and training."
        ),
        "after_sale": _l("Warranty, troubleshooting and technical support once you are up and running."),
        "value_added": _l("Custom services, industry news and market analysis, to your needs."),
    },
    "subtype_hint": {
        "consultation": _l("Questions about our products and what fits your needs."),
        "solution_design": _l("A solution designed with our engineers for your project."),
        "technical_support": _l("An engineer answers a technical question or problem."),
        "quotation": _l("A priced proposal for the solution you are planning."),
        "delivery": _l("Delivery of equipment or services to your site."),
        "installation": _l("Our engineers install it on site."),
        "commissioning": _l("On-site testing and tuning until it runs as agreed."),
        "training": _l("Training for your team, on site."),
        "warranty": _l("Repair or replacement under warranty."),
        "troubleshooting": _l("Something does not work: we find and fix the fault."),
        "custom_report": _l("A report written for your question, delivered as a document."),
        "industry_news": _l("A briefing on developments in your industry."),
        "market_analysis": _l("An analysis of a market you are looking at."),
        "custom_service": _l("A service shaped to a need the catalogue does not cover."),
    },
    "priority": {"low": _l("Low"), "normal": _l("Normal"), "high": _l("High"), "urgent": _l("Urgent")},
    "status": {
        "submitted": _l("Submitted"),
        "open": _l("Open"),
        "in_progress": _l("In progress"),
        "waiting_customer": _l("Waiting for you"),
        "scheduled": _l("Visit scheduled"),
        "resolved": _l("Resolved"),
        "closed": _l("Closed"),
        "cancelled": _l("Cancelled"),
    },
    # What staff call a status when the customer's word is about the customer ("Waiting for you").
    "status_staff": {"waiting_customer": _l("Waiting for the customer")},
    "search_section": {
        "requests": _l("Requests"),
        "reports": _l("Reports"),
        "accounts": _l("Accounts"),
        "contracts": _l("Contracts"),
    },
    # Where a request's match was found.
    "search_found_in": {
        "request": _l("In the request"),
        "reply": _l("In a reply"),
        "note": _l("In an internal note"),
    },
    "contract_status": {
        "draft": _l("Draft"),
        "active": _l("Active"),
        "expiring": _l("Expiring soon"),
        "expired": _l("Expired"),
        "terminated": _l("Terminated"),
    },
    "entitlement": {
        "on_site_days": _l("On-site days"),
        "support_hours": _l("Support hours"),
        "custom_reports": _l("Custom reports"),
        "training_sessions": _l("Training sessions"),
    },
    "unit": {"day": _l("days"), "hour": _l("hours"), "report": _l("reports"), "session": _l("sessions")},
    "event": {
        "created": _l("Request submitted"),
        "routed": _l("Routed to a department"),
        "assigned": _l("Assigned"),
        "status_changed": _l("Status changed"),
        "public_reply": _l("Reply"),
        "internal_note": _l("Internal note"),
        "attachment": _l("File attached"),
        "visit_scheduled": _l("Visit scheduled"),
        "time_logged": _l("Time logged"),
        "survey_answered": _l("Survey answered"),
        "approval": _l("Approval"),
        "deliverable_published": _l("Report published"),
    },
    "contact_kind": {
        "call": _l("Phone call"),
        "visit": _l("Visit"),
        "meeting": _l("Meeting"),
        "review": _l("Business review"),
    },
    "follow_up_reason": {
        "low_csat": _l("Low satisfaction rating"),
        "low_nps": _l("Low likelihood to recommend"),
        "manual": _l("Follow-up"),
    },
    "survey_topic": {
        "topic_satisfaction": _l("Customer satisfaction"),
        "topic_quality": _l("Service quality"),
        "topic_efficiency": _l("Service efficiency"),
        "topic_relationship": _l("Relationship maintenance"),
        "topic_value_added": _l("Value-added services"),
    },
    "approval": {
        "not_needed": _l("Not needed"),
        "pending": _l("Waiting for approval"),
        "approved": _l("Approved"),
        "declined": _l("Declined"),
    },
    "kpi_measure": {
        "resolved": _l("Requests resolved in the period"),
        "missed_sla": _l("Resolved after their SLA target"),
        "reopened": _l("Resolved requests that were reopened"),
        "first_responses": _l("Requests first answered in the period"),
        "late_first_response": _l("First answered after the target"),
        "delivered": _l("Value-added requests delivered"),
        "delivered_late": _l("Delivered after the wanted-by date"),
        "rated": _l("Requests rated in the period"),
        "low_rating": _l("Requests rated 1 or 2"),
    },
    "mail_cause": {
        "unreadable": _l("It could not be read"),
        "unconfirmed_sender": _l("Our mail server could not confirm the sender"),
        "may_not_reply": _l("The sender may not reply to the request it names"),
        "unknown_sender": _l("The sender is no contact of an account"),
        "sender_disabled": _l("The sender's sign-in is switched off"),
        "intake_off": _l("New requests by email are switched off"),
        "refused": _l("The portal refused it"),
    },
    "visit_state": {"overdue": _l("Overdue"), "due_soon": _l("Due soon"), "fine": _l("On track")},
    "export_state": {
        "queued": _l("Waiting for a worker"),
        "running": _l("Being built"),
        "done": _l("Ready"),
        "failed": _l("Failed"),
    },
    "prospect_source": {
        "trade_show": _l("Trade show"),
        "referral": _l("Referral"),
        "inbound": _l("Came to us"),
        "other": _l("Other"),
    },
    "prospect_stage": {
        "new": _l("New"),
        "qualified": _l("Qualified"),
        "first_contact": _l("First contact made"),
        "needs_analysed": _l("Needs analysed"),
        "proposal_sent": _l("Proposal sent"),
        "won": _l("Won"),
        "lost": _l("Lost"),
    },
    "prospect_activity": {
        "recorded": _l("Recorded"),
        "qualified": _l("Qualified and handed to sales"),
        "rejected": _l("Screened out"),
        "first_contact": _l("First contact"),
        "needs_analysis": _l("Needs analysis"),
        "note": _l("Note"),
        "lost": _l("Lost"),
        "proposal_sent": _l("Proposal sent"),
        "proposal_answered": _l("Proposal answered"),
        "won": _l("Won: contract drafted"),
    },
    "proposal_state": {
        "draft": _l("Draft"),
        "sent": _l("Sent, awaiting answer"),
        "accepted": _l("Accepted"),
        "changes_requested": _l("Changes asked for"),
        "declined": _l("Declined"),
        "superseded": _l("Replaced by a later version"),
        "expired": _l("Expired"),
    },
    "funnel_measure": {
        "recorded": _l("Prospects recorded"),
        "won": _l("Prospects won"),
        "signed": _l("Contracts signed from prospects"),
        "accepted": _l("Proposals accepted"),
        "changes_requested": _l("Proposals with changes asked for"),
        "declined": _l("Proposals declined"),
        "renewals_due": _l("Contracts ending (renewals due)"),
        "renewed": _l("Contracts renewed"),
    },
    "proposal_answer": {
        "accepted": _l("Accepted"),
        "changes_requested": _l("Asked for changes"),
        "declined": _l("Declined"),
    },
    "import_action": {
        "create": _l("Created"),
        "update": _l("Changed"),
        "unchanged": _l("Unchanged"),
        "listed": _l("With its contract"),
    },
    "import_sheet": {
        "accounts": _l("Accounts"),
        "contacts": _l("Contacts"),
        "contracts": _l("Contracts"),
        "entitlements": _l("Entitlements"),
    },
    "audit_action": {
        "accounts.exported": _l("Accounts exported as a workbook"),
        "accounts.imported": _l("Accounts imported from a workbook"),
        "account.activated": _l("Account switched on"),
        "account.reactivated": _l("Account switched on again by an accepted proposal"),
        "account.contact_recorded": _l("Contact with the account recorded"),
        "account.created": _l("Account created"),
        "account.deactivated": _l("Account switched off"),
        "account.reclassified": _l("Account reclassified"),
        "account.updated": _l("Account details changed"),
        "audit.exported": _l("Audit log exported"),
        "auth.sign_in": _l("Signed in"),
        "auth.sign_in_failed": _l("Sign-in failed"),
        "auth.sign_in_locked": _l("Sign-in refused: address locked"),
        "auth.address_locked": _l("Address locked after failed sign-ins"),
        "auth.sign_out": _l("Signed out"),
        "auth.password_reset_requested": _l("Password reset asked for"),
        "auth.password_reset": _l("Password reset"),
        "calendar.exception_set": _l("Business calendar day set"),
        "calendar.exception_removed": _l("Business calendar day removed"),
        "calendar.updated": _l("Business calendar changed"),
        "contract.document_attached": _l("Signed contract uploaded"),
        "contract.draft_changed": _l("Contract draft changed"),
        "contract.drafted": _l("Contract drafted"),
        "contract.renewal_drafted": _l("Contract renewal drafted"),
        "contract.signed": _l("Contract signed off"),
        "contract.terminated": _l("Contract ended early"),
        "contract.document_downloaded": _l("Signed contract downloaded"),
        "department.auto_assign": _l("Automatic assignment changed"),
        "mail_intake.updated": _l("Requests by email changed"),
        "inbound_mail.dismissed": _l("Unmatched mail put aside"),
        "inbound_mail.filed": _l("Unmatched mail filed as a request"),
        "department.renamed": _l("Department renamed"),
        "finance.billable_exported": _l("Billable work exported"),
        "finance.statement_downloaded": _l("Statement downloaded"),
        "finance.statement_issued": _l("Statement issued"),
        "finance.summary_downloaded": _l("Service summary downloaded"),
        "finance.zip_downloaded": _l("All accounts' summaries downloaded"),
        "finance.zip_requested": _l("All accounts' summaries requested"),
        "finance.zip_retried": _l("All accounts' summaries tried again"),
        "kpi.exported": _l("KPI figures exported"),
        "kpi.weights_changed": _l("KPI weights changed"),
        "policy.cadence_changed": _l("Return-visit cadence changed"),
        "prospect.first_contact": _l("Prospect: first contact recorded"),
        "proposal.accepted": _l("Proposal accepted"),
        "proposal.changes_requested": _l("Proposal: changes asked for"),
        "proposal.declined": _l("Proposal declined"),
        "proposal.draft_changed": _l("Proposal draft changed"),
        "proposal.downloaded": _l("Proposal downloaded as PDF"),
        "proposal.drafted": _l("Proposal drafted"),
        "proposal.revised": _l("Proposal revised (new version)"),
        "proposal.sent": _l("Proposal sent"),
        "prospect.lost": _l("Prospect lost"),
        "prospect.needs_analysis": _l("Prospect: needs analysis recorded"),
        "prospect.qualified": _l("Prospect qualified"),
        "prospect.recorded": _l("Prospect recorded"),
        "prospect.rejected": _l("Prospect screened out"),
        "report.downloaded": _l("Report downloaded"),
        "request.time_logged": _l("Time logged on a request"),
        "routing_rule.created": _l("Routing rule created"),
        "routing_rule.updated": _l("Routing rule changed"),
        "routing_rule.moved": _l("Routing rule moved"),
        "routing_rule.activated": _l("Routing rule switched on"),
        "routing_rule.deactivated": _l("Routing rule switched off"),
        "security.forbidden": _l("Refused: not allowed for the role"),
        "security.object_refused": _l("Refused: another account's object"),
        "security.csrf_failed": _l("Refused: form expired or forged"),
        "security.upload_refused": _l("Refused: upload"),
        "security.rate_limited": _l("Refused: too many attempts"),
        "sla_policy.updated": _l("SLA targets changed"),
        "survey.question_added": _l("Survey question added"),
        "survey.template_changed": _l("Survey changed"),
        "survey.template_created": _l("Survey created"),
        "user.created": _l("User created"),
        "user.activated": _l("User activated"),
        "user.deactivated": _l("User deactivated"),
        "user.departments_changed": _l("Departments changed"),
        "user.invitation_accepted": _l("Invitation accepted"),
        "user.invitation_not_sent": _l("Invitation not sent: the address has a user"),
        "user.invitation_sent_again": _l("Invitation sent again"),
        "user.password_changed": _l("Password changed"),
        "user.password_reset_sent": _l("Password reset link sent by an administrator"),
        "user.profile_updated": _l("Profile changed"),
        "user.role_changed": _l("Role changed"),
    },
    "audit_object": {
        "Account": _l("Account"),
        "Attachment": _l("File"),
        "BusinessCalendar": _l("Business calendar"),
        "Contract": _l("Contract"),
        "Deliverable": _l("Report"),
        "Department": _l("Department"),
        "ExportJob": _l("Export"),
        "InboundMail": _l("Mail received"),
        "MailIntake": _l("Requests by email"),
        "Prospect": _l("Prospect"),
        "RoutingRule": _l("Routing rule"),
        "ServiceRequest": _l("Request"),
        "SlaPolicy": _l("SLA target"),
        "Statement": _l("Statement"),
        "SurveyTemplate": _l("Survey"),
        "User": _l("User"),
    },
}


_translated: dict[tuple[str, str, str], str] = {}


def label(kind: str, code: str | None) -> str:
    """The translated name of a code, or the code itself if it has none. Translations never change while
    the process runs, so each (language, kind, code) is looked up once: pages with long tables and selects
    call this hundreds of times."""
    if code is None:
        return ""
    if kind == "status" and code in LABELS["status_staff"] and _staff_reader():
        kind = "status_staff"
    key = (str(get_locale() or ""), kind, code)
    if key not in _translated:
        found = LABELS.get(kind, {}).get(code)
        _translated[key] = str(found) if found is not None else code
    return _translated[key]


def _staff_reader() -> bool:
    """Whether the page is read by staff (anyone signed in who is not a customer)."""
    if not has_request_context():
        return False
    user = current_user
    return bool(user and user.is_authenticated and not user.is_customer)


class LazyLabel:
    """A code's label, translated when rendered (for select choices built once at import time)."""

    def __init__(self, kind: str, code: str) -> None:
        self.kind, self.code = kind, code

    def __str__(self) -> str:
        return label(self.kind, self.code)

    def __html__(self) -> str:
        return str(escape(str(self)))

"""Who may see and do what: every visibility rule of the portal, in one place.

Each rule comes twice, side by side — as a predicate for one object (``can_view_request(user, request)``)
and as the SQL condition a list uses (``request_condition(user)``) — and the tests hold the two to the same
table of role × relation (tests/test_permissions.py). Views, services, lists, exports and emails ask here;
nowhere else decides.

The rules (DESIGN.md §1):

- **Requests.** Agents and leads see the requests of their departments, any request assigned to them, and
  (read-only) the requests of the accounts they manage, the pre-sale requests of the prospects they own and
  those they filed themselves; they work on their departments' and their own.
  Managers and admins see every request, read-only. A customer administrator sees
  every request of the account; other customers those they filed or that are shared with the account.
  Finance sees none.
- **Queues** are narrower than visibility: a department queue lists its departments' requests (one indexed
  condition); what is assigned from elsewhere is in "mine".
- **Leads** reassign within and reroute from their own departments.
- **Accounts.** An account manager sees the accounts they manage; sales leads, managers, admins and finance
  see every account; customers their own. Agents and leads record contacts on the accounts they see;
  managers and admins read them.
- **Contracts** follow their account, except that customers never see a draft; administrators, finance and
  the account's manager draft, sign off, renew and end them. **Follow-ups** belong to their owner (managers
  and admins see all).
- **Prospects** (the pipeline before a contract) are seen by marketing, sales and technical support
  (their departments' agents and leads), managers and admins; marketing and sales record them;
  marketing (or a sales lead) screens a new one; its sales owner and the sales leads work it on.
- **Proposals** (service proposals and quotations) are drafted and sent by sales with technical support:
  for a prospect its owner, the sales leads and technical support; for an account its manager, the sales
  leads and technical support; administrators too. They are seen by whoever sees the prospect or the
  account among staff (finance and managers read-only), and — once sent — by the account's customer
  administrators, who answer them. A prospect's contact answers by the link in the email instead.
- **Mail that matched no request** is read by the leads, managers and administrators; leads and
  administrators put it aside or file it as a request for a contact they choose.
- **Search** finds only what these rules let the person open, and internal notes only for the company's
  people (never customers).
- **The back office** (accounts, staff, departments) is the administrators'. An account's people are managed
  by its customer administrator and by the administrators.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true

from portal.models import (
    Account,
    Attachment,
    Contract,
    FollowUpTask,
    Proposal,
    Prospect,
    ServiceRequest,
    User,
)
from portal.models.accounts import STAFF_ROLES, department_memberships
from portal.models.pipeline import OPEN_STAGES

READ_ALL_ROLES = ("manager", "admin")
CUSTOMER_ROLES = ("customer_admin", "customer")
INTERNAL_ROLES = (*STAFF_ROLES, *READ_ALL_ROLES)


def is_staff(user: User) -> bool:
    """Agents and leads: the people who work on requests."""
    return user.role in STAFF_ROLES


def is_customer(user: User) -> bool:
    return user.role in CUSTOMER_ROLES


def department_ids(user: User) -> set[int]:
    return {department.id for department in user.departments} if is_staff(user) else set()


def _memberships(user: User) -> Select[tuple[int]]:
    return select(department_memberships.c.department_id).where(department_memberships.c.user_id == user.id)


def is_lead_of(user: User, department_id: int | None) -> bool:
    return user.role == "lead" and department_id in department_ids(user)


def is_sales_lead(user: User) -> bool:
    return user.role == "lead" and any(department.code == "sales" for department in user.departments)


# --- requests -----------------------------------------------------------------------------------------------


def can_view_request(user: User, request: ServiceRequest) -> bool:
    if user.role in READ_ALL_ROLES:
        return True
    if is_staff(user):
        # The account's manager reads its requests; a prospect's owner and whoever filed a pre-sale request
        # on it read that.
        return (
            _works_on(user, request)
            or (request.account is not None and request.account.account_manager_id == user.id)
            or (request.prospect is not None and request.prospect.owner_id == user.id)
            or request.requester_id == user.id
        )
    if user.role == "customer_admin":
        return request.account_id == user.account_id
    if user.role == "customer":
        return request.account_id == user.account_id and (
            request.requester_id == user.id or request.shared_with_account
        )
    return False


def request_condition(user: User) -> ColumnElement[bool]:
    """``can_view_request`` as SQL."""
    if user.role in READ_ALL_ROLES:
        return true()
    if is_staff(user):
        return or_(
            ServiceRequest.department_id.in_(_memberships(user)),
            ServiceRequest.assignee_id == user.id,
            ServiceRequest.account_id.in_(select(Account.id).where(Account.account_manager_id == user.id)),
            ServiceRequest.prospect_id.in_(select(Prospect.id).where(Prospect.owner_id == user.id)),
            ServiceRequest.requester_id == user.id,
        )
    if user.role == "customer_admin":
        return ServiceRequest.account_id == user.account_id
    if user.role == "customer":
        return and_(
            ServiceRequest.account_id == user.account_id,
            or_(ServiceRequest.requester_id == user.id, ServiceRequest.shared_with_account),
        )
    return false()


def visible_requests(user: User) -> Select[ServiceRequest]:
    return select(ServiceRequest).where(request_condition(user))


def queue_condition(user: User, queue: str = "all_open") -> ColumnElement[bool]:
    """What a staff queue may list — never more than ``request_condition``: "mine" is what is assigned to
    the person; every other queue their departments' requests (one indexed condition each, never an OR across
    columns, which would make the database read every request); everything for managers and admins."""
    if user.role in READ_ALL_ROLES:
        return true()
    if not is_staff(user):
        return false()
    if queue == "mine":
        return ServiceRequest.assignee_id == user.id
    # The ids themselves, not a subquery: for one department the database reads the department's open
    # requests in queue order from an index and stops after a page.
    return ServiceRequest.department_id.in_(sorted(department_ids(user)))


def _works_on(user: User, request: ServiceRequest) -> bool:
    return request.department_id in department_ids(user) or request.assignee_id == user.id


def can_work_request(user: User, request: ServiceRequest) -> bool:
    """Reply, note, change status, claim, reroute, schedule, log time, attach, publish: staff of the
    request's department, or the person it is assigned to."""
    return is_staff(user) and _works_on(user, request)


def can_assign_others(user: User, request: ServiceRequest) -> bool:
    return is_lead_of(user, request.department_id)


def can_act_as_customer(user: User, request: ServiceRequest) -> bool:
    """Reply, cancel, confirm or reopen from the customer's side."""
    return is_customer(user) and can_view_request(user, request)


def can_reply(user: User, request: ServiceRequest) -> bool:
    """Write a public reply on the request — in the portal or by answering its email."""
    return can_work_request(user, request) or can_act_as_customer(user, request)


def can_file_request(user: User, account: Account) -> bool:
    """File a new request for the account — by its form in the portal or by mail to the service address:
    the account's own people."""
    return is_customer(user) and user.account_id == account.id


def can_decide_approval(user: User, request: ServiceRequest) -> bool:
    return user.role == "customer_admin" and request.account_id == user.account_id


def can_download_attachment(
    user: User, attachment: Attachment, request: ServiceRequest, internal: bool
) -> bool:
    """A request's file: whoever sees the request, except that customers never get an internal one."""
    if attachment.request_id != request.id or not can_view_request(user, request):
        return False
    return not (internal and is_customer(user))


# --- accounts, contracts and follow-ups --------------------------------------------------------------------


def sees_every_account(user: User) -> bool:
    return user.role in (*READ_ALL_ROLES, "finance") or is_sales_lead(user)


def can_view_account(user: User, account: Account) -> bool:
    if sees_every_account(user):
        return True
    if is_staff(user):
        return account.account_manager_id == user.id
    if is_customer(user):
        return account.id == user.account_id
    return False


def account_condition(user: User) -> ColumnElement[bool]:
    """``can_view_account`` as SQL."""
    if sees_every_account(user):
        return true()
    if is_staff(user):
        return Account.account_manager_id == user.id
    if is_customer(user):
        return Account.id == user.account_id
    return false()


def can_record_contact(user: User, account: Account) -> bool:
    return is_staff(user) and can_view_account(user, account)


def can_view_contract(user: User, contract: Contract) -> bool:
    if sees_every_account(user):
        return True
    if is_customer(user):
        return contract.account_id == user.account_id and contract.state != "draft"
    return is_staff(user) and contract.account.account_manager_id == user.id


def contract_condition(user: User) -> ColumnElement[bool]:
    """``can_view_contract`` as SQL."""
    if sees_every_account(user):
        return true()
    if is_customer(user):
        return and_(Contract.account_id == user.account_id, Contract.state != "draft")
    if is_staff(user):
        return Contract.account_id.in_(select(Account.id).where(Account.account_manager_id == user.id))
    return false()


def can_draft_contract(user: User, account: Account) -> bool:
    """Draft, edit, sign off, renew and end an account's contracts: administrators, finance, and the
    account's own account manager."""
    return user.role in ("admin", "finance") or (is_staff(user) and account.account_manager_id == user.id)


def can_view_follow_up(user: User, task: FollowUpTask) -> bool:
    return user.role in READ_ALL_ROLES or (is_staff(user) and task.owner_id == user.id)


def follow_up_condition(user: User) -> ColumnElement[bool]:
    if user.role in READ_ALL_ROLES:
        return true()
    return FollowUpTask.owner_id == user.id if is_staff(user) else false()


def can_close_follow_up(user: User, task: FollowUpTask) -> bool:
    return is_staff(user) and task.owner_id == user.id or user.role == "admin"


# --- mail in ------------------------------------------------------------------------------------------------


def can_review_mail(user: User) -> bool:
    """Read the mail that matched no request and put it aside: the leads, who triage, and the
    administrators; managers read it."""
    return user.role in ("lead", *READ_ALL_ROLES)


def can_handle_mail(user: User) -> bool:
    """Put such mail aside, or file it as a request for a contact they choose: leads and administrators."""
    return user.role in ("lead", "admin")


# --- the back office and the account's users ---------------------------------------------------------------


def can_run_back_office(user: User) -> bool:
    """Create and edit accounts, staff users and departments: the portal's administrators."""
    return user.role == "admin"


def can_manage_users_of(user: User, account: Account) -> bool:
    """Invite an account's people and manage them: its own customer administrator, and the portal's
    administrators (who onboard an account and its first administrator)."""
    return can_run_back_office(user) or (user.role == "customer_admin" and account.id == user.account_id)


def can_manage_user(user: User, other: User) -> bool:
    """A customer administrator manages the users of their own account; an administrator everyone's."""
    if can_run_back_office(user):
        return True
    return (
        user.role == "customer_admin" and other.account_id is not None and other.account_id == user.account_id
    )


# --- the pipeline before a contract ----------------------------------------------------------------------


def _works_in(user: User, code: str) -> bool:
    return is_staff(user) and any(department.code == code for department in user.departments)


def sees_prospects(user: User) -> bool:
    """Marketing, sales and technical support (which drafts proposals with sales), managers, admins."""
    return user.role in READ_ALL_ROLES or any(
        _works_in(user, d) for d in ("marketing", "sales", "tech_support")
    )


def prospect_condition(user: User) -> ColumnElement[bool]:
    """``sees_prospects`` as SQL (a role's rule: all prospects or none)."""
    return true() if sees_prospects(user) else false()


def can_view_prospect(user: User, prospect: Prospect) -> bool:
    return sees_prospects(user)


def can_record_prospect(user: User) -> bool:
    return user.role == "admin" or _works_in(user, "marketing") or _works_in(user, "sales")


def can_screen_prospect(user: User, prospect: Prospect) -> bool:
    """Qualify a new prospect (hand it to a sales owner) or reject it."""
    allowed = user.role == "admin" or _works_in(user, "marketing") or is_sales_lead(user)
    return prospect.stage == "new" and allowed


def can_work_prospect(user: User, prospect: Prospect) -> bool:
    """Record the first contact and the needs analysis, or mark it lost: its owner and the sales leads."""
    allowed = user.role == "admin" or prospect.owner_id == user.id or is_sales_lead(user)
    return prospect.stage in OPEN_STAGES and prospect.stage != "new" and allowed


# --- proposals ------------------------------------------------------------------------------------------


def _drafts_proposals(user: User) -> bool:
    return user.role == "admin" or is_sales_lead(user) or _works_in(user, "tech_support")


def can_draft_proposal_for_prospect(user: User, prospect: Prospect) -> bool:
    allowed = _drafts_proposals(user) or prospect.owner_id == user.id
    return allowed and prospect.stage in OPEN_STAGES and prospect.stage != "new"


def can_draft_proposal_for_account(user: User, account: Account) -> bool:
    return _drafts_proposals(user) or (is_staff(user) and account.account_manager_id == user.id)


def can_draft_proposal(user: User, proposal: Proposal) -> bool:
    """Edit, send and revise: the same people who may draft one for its prospect or account."""
    if proposal.prospect is not None:
        return can_draft_proposal_for_prospect(user, proposal.prospect)
    return proposal.account is not None and can_draft_proposal_for_account(user, proposal.account)


def can_view_proposal(user: User, proposal: Proposal) -> bool:
    if is_customer(user):
        return (
            user.role == "customer_admin"
            and proposal.account_id == user.account_id
            and proposal.state != "draft"
        )
    if proposal.prospect is not None:
        return sees_prospects(user) or user.role == "finance"
    assert proposal.account is not None
    return can_view_account(user, proposal.account) or _works_in(user, "tech_support")


def can_answer_proposal(user: User, proposal: Proposal) -> bool:
    """Accept, ask for changes or decline: an administrator of the account it is made to."""
    return user.role == "customer_admin" and proposal.account_id == user.account_id


# --- search ---------------------------------------------------------------------------------------------


def sees_requests(user: User) -> bool:
    """Whether any request is visible to this person at all (finance sees none)."""
    return user.role in (*INTERNAL_ROLES, *CUSTOMER_ROLES)


def sees_internal_notes(user: User) -> bool:
    """Internal notes are for the company's people who see the request, never for its customers."""
    return user.role in INTERNAL_ROLES

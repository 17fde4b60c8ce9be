"""The demo company of DESIGN.md §11: twelve logins, three accounts, contracts with entitlements and about
six months of requests in every category and status, with timelines, time entries, deliverables, surveys
and contact logs. Deterministic for a given seed and day."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import and_, func, or_, select

from portal.demo import pipeline
from portal.extensions import db
from portal.models import (
    Account,
    ContactLog,
    Contract,
    Deliverable,
    Department,
    Entitlement,
    FollowUpTask,
    ServiceRequest,
    SurveyAnswer,
    SurveyInvitation,
    SurveyQuestion,
    SurveyTemplate,
    TimelineEvent,
    User,
)
from portal.models.requests import SUBTYPES
from portal.services.contracts import contracts as contract_services
from portal.services.identity import auth
from portal.services.messaging import inbound, notifications
from portal.services.reference_data import ensure_reference_data
from portal.services.requests import workflow
from portal.services.requests.attachments import Upload, store_file
from portal.services.storage import FileStore

DEMO_PASSWORD = "demo-Portal-2026"
MAX_DEMO_FILE = 1024 * 1024

ACCOUNTS = [
    # key, name, English name, industry, size, tier, language
    ("huaxin", "华信银行", "Huaxin Bank", "finance", "large", "strategic", "zh"),
    ("dongfang", "东方能源集团", "Dongfang Energy", "energy", "large", "key", "zh"),
    ("jinggong", "精工制造", "Jinggong Manufacturing", "manufacturing", "medium", "ordinary", "en"),
]

CUSTOMERS = [
    ("li.na@huaxin-bank.example", "李娜", "customer_admin", "huaxin", "IT 服务经理"),
    ("zhao.lei@huaxin-bank.example", "赵磊", "customer", "huaxin", "系统工程师"),
    ("wang.fang@dongfang-energy.example", "王芳", "customer_admin", "dongfang", "信息中心主任"),
    ("chen.jie@jinggong-mfg.example", "Chen Jie 陈杰", "customer_admin", "jinggong", "Plant IT lead"),
]

STAFF = [
    ("sales@portal.example", "孙伟 Sun Wei", "agent", ["sales"]),
    ("support@portal.example", "周敏 Zhou Min", "agent", ["tech_support"]),
    ("aftersales@portal.example", "吴强 Wu Qiang", "lead", ["after_sales"]),
    ("delivery@portal.example", "郑洁 Zheng Jie", "agent", ["delivery"]),
    ("marketing@portal.example", "冯雪 Feng Xue", "agent", ["marketing"]),
    ("finance@portal.example", "钱芳 Qian Fang", "finance", ["finance"]),
    ("manager@portal.example", "陈刚 Chen Gang", "manager", []),
    ("admin@portal.example", "系统管理员 Admin", "admin", []),
]

TITLES = {
    "consultation": ("核心系统升级产品咨询", "Product questions for the core system upgrade"),
    "solution_design": ("灾备中心方案设计", "Design of the disaster-recovery site"),
    "technical_support": ("接口性能技术支持", "Technical support on interface performance"),
    "quotation": ("二期扩容报价", "Quotation for phase-two expansion"),
    "delivery": ("新机房设备交付", "Equipment delivery to the new data centre"),
    "installation": ("分行终端安装", "Installation of branch terminals"),
    "commissioning": ("监控平台现场调试", "On-site commissioning of the monitoring platform"),
    "training": ("运维人员培训", "Training for the operations team"),
    "warranty": ("存储控制器保修更换", "Warranty replacement of a storage controller"),
    "troubleshooting": ("夜间批处理失败排查", "Nightly batch job failures"),
    "custom_report": ("季度运行分析定制报告", "Quarterly operations custom report"),
    "industry_news": ("行业监管动态简报", "Briefing on industry regulation"),
    "market_analysis": ("区域市场分析", "Regional market analysis"),
    "custom_service": ("专属值守服务", "Dedicated on-call service"),
}

# (status, share) for requests by age: older ones are done, recent ones are still being worked.
OLD_STATUSES = [("closed", 7), ("resolved", 1), ("cancelled", 1)]
RECENT_STATUSES = [
    ("submitted", 2),
    ("open", 3),
    ("in_progress", 4),
    ("waiting_customer", 2),
    ("scheduled", 1),
    ("resolved", 2),
    ("closed", 2),
    ("cancelled", 1),
]


@dataclass
class DemoSummary:
    users: int
    accounts: int
    contracts: int
    requests: int


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count(User.id)))


def seed_demo(
    *, seed: int = 2026, password: str = DEMO_PASSWORD, today: date | None = None, files: FileStore
) -> DemoSummary:
    """The demo company's history makes in-app notifications like real work does, but no email."""
    with notifications.without_email():
        return _seed_demo(seed=seed, password=password, today=today, files=files)


def _seed_demo(*, seed: int, password: str, today: date | None, files: FileStore) -> DemoSummary:
    today = today or datetime.now(UTC).date()
    rng = random.Random(seed)
    ensure_reference_data()
    departments = {d.code: d for d in db.session.scalars(select(Department))}
    password_hash = auth.hash_password(password)

    staff: dict[str, User] = {}
    for email, name, role, dept_codes in STAFF:
        staff[email] = _user(
            email, name, role, password_hash, departments=[departments[c] for c in dept_codes]
        )
    account_manager = staff["sales@portal.example"]

    accounts: dict[str, Account] = {}
    for key, name, name_en, industry, size, tier, language in ACCOUNTS:
        accounts[key] = Account(
            code=key.upper(),
            name=name,
            name_en=name_en,
            industry=industry,
            size=size,
            tier=tier,
            preferred_language=language,
            account_manager=account_manager,
        )
        db.session.add(accounts[key])
    db.session.flush()

    customers: dict[str, list[User]] = {key: [] for key in accounts}
    for email, name, role, key, title in CUSTOMERS:
        user = _user(email, name, role, password_hash, account=accounts[key], job_title=title)
        customers[key].append(user)

    for key, account in accounts.items():
        account.email_domains = " ".join(sorted({u.email.split("@")[1] for u in customers[key]}))
    contracts = _contracts(accounts, today)
    db.session.flush()

    db.session.commit()  # the engine's functions commit as they go
    for account_contracts in contracts.values():
        for contract in account_contracts:
            contract_services.attach_signed_document(
                contract,
                Upload(f"{contract.number}.pdf", _tiny_pdf(f"{contract.number} - {contract.title} - signed")),
                None,
                files=files,
                max_bytes=MAX_DEMO_FILE,
            )
    members = {code: list(dept.members) for code, dept in departments.items()}
    plans = request_plans(rng, {key: account.tier for key, account in accounts.items()}, today)
    # Created in the order they were submitted, so reference numbers rise with time.
    for plan in sorted(plans, key=lambda p: p.created):
        account = accounts[plan.account_key]
        _request(
            rng,
            plan,
            account,
            customers[plan.account_key],
            contracts[plan.account_key],
            members,
            files,
        )
    request_count = len(plans)

    _surveys(rng, accounts, customers, today)
    _contact_logs(accounts, account_manager, today)
    prospects = pipeline.seed_prospects(
        staff["marketing@portal.example"], staff["sales@portal.example"], today
    )
    db.session.flush()
    renewed, renewal = contracts["dongfang"]
    pipeline.seed_proposals(staff["sales@portal.example"], prospects, renewed, renewal, today)
    pipeline.seed_presale_requests(
        staff["sales@portal.example"], staff["support@portal.example"], prospects, today
    )
    db.session.commit()
    _unmatched_mail(today, files)
    return DemoSummary(
        users=len(STAFF) + len(CUSTOMERS),
        accounts=len(accounts),
        contracts=sum(len(c) for c in contracts.values()),
        requests=request_count,
    )


# Mail to the service address that the leads find in "Unmatched mail": a stranger's enquiry, and a message
# that names a customer as its sender although their domain did not send it (DMARC failed).
DEMO_MAIL = [
    (
        2,
        "陈刚 <chen.gang@xinghe-logistics.example>",
        "咨询：贵公司的存储扩容方案",
        "您好，\n\n我们是星河物流，想了解贵公司的存储扩容方案和报价，"
        "能否安排售前工程师联系我？\n\n陈刚\n星河物流 IT 部",
        "",
    ),
    (
        1,
        "李娜 <li.na@huaxin-bank.example>",
        "紧急：请更新收款账户",
        "请将本月服务费汇入以下新账户，原账户停用。",
        "mx.portal.example; spf=fail smtp.mailfrom=huaxin-bank.example;"
        " dmarc=fail header.from=huaxin-bank.example",
    ),
]


def _unmatched_mail(today: date, files: FileStore) -> None:
    for number, (days_ago, sender, subject, body, verdict) in enumerate(DEMO_MAIL, start=1):
        sent = datetime.combine(today - timedelta(days=days_ago), time(9, 30), tzinfo=UTC)
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = sender, "service@portal.example", subject
        message["Date"], message["Message-ID"] = format_datetime(sent), f"<demo-mail-{number}@mail.example>"
        if verdict:
            message["Authentication-Results"] = verdict
        message.set_content(body)
        inbound.receive(bytes(message), files=files, max_bytes=MAX_DEMO_FILE, now=sent + timedelta(minutes=1))


def _user(email: str, name: str, role: str, password_hash: str, **kwargs: object) -> User:
    user = User(email=email, full_name=name, role=role, password_hash=password_hash, **kwargs)
    db.session.add(user)
    return user


def _contracts(accounts: dict[str, Account], today: date) -> dict[str, list[Contract]]:
    plans = {
        # account: [(number, title, starts days ago, ends in days, amount, entitlements)]
        "huaxin": [
            (
                "HX-2026-001",
                "2026 年度综合服务合同",
                330,
                35,
                "1800000",
                {"on_site_days": 20, "support_hours": 200, "custom_reports": 4, "training_sessions": 3},
            ),
            (
                "HX-2026-017",
                "灾备中心专项服务合同",
                120,
                245,
                "650000",
                {"on_site_days": 8, "support_hours": 80},
            ),
        ],
        "dongfang": [
            (
                "DF-2025-009",
                "2025 年度运维服务合同",
                540,
                -175,
                "900000",
                {"on_site_days": 12, "support_hours": 150},
            ),
            (
                "DF-2026-004",
                "2026 年度运维服务合同",
                175,
                190,
                "980000",
                {"on_site_days": 12, "support_hours": 150, "custom_reports": 2},
            ),
        ],
        "jinggong": [
            (
                "JG-2026-002",
                "Annual support agreement 2026",
                200,
                165,
                "320000",
                {"on_site_days": 4, "support_hours": 60, "custom_reports": 1, "training_sessions": 1},
            ),
        ],
    }
    result: dict[str, list[Contract]] = {}
    for key, rows in plans.items():
        result[key] = []
        for number, title, started, ends_in, amount, entitlements in rows:
            contract = Contract(
                number=number,
                title=title,
                account=accounts[key],
                start_date=today - timedelta(days=started),
                end_date=today + timedelta(days=ends_in),
                amount=Decimal(amount),
                currency="CNY",
                state="signed",
            )
            contract.entitlements = [
                Entitlement(kind=k, quantity=Decimal(q)) for k, q in entitlements.items()
            ]
            db.session.add(contract)
            result[key].append(contract)
    return result


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([s for s, _ in weighted], weights=[w for _, w in weighted])[0]


def _at_work_hour(rng: random.Random, day: date) -> datetime:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    local = datetime.combine(day, time(rng.randint(9, 17), rng.choice((0, 15, 30, 45))))
    return (local - timedelta(hours=8)).replace(tzinfo=UTC)  # Asia/Shanghai is UTC+8 all year


@dataclass
class RequestPlan:
    account_key: str
    category: str
    subtype: str
    created: datetime
    status: str
    today: date


def request_plans(rng: random.Random, tiers: dict[str, str], today: date) -> list[RequestPlan]:
    """Each account's requests to make (what, when, in which state), as the seed decides."""
    pairs = [(category, subtype) for category, subtypes in SUBTYPES.items() for subtype in subtypes]
    statuses = [status for status, _ in RECENT_STATUSES]
    plans: list[RequestPlan] = []
    for key, tier in tiers.items():
        for i in range(30 if tier == "strategic" else 22):
            # The first requests of each account cover every service and every status; the rest are random.
            service = pairs[i] if i < len(pairs) else None
            status = statuses[i] if i < len(statuses) else None
            plans.append(_plan(rng, key, today, service, status))
    return plans


def _plan(
    rng: random.Random,
    account_key: str,
    today: date,
    service: tuple[str, str] | None,
    planned_status: str | None,
) -> RequestPlan:
    category = service[0] if service else rng.choice(list(SUBTYPES))
    subtype = service[1] if service else rng.choice(SUBTYPES[category])
    if planned_status == "scheduled" and category != "on_site":
        category, subtype = "on_site", "installation"
    age_days = rng.randint(1, 25) if planned_status else rng.randint(0, 182)
    created = _at_work_hour(rng, today - timedelta(days=age_days))
    status = planned_status or _pick(rng, OLD_STATUSES if age_days > 30 else RECENT_STATUSES)
    return RequestPlan(account_key, category, subtype, created, status, today)


def _request(
    rng: random.Random,
    plan: RequestPlan,
    account: Account,
    people: list[User],
    contracts: list[Contract],
    members: dict[str, list[User]],
    files: FileStore,
) -> ServiceRequest:
    """Submit a request through the engine at its planned time, then work it to its planned status with the
    same service functions staff and customers use, back-dated."""
    category, subtype, created, status = plan.category, plan.subtype, plan.created, plan.status
    live = [c for c in contracts if c.start_date <= created.date() <= c.end_date] or contracts
    requester = rng.choice(people)
    english = account.preferred_language == "en"
    zh, en = TITLES[subtype]
    title = en if english else zh
    new = workflow.NewRequest(
        category=category,
        subtype=subtype,
        title=title,
        description=f"{title}. " + ("Details in the attached notes." if english else "详细情况见附件说明。"),
        priority=_pick(rng, [("low", 2), ("normal", 5), ("high", 2), ("urgent", 1)]),
        contract=rng.choice(live),
        shared_with_account=rng.random() < 0.8,
        details=_category_fields(rng, category, subtype, account, created),
    )
    sr = workflow.submit_request(account, requester, new, now=created)
    if status == "submitted":
        return sr
    clock = created + timedelta(minutes=rng.randint(20, 240))
    if status == "cancelled" and rng.random() < 0.5:
        workflow.change_status(sr, "cancel", requester, seen_version=None, now=clock)
        return sr

    assert sr.department is not None
    agent = rng.choice(members[sr.department.code])
    if sr.assignee_id is None:
        workflow.assign(sr, agent, agent, seen_version=sr.version, now=clock)  # the agent claims it
    else:
        workflow.change_status(sr, "open", agent, seen_version=None, now=clock)
    clock += timedelta(minutes=rng.randint(10, 120))
    reply = "Thank you, we are looking into it." if english else "您好，我们已收到并开始处理。"
    workflow.add_reply(sr, agent, reply, now=clock)
    if status == "cancelled":
        workflow.change_status(sr, "cancel", requester, seen_version=None, now=clock + timedelta(hours=2))
        return sr
    if status == "open":
        return sr

    workflow.change_status(sr, "start", agent, seen_version=None, now=clock)
    note = "Checked the logs: looks like configuration." if english else "检查了日志，初步判断为配置问题。"
    workflow.add_reply(sr, agent, note, internal=True, now=clock + timedelta(minutes=5))
    for _ in range(rng.randint(0, 2)):
        clock += timedelta(hours=rng.randint(1, 30))
        question = "Could you send us the error log?" if english else "请提供一下错误日志。"
        workflow.change_status(sr, "wait_for_customer", agent, seen_version=None, now=clock)
        workflow.add_reply(sr, agent, question, now=clock)
        clock += timedelta(hours=rng.randint(1, 20))
        answer = "Attached, thanks." if english else "已附上，谢谢。"
        workflow.add_reply(sr, requester, answer, now=clock)
    if category in ("after_sale", "pre_sale", "on_site"):
        minutes = rng.choice((30, 45, 60, 90, 120, 180, 240, 480))
        workflow.log_time(
            sr, agent, minutes=minutes, billable=rng.random() < 0.8, work_date=clock.date(), now=clock
        )
    if status == "waiting_customer":
        question = "Please confirm the maintenance window." if english else "请确认维护窗口时间。"
        workflow.change_status(sr, "wait_for_customer", agent, seen_version=None, now=clock)
        workflow.add_reply(sr, agent, question, now=clock)
        return sr
    if category == "on_site" and status in ("scheduled", "resolved", "closed"):
        visit = _at_work_hour(rng, (clock + timedelta(days=rng.randint(2, 9))).date())
        if status == "scheduled":  # a visit still to come is in the future as the demo is loaded
            visit = max(visit, _at_work_hour(rng, plan.today + timedelta(days=rng.randint(3, 10))))
        visit = max(visit, clock + timedelta(hours=1))
        workflow.schedule_visit(
            sr,
            agent,
            visit_at=visit,
            engineer=agent,
            duration_minutes=int((sr.visit_days or 1) * 8 * 60),
            seen_version=None,
            now=clock,
        )
        if status == "scheduled":
            return sr
        clock = visit + timedelta(hours=6)
        workflow.change_status(sr, "start", agent, seen_version=None, now=clock)
    if status in ("in_progress", "scheduled"):
        return sr
    clock += timedelta(hours=rng.randint(1, 48))
    if category == "value_added" and subtype != "custom_service":
        _deliverable(sr, agent, clock, files)
    workflow.change_status(sr, "resolve", agent, seen_version=None, now=clock)
    if status == "closed":
        workflow.change_status(
            sr, "close", requester, seen_version=None, now=clock + timedelta(days=rng.randint(1, 5))
        )
    return sr


def _category_fields(
    rng: random.Random, category: str, subtype: str, account: Account, created: datetime
) -> dict[str, object]:
    english = account.preferred_language == "en"
    if category == "pre_sale":
        return {
            "project_background": "Capacity expansion" if english else "核心业务系统扩容",
            "budget_range": rng.choice(("50-100万", "100-300万", "300万以上")),
            "decision_timeline": rng.choice(("本季度", "下季度", "年内")),
        }
    if category == "on_site":
        fields: dict[str, object] = {
            "site_address": {
                "huaxin": "北京市西城区金融大街 8 号",
                "dongfang": "成都市高新区天府大道 99 号",
            }.get(_account_key(account), "No. 12 Industrial Park Road, Suzhou"),
            "site_contact_name": "Site contact" if english else "现场联系人",
            "site_contact_phone": f"138{rng.randint(10000000, 99999999)}",
            "preferred_date_from": created.date() + timedelta(days=3),
            "preferred_date_to": created.date() + timedelta(days=10),
            "visit_days": Decimal(rng.choice((1, 1, 2, 3))),
        }
        if subtype == "training":
            fields["trainees"] = rng.randint(5, 30)
        return fields
    if category == "after_sale":
        return {
            "product": rng.choice(("存储系统 S5000", "监控平台 V3", "核心交换机 X9")),
            "serial_number": f"SN{rng.randint(100000, 999999)}",
            "severity": rng.choice(("minor", "major", "critical")),
        }
    return {
        "topic": TITLES[subtype][1] if english else TITLES[subtype][0],
        "scope": "The last two quarters" if english else "覆盖近两个季度的数据",
        "wanted_by": created.date() + timedelta(days=rng.randint(10, 30)),
    }


def _account_key(account: Account) -> str:
    return {name: key for key, name, *_ in ACCOUNTS}[account.name]


def _deliverable(sr: ServiceRequest, agent: User, at: datetime, files: FileStore) -> None:
    content = _tiny_pdf(f"{sr.reference} - {TITLES[sr.subtype][1]}")
    attachment = store_file(
        content,
        f"{sr.reference}.pdf",
        "application/pdf",
        files,
        account_id=sr.account_id,
        request_id=sr.id,
        uploader_id=agent.id,
        at=at,
    )
    db.session.add(
        Deliverable(
            request_id=sr.id,
            attachment_id=attachment.id,
            title=sr.title,
            summary=sr.scope or "",
            published_by_id=agent.id,
            published_at=at,
        )
    )
    db.session.add(
        TimelineEvent(
            request_id=sr.id,
            kind="deliverable_published",
            actor_id=agent.id,
            body=sr.title,
            data={"attachment_id": attachment.id},
            created_at=at,
        )
    )
    db.session.commit()


def _tiny_pdf(text: str) -> bytes:
    """A one-page PDF with one line of ASCII text: enough for a demo deliverable to open in any viewer."""
    safe = text.encode("ascii", "replace").decode().replace("\\", "").replace("(", "[").replace(")", "]")
    stream = f"BT /F1 14 Tf 60 760 Td ({safe}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _surveys(
    rng: random.Random, accounts: dict[str, Account], customers: dict[str, list[User]], today: date
) -> None:
    csat = db.session.scalar(select(SurveyTemplate).where(SurveyTemplate.code == "csat_default"))
    relationship = db.session.scalar(
        select(SurveyTemplate).where(SurveyTemplate.code == "relationship_default")
    )
    assert csat is not None and relationship is not None
    done = db.session.scalars(
        select(ServiceRequest).where(ServiceRequest.resolved_at.is_not(None)).order_by(ServiceRequest.id)
    ).all()
    for sr in done:
        assert sr.resolved_at is not None
        # Resolving through the engine already invited the requester; older history may not have.
        invitation = db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.request_id == sr.id))
        if invitation is None:
            invitation = SurveyInvitation(
                template=csat,
                user_id=sr.requester_id,
                account_id=sr.account_id,
                request_id=sr.id,
                token=secrets.token_urlsafe(24),
                created_at=sr.resolved_at,
                expires_at=sr.resolved_at + timedelta(days=30),
            )
            db.session.add(invitation)
        recent = sr.resolved_at.date() > today - timedelta(days=10)
        if not recent or rng.random() < 0.3:
            answered = sr.resolved_at + timedelta(hours=rng.randint(2, 72))
            invitation.answered_at = answered
            rating = _pick(rng, [("5", 5), ("4", 4), ("3", 2), ("2", 1), ("1", 1)])
            invitation.answers = [
                SurveyAnswer(
                    question=q,
                    score=(
                        int(rating)
                        if q.kind == "rating"
                        else (1 if int(rating) >= 3 else 0)
                        if q.kind == "yes_no"
                        else None
                    ),
                    comment=("服务很及时。" if q.kind == "text" and int(rating) >= 4 else None),
                )
                for q in csat.questions
            ]
            db.session.add(
                TimelineEvent(
                    request_id=sr.id,
                    kind="survey_answered",
                    actor_id=sr.requester_id,
                    data={"rating": int(rating)},
                    created_at=answered,
                )
            )
    quarter = f"{today.year}Q{(today.month - 1) // 3 + 1}"
    quarter_start = datetime(today.year, 3 * ((today.month - 1) // 3) + 1, 1, tzinfo=UTC)
    for key, people in customers.items():
        for n, person in enumerate(people):
            invitation = SurveyInvitation(
                template=relationship,
                user=person,
                account=accounts[key],
                period=quarter,
                token=secrets.token_urlsafe(24),
                created_at=quarter_start + timedelta(days=3),
                expires_at=quarter_start + timedelta(days=33),
            )
            db.session.add(invitation)
            if key != "jinggong" and n == 0:  # one account has not answered yet
                invitation.answered_at = quarter_start + timedelta(days=5)
                invitation.answers = [
                    SurveyAnswer(
                        question=q,
                        score=(9 if key == "huaxin" else 6)
                        if q.kind == "nps"
                        else (rng.randint(3, 5) if q.kind == "rating" else None),
                        comment="希望报告能更早交付。" if q.kind == "text" else None,
                    )
                    for q in relationship.questions
                ]
    db.session.flush()
    _follow_ups_for_low_scores(accounts, today)


def _follow_ups_for_low_scores(accounts: dict[str, Account], today: date) -> None:
    """What answering would have opened: a follow-up per low score; those older than a month are done."""
    low = db.session.execute(
        select(SurveyInvitation, func.min(SurveyAnswer.score), SurveyQuestion.kind)
        .join(SurveyAnswer, SurveyAnswer.invitation_id == SurveyInvitation.id)
        .join(SurveyQuestion, SurveyQuestion.id == SurveyAnswer.question_id)
        .where(
            or_(
                and_(SurveyQuestion.kind == "rating", SurveyAnswer.score <= 2),
                and_(SurveyQuestion.kind == "nps", SurveyAnswer.score <= 6),
            )
        )
        .group_by(SurveyInvitation.id, SurveyQuestion.kind)
    ).all()
    seen: set[int] = set()
    managers = {a.id: a.account_manager_id for a in accounts.values()}
    for invitation, _score, kind in low:
        if invitation.id in seen or invitation.answered_at is None:
            continue
        seen.add(invitation.id)
        answered = invitation.answered_at
        long_ago = answered.date() < today - timedelta(days=30)
        db.session.add(
            FollowUpTask(
                account_id=invitation.account_id,
                owner_id=managers.get(invitation.account_id),
                invitation_id=invitation.id,
                reason="low_nps" if kind == "nps" else "low_csat",
                note="客户评分较低，请回访了解原因。",
                due_on=answered.date() + timedelta(days=5),
                done_at=answered + timedelta(days=3) if long_ago else None,
                created_at=answered,
            )
        )


def _contact_logs(accounts: dict[str, Account], account_manager: User, today: date) -> None:
    # Days ago of each contact: Jinggong (half-yearly cadence) was last seen eight months ago: overdue; the
    # others are within their cadence (strategic monthly, key quarterly).
    history = {"huaxin": [12, 41, 75, 103, 140], "dongfang": [38, 120], "jinggong": [245]}
    kinds = ["visit", "call", "meeting", "review", "call"]
    for key, days_ago in history.items():
        for i, ago in enumerate(days_ago):
            contacted = today - timedelta(days=ago)
            db.session.add(
                ContactLog(
                    account=accounts[key],
                    staff=account_manager,
                    kind=kinds[i % len(kinds)],
                    contacted_on=contacted,
                    participants=account_manager.full_name,
                    notes="季度业务回顾，确认下阶段服务重点。",
                    next_planned_on=contacted + timedelta(days={"huaxin": 30, "dongfang": 90}.get(key, 180)),
                    created_at=_at_work_hour(random.Random(ago), contacted),
                )
            )

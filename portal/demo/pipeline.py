"""The demo company's pipeline: potential key accounts at every stage, with what was done on each, and
proposals in versions — one awaiting an answer after changes were asked for, one expired, one accepted that
became a contract — and pre-sale requests on two prospects (seed-demo calls it after the accounts and their
history)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from portal.extensions import db
from portal.models import (
    Contract,
    Proposal,
    ProposalLine,
    Prospect,
    ProspectActivity,
    ServiceRequest,
    User,
)

PROSPECTS = [
    # name, industry, size, source, contact, stage reached, days since recorded, what was learnt / why lost
    ("远航航运集团", "other", "large", "trade_show", "林经理 lin@yuanhang.example", "new", 2, ""),
    ("瑞康医疗", "healthcare", "large", "referral", "陈主任 chen@ruikang.example", "qualified", 9, ""),
    (
        "北辰能源",
        "energy",
        "large",
        "inbound",
        "赵工 zhao@beichen.example",
        "first_contact",
        21,
        "电话沟通：关注变电站监控系统的现场运维，计划下月拜访。",
    ),
    (
        "金石证券",
        "finance",
        "large",
        "trade_show",
        "孙总监 sun@jinshi.example",
        "needs_analysed",
        40,
        "需求分析：两地三中心，要求 7×24 支持与每季度行业报告；预算已立项。",
    ),
    (
        "云帆通信",
        "telecom",
        "large",
        "trade_show",
        "周经理 zhou@yunfan.example",
        "proposal_sent",
        60,
        "需求分析：全国 30 个机房的现场巡检与季度运维报告。",
    ),
    (
        "海川物流",
        "other",
        "large",
        "referral",
        "吴总 wu@haichuan.example",
        "proposal_sent",
        90,
        "需求分析：仓储系统的 7×24 支持，预算待批。",
    ),
    ("小微商贸", "retail", "small", "inbound", "", "rejected", 15, "规模较小，不属于大客户范围。"),
    (
        "宏图制造",
        "manufacturing",
        "medium",
        "referral",
        "王经理 wang@hongtu.example",
        "lost",
        70,
        "选择了竞争对手的方案。",
    ),
]


def seed_prospects(marketing: User, sales: User, today: date) -> dict[str, Prospect]:
    """Potential key accounts at every stage, with what was done on each (by name)."""
    order = ("new", "qualified", "first_contact", "needs_analysed", "proposal_sent")
    made = {}
    for name, industry, size, source, contact, reached, days_ago, said in PROSPECTS:
        contact_name, _, email = contact.partition(" ")
        recorded = datetime.combine(today - timedelta(days=days_ago), time(10), tzinfo=UTC)
        stage = "lost" if reached in ("rejected", "lost") else reached
        prospect = Prospect(
            name=name,
            industry=industry,
            size=size,
            source=source,
            contact_name=contact_name,
            contact_email=email,
            stage=stage,
            recorded_by_id=marketing.id,
            created_at=recorded,
            owner_id=sales.id if reached not in ("new", "rejected") else None,
            lost_reason=said if stage == "lost" else "",
        )
        steps = [("recorded", marketing, "")]
        if reached == "rejected":
            steps.append(("rejected", marketing, said))
        elif reached != "new":
            steps.append(("qualified", marketing, ""))
            reached_index = order.index(reached) if reached in order else len(order)
            if reached_index >= 2:
                steps.append(
                    ("first_contact", sales, said if reached == "first_contact" else "首次电话沟通。")
                )
            if reached_index >= 3:
                steps.append(
                    (
                        "needs_analysis",
                        sales,
                        said if reached in ("needs_analysed", "proposal_sent") else "需求已初步了解。",
                    )
                )
            if reached == "lost":
                steps.append(("lost", sales, said))
        for n, (kind, actor, body) in enumerate(steps):
            prospect.activities.append(
                ProspectActivity(
                    kind=kind, actor_id=actor.id, body=body, created_at=recorded + timedelta(days=2 * n)
                )
            )
        prospect.stage_changed_at = recorded + timedelta(days=2 * (len(steps) - 1))
        db.session.add(prospect)
        made[name] = prospect
    return made


def _at(today: date, days_ago: int) -> datetime:
    return datetime.combine(today - timedelta(days=days_ago), time(9), tzinfo=UTC)


def _proposal(sales: User, today: date, number: str, version: int, **values: object) -> Proposal:
    lines = values.pop("lines")
    proposal = Proposal(
        number=number,
        version=version,
        language="zh",
        tier="key",
        currency="CNY",
        created_by_id=sales.id,
        sent_by_id=sales.id,
        **values,
    )
    proposal.lines = [
        ProposalLine(kind=kind, quantity=Decimal(q), unit_price=Decimal(price), period=period)
        for kind, q, price, period in lines  # type: ignore[attr-defined]
    ]
    db.session.add(proposal)
    return proposal


def seed_proposals(
    sales: User, prospects: dict[str, Prospect], renewed: Contract, renewal: Contract, today: date
) -> None:
    """云帆通信: version 1 answered with changes asked for, version 2 awaiting its answer; 海川物流: an offer
    that expired unanswered; 东方 (the account): the accepted renewal proposal that made its 2026 contract."""
    yunfan, haichuan = prospects["云帆通信"], prospects["海川物流"]
    term = {"start_date": today + timedelta(days=30), "end_date": today + timedelta(days=394)}
    v1 = _proposal(
        sales,
        today,
        "QT-DEMO-0001",
        1,
        prospect_id=yunfan.id,
        title="机房巡检与运维服务方案",
        state="changes_requested",
        valid_until=today + timedelta(days=5),
        sent_at=_at(today, 25),
        sent_to=yunfan.contact_email,
        answered_at=_at(today, 20),
        answered_by_name=yunfan.contact_name,
        answer_comment="现场巡检天数希望增加到 24 天，折扣能否提高？",
        terms="付款方式：合同签订后 30 日内支付 50%，服务期满支付余款。",
        lines=[("on_site_days", "18", "8000", "contract"), ("custom_reports", "4", "12000", "year")],
        **term,
    )
    _proposal(
        sales,
        today,
        v1.number,
        2,
        prospect_id=yunfan.id,
        title="机房巡检与运维服务方案",
        state="sent",
        discount_percent=Decimal("8"),
        valid_until=today + timedelta(days=27),
        sent_at=_at(today, 3),
        sent_to=yunfan.contact_email,
        terms=v1.terms,
        lines=[("on_site_days", "24", "8000", "contract"), ("custom_reports", "4", "12000", "year")],
        **term,
    )
    _proposal(
        sales,
        today,
        "QT-DEMO-0002",
        1,
        prospect_id=haichuan.id,
        title="仓储系统 7×24 支持服务方案",
        state="sent",
        valid_until=today - timedelta(days=15),
        sent_at=_at(today, 45),
        sent_to=haichuan.contact_email,
        lines=[("support_hours", "300", "600", "year"), ("training_sessions", "2", "15000", "contract")],
        start_date=today - timedelta(days=10),
        end_date=today + timedelta(days=355),
    )
    for prospect, days_ago, number in ((yunfan, 25, v1.number), (haichuan, 45, "QT-DEMO-0002")):
        prospect.activities.append(
            ProspectActivity(
                kind="proposal_sent", actor_id=sales.id, body=f"{number} v1", created_at=_at(today, days_ago)
            )
        )
    renewal.renews_id = renewed.id
    renewal.signed_at = datetime.combine(renewal.start_date - timedelta(days=12), time(15), tzinfo=UTC)
    _proposal(
        sales,
        today,
        "QT-DEMO-0003",
        1,
        account_id=renewal.account_id,
        renews_id=renewed.id,
        title=renewal.title,
        state="accepted",
        valid_until=renewal.start_date,
        start_date=renewal.start_date,
        end_date=renewal.end_date,
        sent_at=_at(renewal.start_date, 30),
        sent_to="",
        answered_at=_at(renewal.start_date, 20),
        answered_by_name="",
        contract_id=renewal.id,
        # The quotation's prices, which make the contract's amount (12 × 40,000 + 150 × 2,000 + 2 × 100,000).
        lines=[
            (e.kind, str(e.quantity), RENEWAL_PRICES[e.kind], e.period)
            for e in renewal.entitlements
            if e.kind in RENEWAL_PRICES
        ],
    )


RENEWAL_PRICES = {"on_site_days": "40000", "support_hours": "2000", "custom_reports": "100000"}


def seed_presale_requests(sales: User, support: User, prospects: dict[str, Prospect], today: date) -> None:
    """Pre-sale work asked of technical support on prospects: the solution design behind 云帆通信's proposal
    (resolved), and one for 北辰能源 being worked after its first contact."""
    from portal.services.requests import workflow

    def ask(prospect: Prospect, title: str, background: str, days_ago: int) -> ServiceRequest:
        new = workflow.NewRequest(
            category="pre_sale",
            subtype="solution_design",
            title=title,
            description=f"{title}：用于准备服务方案与报价。",
            priority="high",
            shared_with_account=False,
            details={"project_background": background, "decision_timeline": "本季度内"},
        )
        asked = workflow.submit_request(prospect, sales, new, now=_at(today, days_ago))
        clock = _at(today, days_ago) + timedelta(hours=1)
        workflow.assign(asked, support, support, seen_version=asked.version, now=clock)
        workflow.add_reply(asked, support, "已收到，先看机房清单，明天给出初步方案。", now=clock)
        return asked

    yunfan = ask(prospects["云帆通信"], "30 个机房巡检方案", "全国 30 个机房的现场巡检与季度运维报告", 56)
    workflow.add_reply(
        yunfan, support, "方案已完成：季度巡检 + 7×24 电话支持，详见附件说明。", now=_at(today, 54)
    )
    workflow.change_status(yunfan, "resolve", support, seen_version=None, now=_at(today, 54))
    beichen = ask(prospects["北辰能源"], "变电站监控系统运维方案", "变电站监控系统的现场运维", 2)
    workflow.add_reply(
        beichen, support, "需要对方提供站点分布，已请销售转达。", internal=True, now=_at(today, 1)
    )

"""The demo company's pipeline: potential key accounts at every stage before a proposal, with what was done
on each (seed-demo calls it after the accounts and their history)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from portal.extensions import db
from portal.models import Prospect, ProspectActivity, User

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


def seed_prospects(marketing: User, sales: User, today: date) -> None:
    """Potential key accounts at every stage before a proposal, with what was done on each."""
    order = ("new", "qualified", "first_contact", "needs_analysed")
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
                    ("needs_analysis", sales, said if reached == "needs_analysed" else "需求已初步了解。")
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

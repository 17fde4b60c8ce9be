"""A large data set for the benchmark: many accounts and requests with timelines over two years, written
with bulk inserts (the engine's one-by-one path would take hours for 100,000 requests). SLA due times come
from the real business calendar. Same seed, same data."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from portal.extensions import db
from portal.models import (
    Account,
    Department,
    ReferenceCounter,
    RoutingRule,
    ServiceRequest,
    SlaPolicy,
    TimelineEvent,
    User,
)
from portal.models.accounts import INDUSTRIES, SIZES, TIERS
from portal.models.requests import PRIORITIES, SUBTYPES
from portal.services.reference_data import ensure_reference_data
from portal.services.requests import sla
from portal.services.requests.routing import first_matching_rule
from portal.services.search import index

BATCH = 5000
# What the requests are about, in Chinese and English (search is measured on these words): a product and
# what is wrong with it; the first reply names the product again.
PRODUCTS = [
    ("打印机", "printer"),
    ("核心交换机", "core switch"),
    ("存储控制器", "storage controller"),
    ("边界路由器", "edge router"),
    ("数据库集群", "database cluster"),
    ("网络防火墙", "network firewall"),
    ("批处理服务器", "batch server"),
    ("监控平台", "monitoring platform"),
    ("备份磁带库", "backup tape library"),
    ("虚拟化主机", "virtualisation host"),
    ("无线网络", "wireless network"),
    ("终端设备", "branch terminal"),
]
SYMPTOMS = [
    ("间歇性故障", "fails now and then"),
    ("响应缓慢", "responds slowly"),
    ("无法连接", "cannot be reached"),
    ("告警灯常亮", "shows a steady alarm light"),
    ("需要升级固件", "needs a firmware upgrade"),
    ("配置变更", "needs a configuration change"),
    ("性能下降", "lost performance"),
    ("日志报错", "logs errors"),
]
# Mostly finished work, as in a real portal after two years.
STATUS_WEIGHTS = {
    "closed": 70,
    "resolved": 6,
    "cancelled": 4,
    "submitted": 3,
    "open": 5,
    "in_progress": 7,
    "waiting_customer": 3,
    "scheduled": 2,
}


def seed_bench(
    *, accounts: int = 200, requests: int = 100_000, seed: int = 1, today: date | None = None
) -> int:
    ensure_reference_data()
    rng = random.Random(seed)
    words = random.Random(seed * 7919)  # the texts apart, so that the rest of the data stays as it was
    now = datetime.combine(today or datetime.now(UTC).date(), datetime.min.time(), UTC)
    requester_ids, account_rows = (
        _accounts_and_people(rng, accounts) if accounts else _existing_bench_accounts()
    )
    rules = list(
        db.session.scalars(select(RoutingRule).where(RoutingRule.active).order_by(RoutingRule.position))
    )
    members: dict[int, list[int]] = {}
    for department in db.session.scalars(select(Department)):
        members[department.id] = [u.id for u in department.members if u.role in ("agent", "lead")]
    targets = {
        (p.tier, p.priority): (p.first_response_minutes, p.resolution_minutes)
        for p in db.session.scalars(select(SlaPolicy))
    }
    pairs = [(c, s) for c, subs in SUBTYPES.items() for s in subs]
    statuses, weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    calendar = sla.load_calendar()
    start_number = db.session.scalar(select(func.max(ReferenceCounter.last_number))) or 0
    year_counters: dict[int, int] = {}
    made = 0
    while made < requests:
        rows: list[dict[str, Any]] = []
        plans: list[tuple[datetime, str, int | None]] = []
        for _ in range(min(BATCH, requests - made)):
            account_id, tier, industry = rng.choice(account_rows)
            category, subtype = rng.choice(pairs)
            priority = rng.choice(PRIORITIES)
            created = now - timedelta(minutes=rng.randint(0, 730 * 24 * 60))
            status = rng.choices(statuses, weights)[0]
            rule = first_matching_rule(
                rules,
                {
                    "category": category,
                    "subtype": subtype,
                    "tier": tier,
                    "industry": industry,
                    "priority": priority,
                },
            )
            assert rule is not None
            department_id = rule.department_id
            assignee = (
                rng.choice(members[department_id])
                if members.get(department_id) and status != "submitted"
                else None
            )
            first_target, resolution_target = targets[(tier, priority)]
            product, symptom = words.choice(PRODUCTS), words.choice(SYMPTOMS)
            year_counters[created.year] = year_counters.get(created.year, start_number) + 1
            done = status in ("resolved", "closed")
            responded_after, resolved_after = rng.randint(10, 600), rng.randint(2, 200)
            rows.append(
                dict(
                    reference=f"SR-{created.year}-B{year_counters[created.year]:07d}",
                    account_id=account_id,
                    requester_id=rng.choice(requester_ids[account_id]),
                    category=category,
                    subtype=subtype,
                    title=f"{product[0]}{symptom[0]}（{made + len(rows) + 1}）",
                    description=f"{product[0]}{symptom[0]}，详细情况见附件。The {product[1]} {symptom[1]}.",
                    priority=priority,
                    status=status,
                    shared_with_account=True,
                    department_id=department_id,
                    assignee_id=assignee,
                    routing_rule_id=rule.id,
                    over_entitlement=False,
                    approval="not_needed",
                    created_at=created,
                    updated_at=created,
                    first_response_target_minutes=first_target,
                    resolution_target_minutes=resolution_target,
                    first_response_due_at=sla.add_business_minutes(calendar, created, first_target),
                    resolution_due_at=sla.add_business_minutes(calendar, created, resolution_target),
                    resolution_at_risk_at=sla.add_business_minutes(
                        calendar, created, int(resolution_target * sla.AT_RISK_SHARE)
                    ),
                    first_responded_at=created + timedelta(minutes=responded_after)
                    if status != "submitted"
                    else None,
                    # Approximate business minutes (wall minutes); the KPI medians need some figure.
                    first_response_business_minutes=responded_after if status != "submitted" else None,
                    resolution_business_minutes=resolved_after * 60 if done else None,
                    sla_paused_since=created + timedelta(hours=2) if status == "waiting_customer" else None,
                    sla_paused_minutes=0,
                    reopen_count=0,
                    version=1,
                    resolved_at=created + timedelta(hours=resolved_after) if done else None,
                    closed_at=created + timedelta(hours=rng.randint(201, 400))
                    if status == "closed"
                    else None,
                    cancelled_at=created + timedelta(hours=1) if status == "cancelled" else None,
                )
            )
            plans.append((created, status, assignee))
        last_event = db.session.scalar(select(func.max(TimelineEvent.id))) or 0
        ids = _insert_requests(rows)
        _insert_timelines(ids, plans, rows)
        # Bulk inserts go round the session, and with it round the search index: index them here.
        connection = db.session.connection()
        index.add_after(connection, ServiceRequest, min(ids) - 1)
        index.add_after(connection, TimelineEvent, last_event)
        made += len(rows)
        db.session.commit()  # batch by batch: one transaction of a million rows would fill the WAL
    for year, last in year_counters.items():
        counter = db.session.get(ReferenceCounter, year)
        if counter is None:
            db.session.add(ReferenceCounter(year=year, last_number=last))
        else:
            counter.last_number = max(counter.last_number, last)
    db.session.commit()
    return made


def _existing_bench_accounts() -> tuple[dict[int, list[int]], list[tuple[int, str, str]]]:
    """The accounts an earlier seed-bench made, with their people (to grow the same data set)."""
    rows = db.session.execute(
        select(Account.id, Account.tier, Account.industry)
        .where(Account.name_en.like("Bench Account %"))
        .order_by(Account.id)
    ).all()
    people: dict[int, list[int]] = {r.id: [] for r in rows}
    for user_id, account_id in db.session.execute(
        select(User.id, User.account_id).where(User.account_id.in_(list(people))).order_by(User.id)
    ):
        people[account_id or 0].append(user_id)
    if not rows:
        raise ValueError("there are no benchmark accounts to add requests to: give --accounts")
    return people, [(r.id, r.tier, r.industry) for r in rows]


def _accounts_and_people(
    rng: random.Random, count: int
) -> tuple[dict[int, list[int]], list[tuple[int, str, str]]]:
    from portal.services.identity.auth import hash_password

    password_hash = hash_password("bench-Portal-2026")
    existing = db.session.scalar(select(func.count(Account.id))) or 0
    requester_ids: dict[int, list[int]] = {}
    rows: list[tuple[int, str, str]] = []
    for n in range(count):
        tier, industry = rng.choice(TIERS), rng.choice(INDUSTRIES)
        account = Account(
            code=f"BENCH-{existing + n + 1:04d}",
            name=f"基准客户 {existing + n + 1:04d}",
            name_en=f"Bench Account {existing + n + 1:04d}",
            industry=industry,
            size=rng.choice(SIZES),
            tier=tier,
            preferred_language="zh",
        )
        db.session.add(account)
        db.session.flush()
        people = [
            User(
                email=f"bench{existing + n + 1}.{i}@bench.example",
                full_name=f"Bench user {i}",
                role="customer_admin" if i == 0 else "customer",
                account_id=account.id,
                password_hash=password_hash,
            )
            for i in range(3)
        ]
        db.session.add_all(people)
        db.session.flush()
        requester_ids[account.id] = [p.id for p in people]
        rows.append((account.id, tier, industry))
    db.session.commit()
    return requester_ids, rows


def _insert_requests(rows: list[dict]) -> list[int]:
    db.session.execute(insert(ServiceRequest), rows)
    references = [r["reference"] for r in rows]
    found = dict(
        db.session.execute(
            select(ServiceRequest.reference, ServiceRequest.id).where(
                ServiceRequest.reference.in_(references)
            )
        ).all()
    )
    return [found[r] for r in references]


def _insert_timelines(
    ids: list[int], plans: list[tuple[datetime, str, int | None]], rows: list[dict]
) -> None:
    events = []
    for request_id, (created, status, assignee), row in zip(ids, plans, rows, strict=True):
        events.append(
            dict(
                request_id=request_id,
                kind="created",
                actor_id=row["requester_id"],
                internal=False,
                body="",
                data={},
                created_at=created,
            )
        )
        events.append(
            dict(
                request_id=request_id,
                kind="routed",
                actor_id=None,
                internal=False,
                body="",
                data={"rule_id": row["routing_rule_id"]},
                created_at=created,
            )
        )
        if status != "submitted":
            events.append(
                dict(
                    request_id=request_id,
                    kind="assigned",
                    actor_id=assignee,
                    internal=False,
                    body="",
                    data={"assignee_id": assignee},
                    created_at=created + timedelta(minutes=5),
                )
            )
            events.append(
                dict(
                    request_id=request_id,
                    kind="public_reply",
                    actor_id=assignee,
                    internal=False,
                    body=f"已收到，正在检查{row['title'].split('（')[0]}。We are on it.",
                    data={},
                    created_at=row["first_responded_at"],
                )
            )
            events.append(
                dict(
                    request_id=request_id,
                    kind="status_changed",
                    actor_id=assignee,
                    internal=False,
                    body="",
                    data={"from": "submitted", "to": status},
                    created_at=created + timedelta(hours=1),
                )
            )
    db.session.execute(insert(TimelineEvent), events)
